"""scim2-tester (the PyPI SCIM conformance checker) against the real server on loopback.

Every check must pass, except the ones listed in :data:`KNOWN_SERVER_BUGS`: failures of
*our* server whose fix lies outside the HTTP layer, each with where the fix belongs. A
check listed there that starts passing fails this test too, so the list cannot go stale.
"""

from __future__ import annotations

import asyncio
import collections

import httpx
from scim2_tester import Status, check_server

from tests.support.scim import ApiProcess, HttpxScimClient, TenantInfo, tls, wait_for_tenant

FAILED = {Status.ERROR, Status.CRITICAL}

#: (check title, resource type) -> why it fails and where the fix belongs.
KNOWN_SERVER_BUGS: dict[tuple[str, str | None], str] = {}


def run_checker(url: str, token: str) -> list[tuple[str, str | None, str, str]]:
    with httpx.Client(
        base_url=f"{url}/scim/v2",
        headers={"Authorization": f"Bearer {token}"},
        verify=tls(),
        timeout=30,
    ) as http:
        results = check_server(HttpxScimClient(http))
    counts = collections.Counter(r.status.name for r in results)
    print(f"scim2-tester: {dict(counts)}")
    assert counts["SUCCESS"] > 100, counts
    return [
        (r.title or "", r.resource_type, r.status.name, str(r.reason))
        for r in results
        if r.status in FAILED
    ]


async def test_scim2_tester_finds_no_failure(api_process: ApiProcess, tenant: TenantInfo) -> None:
    await wait_for_tenant(api_process.url, tenant)
    failures = await asyncio.to_thread(run_checker, api_process.url, tenant.token)
    unexpected = [f for f in failures if (f[0], f[1]) not in KNOWN_SERVER_BUGS]
    assert unexpected == []
    still_failing = {(f[0], f[1]) for f in failures}
    fixed = [key for key in KNOWN_SERVER_BUGS if key not in still_failing]
    assert fixed == [], "remove these from KNOWN_SERVER_BUGS: they pass now"
