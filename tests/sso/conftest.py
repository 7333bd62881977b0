"""Fixtures for sign-in tests: the real identity provider, Zero serving sign-in, fresh orgs.

``idp``       the local identity provider (idp/server.mjs) for the session, two tenants
``zero_sso``  an accounts service with sign-in on (client registered at the provider)
``org``       a fresh org of it, linked to Contoso, with helpers to provision accounts
``unlinked_org`` the same, with no Entra tenant linked
``browser``   a new :class:`Browser` per test (cookies start empty)
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.accounts import AccountsService, Tenant, running_accounts_service
from tests.support.idp import CONTOSO, Browser, Idp, IdpUnavailable, running_idp
from zero_scim_accounts.sso.settings import SsoSettings


@pytest.fixture(scope="session")
def idp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Idp]:
    try:
        with running_idp(tmp_path_factory.mktemp("idp")) as provider:
            yield provider
    except IdpUnavailable as exc:
        pytest.fail(str(exc))


@dataclass(frozen=True)
class ZeroSso:
    service: AccountsService
    settings: SsoSettings

    @property
    def url(self) -> str:
        return self.service.url


def sso_settings(idp: Idp, **overrides: Any) -> SsoSettings:
    settings = SsoSettings(
        client_id=f"zero-{secrets.token_hex(4)}",
        client_secret=secrets.token_urlsafe(32),
        authority=idp.authority,
        secure_cookies=False,  # http://127.0.0.1: cookie jars do not send Secure cookies
        jwks_refetch_interval=0.0,
    )
    return replace(settings, **overrides)


@pytest.fixture(scope="session")
def zero_sso(idp: Idp, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ZeroSso]:
    with serving_sign_in(idp, tmp_path_factory.mktemp("zero-sso"), sso_settings(idp)) as zero:
        yield zero


@contextlib.contextmanager
def serving_sign_in(idp: Idp, workdir: Path, settings: SsoSettings) -> Iterator[ZeroSso]:
    """An accounts service with ``settings``, its client registered at ``idp``."""
    db_path = workdir / "accounts.sqlite3"
    with running_accounts_service(db_path, org_id="sso-tests", sso=settings) as service:
        callback = f"{service.url}/sso/callback"
        idp.register_client(settings.client_id, settings.client_secret, [callback])
        yield ZeroSso(service, settings)


@dataclass
class Org:
    """One org of Zero, linked to an Entra tenant; its API (with the org's key) for set-up."""

    zero: ZeroSso
    tenant: Tenant
    api: httpx.Client

    @property
    def id(self) -> str:
        return self.tenant.org_id

    def link(self, tenant_id: str = CONTOSO, *, enabled: bool = True) -> dict[str, Any]:
        response = self.api.put("/sso", json={"entraTenantId": tenant_id, "enabled": enabled})
        assert response.status_code in (200, 201), response.text
        result: dict[str, Any] = response.json()
        return result

    def provision(self, user_name: str, key: str | None = None, **fields: Any) -> dict[str, Any]:
        """An account as the operator would write it (key: the SCIM id)."""
        key = key or secrets.token_hex(8)
        response = self.api.put(f"/accounts/{key}", json={"userName": user_name, **fields})
        assert response.status_code in (200, 201), response.text
        result: dict[str, Any] = response.json()
        return result

    def disable(self, key: str) -> None:
        assert self.api.post(f"/accounts/{key}:disable").status_code == 200

    def enable(self, key: str) -> None:
        assert self.api.post(f"/accounts/{key}:enable").status_code == 200

    def delete(self, key: str) -> None:
        assert self.api.delete(f"/accounts/{key}").status_code == 204

    def group(self, key: str, name: str, members: list[str]) -> None:
        assert self.api.put(f"/groups/{key}", json={"displayName": name}).status_code in (200, 201)
        batch = self.api.post(f"/groups/{key}/members:batch", json={"add": members})
        assert batch.status_code == 200, batch.text

    def remove_member(self, group: str, account: str) -> None:
        batch = self.api.post(f"/groups/{group}/members:batch", json={"remove": [account]})
        assert batch.status_code == 200, batch.text

    def accounts(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = self.api.get("/accounts").json()["items"]
        return items


def new_org(zero: ZeroSso, tenant_id: str | None = CONTOSO) -> Iterator[Org]:
    org_id = f"org-{secrets.token_hex(4)}"
    key = f"key-{secrets.token_urlsafe(16)}"
    admin = httpx.post(
        f"{zero.url}/admin/orgs",
        json={"id": org_id, "keys": [key]},
        headers={"Authorization": f"Bearer {zero.service.admin_token}"},
    )
    admin.raise_for_status()
    with httpx.Client(
        base_url=f"{zero.url}/v1/orgs/{org_id}",
        headers={"Authorization": f"Bearer {key}"},
        timeout=10,
    ) as api:
        org = Org(zero, Tenant(org_id, key), api)
        if tenant_id is not None:
            org.link(tenant_id)
        yield org


@pytest.fixture
def org(zero_sso: ZeroSso) -> Iterator[Org]:
    yield from new_org(zero_sso)


@pytest.fixture
def unlinked_org(zero_sso: ZeroSso) -> Iterator[Org]:
    yield from new_org(zero_sso, None)


@pytest.fixture
def browser(zero_sso: ZeroSso) -> Iterator[Browser]:
    with Browser(zero_sso.url) as person:
        yield person
