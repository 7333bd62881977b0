"""examples/gitops: the tenant manifests (checked by the real API server) and the Argo CD
health check (the Lua run against sample objects, when lupa is installed)."""

from __future__ import annotations

import copy
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.charts.cluster import dry_run_apply
from tests.charts.helm import REPO
from tests.support.kube import KubeEnv

GITOPS = REPO / "examples" / "gitops"
LUA = GITOPS / "argocd" / "zeroscim-health.lua"
KINDS = ("ZeroTenant", "ScimUser", "ScimGroup")


def _documents(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def _kustomization() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((GITOPS / "kustomization.yaml").read_text())
    return loaded


def test_the_example_declares_a_tenant_and_never_a_secret() -> None:
    objects = [o for r in _kustomization()["resources"] for o in _documents(GITOPS / r)]
    assert sorted(o["kind"] for o in objects) == ["Namespace", "ZeroTenant"]
    (tenant,) = [o for o in objects if o["kind"] == "ZeroTenant"]
    (namespace,) = [o for o in objects if o["kind"] == "Namespace"]
    assert tenant["spec"]["namespace"] == namespace["metadata"]["name"]
    assert tenant["spec"]["downstream"]["apiKeySecretRef"]["name"] == "zero-api-key"
    values = yaml.safe_load((REPO / "charts" / "zero-scim" / "values.yaml").read_text())
    assert "zero-api-key" in values["operator"]["rbac"]["apiKeySecretNames"]
    for path in GITOPS.rglob("*.yaml"):
        assert all(d.get("kind") != "Secret" for d in _documents(path)), path


@pytest.mark.cluster
def test_the_api_server_accepts_the_example(kube: KubeEnv) -> None:
    for resource in _kustomization()["resources"]:
        for obj in _documents(GITOPS / resource):
            obj = copy.deepcopy(obj)
            obj["metadata"]["name"] = f"{obj['metadata']['name']}-{uuid.uuid4().hex[:6]}"
            dry_run_apply(kube, obj)


def test_the_argocd_values_carry_the_lua_verbatim() -> None:
    values = yaml.safe_load((GITOPS / "argocd" / "argocd-cm-values.yaml").read_text())
    cm = values["configs"]["cm"]
    lua = LUA.read_text()
    assert {k: cm[k] for k in cm} == {
        f"resource.customizations.health.zeroscim.io_{kind}": lua for kind in KINDS
    }


def _obj(kind: str, conditions: list[dict[str, Any]] | None, generation: int = 2) -> dict[str, Any]:
    body: dict[str, Any] = {"kind": kind, "metadata": {"name": "x", "generation": generation}}
    if conditions is not None:
        body["status"] = {"conditions": conditions}
    return body


def _condition(type_: str, status: str, observed: int | None = 2) -> dict[str, Any]:
    condition: dict[str, Any] = {"type": type_, "status": status, "reason": "R", "message": "m"}
    if observed is not None:
        condition["observedGeneration"] = observed
    return condition


HEALTH_CASES: list[tuple[dict[str, Any], str]] = [
    (_obj("ZeroTenant", None), "Progressing"),
    (_obj("ZeroTenant", [_condition("Ready", "True")]), "Healthy"),
    (_obj("ZeroTenant", [_condition("Ready", "False")]), "Degraded"),
    (_obj("ZeroTenant", [_condition("Ready", "Unknown")]), "Progressing"),
    (_obj("ZeroTenant", [_condition("Ready", "True", observed=1)]), "Progressing"),
    (_obj("ZeroTenant", [_condition("Ready", "False", observed=1)]), "Progressing"),
    (_obj("ZeroTenant", [_condition("TokenReady", "True")]), "Progressing"),
    (_obj("ZeroTenant", [_condition("Synced", "True")]), "Progressing"),
    (_obj("ScimUser", [_condition("Synced", "True")]), "Healthy"),
    (_obj("ScimUser", [_condition("Synced", "False")]), "Degraded"),
    (_obj("ScimUser", [_condition("Ready", "True")]), "Progressing"),
    (_obj("ScimGroup", [_condition("Synced", "True", observed=None)]), "Progressing"),
    (_obj("ScimGroup", [_condition("Synced", "True")]), "Healthy"),
]


def test_the_argocd_health_check() -> None:
    """The Lua's verdict on each sample object (skipped without lupa: not a dev dependency)."""
    lupa = pytest.importorskip("lupa", reason="lupa (PyPI) runs the Lua; not a dev dependency")
    runtime = lupa.LuaRuntime(unpack_returned_tuples=True)
    health = runtime.eval("function(obj) " + LUA.read_text() + " end")
    verdicts = []
    for obj, expected in HEALTH_CASES:
        result = health(runtime.table_from(obj, recursive=True))
        assert isinstance(result["message"], str) and result["message"]
        verdicts.append((obj, result["status"], expected))
    assert [(o, got) for o, got, want in verdicts if got != want] == []
