"""The layering contracts, checked from the source: ``python -m zero_scim.layers``.

import-linter cannot be used here: its graph builder (grimp) skips the mapped folders
api/, operator/ and accounts/ because they have no ``__init__.py`` (on purpose — a
top-level ``operator`` package would shadow the standard library). This module reads the
imports of every source file with :mod:`ast`, follows them transitively through our own
modules, and checks the contracts below. Exit status 1 lists each broken contract with
the import chain that breaks it.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: top-level folder -> module prefix it is installed as (see setup.py)
FOLDERS = {
    "zero_scim": "zero_scim",
    "api": "zero_scim.api",
    "operator": "zero_scim.operator",
    "accounts": "zero_scim.accounts",
}
WEB = ("falcon", "uvicorn")
KUBE_CLIENTS = ("kubernetes", "kubernetes_asyncio", "kopf")
COMPONENTS = ("zero_scim.api", "zero_scim.operator", "zero_scim.accounts")


@dataclass(frozen=True)
class Contract:
    name: str
    sources: tuple[str, ...]
    forbidden: tuple[str, ...]


CONTRACTS = (
    Contract(
        "SCIM protocol code is pure: no I/O frameworks, no Kubernetes, no other layer",
        ("zero_scim.scim",),
        (
            *COMPONENTS,
            "zero_scim.k8s",
            "zero_scim.devcluster",
            *KUBE_CLIENTS,
            *WEB,
            "httpx",
            "aiohttp",
        ),
    ),
    Contract(
        "The shared Kubernetes vocabulary knows no component",
        ("zero_scim.k8s",),
        (*COMPONENTS, *KUBE_CLIENTS, *WEB),
    ),
    Contract(
        "The API does not know the operator or the accounts service, nor Kopf",
        ("zero_scim.api",),
        ("zero_scim.operator", "zero_scim.accounts", "kopf"),
    ),
    Contract(
        "The operator does not know the API or the accounts service, nor the web stack",
        ("zero_scim.operator",),
        ("zero_scim.api", "zero_scim.accounts", *WEB),
    ),
    Contract(
        "The accounts service (Zero's stand-in) knows nothing of zero-scim's components",
        ("zero_scim.accounts",),
        ("zero_scim.api", "zero_scim.operator", "zero_scim.k8s", *KUBE_CLIENTS),
    ),
)


def _modules() -> Iterator[tuple[str, Path]]:
    for folder, prefix in FOLDERS.items():
        base = ROOT / folder
        for path in sorted(base.rglob("*.py")):
            relative = path.relative_to(base).with_suffix("")
            parts = [p for p in relative.parts if p != "__init__"]
            yield ".".join([prefix, *parts]), path


def _imports(module: str, path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names)
    return found


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def check() -> list[str]:
    graph = {module: _imports(module, path) for module, path in _modules()}
    problems: list[str] = []
    for contract in CONTRACTS:
        for start in (m for m in graph if any(_within(m, s) for s in contract.sources)):
            chain = _find(graph, start, contract)
            if chain:
                problems.append(f"{contract.name}:\n    " + " -> ".join(chain))
    return problems


def _find(graph: dict[str, set[str]], start: str, contract: Contract) -> list[str] | None:
    """Depth-first search for an import chain from ``start`` into a forbidden module."""
    stack: list[list[str]] = [[start]]
    seen = {start}
    while stack:
        chain = stack.pop()
        for target in sorted(graph.get(chain[-1], ())):
            if any(_within(target, f) for f in contract.forbidden):
                return [*chain, target]
            if target in graph and target not in seen:
                # Our own module: its imports count too (transitive), unless it is allowed
                # to be imported from anywhere only by being outside the forbidden set.
                seen.add(target)
                stack.append([*chain, target])
    return None


def main() -> int:
    problems = check()
    for problem in problems:
        print(f"broken contract: {problem}", file=sys.stderr)
    if not problems:
        print(f"layering: {len(CONTRACTS)} contracts kept")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
