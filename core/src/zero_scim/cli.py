"""The ``zero-scim`` console entry point.

Subcommands are contributed by the installed packages through the entry-point group
``zero_scim.commands`` (name → module): ``zero-scim-api`` adds ``api``,
``zero-scim-operator`` adds ``operator``, the development packages add ``accounts``,
``cluster``, ``crds``, ``dev`` and ``image``. The production image installs only the API
and the operator, so only their commands exist there.

A command module exposes ``add_arguments(parser)`` and ``run(args) -> int``. Only the
module of the command on the command line is imported (the API process never imports
Kopf, the operator never Falcon); the help line of every other command is the first line
of its module docstring, read without importing it.
"""

from __future__ import annotations

import argparse
import ast
import importlib
import importlib.metadata
import importlib.util
import sys
from collections.abc import Sequence
from pathlib import Path

GROUP = "zero_scim.commands"


def commands() -> dict[str, str]:
    """Installed subcommands: name → module, in name order."""
    found = {ep.name: ep.value for ep in importlib.metadata.entry_points(group=GROUP)}
    return dict(sorted(found.items()))


def help_line(module_name: str) -> str | None:
    """The first line of a module's docstring, without importing the module; ``None`` if
    the module is not importable (an entry point left behind by an uninstalled package)."""
    try:
        spec = importlib.util.find_spec(module_name)
    except ModuleNotFoundError:
        return None
    if spec is None or spec.origin is None:
        return None
    doc = ast.get_docstring(ast.parse(Path(spec.origin).read_text(encoding="utf-8")))
    first = doc.splitlines()[0].rstrip(".") if doc else ""
    # "``zero-scim api``: serve the SCIM API ..." -> "serve the SCIM API ..."
    return first.split("``: ", 1)[1] if first.startswith("``") and "``: " in first else first


def build_parser(argv: Sequence[str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="zero-scim", description="zero-scim: SCIM 2.0 provisioning for Zero."
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, module_name in commands().items():
        text = help_line(module_name)
        if text is None:
            continue
        sub_parser = sub.add_parser(name, help=text, description=text)
        sub_parser.set_defaults(_module=module_name)
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
