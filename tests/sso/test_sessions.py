"""Sessions: server-side rows under hashed 256-bit ids, cookie flags, lifetimes, logout,
and a session never standing in for an API key."""

from __future__ import annotations

import hashlib
import sqlite3
import time
from collections.abc import Iterator
from http.cookies import SimpleCookie
from pathlib import Path

import httpx
import pytest

from tests.sso.conftest import Org, ZeroSso, new_org, serving_sign_in, sso_settings
from tests.support.idp import Browser, Idp, User


def session_rows(db_path: Path) -> list[sqlite3.Row]:
    with sqlite3.connect(db_path) as conn:
        conn.row_factory = sqlite3.Row
        return conn.execute("SELECT * FROM sso_sessions").fetchall()


def cookie_attributes(header: str, name: str) -> dict[str, str]:
    jar: SimpleCookie = SimpleCookie()
    jar.load(header)
    morsel = jar[name]
    attributes = {k: str(v) for k, v in morsel.items() if v != "" and v is not False}
    return {"value": morsel.value, **attributes}


def set_cookies(response: httpx.Response) -> str:
    return ", ".join(response.headers.get_list("Set-Cookie"))


@pytest.fixture
def person(idp: Idp, org: Org) -> User:
    user = idp.add_user()
    org.provision(user.login)
    return user


def test_cookie_flags_session_ids_and_logout(
    zero_sso: ZeroSso, org: Org, person: User, browser: Browser
) -> None:
    callback = browser.authenticate(browser.start(org.id), person)
    response = browser.get(callback)
    assert response.status_code == 303
    cookie = cookie_attributes(set_cookies(response), "zero_session")
    assert cookie["httponly"] == "True" and cookie["samesite"] == "Lax" and cookie["path"] == "/"
    assert "secure" not in cookie  # this instance is configured for plain-HTTP loopback
    assert int(cookie["max-age"]) == int(zero_sso.settings.session_lifetime)
    assert response.headers["Cache-Control"] == "no-store"

    # 256 random bits (43 URL-safe characters); the database holds only its SHA-256.
    session = cookie["value"]
    assert len(session) >= 43
    db_path = zero_sso.service.db_path
    digest = hashlib.sha256(session.encode()).hexdigest()
    rows = [r for r in session_rows(db_path) if r["org_id"] == org.id]
    assert [r["id_hash"] for r in rows] == [digest]
    for file in db_path.parent.glob(db_path.name + "*"):  # the database, its WAL
        assert session.encode() not in file.read_bytes()

    # Logout: the row goes, the cookie is cleared, and the old value is worthless.
    assert browser.get("/sso/logout").status_code == 405  # POST only
    out = browser.post("/sso/logout")
    assert out.status_code == 303 and out.headers["Location"] == f"/sso/signed-out?org={org.id}"
    cleared = cookie_attributes(set_cookies(out), "zero_session")
    assert cleared["value"] == "" and "1970" in cleared["expires"]
    assert not [r for r in session_rows(db_path) if r["id_hash"] == digest]
    page = browser.get(out.headers["Location"])
    assert page.status_code == 200 and "signed out" in page.text
    assert f"/sso/start?org={org.id}" in page.text
    with Browser(zero_sso.url) as replayer:
        replayer.http.cookies.set("zero_session", session)
        assert replayer.me().status_code == 401


def test_a_session_never_authorises_the_admin_api(org: Org, person: User, browser: Browser) -> None:
    assert browser.sign_in(org.id, person).status_code == 303
    assert browser.me().status_code == 200
    for path in (f"/v1/orgs/{org.id}/accounts", f"/v1/orgs/{org.id}/sso"):
        response = browser.get(path)
        assert response.status_code == 401, path
        assert response.json()["error"]["code"] == "unauthorized"
    assert browser.get("/admin/orgs").status_code in (401, 403)


def test_pages_are_not_cached_framed_or_scripted(org: Org, person: User, browser: Browser) -> None:
    assert browser.sign_in(org.id, person).status_code == 303
    page = browser.get("/me")
    policy = page.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy
    assert "script" not in page.text.lower()
    assert page.headers["X-Frame-Options"] == "DENY"
    assert page.headers["Cache-Control"] == "no-store"
    assert page.headers["Referrer-Policy"] == "no-referrer"


@pytest.fixture
def secure_zero(idp: Idp, tmp_path: Path) -> Iterator[ZeroSso]:
    with serving_sign_in(idp, tmp_path, sso_settings(idp, secure_cookies=True)) as zero:
        yield zero


def test_secure_cookies_carry_the_host_prefix(secure_zero: ZeroSso, idp: Idp) -> None:
    for org in new_org(secure_zero):
        user = idp.add_user()
        org.provision(user.login)
        with Browser(secure_zero.url) as browser:
            start = browser.get(f"/sso/start?org={org.id}")
            binding = cookie_attributes(set_cookies(start), "__Host-zero_signin")
            assert binding["secure"] == "True" and binding["path"] == "/"
            assert binding["httponly"] == "True" and binding["samesite"] == "Lax"
            # A cookie jar keeps Secure cookies away from http://: send them by hand.
            callback = browser.authenticate(start.headers["Location"], user)
            jar = {"Cookie": f"__Host-zero_signin={binding['value']}"}
            done = browser.http.get(callback, headers=jar)
            assert done.status_code == 303, done.text[:300]
            session = cookie_attributes(set_cookies(done), "__Host-zero_session")
            assert session["secure"] == "True" and session["path"] == "/"
            assert session["httponly"] == "True" and "domain" not in session
            me = browser.http.get(
                f"{secure_zero.url}/v1/me",
                headers={"Cookie": f"__Host-zero_session={session['value']}"},
            )
            assert me.status_code == 200 and me.json()["userName"] == user.login


@pytest.fixture
def brief_zero(idp: Idp, tmp_path: Path) -> Iterator[ZeroSso]:
    settings = sso_settings(idp, session_idle=4.0, session_lifetime=9.0)
    with serving_sign_in(idp, tmp_path, settings) as zero:
        yield zero


@pytest.mark.slow
def test_idle_and_absolute_lifetimes(brief_zero: ZeroSso, idp: Idp) -> None:
    for org in new_org(brief_zero):
        user = idp.add_user()
        org.provision(user.login)
        with Browser(brief_zero.url) as browser:
            # Idle: requests keep the session alive; 4 s without one end it.
            assert browser.sign_in(org.id, user).status_code == 303
            for _ in range(4):
                time.sleep(1.0)
                assert browser.me().status_code == 200
            time.sleep(4.5)
            assert browser.me().status_code == 401

            # Absolute: however busy, it ends 9 s after sign-in.
            assert browser.sign_in(org.id, user).status_code == 303
            signed_in = time.monotonic()
            while time.monotonic() - signed_in < 7.5:
                assert browser.me().status_code == 200
                time.sleep(0.5)
            time.sleep(max(0.0, 9.5 - (time.monotonic() - signed_in)))
            assert browser.me().status_code == 401
