"""Fixtures for the accounts service tests.

``accounts_service`` -- one real service per session (thread mode, SQLite in a temp dir).
``admin`` -- an :class:`AccountsAdmin`; clears faults after each test.
``tenant`` -- a fresh org and key per test, so tests never see each other's data.
``api`` -- an httpx client for that org: base URL ``/v1/orgs/{orgId}``, bearer key set.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from tests.support.accounts import AccountsAdmin, AccountsService, Tenant, running_accounts_service


@pytest.fixture(scope="session")
def accounts_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AccountsService]:
    db_path = tmp_path_factory.mktemp("accounts") / "accounts.sqlite3"
    with running_accounts_service(db_path) as service:
        yield service


@pytest.fixture
async def admin(accounts_service: AccountsService) -> AsyncIterator[AccountsAdmin]:
    async with accounts_service.admin() as admin:
        yield admin
        await admin.clear_faults()


@pytest.fixture
async def tenant(admin: AccountsAdmin) -> Tenant:
    return await admin.create_org()


@pytest.fixture
async def api(
    accounts_service: AccountsService, tenant: Tenant
) -> AsyncIterator[httpx.AsyncClient]:
    async with accounts_service.http(tenant) as client:
        yield client
