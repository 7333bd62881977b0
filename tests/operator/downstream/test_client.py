"""ZeroAccountsClient against the real local accounts service (faults injected, no mocks)."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from tests.support.accounts import (
    AccountsAdmin,
    AccountsService,
    Tenant,
    running_accounts_service,
)
from zero_scim_operator import downstream
from zero_scim_operator.downstream import (
    AccountInput,
    ConflictError,
    DownstreamError,
    GroupInput,
    PermanentError,
    RateLimited,
    SsoInput,
    TransientError,
    ZeroAccountsClient,
    parse_retry_after,
)


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AccountsService]:
    with running_accounts_service(tmp_path_factory.mktemp("client") / "a.sqlite3") as service:
        yield service


@pytest.fixture
async def admin(service: AccountsService) -> AsyncIterator[AccountsAdmin]:
    async with service.admin() as admin:
        yield admin
        await admin.clear_faults()


@pytest.fixture
async def tenant(admin: AccountsAdmin) -> Tenant:
    return await admin.create_org()


@pytest.fixture
async def zero(service: AccountsService, tenant: Tenant) -> AsyncIterator[ZeroAccountsClient]:
    async with service.client(tenant, timeout=2.0) as client:
        yield client


def _account(name: str, **fields: object) -> AccountInput:
    return AccountInput(user_name=name, email=f"{name}@example.com", **fields)


def test_public_api() -> None:
    assert set(downstream.__all__) == {
        "MAX_BATCH",
        "MAX_PAGE",
        "Account",
        "AccountInput",
        "ConflictError",
        "DownstreamError",
        "Group",
        "GroupInput",
        "MembershipChange",
        "PermanentError",
        "RateLimited",
        "SsoConfig",
        "SsoInput",
        "TransientError",
        "Upserted",
        "ZeroAccountsClient",
        "check_external_key",
        "parse_retry_after",
    }
    assert issubclass(RateLimited, TransientError)
    assert TransientError.retryable and RateLimited.retryable
    assert not PermanentError.retryable and not ConflictError.retryable
    assert not issubclass(ConflictError, PermanentError)


# --- accounts ---------------------------------------------------------------------------


async def test_upsert_get_delete_account(zero: ZeroAccountsClient) -> None:
    desired = _account("bob", given_name="Bob", roles=["b", "a"], manager_key="u-alice")
    created = await zero.upsert_account("u-bob", desired)
    assert created.created
    account = created.resource
    assert account.external_key == "u-bob"
    assert account.user_name == "bob"
    assert account.given_name == "Bob"
    assert account.roles == ["a", "b"]
    assert account.manager_key == "u-alice"
    assert account.enabled and account.active
    assert account.version == 1
    assert account.created_at.tzinfo is not None

    unchanged = await zero.upsert_account("u-bob", desired)
    assert not unchanged.created
    assert unchanged.resource == account
    changed = await zero.upsert_account("u-bob", desired.model_copy(update={"title": "CTO"}))
    assert changed.resource.version == 2

    assert await zero.get_account("u-bob") == changed.resource
    assert await zero.get_account("nobody") is None
    assert await zero.delete_account("u-bob") is True
    assert await zero.delete_account("u-bob") is False  # 404 on delete is success
    assert await zero.get_account("u-bob") is None


#: Every optional field of an account, filled (wire names: the model's aliases).
FULL = {
    "given_name": "Barbara",
    "family_name": "Jensen",
    "display_name": "Babs",
    "title": "Tour Guide",
    "department": "Tours",
    "organization": "Universal",
    "work_phone": "+1 555 0100",
    "roles": ["Guide"],
    "external_id": "ext-1",
    "manager_key": "u-boss",
}


async def test_a_field_sent_as_null_is_cleared(zero: ZeroAccountsClient) -> None:
    """The contract's "Clearing a field": every optional field the operator sends as null
    (roles: []) is cleared in Zero; the body says so explicitly (no field is left out)."""
    full = await zero.upsert_account("u-clear", _account("u-clear", **FULL))
    assert all(getattr(full.resource, field) for field in FULL)
    assert full.resource.email == "u-clear@example.com"
    cleared = AccountInput(user_name="u-clear")  # what mapping.account_input makes of it
    body = cleared.model_dump(mode="json", by_alias=True)
    assert body["title"] is None and body["managerKey"] is None and body["roles"] == []
    assert set(body) >= {"email", "givenName", "workPhone", "externalId"}  # sent, as null
    result = (await zero.upsert_account("u-clear", cleared)).resource
    assert result.version == full.resource.version + 1
    assert result.email is None and result.roles == []
    assert all(getattr(result, field) in (None, []) for field in FULL)
    assert result.enabled  # active: null keeps the enabled state


async def test_a_field_left_out_is_cleared_and_an_empty_string_refused(
    service: AccountsService, tenant: Tenant, zero: ZeroAccountsClient
) -> None:
    """The rest of "Clearing a field": a replacing PUT clears every optional field it
    leaves out (manager and the enterprise fields too), and ``""`` is not a way to clear
    -- Zero refuses it, so the operator never sends it."""
    full = await zero.upsert_account("u-omit", _account("u-omit", **FULL))
    assert all(getattr(full.resource, field) for field in FULL)
    async with service.http(tenant) as http:
        for field in ("title", "department", "givenName", "email"):
            refused = await http.put("/accounts/u-omit", json={"userName": "u-omit", field: ""})
            assert refused.status_code == 422, (field, refused.text)
        response = await http.put("/accounts/u-omit", json={"userName": "u-omit"})
        assert response.status_code == 200, response.text
    account = await zero.get_account("u-omit")
    assert account is not None and account.version == full.resource.version + 1
    assert account.email is None and all(getattr(account, f) in (None, []) for f in FULL)
    assert account.enabled  # active left out keeps the enabled state


async def test_enable_disable(zero: ZeroAccountsClient) -> None:
    await zero.upsert_account("u1", _account("u1"))
    disabled = await zero.disable_account("u1")
    assert not disabled.enabled and disabled.version == 2
    assert (await zero.disable_account("u1")).version == 2
    # active=None in an upsert leaves the state alone; active=True enables.
    kept = await zero.upsert_account("u1", _account("u1"))
    assert not kept.resource.enabled
    assert (await zero.enable_account("u1")).enabled
    off = await zero.upsert_account("u1", _account("u1", active=False))
    assert not off.resource.enabled
    with pytest.raises(PermanentError) as caught:
        await zero.enable_account("nobody")
    assert (caught.value.status, caught.value.code) == (404, "account_not_found")


async def test_if_match(zero: ZeroAccountsClient) -> None:
    first = (await zero.upsert_account("u1", _account("u1"))).resource
    with pytest.raises(PermanentError) as caught:
        await zero.upsert_account("u1", _account("u1", title="x"), if_match=first.version + 1)
    assert (caught.value.status, caught.value.code) == (412, "precondition_failed")
    assert caught.value.details == {"currentVersion": 1}
    updated = await zero.upsert_account("u1", _account("u1", title="x"), if_match=1)
    assert updated.resource.version == 2
    with pytest.raises(PermanentError):
        await zero.delete_account("u1", if_match=1)
    assert await zero.delete_account("u1", if_match=2)


async def test_iter_accounts_follows_cursors(zero: ZeroAccountsClient) -> None:
    keys = [f"u{i:02d}" for i in range(11)]
    for key in reversed(keys):
        await zero.upsert_account(key, _account(key))
    assert [a.external_key async for a in zero.iter_accounts(page_size=3)] == keys
    assert [a.external_key async for a in zero.iter_accounts()] == keys
    with pytest.raises(ValueError):
        [a async for a in zero.iter_accounts(page_size=0)]


async def test_invalid_keys_fail_locally(zero: ZeroAccountsClient) -> None:
    for key in ("", "a/b", "a:b", "..", "x" * 257):
        with pytest.raises(ValueError):
            await zero.get_account(key)


@pytest.mark.parametrize("key", ["ü 100%?#&+", "日本語", "a%2Fb"])
async def test_odd_keys_are_encoded(zero: ZeroAccountsClient, key: str) -> None:
    result = await zero.upsert_account(key, _account("odd"))
    assert result.resource.external_key == key
    assert (await zero.get_account(key)) == result.resource
    assert (await zero.disable_account(key)).external_key == key
    await zero.upsert_group(key, GroupInput(display_name="odd"))
    assert (await zero.change_members(key, add=[key])).added == 1
    assert [k async for k in zero.iter_members(key)] == [key]
    assert await zero.delete_group(key)
    assert await zero.delete_account(key)


# --- groups -----------------------------------------------------------------------------


async def test_groups(zero: ZeroAccountsClient) -> None:
    created = await zero.upsert_group("g1", GroupInput(display_name="Admins", external_id="e"))
    assert created.created and created.resource.version == 1
    assert created.resource.display_name == "Admins"
    same = await zero.upsert_group("g1", GroupInput(display_name="Admins", external_id="e"))
    assert not same.created and same.resource == created.resource
    await zero.upsert_group("g0", GroupInput(display_name="Zero"))
    assert [g.external_key async for g in zero.iter_groups(page_size=1)] == ["g0", "g1"]
    assert await zero.get_group("g1") == created.resource
    assert await zero.delete_group("g1") is True
    assert await zero.delete_group("g1") is False
    assert await zero.get_group("g1") is None


async def test_change_members_chunks_and_sums(
    zero: ZeroAccountsClient, admin: AccountsAdmin, tenant: Tenant
) -> None:
    await zero.upsert_group("g", GroupInput(display_name="G"))
    for key in ("a", "b", "c"):
        await zero.upsert_account(key, _account(key))
    ghosts = [f"ghost{i:04d}" for i in range(2100)]

    result = await zero.change_members("g", add=["a", "b", *ghosts, "a"])
    assert (result.added, result.removed) == (2, 0)
    assert result.missing == ghosts
    path = f"/v1/orgs/{tenant.org_id}/groups/g/members:batch"
    assert await admin.count("POST", path) == 3  # 2,102 distinct keys -> 1000 + 1000 + 102

    again = await zero.change_members("g", add=["a", "b"], remove=["c"])
    assert (again.added, again.removed, again.missing) == (0, 0, [])
    moved = await zero.change_members("g", add=["c"], remove=["a"])
    assert (moved.added, moved.removed) == (1, 1)
    assert [k async for k in zero.iter_members("g", page_size=1)] == ["b", "c"]

    assert (await zero.change_members("g")).added == 0  # nothing to do, nothing sent
    assert await admin.count("POST", path) == 5
    with pytest.raises(ValueError):
        await zero.change_members("g", add=["a"], remove=["a"])
    with pytest.raises(PermanentError) as caught:
        await zero.change_members("missing-group", add=["a"])
    assert caught.value.code == "group_not_found"


# --- errors -----------------------------------------------------------------------------


async def test_5xx_is_transient(zero: ZeroAccountsClient, admin: AccountsAdmin) -> None:
    await admin.set_faults(error_rate=1.0)
    with pytest.raises(TransientError) as caught:
        await zero.get_account("u1")
    error = caught.value
    assert error.retryable
    assert (error.status, error.code) == (500, "internal_error")
    assert error.request_id
    assert error.method == "GET" and error.url and error.url.endswith("/accounts/u1")
    assert "500 internal_error" in str(error)

    await admin.set_faults(error_rate=1.0, error_status=504)
    with pytest.raises(TransientError) as caught:
        await zero.delete_account("u1")  # a 5xx on delete is not "absent"
    assert caught.value.status == 504


async def test_ambiguous_failure_then_idempotent_retry(
    zero: ZeroAccountsClient, admin: AccountsAdmin
) -> None:
    await admin.set_faults(error_rate=1.0, error_phase="after")
    with pytest.raises(TransientError):
        await zero.upsert_account("u1", _account("u1"))
    await admin.clear_faults()
    retried = await zero.upsert_account("u1", _account("u1"))
    assert not retried.created and retried.resource.version == 1


async def test_outage_is_transient_and_interrupts_iteration(
    zero: ZeroAccountsClient, admin: AccountsAdmin
) -> None:
    for key in ("a", "b", "c"):
        await zero.upsert_account(key, _account(key))
    seen = []
    with pytest.raises(TransientError) as caught:
        async for account in zero.iter_accounts(page_size=2):
            seen.append(account.external_key)
            await admin.set_faults(outage=True)
    assert seen == ["a", "b"]
    assert (caught.value.status, caught.value.code) == (503, "service_unavailable")
    await admin.clear_faults()
    await zero.check_health()


async def test_429_is_rate_limited(zero: ZeroAccountsClient, admin: AccountsAdmin) -> None:
    await admin.set_faults(rate_limit={"burst": 1, "retry_after": 2})
    with pytest.raises(RateLimited) as caught:
        await zero.upsert_account("u1", _account("u1"))
    assert caught.value.retry_after == 2.0
    assert caught.value.retryable and caught.value.status == 429
    assert (await zero.upsert_account("u1", _account("u1"))).created


async def test_409_is_a_conflict(zero: ZeroAccountsClient) -> None:
    await zero.upsert_account("u1", _account("same"))
    with pytest.raises(ConflictError) as caught:
        await zero.upsert_account("u2", _account("same"))
    error = caught.value
    assert not error.retryable
    assert (error.status, error.code) == (409, "email_taken")
    assert error.details == {"email": "same@example.com", "conflictingKey": "u1"}


async def test_other_4xx_are_permanent(
    zero: ZeroAccountsClient, service: AccountsService, tenant: Tenant
) -> None:
    # A rule only the service checks: an account cannot manage itself.
    with pytest.raises(PermanentError) as caught:
        await zero.upsert_account("u1", _account("u1", manager_key="u1"))
    assert (caught.value.status, caught.value.code) == (422, "validation_failed")
    details = caught.value.details
    assert isinstance(details, list) and isinstance(details[0], dict)
    assert details[0]["field"] == "managerKey"

    async with ZeroAccountsClient(service.url, tenant.org_id, "wrong-key") as wrong:
        with pytest.raises(PermanentError) as caught:
            await wrong.get_account("u1")
        assert (caught.value.status, caught.value.code) == (401, "unauthorized")
    async with ZeroAccountsClient(service.url, "other-org", tenant.api_key) as other:
        with pytest.raises(PermanentError) as caught:
            await other.delete_account("u1")  # 403, not "absent"
        assert caught.value.status == 403


async def test_timeout_is_transient(
    service: AccountsService, tenant: Tenant, admin: AccountsAdmin
) -> None:
    await admin.set_faults(latency_ms=1000)
    async with service.client(tenant, timeout=0.2) as slow:
        with pytest.raises(TransientError) as caught:
            await slow.get_account("u1")
    error = caught.value
    assert error.code == "timeout" and error.status is None
    assert isinstance(error.__cause__, httpx.TimeoutException)


async def test_connection_refused_is_transient() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, never listening: connections are refused
        async with ZeroAccountsClient(f"http://127.0.0.1:{port}", "o", "k", timeout=2) as zero:
            with pytest.raises(TransientError) as caught:
                await zero.check_health()
    assert caught.value.code == "connection_error"
    assert isinstance(caught.value.__cause__, httpx.ConnectError)


async def test_bad_base_url_is_permanent() -> None:
    async with ZeroAccountsClient("ftp://example.invalid", "o", "k") as zero:
        with pytest.raises(PermanentError) as caught:
            await zero.check_health()
    assert caught.value.code == "invalid_url"
    assert isinstance(caught.value, DownstreamError)


def test_parse_retry_after() -> None:
    now = datetime(2030, 1, 1, tzinfo=UTC)
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after("0") == 0.0
    assert parse_retry_after("-3") == 0.0
    assert parse_retry_after(None) == 1.0
    assert parse_retry_after("soon") == 1.0
    assert parse_retry_after("nan") == 1.0
    http_date = format_datetime(now + timedelta(seconds=30), usegmt=True)
    assert parse_retry_after(http_date, now=now) == 30.0
    assert parse_retry_after(format_datetime(now - timedelta(seconds=5), usegmt=True), now=now) == 0


async def test_sso_link_put_is_idempotent_and_none_removes_it(zero: ZeroAccountsClient) -> None:
    tenant_id = "11111111-1111-4111-8111-111111111111"
    first = await zero.put_sso(SsoInput(entra_tenant_id=tenant_id))
    assert first is not None and (first.entra_tenant_id, first.enabled) == (tenant_id, True)
    again = await zero.put_sso(SsoInput(entra_tenant_id=tenant_id))
    assert again is not None and again.version == first.version  # nothing changed
    off = await zero.put_sso(SsoInput(entra_tenant_id=tenant_id, enabled=False))
    assert off is not None and off.enabled is False and off.version == first.version + 1
    assert await zero.put_sso(None) is None
    assert await zero.put_sso(None) is None  # removing what is not there is fine
    with pytest.raises(PermanentError) as refused:
        await zero.put_sso(SsoInput(entra_tenant_id="not-a-guid"))
    assert refused.value.status == 422
