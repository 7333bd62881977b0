"""Failure is normal: outages, 429s, ambiguous 5xx, a killed operator, drift in Zero."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from tests.operator.conftest import Start
from tests.operator.support import (
    Zero,
    all_synced,
    create_tenant,
    create_user,
    delete_object,
    eventually,
    get_object,
    get_tenant,
    is_true,
    patch_spec,
    reason_is,
    user_spec,
)
from tests.support.kube import KubeEnv
from zero_scim.kube.coordinates import USER


async def _puts_ok(zero: Zero, key: str) -> int:
    return await zero.requests("PUT", f"/accounts/{key}", 200) + await zero.requests(
        "PUT", f"/accounts/{key}", 201
    )


async def test_outage_then_recovery_loses_nothing_and_sends_nothing_twice(
    kube: KubeEnv, namespace: str, zero: Zero, operators: Start
) -> None:
    operators()
    create_tenant(kube, zero, namespace)
    before = [user_spec(f"before{i}@example.com") for i in range(3)]
    before_names = [create_user(kube, namespace, spec) for spec in before]
    await eventually(lambda: all_synced(kube, namespace, before_names))
    await eventually(lambda: is_true(get_tenant(kube, namespace), "DownstreamReachable"))

    await zero.admin.set_faults(outage=True, paths=[f"/v1/orgs/{zero.org.org_id}"])
    during = [user_spec(f"during{i}@example.com") for i in range(40)]
    names = [create_user(kube, namespace, spec) for spec in during]
    patch_spec(kube, USER, namespace, before_names[0], {"title": "Changed in the outage"})
    delete_object(kube, USER, namespace, before_names[1])
    await eventually(
        lambda: reason_is(get_tenant(kube, namespace), "DownstreamReachable", "Unreachable"),
        timeout=15,
    )
    unavailable = await zero.count("PUT", status=503)
    await asyncio.sleep(2)  # minutes in production; the breaker keeps the rate low
    assert await zero.count("PUT", status=503) - unavailable <= 10

    await zero.admin.clear_faults()
    await eventually(lambda: all_synced(kube, namespace, names), timeout=30)
    accounts = await zero.accounts()
    assert all(spec["id"] in accounts for spec in during)
    assert accounts[before[0]["id"]]["title"] == "Changed in the outage"
    await eventually(lambda: get_object(kube, USER, namespace, before_names[1]) is None)
    assert before[1]["id"] not in await zero.accounts()
    for spec in during:  # every change arrived exactly once
        assert await _puts_ok(zero, spec["id"]) == 1, spec["id"]
    await eventually(lambda: is_true(get_tenant(kube, namespace), "DownstreamReachable"))


async def test_rate_limits_and_ambiguous_errors(
    kube: KubeEnv, namespace: str, zero: Zero, operators: Start
) -> None:
    operators()
    create_tenant(kube, zero, namespace)
    await eventually(lambda: is_true(get_tenant(kube, namespace), "Ready"))
    scope: dict[str, Any] = {"paths": [f"/v1/orgs/{zero.org.org_id}/accounts"], "methods": ["PUT"]}
    await zero.admin.set_faults(rate_limit={"burst": 5, "retry_after": 1}, **scope)
    started = time.monotonic()
    limited = [create_user(kube, namespace, user_spec(f"rl{i}@example.com")) for i in range(10)]
    await eventually(lambda: all_synced(kube, namespace, limited), timeout=20)
    assert time.monotonic() - started >= 1.0  # Retry-After was honoured
    assert await zero.count("PUT", status=429) == 5

    # 5xx after the write was committed: the retry is an idempotent no-op.
    await zero.admin.set_faults(error_rate=0.3, error_phase="after", seed=7, **scope)
    flaky = [user_spec(f"flaky{i}@example.com") for i in range(10)]
    names = [create_user(kube, namespace, spec) for spec in flaky]
    await eventually(lambda: all_synced(kube, namespace, names), timeout=30)
    assert await zero.count("PUT", status=500) > 0
    await zero.admin.clear_faults()
    accounts = await zero.accounts()
    assert len(accounts) == 20 and all(spec["id"] in accounts for spec in flaky)


async def test_operator_killed_mid_flight(
    kube: KubeEnv, namespace: str, zero: Zero, operators: Start
) -> None:
    first = operators(log="first.log")
    create_tenant(kube, zero, namespace)
    await eventually(lambda: is_true(get_tenant(kube, namespace), "Ready"))
    # 80 creations take ~1.5 s at 8 in flight: the kill lands mid-way, never after the last
    await zero.admin.set_faults(latency_ms=150, paths=[f"/v1/orgs/{zero.org.org_id}/accounts"])
    specs = [user_spec(f"crash{i}@example.com") for i in range(80)]
    names = [create_user(kube, namespace, spec) for spec in specs]
    await eventually(lambda: len_at_least(zero, 15), timeout=30)
    first.kill()  # SIGKILL mid-reconcile: requests in flight, statuses unwritten
    created_before = len(await zero.accounts())
    assert created_before < len(specs)
    await zero.admin.clear_faults()

    operators(log="second.log")
    await eventually(lambda: all_synced(kube, namespace, names), timeout=60)
    accounts = await zero.accounts()
    assert sorted(accounts) == sorted(s["id"] for s in specs)  # none lost, none extra
    creations = await zero.count("PUT", status=201)
    assert creations == len(specs)  # no account created twice
    for name in names[:10]:
        user = get_object(kube, USER, namespace, name)
        assert user is not None
        assert user["status"]["observedGeneration"] == user["metadata"]["generation"]
        assert user["status"]["kopf"]["handledGeneration"] == user["metadata"]["generation"]


async def len_at_least(zero: Zero, count: int) -> bool:
    return len(await zero.accounts()) >= count
