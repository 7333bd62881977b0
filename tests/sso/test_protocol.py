"""The protocol's defences: every forged, replayed or altered sign-in is a 4xx and no session.

The identity provider is the real one. Bad ID tokens come from it too: its admin API makes
it alter the next ID token it issues (re-signed with its real key where the attack needs a
valid signature), as the OpenID Foundation's relying-party certification tests do
(rp-id_token-bad-sig-rs256, rp-id_token-sig-none, rp-id_token-aud, rp-nonce-invalid, ...).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import pytest

from tests.sso.conftest import Org
from tests.sso.test_signin import assert_refused
from tests.support.idp import FABRIKAM, Browser, Idp, User


def with_params(url: str, **changes: str | None) -> str:
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    for name, value in changes.items():
        if value is None:
            query.pop(name, None)
        else:
            query[name] = value
    return urlunsplit(parts._replace(query=urlencode(query)))


def param(url: str, name: str) -> str:
    return parse_qs(urlsplit(url).query)[name][0]


@pytest.fixture
def person(idp: Idp, org: Org) -> User:
    user = idp.add_user()
    org.provision(user.login)
    return user


@pytest.fixture
def tampering(idp: Idp) -> Iterator[Idp]:
    yield idp
    idp.stop_tampering()


def test_an_unknown_state_is_refused(org: Org, person: User, browser: Browser) -> None:
    callback = browser.authenticate(browser.start(org.id), person)
    assert_refused(browser.get(with_params(callback, state="made-up")), 400, "bad_state", browser)
    assert_refused(browser.get(with_params(callback, state=None)), 400, "bad_state", browser)


def test_a_callback_in_another_browser_is_refused_and_spends_the_sign_in(
    org: Org, person: User, browser: Browser
) -> None:
    # Login CSRF: an attacker sends a victim the callback of the attacker's own sign-in.
    callback = browser.authenticate(browser.start(org.id), person)
    with Browser(org.zero.url) as victim:
        assert_refused(victim.get(callback), 400, "bad_state", victim)
    assert_refused(browser.get(callback), 400, "bad_state", browser)  # one shot


def test_a_replayed_callback_is_refused(org: Org, person: User, browser: Browser) -> None:
    callback = browser.authenticate(browser.start(org.id), person)
    first = browser.get(callback)
    assert first.status_code == 303
    replay = browser.get(callback)
    assert replay.status_code == 400 and replay.headers["X-Zero-Error"] == "bad_state"
    assert "zero_session" not in replay.headers.get("Set-Cookie", "")


def test_a_redeemed_code_under_a_fresh_state_is_refused(
    org: Org, person: User, browser: Browser
) -> None:
    used = browser.authenticate(browser.start(org.id), person)
    assert browser.get(used).status_code == 303
    with Browser(org.zero.url) as again:
        fresh = again.start(org.id)
        replay = with_params(
            f"{org.zero.url}/sso/callback", code=param(used, "code"), state=param(fresh, "state")
        )
        assert_refused(again.get(replay), 400, "code_replayed", again)


def test_an_injected_code_fails_its_pkce_check_at_the_provider(
    org: Org, person: User, browser: Browser
) -> None:
    # A code obtained in one sign-in (never redeemed), injected into another sign-in: the
    # provider refuses it, because the second sign-in's PKCE verifier does not match.
    stolen = browser.authenticate(browser.start(org.id), person)
    with Browser(org.zero.url) as victim:
        state = param(victim.start(org.id), "state")
        injected = with_params(stolen, state=state)
        assert_refused(victim.get(injected), 400, "code_rejected", victim)


def test_an_error_from_the_provider_is_shown_to_the_person(org: Org, browser: Browser) -> None:
    state = param(browser.start(org.id), "state")
    callback = with_params(
        f"{org.zero.url}/sso/callback",
        state=state,
        error="access_denied",
        error_description="the user declined",
    )
    response = browser.get(callback)
    assert_refused(response, 403, "idp_error", browser)
    assert "did not sign you in" in response.text


def test_an_iss_parameter_of_another_issuer_is_refused(
    idp: Idp, org: Org, person: User, browser: Browser
) -> None:
    # RFC 9207 mix-up defence: the redirect names the issuer; it must be the token's.
    callback = browser.authenticate(browser.start(org.id), person)
    forged = with_params(callback, iss=idp.issuer(FABRIKAM))
    assert_refused(browser.get(forged), 401, "invalid_token", browser)


@pytest.mark.parametrize(
    ("mode", "why"),
    [
        ("bad-signature", "signature does not verify"),
        ("alg-none", "algorithm 'none' is not accepted"),
        ("hs256", "algorithm 'HS256' is not accepted"),
        ("wrong-audience", "aud is not valid"),
        ("wrong-nonce", "nonce is not this sign-in's"),
        ("expired", "has expired"),
        ("issued-in-future", "iat is not valid"),
        ("tid-mismatch", "iss is not valid"),  # tid of Fabrikam under Contoso's issuer
        ("unknown-key", "publishes no usable key"),
    ],
)
def test_a_bad_id_token_is_refused(
    mode: str,
    why: str,
    tampering: Idp,
    org: Org,
    person: User,
    browser: Browser,
    caplog: pytest.LogCaptureFixture,
) -> None:
    callback = browser.authenticate(browser.start(org.id), person)
    tampering.tamper_next_token(mode)
    with caplog.at_level(logging.WARNING, logger="zero_scim_accounts.sso.service"):
        response = browser.get(callback)
    assert_refused(response, 401, "invalid_token", browser)
    assert "could not verify your sign-in" in response.text
    assert why in caplog.text  # refused for the reason under test, not another one

    # The same person, an untampered token: signed in (the refusal was the token's fault).
    assert browser.sign_in(org.id, person).status_code == 303
