"""The aiohttp transport under the downstream client: same answers, same error mapping."""

from __future__ import annotations

import pytest

from tests.operator.support import Zero, free_port
from zero_scim_operator.downstream import (
    AccountInput,
    PermanentError,
    TransientError,
    ZeroAccountsClient,
)
from zero_scim_operator.services.transport import AiohttpTransport


def client(url: str, org: str, key: str, timeout: float = 5.0) -> ZeroAccountsClient:
    return ZeroAccountsClient(url, org, key, timeout=timeout, transport=AiohttpTransport())


async def test_requests_and_answers(zero: Zero) -> None:
    async with client(zero.url, zero.org.org_id, zero.org.api_key) as zc:
        created = await zc.upsert_account("k1", AccountInput(user_name="u1", email="u1@x.org"))
        assert created.created and created.resource.email == "u1@x.org"
        again = await zc.upsert_account("k1", AccountInput(user_name="u1", email="u1@x.org"))
        assert not again.created and again.resource.version == created.resource.version
        assert [a.external_key async for a in zc.iter_accounts()] == ["k1"]
        assert await zc.delete_account("k1") is True
        assert await zc.get_account("k1") is None
    async with client(zero.url, zero.org.org_id, "wrong-key") as zc:
        with pytest.raises(PermanentError) as info:
            await zc.get_account("k1")
        assert info.value.status == 401


async def test_timeouts_and_connection_failures_are_transient(zero: Zero) -> None:
    await zero.admin.set_faults(latency_ms=1500, paths=[f"/v1/orgs/{zero.org.org_id}"])
    async with client(zero.url, zero.org.org_id, zero.org.api_key, timeout=0.3) as zc:
        with pytest.raises(TransientError) as info:
            await zc.get_account("k1")
        assert info.value.code == "timeout"
    async with client(f"http://127.0.0.1:{free_port()}", "o", "k") as zc:
        with pytest.raises(TransientError) as refused:
            await zc.get_account("k1")
        assert refused.value.code == "connection_error"
