"""Signing in to Zero with the real identity provider: the happy path and who may sign in."""

from __future__ import annotations

from tests.sso.conftest import Org
from tests.support.idp import Browser, Idp


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
    assert "Ada Lovelace" in page.text and "ada@contoso.example" in page.text
    assert "Engineering" in page.text
    me = browser.me().json()
    assert me["accountId"] == account["id"] and me["userName"] == user.login
    assert me["identity"] == {"tenantId": user.tenant, "objectId": user.oid}
    assert [g["displayName"] for g in me["groups"]] == ["Engineering"]
