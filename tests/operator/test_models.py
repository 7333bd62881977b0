"""The tenant spec as the services take it (models.py)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from zero_scim_operator.models import TenantConfig


def test_tenant_spec_defaults_and_errors() -> None:
    body: dict[str, Any] = {
        "metadata": {
            "name": "acme",
            "uid": "u1",
            "generation": 2,
            "annotations": {"zeroscim.io/rotate-token": "7"},
        },
        "spec": {
            "downstream": {"baseUrl": "http://z", "orgId": "o", "apiKeySecretRef": {"name": "k"}},
            "tokenRotation": {"interval": "720h"},
        },
    }
    tenant = TenantConfig.from_object(body)
    assert tenant.namespace == "acme" and tenant.rotate_request == "7"
    spec = tenant.require_spec()
    assert spec.token_rotation.interval == timedelta(hours=720)
    assert spec.token_rotation.grace_period == timedelta(hours=24)
    assert spec.downstream is not None and spec.downstream.resync_interval == timedelta(minutes=10)
    assert spec.downstream.api_key_secret_ref.key == "apiKey"
    invalid: dict[str, Any] = {**body, "spec": {"tokenRotation": {"interval": "soon"}}}
    broken = TenantConfig.from_object(invalid)
    assert broken.spec is None and "interval" in (broken.spec_error or "")
