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
    API_KEY_SECRET,
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
    put_secret,
    read_secret,
    reason_is,
    user_spec,
)
from tests.support.kube import KubeEnv
from tests.support.scim import running_api, scim_client
from zero_scim.kube.coordinates import GROUP_KIND
from zero_scim.kube.tokens import (
    ANNOTATION_ROTATED_AT,
    ANNOTATION_ROTATION_REQUEST,
    SECRET_NAME,
    digest,
    digests_from_secret_data,
    parse_time,
)
from zero_scim_operator.services.tokens import Action, TokenState, decide


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


#: Requests inside a token's window the judgement needs; sampling goes on until there are
#: this many, for at most SAMPLING_LIMIT seconds.
JUDGED_MIN = 200
SAMPLING_LIMIT = 90.0

Request = tuple[str, datetime, datetime, int]  # token, sent, answered, status
#: The status of a request that got no answer (a timeout): judged, and never a 200.
NO_ANSWER = 0


def judge(requests: list[Request], windows: list[Validity]) -> tuple[int, int]:
    """(judged, refused): the requests sent at least API_PROPAGATION after their token's
    rotation and answered before its window ended, and how many of them got a 401 (a
    request without an answer is evidence of neither)."""
    by_token = {w.token: w for w in windows}
    judged = refused = 0
    for token, sent, done, status in requests:
        window = by_token.get(token)
        if window is None or window.end is None or status == NO_ANSWER:
            continue
        if window.start + timedelta(seconds=API_PROPAGATION) <= sent and done < window.end:
            judged += 1
            refused += status == 401
    return judged, refused


@dataclass
class Evidence:
    """How many requests can be judged already, counted at most every half second, over
    windows that later versions of the Secret can no longer shorten (all but the last
    two tokens'): the count only grows, and the final judgement sees at least as many."""

    count: int = 0
    next_count: float = 0.0

    def judged(self, requests: list[Request], log: SecretLog) -> int:
        now = time.monotonic()
        if now >= self.next_count:
            self.count = judge(list(requests), validities(log)[:-2])[0]
            self.next_count = now + 0.5
        return self.count


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
    # While tokens rotate every 2 s a token's window ends with the next-but-one rotation,
    # long before its grace period: the grace only matters once rotations stop (below),
    # where it must outlast the operator's reaction to the spec change on a busy machine.
    create_tenant(kube, zero, namespace, tokenRotation={"interval": "2s", "gracePeriod": "10s"})
    await eventually(lambda: read_secret(kube, namespace))
    requests: list[Request] = []
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
            evidence = Evidence()

            def sampling() -> bool:
                """At least 6 s and 500 requests, and until the requests that can be judged
                are enough for the judgement below (at most SAMPLING_LIMIT s): on a loaded
                machine the API answers fewer requests per second and fewer of them fall
                into a token's window, so the evidence, not the clock, decides."""
                elapsed = time.monotonic() - started
                if elapsed >= SAMPLING_LIMIT:
                    return False
                if elapsed < 6 or len(requests) < 500:
                    return True
                return evidence.judged(requests, log) < JUDGED_MIN

            async with httpx.AsyncClient(base_url=url + "/scim/v2", timeout=10) as http:

                async def client() -> None:
                    while sampling():
                        token = entra_token()
                        sent = datetime.now(UTC)
                        try:
                            response = await http.get(
                                "/Users",
                                params={"count": "1"},
                                headers={"Authorization": f"Bearer {token}"},
                            )
                            status = response.status_code
                        except httpx.TransportError:
                            status = NO_ANSWER  # a slow answer on a busy machine: not a 401
                        requests.append((token, sent, datetime.now(UTC), status))

                await asyncio.gather(*(client() for _ in range(16)))
            await asyncio.sleep(2.5)  # record the rotation after the last one used

        judged, refused = judge(requests, validities(log))
        statuses = Counter(status for *_, status in requests)
        assert refused == 0, (refused, judged, statuses)
        assert judged >= JUDGED_MIN and statuses[200] >= 0.95 * len(requests), (judged, statuses)
        assert len(validities(log)) >= 4  # tokens rotated during the load

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


# -- a deleted token Secret -----------------------------------------------------------------


