"""Token rotation: on a schedule with a grace period, on demand, once per due time even
with two operators, and -- against the real SCIM API under load -- never a 401 for a
valid token."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.operator.conftest import Start
from tests.operator.support import (
    Zero,
    add_entry,
    annotate_rotate,
    create_group,
    create_tenant,
    create_user,
    events_for,
    eventually,
    get_object,
    get_tenant,
    is_true,
    patch_tenant,
    read_secret,
    user_spec,
)
from tests.support.kube import KubeEnv
from tests.support.scim import running_api, scim_client
from zero_scim.kube.coordinates import GROUP_KIND
from zero_scim.kube.tokens import (
    ANNOTATION_ROTATED_AT,
    ANNOTATION_ROTATION_REQUEST,
    digest,
    digests_from_secret_data,
    parse_time,
)


@dataclass
class SecretLog:
    """Every version of the token Secret, as a poller saw it (every 50 ms)."""

    versions: list[dict[str, Any]] = field(default_factory=list)

    def tokens(self) -> list[str]:
        seen: list[str] = []
        for version in self.versions:
            token = version["data"].get("token")
            if token and token not in seen:
                seen.append(token)
        return seen

    def rotation_times(self) -> list[datetime]:
        times = sorted({parse_time(v["annotations"][ANNOTATION_ROTATED_AT]) for v in self.versions})
        return times


async def _poll_secret(kube: KubeEnv, namespace: str, log: SecretLog, stop: asyncio.Event) -> None:
    last = None
    while not stop.is_set():
        secret = await asyncio.to_thread(read_secret, kube, namespace)
        if secret is not None and secret["resourceVersion"] != last:
            last = secret["resourceVersion"]
            secret["seen"] = datetime.now(UTC)
            log.versions.append(secret)
        await asyncio.sleep(0.05)


@contextlib.asynccontextmanager
async def recording(kube: KubeEnv, namespace: str) -> AsyncIterator[SecretLog]:
    log = SecretLog()
    stop = asyncio.Event()
    task = asyncio.create_task(_poll_secret(kube, namespace, log, stop))
    try:
        yield log
    finally:
        stop.set()
        await task


async def test_scheduled_rotation_keeps_the_previous_token_for_the_grace_period(
    kube: KubeEnv, namespace: str, zero: Zero, operators: Start
) -> None:
    operators()
    create_tenant(kube, zero, namespace, tokenRotation={"interval": "3s", "gracePeriod": "1s"})
    await eventually(lambda: read_secret(kube, namespace))
    async with recording(kube, namespace) as log:
        await eventually(lambda: len(log.tokens()) >= 3, timeout=15)

    # Rotations are one interval apart: never early, late only by the loop's latency.
    times = log.rotation_times()
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(times)]
    assert all(3.0 <= gap <= 6.0 for gap in gaps), gaps
    # After each rotation the old token is the previous one, accepted until its expiry,
    # and is removed once the grace period is over (before the next rotation).
    for version in log.versions:
        data = version["data"]
        digests = digests_from_secret_data(version["raw"])
        assert digests.accepts(digest(data["token"]), version["seen"])
        if "previousToken" in data:
            expires = parse_time(data["previousTokenExpiresAt"])
            rotated = parse_time(version["annotations"][ANNOTATION_ROTATED_AT])
            assert expires == rotated + timedelta(seconds=1)
            assert digests.accepts(digest(data["previousToken"]), expires - timedelta(seconds=0.5))
            assert not digests.accepts(digest(data["previousToken"]), expires)
    assert any("previousToken" not in v["data"] for v in log.versions[1:])

    status = get_tenant(kube, namespace)["status"]
    rotated_at = parse_time(status["tokenRotatedAt"])
    assert parse_time(status["nextRotationAt"]) == rotated_at + timedelta(seconds=3)
    assert is_true(get_tenant(kube, namespace), "TokenReady")
    assert len(events_for(kube, "default", namespace, "TokenRotated")) >= 2


async def test_on_demand_rotation(
    kube: KubeEnv, namespace: str, zero: Zero, operators: Start
) -> None:
    operators()
    create_tenant(kube, zero, namespace, tokenRotation={"interval": "0", "gracePeriod": "1h"})
    first = (await eventually(lambda: read_secret(kube, namespace)))["data"]["token"]

    # kubectl annotate zerotenant NAME zeroscim.io/rotate-token="$(date +%s)" --overwrite
    annotate_rotate(kube, namespace, "1700000000")
    secret = await eventually(lambda: _rotated_to(kube, namespace, "1700000000"))
    assert secret["data"]["previousToken"] == first
    second = secret["data"]["token"]
    await eventually(lambda: get_tenant(kube, namespace)["status"].get("previousTokenExpiresAt"))
    # The same value again is not a new request; a new value is.
    annotate_rotate(kube, namespace, "1700000000")
    patch_tenant(kube, namespace, {"spec": {"displayName": "poke"}})  # a spec change, too
    await eventually(lambda: get_tenant(kube, namespace)["status"]["observedGeneration"] == 2)
    assert read_secret(kube, namespace)["data"]["token"] == second  # type: ignore[index]
    annotate_rotate(kube, namespace, "1700000001")
    third = await eventually(lambda: _rotated_to(kube, namespace, "1700000001"))
    assert third["data"]["previousToken"] == second
    # The Event is posted after the Secret is replaced: wait for it, then make sure that
    # no third one follows (the repeated annotation value must not have rotated).
    await eventually(lambda: len(events_for(kube, "default", namespace, "TokenRotated")) >= 2)
    await asyncio.sleep(1)
    assert len(events_for(kube, "default", namespace, "TokenRotated")) == 2


async def test_two_operators_rotate_once_per_due_time(
    kube: KubeEnv, namespace: str, zero: Zero, operators: Start
) -> None:
    operators(log="operator-a.log")
    operators(log="operator-b.log")
    create_tenant(kube, zero, namespace, tokenRotation={"interval": "2s", "gracePeriod": "0"})
    await eventually(lambda: read_secret(kube, namespace))
    async with recording(kube, namespace) as log:
        await eventually(lambda: len(log.tokens()) >= 4, timeout=15)
        annotate_rotate(kube, namespace, "both-see-this")
        await eventually(lambda: _rotated_to(kube, namespace, "both-see-this"))
        await asyncio.sleep(0.5)  # let a (wrong) second rotation show up if there were one

    times = log.rotation_times()
    scheduled = [t for t in times if t < times[-1]]
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(scheduled)]
    assert all(gap >= 2.0 for gap in gaps), gaps  # never two rotations for one due time
    requested = [v for v in log.versions if v["annotations"].get(ANNOTATION_ROTATION_REQUEST)]
    assert len({v["data"]["token"] for v in requested}) == 1  # the request: one rotation
    reasons = [e.message for e in events_for(kube, "default", namespace, "TokenRotated")]
    assert sum("requested" in m for m in reasons) == 1

    # Both processes also sync users and groups: idempotently, and the group's counters
    # stay exact (its status is written with resourceVersion preconditions).
    users = [user_spec(f"twice{i}@example.com") for i in range(4)]
    for spec in users:
        create_user(kube, namespace, spec)
    group = create_group(kube, namespace, "both-groups", "Both")
    add_entry(kube, namespace, "both-groups", 1, add=[u["id"] for u in users])
    add_entry(kube, namespace, "both-groups", 2, remove=[users[0]["id"]])

    async def settled() -> bool:
        status = (get_object(kube, GROUP_KIND, namespace, group) or {}).get("status") or {}
        return status.get("membersSyncedSeq") == 2 and status.get("memberCount") == 3

    await eventually(settled, timeout=30)
    assert await zero.members("both-groups") == {u["id"] for u in users[1:]}
    assert await zero.count("PUT", status=201) == 4 + 1  # four accounts, one group


def _rotated_to(kube: KubeEnv, namespace: str, request: str) -> dict[str, Any] | None:
    secret = read_secret(kube, namespace)
    if secret and secret["annotations"].get(ANNOTATION_ROTATION_REQUEST) == request:
        return secret
    return None


#: The API's promise: a new token works within 2 s of the Secret change (issue 3).
API_PROPAGATION = 2.0


@dataclass(frozen=True)
class Validity:
    """When the Secret made a token valid: from its rotation until the next-but-one
    rotation or the end of its grace period, whichever comes first."""

    token: str
    start: datetime
    end: datetime | None  # None: unknown (the recording missed the versions after it)


def validities(log: SecretLog) -> list[Validity]:
    versions = sorted(
        {v["data"]["token"]: v for v in log.versions}.values(),
        key=lambda v: parse_time(v["annotations"][ANNOTATION_ROTATED_AT]),
    )
    result = []
    for i, version in enumerate(versions):
        start = parse_time(version["annotations"][ANNOTATION_ROTATED_AT])
        end: datetime | None = None
        if i + 1 < len(versions):
            successor = versions[i + 1]["data"]
            if successor.get("previousToken") == version["data"]["token"]:
                end = parse_time(successor["previousTokenExpiresAt"])
                if i + 2 < len(versions):
                    later = parse_time(versions[i + 2]["annotations"][ANNOTATION_ROTATED_AT])
                    end = min(end, later)
        result.append(Validity(version["data"]["token"], start, end))
    return result


async def test_no_401_for_a_valid_token_while_tokens_rotate(
    kube: KubeEnv, namespace: str, zero: Zero, operators: Start
) -> None:
    """Entra keeps its own copy of the token and gets the new one some time after a
    rotation; until then it sends the previous one, which must keep working.

    Every request is judged against the Secret's own timeline: a token counts as valid
    from API_PROPAGATION after its rotation until the next-but-one rotation or the end
    of its grace period. No request inside that window may get a 401.
    """
    operators()
    create_tenant(kube, zero, namespace, tokenRotation={"interval": "2s", "gracePeriod": "5s"})
    await eventually(lambda: read_secret(kube, namespace))
    requests: list[tuple[str, datetime, datetime, int]] = []
    with running_api(kube.kubeconfig) as api:
        url = api.url
        async with recording(kube, namespace) as log:
            adopt_after = 1.0  # Entra's admin pastes the new token a second after it appeared

            def entra_token() -> str:
                now = datetime.now(UTC)
                usable = [
                    v for v in log.versions if (now - v["seen"]).total_seconds() >= adopt_after
                ]
                return str((usable or log.versions[:1])[-1]["data"]["token"])

            await eventually(lambda: log.versions)
            await eventually(lambda: _accepted(url, entra_token()), timeout=10)
            started = time.monotonic()

            def sampling() -> bool:
                """At least 6 s and 500 requests, at most 30 s: on a loaded machine the API
                answers fewer requests per second, and the evidence (not the clock) must
                suffice for the judgement below."""
                elapsed = time.monotonic() - started
                return elapsed < 30 and (elapsed < 6 or len(requests) < 500)

            async with httpx.AsyncClient(base_url=url + "/scim/v2", timeout=10) as http:

                async def client() -> None:
                    while sampling():
                        token = entra_token()
                        sent = datetime.now(UTC)
                        response = await http.get(
                            "/Users",
                            params={"count": "1"},
                            headers={"Authorization": f"Bearer {token}"},
                        )
                        requests.append((token, sent, datetime.now(UTC), response.status_code))

                await asyncio.gather(*(client() for _ in range(16)))
            await asyncio.sleep(2.5)  # record the rotation after the last one used

        windows = {v.token: v for v in validities(log)}
        judged = refused = 0
        for token, sent, done, status in requests:
            window = windows.get(token)
            if window is None or window.end is None:
                continue
            if window.start + timedelta(seconds=API_PROPAGATION) <= sent and done < window.end:
                judged += 1
                refused += status == 401
        statuses = Counter(status for *_, status in requests)
        assert refused == 0, (refused, judged, statuses)
        assert judged >= 200 and statuses[200] >= 0.95 * len(requests), (judged, statuses)
        assert len(windows) >= 4  # tokens rotated during the load

        # Once the rotations stop and the grace period ends, the previous token is refused.
        patch_tenant(kube, namespace, {"spec": {"tokenRotation": {"interval": "0"}}})
        final = await eventually(lambda: _stable_previous(kube, namespace), timeout=15)
        expires = parse_time(final["data"]["previousTokenExpiresAt"])
        assert await _status(url, final["data"]["previousToken"]) == 200
        await asyncio.sleep(max(0.0, (expires - datetime.now(UTC)).total_seconds()))
        await eventually(lambda: _refused(url, final["data"]["previousToken"]), timeout=5)
        assert await _status(url, final["data"]["token"]) == 200
        await eventually(lambda: "previousToken" not in _data(kube, namespace))


def _data(kube: KubeEnv, namespace: str) -> dict[str, str]:
    secret = read_secret(kube, namespace)
    return dict(secret["data"]) if secret else {}


def _stable_previous(kube: KubeEnv, namespace: str) -> dict[str, Any] | None:
    tenant = get_tenant(kube, namespace)
    secret = read_secret(kube, namespace)
    if (
        tenant["status"].get("nextRotationAt") is None
        and secret
        and "previousToken" in secret["data"]
    ):
        expires = parse_time(secret["data"]["previousTokenExpiresAt"])
        if (expires - datetime.now(UTC)).total_seconds() > 1.0:
            return secret
    return None


async def _status(url: str, token: str) -> int:
    async with scim_client(url, token) as http:
        return (await http.get("/Users", params={"count": "0"})).status_code


async def _accepted(url: str, token: str) -> bool:
    return await _status(url, token) == 200


async def _refused(url: str, token: str) -> bool:
    return await _status(url, token) == 401
