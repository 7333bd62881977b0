"""What storage cannot hold is a clear SCIM 400, never a 500 — through the app to the real
API server — and identifiers stored before today's rules stay updatable."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest

from tests.support.kube import KubeEnv
from tests.support.polling import eventually
from tests.support.scim import TenantInfo
from zero_scim.kube.coordinates import GROUP, GROUP_KIND, VERSION
from zero_scim_api.storage.codec import Meta, content_version, group_object, now_iso
from zero_scim_api.storage.writes import MAX_SPEC_BYTES

pytestmark = pytest.mark.cluster

USER_URN = "urn:ietf:params:scim:schemas:core:2.0:User"
CUSTOM = "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User"
PATCH_URN = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def assert_invalid_value(response: httpx.Response) -> None:
    assert response.status_code == 400, response.text[:300]
    assert response.json()["scimType"] == "invalidValue"


async def test_a_resource_too_large_to_store_is_400_on_post_and_patch(
    client: httpx.AsyncClient,
) -> None:
    # Custom extensions have no bound of their own; the API bounds the whole resource.
    blob = "a" * (MAX_SPEC_BYTES + 1000)
    post = await client.post(
        "/Users",
        json={"schemas": [USER_URN, CUSTOM], "userName": f"big-{uuid.uuid4().hex}@x.io",
              CUSTOM: {"blob": blob}},
    )  # fmt: skip
    assert_invalid_value(post)
    assert f"{MAX_SPEC_BYTES:,} bytes" in post.json()["detail"]

    created = await client.post("/Users", json={"userName": f"grow-{uuid.uuid4().hex}@x.io"})
    assert created.status_code == 201, created.text
    half = "b" * (MAX_SPEC_BYTES // 2 + 1000)
    path = f"/Users/{created.json()['id']}"
    responses = []
    for key in ("one", "two"):
        operation = {"op": "add", "path": f"{CUSTOM}:{key}", "value": half}
        responses.append(
            await client.patch(path, json={"schemas": [PATCH_URN], "Operations": [operation]})
        )
    assert responses[0].status_code == 200, responses[0].text[:300]
    assert_invalid_value(responses[1])
    stored: dict[str, Any] = (await client.get(path)).json()
    assert CUSTOM in stored and "two" not in stored[CUSTOM]


async def test_a_group_stored_before_the_identifier_rules_can_be_put_unchanged(
    client: httpx.AsyncClient, kube: KubeEnv, tenant: TenantInfo
) -> None:
    legacy_name = "Sales\tEMEA"  # a tab: refused for new displayNames since issue 9
    doc: dict[str, Any] = {"displayName": legacy_name}
    scim_id = str(uuid.uuid4())
    now = now_iso()
    obj = group_object(
        doc, scim_id=scim_id, meta=Meta(now, now, content_version(doc)), namespace=tenant.namespace
    )
    await asyncio.to_thread(
        kube.custom.create_namespaced_custom_object,
        GROUP, VERSION, tenant.namespace, GROUP_KIND.plural, obj,
    )  # fmt: skip

    async def listed() -> bool:
        return (await client.get(f"/Groups/{scim_id}")).status_code == 200

    await eventually(listed, what="the legacy group in the index")
    put = await client.put(f"/Groups/{scim_id}", json={"displayName": legacy_name, "members": []})
    assert put.status_code == 200, put.text
    assert put.json()["displayName"] == legacy_name
    changed = await client.put(f"/Groups/{scim_id}", json={"displayName": "Sales\tAPAC"})
    assert_invalid_value(changed)
    assert "displayName" in changed.json()["detail"]
    created = await client.post("/Groups", json={"displayName": legacy_name})
    assert_invalid_value(created)