async def test_a_deleted_token_secret_is_issued_again(
    kube: KubeEnv, namespace: str, zero: Zero, operators: Start
) -> None:
    operators()
    create_tenant(kube, zero, namespace)
    first = (await eventually(lambda: read_secret(kube, namespace)))["data"]["token"]
    await eventually(lambda: is_true(get_tenant(kube, namespace), "TokenReady"))

    kube.core.delete_namespaced_secret(SECRET_NAME, namespace)  # deleted by anyone
    secret = await eventually(
        lambda: (s := read_secret(kube, namespace)) and s["data"]["token"] != first and s
    )
    reissued = await eventually(
        lambda: reason_is(get_tenant(kube, namespace), "TokenReady", "TokenReissued")
    )
    assert reissued["status"] == "True" and "missing" in reissued["message"]
    status = get_tenant(kube, namespace)["status"]
    assert status["tokenRotatedAt"] == secret["annotations"][ANNOTATION_ROTATED_AT]
    assert is_true(get_tenant(kube, namespace), "Ready")
    await eventually(lambda: events_for(kube, "default", namespace, "TokenReissued"))

    # The API takes the new token and refuses the old one.
    with running_api(kube.kubeconfig) as api:
        await eventually(lambda: _accepted(api.url, secret["data"]["token"]), timeout=10)
        assert await _refused(api.url, first)


async def test_token_ready_says_so_while_the_secret_is_missing(
    kube: KubeEnv, namespace: str, zero: Zero, operators: Start
) -> None:
    """The Secret is gone and cannot be created again for a while: the namespace is held
    in Terminating (a finalizer of the test's), where the API server refuses every new
    object; its namespace controller deletes the Secrets in it."""
    operators()
    create_tenant(kube, zero, namespace)
    first = (await eventually(lambda: read_secret(kube, namespace)))["data"]["token"]
    await eventually(lambda: is_true(get_tenant(kube, namespace), "Ready"))
    hold = {"metadata": {"finalizers": [HOLD]}}
    kube.core.patch_namespace(namespace, hold)
    try:
        kube.core.delete_namespace(namespace)
        missing = await eventually(
            lambda: reason_is(get_tenant(kube, namespace), "TokenReady", "TokenSecretMissing"),
            timeout=60,
        )
        assert missing["status"] == "False"
        assert reason_is(get_tenant(kube, namespace), "Ready", "TokenSecretMissing")
        assert read_secret(kube, namespace) is None
    finally:
        kube.core.patch_namespace(namespace, {"metadata": {"finalizers": None}})

    # The namespace went; the tenant makes it again, with a new token.
    secret = await eventually(lambda: read_secret(kube, namespace), timeout=60)
    assert secret["data"]["token"] != first
    await eventually(lambda: reason_is(get_tenant(kube, namespace), "TokenReady", "TokenReissued"))
    put_secret(kube, namespace, API_KEY_SECRET, {"apiKey": zero.org.api_key})
    await eventually(lambda: is_true(get_tenant(kube, namespace), "Ready"), timeout=30)


#: A finalizer that holds a namespace in Terminating until the test removes it.
HOLD = "zeroscim.io/test-hold"


# -- the decisions (pure) -------------------------------------------------------------------

T0 = datetime(2025, 1, 1, tzinfo=UTC)


def _state(
    rotated: datetime, expires: datetime | None = None, request: str | None = None
) -> TokenState:
    return TokenState(
        rotated_at=rotated, previous_expires_at=expires, honored_request=request, has_token=True
    )


def test_rotation_decisions() -> None:
    hour = timedelta(hours=1)
    assert decide(None, interval=hour, request=None, now=T0) is Action.CREATE
    fresh = _state(T0)
    assert decide(fresh, interval=hour, request=None, now=T0 + hour / 2) is Action.NONE
    assert decide(fresh, interval=hour, request=None, now=T0 + hour) is Action.ROTATE_SCHEDULED
    # Overdue by three intervals (no operator ran): still one rotation, then not due.
    assert decide(fresh, interval=hour, request=None, now=T0 + 3 * hour) is Action.ROTATE_SCHEDULED
    rotated = _state(T0 + 3 * hour, expires=T0 + 4 * hour)
    assert decide(rotated, interval=hour, request=None, now=T0 + 3.5 * hour) is Action.NONE
    # The grace period ends before the next rotation is due.
    longer = timedelta(hours=2)
    assert (
        decide(rotated, interval=longer, request=None, now=T0 + 4 * hour) is Action.EXPIRE_PREVIOUS
    )
    # Interval 0: never on a schedule; on demand only for a value not answered yet.
    never = timedelta(0)
    assert decide(fresh, interval=never, request=None, now=T0 + 1000 * hour) is Action.NONE
    assert decide(fresh, interval=never, request="1", now=T0) is Action.ROTATE_REQUESTED
    answered = _state(T0, request="1")
    assert decide(answered, interval=never, request="1", now=T0) is Action.NONE
