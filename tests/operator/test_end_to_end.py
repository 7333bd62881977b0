"""Entra → SCIM API → custom resources → operator → Zero, all real processes.

What Entra does, through ``zero-scim api``: create users, rename one, disable one,
create a group empty and PATCH members in and out, delete a user -- and Zero follows.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from tests.operator.conftest import Start
from tests.operator.support import Zero, create_tenant, eventually, read_secret
from tests.support.kube import KubeEnv
from tests.support.scim import running_api, scim_client

USER_URN = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_URN = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH_URN = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def entra_user(name: str, **fields: Any) -> dict[str, Any]:
    return {
        "schemas": [USER_URN, ENTERPRISE],
        "externalId": str(uuid.uuid4()),
        "userName": name,
        "active": True,
        "emails": [{"primary": True, "type": "work", "value": name}],
        "name": {"givenName": "Given", "familyName": "Family"},
        **fields,
    }


def patch(*operations: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [PATCH_URN], "Operations": list(operations)}


async def test_entra_through_the_scim_api_to_zero(
    kube: KubeEnv, namespace: str, zero: Zero, operators: Start
) -> None:
    operators()
    create_tenant(kube, zero, namespace)
    secret = await eventually(lambda: read_secret(kube, namespace))
    token = secret["data"]["token"]
    with running_api(kube.kubeconfig) as api:
        async with scim_client(api.url, token) as scim:
            await eventually(lambda: _ok(scim))
            ids = []
            for i in range(3):
                body = entra_user(
                    f"e2e{i}@example.com",
                    title="Guide",
                    **{ENTERPRISE: {"department": "Tours"}},
                )
                response = await scim.post("/Users", json=body)
                assert response.status_code == 201, response.text
                ids.append(response.json()["id"])
            await eventually(lambda: _accounts_are(zero, set(ids)))
            first = await zero.account(ids[0])
            assert first is not None and first["department"] == "Tours"

            # Rename (Entra: Replace userName) and disable (Replace active False).
            renamed = patch({"op": "Replace", "path": "userName", "value": "renamed@example.com"})
            assert (await scim.patch(f"/Users/{ids[0]}", json=renamed)).status_code in (200, 204)
            disable = patch({"op": "Replace", "path": "active", "value": "False"})
            assert (await scim.patch(f"/Users/{ids[1]}", json=disable)).status_code in (200, 204)
            await eventually(lambda: _field(zero, ids[0], "userName", "renamed@example.com"))
            await eventually(lambda: _field(zero, ids[1], "enabled", False))

            # A group, created empty, members PATCHed in and out.
            group = await scim.post(
                "/Groups", json={"schemas": [GROUP_URN], "displayName": "Guides"}
            )
            assert group.status_code == 201, group.text
            group_id = group.json()["id"]
            add = patch({"op": "Add", "path": "members", "value": [{"value": i} for i in ids]})
            assert (await scim.patch(f"/Groups/{group_id}", json=add)).status_code == 204
            remove = patch({"op": "Remove", "path": f'members[value eq "{ids[2]}"]'})
            assert (await scim.patch(f"/Groups/{group_id}", json=remove)).status_code == 204
            await eventually(lambda: _members_are(zero, group_id, set(ids[:2])))

            # Delete: gone from Zero, and the renamed user was never deprovisioned.
            assert (await scim.delete(f"/Users/{ids[2]}")).status_code == 204
            await eventually(lambda: _accounts_are(zero, set(ids[:2])))
            assert await zero.requests("DELETE", f"/accounts/{ids[0]}") == 0


async def _ok(scim: httpx.AsyncClient) -> bool:
    return (await scim.get("/Users", params={"count": "0"})).status_code == 200


async def _accounts_are(zero: Zero, keys: set[str]) -> bool:
    return set(await zero.accounts()) == keys


async def _field(zero: Zero, key: str, field: str, value: object) -> bool:
    account = await zero.account(key)
    return account is not None and account[field] == value


async def _members_are(zero: Zero, group_key: str, keys: set[str]) -> bool:
    return await zero.members(group_key) == keys
