"""How Kopf is configured: the generation as diff base (settings.py)."""

from __future__ import annotations

from typing import Any, cast

import kopf

from zero_scim_operator.settings import GenerationDiffBase


def _user(generation: int, handled: int | None) -> kopf.Body:
    status: dict[str, Any] = {}
    if handled is not None:
        status["kopf"] = {"handledGeneration": handled}
    raw: dict[str, Any] = {
        "apiVersion": "zeroscim.io/v1alpha1",
        "kind": "ScimUser",
        "metadata": {"name": "u", "generation": generation, "labels": {"a": "b"}},
        "spec": {"id": "1", "userName": "u"},
        "status": status,
    }
    return kopf.Body(cast(kopf.RawBody, raw))


def test_generation_diff_base() -> None:
    storage = GenerationDiffBase()
    assert storage.fetch(body=_user(1, None)) is None  # never handled: a creation
    same = _user(3, 3)
    assert storage.fetch(body=same) == storage.build(body=same)  # no diff
    changed = _user(4, 3)
    assert storage.fetch(body=changed) != storage.build(body=changed)  # an update
    patch = kopf.Patch()
    storage.store(body=changed, patch=patch, essence=storage.build(body=changed))
    assert patch == {"status": {"kopf": {"handledGeneration": 4}}}
    raw: dict[str, Any] = {"kind": "ZeroTenant", "metadata": {"name": "t"}, "spec": {}}
    tenant = kopf.Body(cast(kopf.RawBody, raw))
    assert storage.fetch(body=tenant) == storage.build(body=tenant) == {}  # never a diff
