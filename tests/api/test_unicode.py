"""One normalisation for userNames (issue 9 item 4): uniqueness, the index and filters
compare the caseless key (NFC, case folding, NFC), and every write path refuses control
characters and white-space-only userNames — through the app to the real API server.
"""

from __future__ import annotations

import unicodedata
import uuid
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.cluster

PATCH_URN = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def spelled(form: str, tag: str) -> str:
    return unicodedata.normalize(form, f"José.Müller-{tag}@Exämple.io")


async def found_by(client: httpx.AsyncClient, user_name: str) -> list[dict[str, Any]]:
    escaped = user_name.replace("\\", "\\\\").replace('"', '\\"')
    response = await client.get("/Users", params={"filter": f'userName eq "{escaped}"'})
    assert response.status_code == 200, response.text
    resources: list[dict[str, Any]] = response.json()["Resources"]
    return resources


async def test_an_nfd_user_is_found_by_its_nfc_spelling_and_is_the_only_one(
    client: httpx.AsyncClient,
) -> None:
    tag = uuid.uuid4().hex[:8]
    nfd, nfc = spelled("NFD", tag), spelled("NFC", tag)
    assert nfd != nfc
    created = await client.post("/Users", json={"userName": nfd})
    assert created.status_code == 201, created.text
    for spelling in (nfc, nfd, nfc.upper(), nfd.casefold()):
        hits = await found_by(client, spelling)
        assert [h["id"] for h in hits] == [created.json()["id"]], spelling
    # Entra creates on zero hits; the POST of the NFC spelling is 409 because the user
    # really exists — and the filter just found it.
    again = await client.post("/Users", json={"userName": nfc})
    assert again.status_code == 409, again.text
    assert again.json()["scimType"] == "uniqueness"


async def test_renaming_to_another_spelling_of_the_same_name_keeps_the_user(
    client: httpx.AsyncClient,
) -> None:
    tag = uuid.uuid4().hex[:8]
    created = await client.post("/Users", json={"userName": spelled("NFD", tag)})
    assert created.status_code == 201, created.text
    renamed = await client.patch(
        f"/Users/{created.json()['id']}",
        json={
            "schemas": [PATCH_URN],
            "Operations": [{"op": "replace", "path": "userName", "value": spelled("NFC", tag)}],
        },
    )
    assert renamed.status_code == 200, renamed.text
    assert [h["id"] for h in await found_by(client, spelled("NFC", tag).upper())] == [
        created.json()["id"]
    ]


BAD_NAMES = {
    "spaces": "   ",
    "tab-and-newline": "\t\n",
    "nul": "bad\x00name@x.io",
    "crlf": "bad\r\nname@x.io",
    "bidi-override": "bad\u202ename@x.io",
}


@pytest.mark.parametrize("name", BAD_NAMES.values(), ids=BAD_NAMES.keys())
async def test_control_characters_and_blank_user_names_are_refused_on_every_write(
    client: httpx.AsyncClient, name: str
) -> None:
    post = await client.post("/Users", json={"userName": name})
    assert post.status_code == 400, post.text
    assert post.json()["scimType"] == "invalidValue"
    assert "userName" in post.json()["detail"]

    good = f"good-{uuid.uuid4().hex[:8]}@x.io"
    created = await client.post("/Users", json={"userName": good})
    assert created.status_code == 201, created.text
    path = f"/Users/{created.json()['id']}"
    put = await client.put(path, json={"userName": name})
    patch = await client.patch(
        path,
        json={
            "schemas": [PATCH_URN],
            "Operations": [{"op": "replace", "path": "userName", "value": name}],
        },
    )
    pathless = await client.patch(
        path,
        json={
            "schemas": [PATCH_URN],
            "Operations": [{"op": "replace", "value": {"userName": name}}],
        },
    )
    for response in (put, patch, pathless):
        assert response.status_code == 400, response.text
        assert response.json()["scimType"] == "invalidValue"
    assert (await client.get(path)).json()["userName"] == good
