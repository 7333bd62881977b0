"""userName uniqueness holds across API replicas: two real server processes, the same POST
at the same moment, many rounds — exactly one 201, the other 409 ``uniqueness``."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import httpx
import pytest

from tests.support.kube import KubeEnv
from tests.support.scim import ApiProcess, TenantInfo, running_api, scim_client, wait_for_tenant

ROUNDS = 40


@pytest.fixture(scope="module")
def replicas(kube: KubeEnv) -> Iterator[tuple[ApiProcess, ApiProcess]]:
    with running_api(kube.kubeconfig) as first, running_api(kube.kubeconfig) as second:
        yield first, second


def user(user_name: str) -> dict[str, object]:
    return {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": user_name,
        "externalId": str(uuid.uuid4()),
        "active": True,
    }


async def test_same_post_to_two_replicas_creates_one_user(
    replicas: tuple[ApiProcess, ApiProcess], tenant: TenantInfo
) -> None:
    for api in replicas:
        await wait_for_tenant(api.url, tenant)
    async with (
        scim_client(replicas[0].url, tenant.token) as a,
        scim_client(replicas[1].url, tenant.token) as b,
    ):
        for round_ in range(ROUNDS):
            name = f"race-{round_}-{uuid.uuid4().hex[:8]}@example.com"
            # Odd rounds differ in case only: uniqueness is case-insensitive.
            other = name.upper() if round_ % 2 else name
            first, second = await asyncio.gather(
                a.post("/Users", json=user(name)), b.post("/Users", json=user(other))
            )
            statuses = sorted([first.status_code, second.status_code])
            assert statuses == [201, 409], (first.text, second.text)
            loser = first if first.status_code == 409 else second
            assert loser.json()["scimType"] == "uniqueness"
            winner = first if first.status_code == 201 else second
            await assert_one_user_everywhere((a, b), name, winner.json()["id"])


async def assert_one_user_everywhere(
    clients: tuple[httpx.AsyncClient, httpx.AsyncClient], name: str, user_id: str
) -> None:
    for http in clients:
        for _ in range(200):  # the replica that lost learns the winner through its watch
            found = await http.get("/Users", params={"filter": f'userName eq "{name}"'})
            assert found.status_code == 200
            if found.json()["totalResults"] == 1:
                assert found.json()["Resources"][0]["id"] == user_id
                break
            assert found.json()["totalResults"] == 0
            await asyncio.sleep(0.01)
        else:
            raise AssertionError(f"{name} never became visible")
