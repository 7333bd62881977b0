"""The error-body check itself (tests/support/error_bodies.py): what it finds, what not."""

from __future__ import annotations

import asyncio

import httpx
import orjson
import pytest

from tests.support import error_bodies

ERROR = {"schemas": [error_bodies.ERROR_URN], "status": "400"}


@pytest.mark.parametrize(
    "detail",
    [
        'scimusers.zeroscim.io "u-0123456789abcdef0123456789abcdef01234567" is invalid',
        "ScimGroup g-5b1c3c4e-0000-4000-8000-000000000000 not found",
        "GET /apis/zeroscim.io/v1alpha1/namespaces/t/scimusers failed",
        "Cannot connect to host 127.0.0.1:6443",
        'Traceback (most recent call last):\n  File "x.py", line 3',
        "KeyError: 'userName'",
        "spec.emails[0].value: Invalid value",
    ],
)
def test_internal_names_are_found(detail: str) -> None:
    assert error_bodies.leaks(detail)


@pytest.mark.parametrize(
    "detail",
    [
        'userName "a@b.io" is already taken',
        "members refer to unknown resources: 5b1c3c4e-0000-4000-8000-000000000000",
        "the storage is unavailable; retry",
        'the filter is not valid: unexpected "ScimUser" at 12',  # echoed, see below
    ],
)
def test_scim_terms_and_echoes_are_not(detail: str) -> None:
    assert not error_bodies.leaks(detail, sent='filter=userName eq "ScimUser"')


def test_a_response_is_recorded_only_if_it_is_a_scim_error_that_leaks() -> None:
    request = httpx.Request("POST", "http://testserver/scim/v2/Users", content=b"{}")
    leaky = {**ERROR, "detail": "ScimUser u-0123456789abcdef0123456789abcdef01234567"}
    before = len(error_bodies.COLLECTED)
    for status, body in ((400, ERROR), (200, leaky), (404, {"detail": leaky["detail"]})):
        error_bodies.check(httpx.Response(status, content=orjson.dumps(body), request=request))
    assert len(error_bodies.COLLECTED) == before
    error_bodies.check(httpx.Response(400, content=orjson.dumps(leaky), request=request))
    try:
        assert len(error_bodies.COLLECTED) == before + 2  # the kind and the object name
    finally:
        del error_bodies.COLLECTED[before:]  # a deliberate leak must not fail the session


async def test_every_httpx_client_of_the_session_is_watched() -> None:
    leaky = {**ERROR, "detail": "Cannot connect to host 127.0.0.1:6443"}

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503, content=orjson.dumps(leaky))

    error_bodies.install()  # done by tests/conftest.py already; installing again is a no-op
    before = len(error_bodies.COLLECTED)
    try:
        with httpx.Client(transport=httpx.MockTransport(answer)) as sync:
            await asyncio.to_thread(sync.get, "http://testserver/scim/v2/Users")
        async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as http:
            await http.get("http://testserver/scim/v2/Users")
        assert [f.marker for f in error_bodies.COLLECTED[before:]] == ["a loopback address"] * 2
    finally:
        del error_bodies.COLLECTED[before:]
