"""The ``zero-scim`` console entry point.

Each subcommand lives in its own module, imported only when it runs (the API process
never imports Kopf, the operator never imports Falcon). A subcommand module exposes
``add_arguments(parser)`` and ``run(args) -> int``.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

#: subcommand -> (module, one-line help)
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "api": ("zero_scim.api.server", "serve the SCIM 2.0 API (Falcon on uvicorn)"),
    "operator": ("zero_scim.operator.runner", "run the Kopf operator"),
    "accounts": ("zero_scim.accounts.server", "serve the local Zero accounts API"),
    "cluster": ("zero_scim.devcluster.cli", "manage the local control plane (up|down|status)"),
    "crds": ("zero_scim.crds", "print or apply the CustomResourceDefinitions"),
    "dev": ("zero_scim.devstack", "run the whole local stack in the foreground"),
}


def build_parser(argv: Sequence[str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="zero-scim", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (module_name, help_text) in SUBCOMMANDS.items():
        sub_parser = sub.add_parser(name, help=help_text, description=help_text)
        sub_parser.set_defaults(_module=module_name)
        # Options are declared by the subcommand module itself; importing it here only
        # when that subcommand is on the command line keeps `--help` cheap.
        if argv and argv[0] == name:
            importlib.import_module(module_name).add_arguments(sub_parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser(argv).parse_args(argv)
    module = importlib.import_module(args._module)
    code: int = module.run(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
