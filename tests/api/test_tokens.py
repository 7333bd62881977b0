"""Token lifecycle without a restart, against the real server process: a new token works,
a rotated Secret accepts the current and the previous token until the previous one's
expiry, a removed token stops working — each within 2 s of the Secret change."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import httpx

from tests.support.kube import KubeEnv
from tests.support.scim import (
    ApiProcess,
    TenantInfo,
    delete_tenant,
    delete_token_secret,
    put_token_secret,
    scim_client,
    wait_for_tenant,
)
from zero_scim.kube.tokens import new_token

WITHIN = 2.0


async def status_with(url: str, token: str) -> int:
    async with scim_client(url, token) as http:
        return (await http.get("/Users", params={"count": "0"})).status_code


async def becomes(url: str, token: str, status: int, *, within: float = WITHIN) -> float:
    """Seconds until a request with ``token`` answers ``status``; fails after ``within``."""
    started = time.monotonic()
    while True:
        if await status_with(url, token) == status:
            return time.monotonic() - started
        if time.monotonic() - started > within:
            raise AssertionError(f"token did not become {status} within {within} s")
        await asyncio.sleep(0.02)


async def test_new_rotated_and_removed_tokens_take_effect_within_2s(
    kube: KubeEnv, api_process: ApiProcess, tenant: TenantInfo
) -> None:
    url = api_process.url
    await wait_for_tenant(url, tenant)
    first = tenant.token

    # A new token (the Secret rewritten with another current token, no previous).
    second = new_token()
    await asyncio.to_thread(put_token_secret, kube, tenant.namespace, second)
    await becomes(url, second, 200)
    await becomes(url, first, 401)

    # Rotation: current + previous with an expiry: both work until the expiry.
    third = new_token()
    expires = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=4)
    await asyncio.to_thread(put_token_secret, kube, tenant.namespace, third, second, expires)
    await becomes(url, third, 200)
    assert await status_with(url, second) == 200
    remaining = (expires - datetime.now(UTC)).total_seconds()
    if remaining > 0.5:
        await asyncio.sleep(remaining - 0.5)
        assert await status_with(url, second) == 200, "previous token refused before expiry"
    await becomes(url, second, 401, within=WITHIN + 1.0)
    assert datetime.now(UTC) >= expires - timedelta(milliseconds=50)
    assert await status_with(url, third) == 200

    # Removal: no Secret, no access.
    await asyncio.to_thread(delete_token_secret, kube, tenant.namespace)
    await becomes(url, third, 401)

    # And back: a brand-new Secret works again without a restart.
    fourth = new_token()
    await asyncio.to_thread(put_token_secret, kube, tenant.namespace, fourth)
    await becomes(url, fourth, 200)
    assert api_process.process is not None and api_process.process.poll() is None


async def test_a_deleted_tenant_is_locked_out_within_2s(
    kube: KubeEnv, api_process: ApiProcess, tenant: TenantInfo
) -> None:
    await wait_for_tenant(api_process.url, tenant)
    await asyncio.to_thread(delete_tenant, kube, tenant)
    await becomes(api_process.url, tenant.token, 401)


async def test_a_token_of_one_tenant_never_opens_another(
    api_process: ApiProcess, tenant: TenantInfo, other_tenant: TenantInfo
) -> None:
    await wait_for_tenant(api_process.url, tenant)
    await wait_for_tenant(api_process.url, other_tenant)
    async with scim_client(api_process.url, tenant.token) as a:
        created = await a.post("/Users", json={"userName": "only-in-a@example.com"})
        assert created.status_code == 201
    async with scim_client(api_process.url, other_tenant.token) as b:
        response = await b.get(f"/Users/{created.json()['id']}")
        assert response.status_code == 404
    async with httpx.AsyncClient(base_url=api_process.url) as raw:
        for header in (f"Bearer {tenant.token}x", f"Bearer {tenant.token[:-1]}", tenant.token):
            got = await raw.get("/scim/v2/Users", headers={"Authorization": header})
            assert got.status_code == 401
