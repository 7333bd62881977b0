"""The storage deadline (issue 9 item 5): a write the API server does not answer in time is
503 with ``Retry-After`` — before the client gives up — and nothing acknowledged is lost.

The test freezes the session's own kube-apiserver with SIGSTOP, by the pid its local
cluster recorded in its state file (never by name: other sessions' API servers run on the
same machine), and always resumes it with SIGCONT in a ``finally``. A session on
``$KUBECONFIG`` has no process of its own to freeze: the test is skipped there.

The API process runs with a short deadline (``ZERO_SCIM_API_STORAGE_TIMEOUT``) so that
the test takes seconds; the default, 10 s, is the same code path.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
import uuid
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from tests.support.kube import KubeEnv
from tests.support.polling import eventually
from tests.support.scim import TenantInfo, running_api, scim_client, wait_for_tenant
from zero_scim.kube.coordinates import GROUP, USER, VERSION
from zero_scim_dev.cluster.cluster import State

pytestmark = pytest.mark.cluster

DEADLINE = 2.0
#: What the answer may take beyond the deadline on a busy machine (the request's own
#: work, the event loop's latency). Generous: it bounds a broken test, it measures nothing.
SLACK = 8.0


@contextlib.contextmanager
def frozen(pid: int) -> Iterator[None]:
    """The process stopped (SIGSTOP) for the duration; always resumed (SIGCONT)."""
    os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(pid, signal.SIGCONT)


def apiserver_pid(kube: KubeEnv) -> int:
    if kube.local is None:
        pytest.skip("the session's API server is not a local process ($KUBECONFIG is set)")
    return State.load(kube.local.state_path).processes["kube-apiserver"].pid


@pytest.fixture(scope="module")
def short_deadline_api(kube: KubeEnv) -> Iterator[str]:
    with running_api(kube.kubeconfig, ZERO_SCIM_API_STORAGE_TIMEOUT=str(DEADLINE)) as api:
        yield api.url


@pytest.fixture
async def http(short_deadline_api: str, tenant: TenantInfo) -> AsyncIterator[httpx.AsyncClient]:
    await wait_for_tenant(short_deadline_api, tenant)
    async with scim_client(short_deadline_api, tenant.token) as client:
        yield client


async def timed(request: asyncio.Future[httpx.Response]) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = await request
    return response, time.monotonic() - started


async def test_a_frozen_api_server_is_503_with_retry_after_and_nothing_acknowledged_is_lost(
    kube: KubeEnv, http: httpx.AsyncClient, tenant: TenantInfo
) -> None:
    pid = apiserver_pid(kube)
    kept = await http.post("/Users", json={"userName": f"kept-{uuid.uuid4().hex[:8]}@x.io"})
    assert kept.status_code == 201, kept.text
    kept_id = kept.json()["id"]
    group = await http.post("/Groups", json={"displayName": f"g-{uuid.uuid4().hex[:8]}"})
    assert group.status_code == 201, group.text

    answers: list[tuple[str, httpx.Response, float]] = []
    with frozen(pid):
        writes = {
            "POST": http.post("/Users", json={"userName": f"frozen-{uuid.uuid4().hex[:8]}@x.io"}),
            "PATCH": http.patch(
                f"/Users/{kept_id}",
                json={
                    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                    "Operations": [{"op": "replace", "path": "title", "value": "frozen"}],
                },
            ),
            "DELETE": http.delete(f"/Groups/{group.json()['id']}"),
        }
        for method, request in writes.items():
            response, took = await timed(asyncio.ensure_future(request))
            answers.append((method, response, took))
        # Reads are answered from the index: they do not wait for the API server.
        read = await http.get(f"/Users/{kept_id}")
        assert read.status_code == 200, read.text

    for method, response, took in answers:
        assert response.status_code == 503, (method, response.text)
        assert response.json()["status"] == "503"
        assert int(response.headers["Retry-After"]) >= 1
        assert took < DEADLINE + SLACK, (method, took)

    # The API server resumes: what was acknowledged is there, and writes work again.
    obj = kube.custom.list_namespaced_custom_object(GROUP, VERSION, tenant.namespace, USER.plural)[
        "items"
    ]
    assert kept_id in {o["spec"]["id"] for o in obj}

    async def writes_again() -> bool:
        response = await http.post("/Users", json={"userName": f"after-{uuid.uuid4().hex}@x.io"})
        return response.status_code == 201

    await eventually(writes_again, what="a write after the API server resumed", timeout=60)
    again = await http.get(f"/Users/{kept_id}")
    assert again.status_code == 200
