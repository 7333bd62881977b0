"""Signing keys: rotation at the provider keeps sign-in working; unknown ids cannot make
Zero fetch the JWKS over and over."""

from __future__ import annotations

from tests.sso.conftest import Org, sso_settings
from tests.support.idp import Browser, Idp
from zero_scim_accounts.sso.oidc import OpenIdProvider

JWKS = "/organizations/v2.0/keys"


def test_sign_in_keeps_working_across_a_key_rotation(idp: Idp, org: Org) -> None:
    user = idp.add_user()
    org.provision(user.login)
    with Browser(org.zero.url) as browser:
        assert browser.sign_in(org.id, user).status_code == 303  # Zero has the current JWKS

    before = idp.requests(JWKS)
    kids = idp.rotate_keys()  # the provider signs with a new key from now on
    assert len(kids) >= 2
    with Browser(org.zero.url) as browser:
        assert browser.sign_in(org.id, user).status_code == 303
        assert browser.me().status_code == 200
    assert idp.requests(JWKS) == before + 1  # the unknown kid made Zero fetch the JWKS once

    with Browser(org.zero.url) as browser:  # and keeps it
        assert browser.sign_in(org.id, user).status_code == 303
    assert idp.requests(JWKS) == before + 1


async def test_unknown_key_ids_refetch_the_jwks_at_most_once_per_interval(idp: Idp) -> None:
    now = [1000.0]
    settings = sso_settings(idp, jwks_refetch_interval=30.0)
    provider = OpenIdProvider(settings, clock=lambda: now[0])
    try:
        current = idp.rotate_keys()[0]
        start = idp.requests(JWKS)
        assert await provider.key(current) is not None
        assert idp.requests(JWKS) == start + 1

        assert await provider.key("made-up-1") is None  # refetched once: still unknown
        assert idp.requests(JWKS) == start + 2
        assert await provider.key("made-up-2") is None  # within the interval: no fetch
        assert idp.requests(JWKS) == start + 2

        rotated = idp.rotate_keys()[0]
        now[0] += 31.0  # the interval has passed: a new kid is looked up again
        assert await provider.key(rotated) is not None
        assert idp.requests(JWKS) == start + 3
        assert await provider.key(current) is not None  # the previous key is still published
        assert idp.requests(JWKS) == start + 3
    finally:
        await provider.aclose()
