"""Benchmark: the pure SCIM core's per-request work, against an earlier revision of itself.

    python -m bench.scim_core [--baseline <git revision>] [--runs 7]

The baseline is ``zero_scim/scim`` as of ``--baseline`` (default: ``main``), copied out of
git into a temporary directory under another package name and imported next to the
working tree's package; both run the same cases in the same process, interleaved, so
load on the machine hits both alike. Cases: ``normalize_user`` of Entra's POST body (E1),
``apply_patch`` of E6 (a work e-mail and a family name) and E18 (``active "False"``),
and one ``userName eq`` match. Prints, per case, the median time per call of each and
the median and range of the per-run ratio (working tree ÷ baseline).
"""

from __future__ import annotations

import argparse
import importlib
import statistics
import subprocess
import sys
import tempfile
import timeit
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import zero_scim.scim as current

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "core/src/zero_scim/scim"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"

E1: dict[str, Any] = {
    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
    "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
    "userName": "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee",
    "active": True,
    "emails": [{"primary": True, "type": "work", "value": "Test_User_11bb11bb@testuser.com"}],
    "meta": {"resourceType": "User"},
    "name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "g"},
    "roles": [],
    ENTERPRISE: {"department": "Tour Operations", "manager": "26118915-6090"},
}
E6 = {
    "schemas": [PATCH_OP],
    "Operations": [
        {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "new@example.com"},
        {"op": "Replace", "path": "name.familyName", "value": "updatedFamilyName"},
    ],
}
E18 = {"schemas": [PATCH_OP], "Operations": [{"op": "Replace", "path": "active", "value": "False"}]}


def baseline_package(revision: str, into: Path) -> ModuleType:
    """``zero_scim/scim`` at ``revision``, importable as ``baseline_scim``."""
    names = subprocess.run(
        ["git", "-C", str(ROOT), "ls-tree", "--name-only", f"{revision}:{PACKAGE}"],
        check=True, capture_output=True, text=True,
    ).stdout.split()  # fmt: skip
    target = into / "baseline_scim"
    target.mkdir()
    for name in names:
        source = subprocess.run(
            ["git", "-C", str(ROOT), "show", f"{revision}:{PACKAGE}/{name}"],
            check=True, capture_output=True, text=True,
        ).stdout  # fmt: skip
        (target / name).write_text(source.replace("zero_scim.scim", "baseline_scim"))
    sys.path.insert(0, str(into))
    return importlib.import_module("baseline_scim")


def cases(scim: Any) -> dict[str, Callable[[], object]]:
    doc = scim.normalize_user(E1)
    node = scim.parse_filter('userName eq "test_user_00aa00aa-bb11-cc22-dd33-44ee44ee44ee"')
    rendered = scim.render(doc, resource_type=scim.USER, id="x", meta={"resourceType": "User"})
    return {
        "normalize_user(E1)": lambda: scim.normalize_user(E1),
        "apply_patch(E6)": lambda: scim.apply_patch(doc, E6, scim.USER),
        "apply_patch(E18)": lambda: scim.apply_patch(doc, E18, scim.USER),
        "matches(userName eq)": lambda: scim.matches(node, rendered, scim.USER),
    }


def per_call(function: Callable[[], object], number: int) -> float:
    """Microseconds per call: the best of three timings of ``number`` calls."""
    return min(timeit.repeat(function, number=number, repeat=3)) / number * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default="main", help="git revision (default: main)")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--number", type=int, default=2000, help="calls per timing")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = baseline_package(args.baseline, Path(tmp))
        before, after = cases(base), cases(current)
        print(f"baseline: zero_scim/scim at {args.baseline}; {args.runs} runs per case")
        for name in before:
            old, new = [], []
            for _ in range(args.runs):
                old.append(per_call(before[name], args.number))
                new.append(per_call(after[name], args.number))
            ratios = [b / a for a, b in zip(old, new, strict=True)]
            print(
                f"{name:22s} baseline {statistics.median(old):7.1f} µs   "
                f"now {statistics.median(new):7.1f} µs   ratio {statistics.median(ratios):.2f} "
                f"(range {min(ratios):.2f}-{max(ratios):.2f})"
            )


if __name__ == "__main__":
    main()
