"""Every SCIM error body the test suite receives, checked for internal names (issue 9 item 2).

A SCIM error tells the client what was wrong in SCIM terms; object names, custom-resource
kinds, the API group, REST paths, hosts and ports, exception names and tracebacks belong
in the server's log (with the request id), never in a body. This module watches every
response an ``httpx`` client of the test session receives (in process through the ASGI
transport, or over HTTP from an API process): a response whose body is a SCIM Error
(``urn:ietf:params:scim:api:messages:2.0:Error``) is searched for :data:`MARKERS`. A
marker that also occurs in what the client itself sent (an echo of its own input, such
as a filter quoting a bad value) does not count.

:func:`install` is called once per session (tests/conftest.py), which fails the session
when :data:`COLLECTED` holds findings at its end.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any, Final

import httpx
import orjson

ERROR_URN: Final = "urn:ietf:params:scim:api:messages:2.0:Error"

#: What must never reach a client, by what it gives away.
MARKERS: Final[dict[str, re.Pattern[str]]] = {
    "the API group": re.compile(r"zeroscim\.io", re.IGNORECASE),
    "a kind name": re.compile(r"\b(Scim(User|Group|MemberBatch)s?|ZeroTenants?)\b"),
    "a plural resource name": re.compile(r"\b(scimusers|scimgroups|scimmemberbatches)\b"),
    "an object name": re.compile(r"\b(u-[0-9a-f]{40}|g-[0-9a-f]{8}-[0-9a-f-]{27})\b"),
    "a REST path": re.compile(r"/apis?/|/api/v1\b"),
    "a loopback address": re.compile(r"127\.0\.0\.1|\[::1\]|\blocalhost:\d+"),
    "a traceback": re.compile(r"Traceback|File \"[^\"]+\", line \d+"),
    "an exception name": re.compile(
        r"\b(KubeError|ApiException|ClientResponseError|ClientConnectorError|"
        r"ServerDisconnectedError|TimeoutError|CancelledError|KeyError|ValueError|TypeError|"
        r"AttributeError|AssertionError|RuntimeError|JSONDecodeError|ValidationError)\b"
    ),
    "a field path": re.compile(r"\bspec\.[A-Za-z]|\bmetadata\.(name|resourceVersion)"),
}


@dataclass(frozen=True, slots=True)
class Finding:
    request: str
    status: int
    marker: str
    text: str
    body: str


COLLECTED: list[Finding] = []
_installed = False


def leaks(body: str, sent: str = "") -> list[tuple[str, str]]:
    """The markers in ``body`` (what, the text found) that are not in ``sent``."""
    found: list[tuple[str, str]] = []
    for what, pattern in MARKERS.items():
        for match in pattern.finditer(body):
            if match.group(0) not in sent:
                found.append((what, match.group(0)))
    return found


def _sent(request: httpx.Request) -> str:
    try:
        content = request.content
    except httpx.RequestNotRead:  # a streamed body: only the URL is known
        content = b""
    return str(request.url) + "\n" + content.decode("utf-8", "replace")


def _is_scim_error(body: bytes) -> bool:
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        return False
    return isinstance(parsed, dict) and ERROR_URN in (parsed.get("schemas") or [])


def check(response: httpx.Response) -> None:
    """Record the leaks in ``response`` if it is a SCIM error (its body has been read)."""
    if response.status_code < 400 or ERROR_URN.encode() not in response.content:
        return
    if not _is_scim_error(response.content):
        return
    text = response.content.decode("utf-8", "replace")
    request = response.request
    for what, found in leaks(text, _sent(request)):
        COLLECTED.append(
            Finding(f"{request.method} {request.url}", response.status_code, what, found, text)
        )


def install() -> None:
    """Check every response of every ``httpx`` client of this process (idempotent)."""
    global _installed
    if _installed:
        return
    _installed = True
    sync_send = httpx.Client.send
    async_send = httpx.AsyncClient.send

    @functools.wraps(sync_send)
    def send(self: httpx.Client, request: httpx.Request, **kwargs: Any) -> httpx.Response:
        response = sync_send(self, request, **kwargs)
        if not kwargs.get("stream", False):  # read already: httpx reads unless streaming
            check(response)
        return response

    @functools.wraps(async_send)
    async def asend(
        self: httpx.AsyncClient, request: httpx.Request, **kwargs: Any
    ) -> httpx.Response:
        response = await async_send(self, request, **kwargs)
        if not kwargs.get("stream", False):
            check(response)
        return response

    httpx.Client.send = send  # type: ignore[method-assign]
    httpx.AsyncClient.send = asend  # type: ignore[method-assign]


def report() -> str:
    """The findings, one per line (at most 50), for the end of the session."""
    lines = [
        f"{f.request} -> {f.status}: {f.marker} ({f.text!r}) in {f.body[:300]}"
        for f in COLLECTED[:50]
    ]
    more = len(COLLECTED) - len(lines)
    return "\n".join(lines + ([f"... and {more} more"] if more > 0 else []))


__all__ = ["COLLECTED", "MARKERS", "Finding", "check", "install", "leaks", "report"]
