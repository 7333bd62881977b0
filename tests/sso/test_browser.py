"""The sign-in in a real browser (headless Chromium): what a person sees."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.sso.conftest import Org
from tests.support.chromium import ChromiumPerson
from tests.support.idp import Idp

pytestmark = pytest.mark.slow


def test_a_person_signs_in_in_chromium_and_is_refused_once_disabled(
    idp: Idp, org: Org, tmp_path: Path
) -> None:
    user = idp.add_user("katherine@contoso.example", name="Katherine Johnson")
    account = org.provision(user.login, displayName="Katherine Johnson", email=user.login)
    org.group("g-math", "Flight Research", [account["externalKey"]])

    start = f"{org.zero.url}/sso/start?org={org.id}"
    with ChromiumPerson(start, user.login, user.password, tmp_path / "shots") as person:
        landed = person.report()
        assert landed["status"] == 200 and landed["url"] == f"{org.zero.url}/me"
        assert landed["heading"] == "Hello, Katherine Johnson"
        for shown in (user.login, "Flight Research", org.id, "Sign out"):
            assert shown in landed["text"], shown
        assert Path(landed["screenshot"]).stat().st_size > 0

        again = person.command("reload")  # the session cookie works in a real browser
        assert again["status"] == 200 and again["heading"] == landed["heading"]

        org.disable(account["externalKey"])
        refused = person.command("until-refused 10000")
        assert refused["status"] == 401 and refused["errorCode"] == "not_signed_in"
        assert refused["heading"] == "You are not signed in"
