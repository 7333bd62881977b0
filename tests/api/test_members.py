"""Member existence through the real server process (issue 9 item 3): a request that waits
for a member id the index does not know stops when its client goes away."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import httpx
import pytest

from tests.support.kube import KubeEnv
from tests.support.polling import eventually
from tests.support.scim import ApiProcess, TenantInfo, running_api, scim_client, wait_for_tenant

pytestmark = pytest.mark.cluster

PATCH_URN = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
#: Far longer than the test takes: the request ends only because its client left.
MEMBER_WAIT = 30  # the most Settings allows


@pytest.fixture(scope="module")
def patient_api(kube: KubeEnv) -> Iterator[ApiProcess]:
    with running_api(kube.kubeconfig, ZERO_SCIM_API_MEMBER_WAIT=str(MEMBER_WAIT)) as api:
        yield api


def access_lines(api: ApiProcess, method: str) -> list[dict[str, object]]:
    lines = []
    for raw in list(api.stderr_lines) + list(api.stdout_lines):
        try:
            record = json.loads(raw)
        except ValueError:
            continue
        if isinstance(record, dict) and record.get("method") == method and "status" in record:
            lines.append(record)
    return lines


async def test_a_member_wait_is_abandoned_when_the_client_disconnects(
    patient_api: ApiProcess, tenant: TenantInfo
) -> None:
    await wait_for_tenant(patient_api.url, tenant)
    async with scim_client(patient_api.url, tenant.token) as http:
        group = await http.post("/Groups", json={"displayName": f"g-{uuid.uuid4().hex[:8]}"})
        assert group.status_code == 201, group.text
        path = f"/Groups/{group.json()['id']}"
        unknown = str(uuid.uuid4())  # shaped like an id this API issues: it is waited for
        body = {
            "schemas": [PATCH_URN],
            "Operations": [{"op": "add", "path": "members", "value": [{"value": unknown}]}],
        }
        with pytest.raises(httpx.TimeoutException):
            await http.patch(path, json=body, timeout=1.0)  # the client gives up and leaves

        def abandoned() -> list[dict[str, object]]:
            return [r for r in access_lines(patient_api, "PATCH") if r["status"] == 499]

        await eventually(abandoned, what="the PATCH logged as abandoned (499)", timeout=25)
        record = abandoned()[0]
        # It ended when the client left (after 1 s), not when the wait ran out.
        assert float(str(record["duration_ms"])) < (MEMBER_WAIT - 10) * 1000, record
        after = await http.get(path, params={"attributes": "members"})
        assert after.status_code == 200
        assert after.json().get("members", []) == []  # nothing was written
