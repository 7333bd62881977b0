"""Who may sign in to Zero, against the real identity provider (idp/server.mjs).

Only accounts SCIM provisioned, bound by (tenant id, object id): linked once by userName,
pinned afterwards; disabled or deleted accounts lose their sessions at once; the groups
shown are read on each request. (The same, driven through SCIM and the operator, is in
test_through_scim.py.)
"""

from __future__ import annotations

from dataclasses import replace

import httpx

from tests.sso.conftest import Org
from tests.support.idp import CONTOSO, FABRIKAM, Browser, Idp


def assert_refused(response: httpx.Response, status: int, code: str, browser: Browser) -> None:
    """An error page with ``status`` and ``code``, and no session in the browser."""
    assert response.status_code == status, (response.status_code, response.text[:500])
    assert response.headers["X-Zero-Error"] == code
    assert f'data-error-code="{code}"' in response.text
    assert response.headers["Content-Type"].startswith("text/html")
    assert "zero_session" not in response.headers.get("Set-Cookie", "")
    assert browser.me().status_code == 401


def test_a_provisioned_person_signs_in_and_sees_who_they_are(
    idp: Idp, org: Org, browser: Browser
) -> None:
    user = idp.add_user("ada@contoso.example", name="Ada Lovelace")
    account = org.provision(user.login, displayName="Ada Lovelace", email=user.login)
    org.group("g-eng", "Engineering", [account["externalKey"]])

    response = browser.sign_in(org.id, user)
    assert response.status_code == 303, response.text
    assert response.headers["Location"] == "/me"
    page = browser.get("/me")
    assert page.status_code == 200
    assert page.headers["Content-Type"] == "text/html; charset=utf-8"
    assert "Ada Lovelace" in page.text and "ada@contoso.example" in page.text
    assert "Engineering" in page.text and org.id in page.text
    me = browser.me().json()
    assert me["accountId"] == account["id"] and me["userName"] == user.login
    assert me["identity"] == {"tenantId": user.tenant, "objectId": user.oid}
    assert [g["displayName"] for g in me["groups"]] == ["Engineering"]


def test_userName_matching_ignores_case(idp: Idp, org: Org, browser: Browser) -> None:
    user = idp.add_user("Grace.Hopper@Contoso.example")
    account = org.provision("grace.hopper@contoso.example")
    assert browser.sign_in(org.id, user).status_code == 303
    assert browser.me().json()["accountId"] == account["id"]


def test_an_unprovisioned_person_is_refused_and_nothing_is_created(
    idp: Idp, org: Org, browser: Browser
) -> None:
    org.provision("someone-else@contoso.example")
    stranger = idp.add_user("stranger@contoso.example")
    response = browser.sign_in(org.id, stranger)
    assert_refused(response, 403, "not_provisioned", browser)
    assert "You don&#x27;t have access to Zero yet" in response.text
    assert stranger.login in response.text  # the page says who they signed in as
    assert [a["userName"] for a in org.accounts()] == ["someone-else@contoso.example"]


def test_disabling_ends_the_session_at_once_and_refuses_sign_in(
    idp: Idp, org: Org, browser: Browser
) -> None:
    user = idp.add_user()
    account = org.provision(user.login)
    assert browser.sign_in(org.id, user).status_code == 303
    assert browser.me().status_code == 200

    org.disable(account["externalKey"])
    assert browser.me().status_code == 401  # the very next request
    assert browser.get("/me").status_code == 401
    assert_refused(browser.sign_in(org.id, user), 403, "account_disabled", browser)

    # Enabled again: a new sign-in works (same binding); the old session stays dead.
    org.enable(account["externalKey"])
    assert browser.me().status_code == 401
    assert browser.sign_in(org.id, user).status_code == 303
    assert browser.me().json()["accountId"] == account["id"]


def test_disabling_through_a_full_update_ends_the_session_too(
    idp: Idp, org: Org, browser: Browser
) -> None:
    user = idp.add_user()
    account = org.provision(user.login)
    assert browser.sign_in(org.id, user).status_code == 303
    org.provision(user.login, key=account["externalKey"], active=False)  # PUT active=false
    assert browser.me().status_code == 401


def test_delete_then_reprovision_links_the_new_account_and_never_revives_the_old_session(
    idp: Idp, org: Org, browser: Browser
) -> None:
    user = idp.add_user()
    old = org.provision(user.login)
    assert browser.sign_in(org.id, user).status_code == 303
    stale_cookie = browser.http.cookies.get("zero_session")
    assert stale_cookie

    org.delete(old["externalKey"])
    assert browser.me().status_code == 401
    assert_refused(browser.sign_in(org.id, user), 403, "not_provisioned", browser)

    new = org.provision(user.login)  # SCIM creates the user again: a new SCIM id, a new key
    assert browser.sign_in(org.id, user).status_code == 303
    assert browser.me().json()["accountId"] == new["id"] != old["id"]
    with Browser(org.zero.url) as replayer:  # the cookie from before the delete: dead
        replayer.http.cookies.set("zero_session", stale_cookie)
        assert replayer.me().status_code == 401


def test_a_rename_keeps_the_binding(idp: Idp, org: Org, browser: Browser) -> None:
    user = idp.add_user("before@contoso.example")
    account = org.provision(user.login)
    assert browser.sign_in(org.id, user).status_code == 303

    # Entra renames the UPN; SCIM PATCHes userName; the operator updates the same key.
    renamed = replace(user, login="after@contoso.example")
    idp.put_user(renamed)
    org.provision(renamed.login, key=account["externalKey"])
    with Browser(org.zero.url) as later:
        assert later.sign_in(org.id, renamed).status_code == 303
        assert later.me().json()["accountId"] == account["id"]
        assert later.me().json()["userName"] == "after@contoso.example"
    # The binding decides, not the claim: sign-in works even before SCIM syncs a rename.
    moved = replace(user, login="not-synced-yet@contoso.example")
    idp.put_user(moved)
    with Browser(org.zero.url) as early:
        assert early.sign_in(org.id, moved).status_code == 303
        assert early.me().json()["accountId"] == account["id"]


def test_a_bound_username_presented_by_another_object_id_is_refused(
    idp: Idp, org: Org, browser: Browser
) -> None:
    first = idp.add_user("reused@contoso.example")
    account = org.provision(first.login)
    assert browser.sign_in(org.id, first).status_code == 303

    # Entra renames the first person and gives the UPN to a new person (a new oid), before
    # SCIM has told Zero: the new person must not get the first person's account.
    idp.put_user(replace(first, login="moved@contoso.example"))
    second = idp.add_user("reused@contoso.example")
    assert second.oid != first.oid
    with Browser(org.zero.url) as other:
        response = other.sign_in(org.id, second)
        assert_refused(response, 403, "identity_conflict", other)
    assert browser.me().json()["accountId"] == account["id"]  # the first session is unaffected


def test_a_person_of_another_tenant_is_refused(idp: Idp, org: Org, browser: Browser) -> None:
    # The org links Contoso; a Fabrikam account with a provisioned userName signs in
    # through Entra's organizations endpoint: its token is Fabrikam's (iss and tid).
    org.provision("mallory@fabrikam.example")
    outsider = idp.add_user("mallory@fabrikam.example", tenant=FABRIKAM)
    response = browser.sign_in(org.id, outsider)
    assert_refused(response, 403, "wrong_tenant", browser)
    assert "another organisation" in response.text


def test_relinking_the_org_to_another_tenant_ends_its_sessions(
    idp: Idp, org: Org, browser: Browser
) -> None:
    user = idp.add_user()
    org.provision(user.login)
    assert browser.sign_in(org.id, user).status_code == 303
    org.link(FABRIKAM)
    assert browser.me().status_code == 401
    org.link(CONTOSO, enabled=False)
    assert_refused(browser.get(f"/sso/start?org={org.id}"), 404, "sso_not_configured", browser)
    org.link(CONTOSO)
    assert browser.sign_in(org.id, user).status_code == 303


def test_groups_are_read_on_each_request(idp: Idp, org: Org, browser: Browser) -> None:
    user = idp.add_user()
    key = org.provision(user.login, roles=["reader"])["externalKey"]
    org.group("g-ops", "Operations", [key])
    assert browser.sign_in(org.id, user).status_code == 303
    me = browser.me().json()
    assert [g["displayName"] for g in me["groups"]] == ["Operations"] and me["roles"] == ["reader"]

    org.group("g-admins", "Admins", [key])
    org.remove_member("g-ops", key)
    me = browser.me().json()  # no new sign-in
    assert [g["displayName"] for g in me["groups"]] == ["Admins"]


def test_an_org_without_single_sign_on_says_so(unlinked_org: Org, browser: Browser) -> None:
    response = browser.get(f"/sso/start?org={unlinked_org.id}")
    assert response.status_code == 404
    assert response.headers["X-Zero-Error"] == "sso_not_configured"
    missing = browser.get("/sso/start")
    assert missing.status_code == 400 and missing.headers["X-Zero-Error"] == "bad_request"
