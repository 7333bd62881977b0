"""Benchmark: what a PATCH full of unknown member ids costs the API server (issue 9 item 3).

    python -m bench.member_amplification [--users 50000] [--runs 3]

Member ids used to be checked with a LIST per request, so a large PATCH of ids that name
nobody made the API server read every user of the tenant. The API now settles member
existence from its index (services/members.py): at most 10,000 added ids per request
(beyond: 400 at once), an unknown id re-looked-up in the index for ``member_wait``
seconds, then 400 — no API-server call. This measures it, in one run on one control
plane (a fresh local one, or $KUBECONFIG):

1. a tenant of ``--users`` ScimUsers (created straight through the API server), and the
   API as its own process, synced;
2. per run, kube-apiserver's CPU seconds (user + system, from /proc) over
   * **idle**: nothing sent, for as long as the slower attack below took (the baseline:
     watches, the controller manager, other load on the machine);
   * **1 MiB**: one PATCH body of just under 1 MiB (the body limit), ~21,000 unknown ids
     (over the bound);
   * **at the bound**: one PATCH adding 10,000 unknown ids (waits ``member_wait``).

It prints each figure per run, their mean and spread (min to max), the answers' statuses and
the ratio of each attack to the idle baseline of the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
import uuid
from collections.abc import Awaitable
from pathlib import Path

import orjson

from bench.api_sync import Scim, entra_user
from bench.support import (
    CpuMeter,
    api_server,
    cluster,
    control_plane_pids,
    drop_tenant,
    make_tenant,
    wait_for,
)
from bench.support import run_concurrently as fan_out
from zero_scim.kube.client import KubeClient
from zero_scim.kube.coordinates import USER
from zero_scim_api.services.members import MAX_ADDED_MEMBERS
from zero_scim_api.storage.codec import Meta, content_version, now_iso, user_object

PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
MIB = 2**20


def add_members(ids: list[str]) -> dict[str, object]:
    return {
        "schemas": [PATCH_OP],
        "Operations": [{"op": "add", "path": "members", "value": [{"value": i} for i in ids]}],
    }


def ids_for_bytes(size: int) -> list[str]:
    """Fresh ids for the largest PATCH body of at most ``size`` bytes (the API's body
    limit is 1 MiB: a larger body is refused with 413 before anything is parsed)."""
    per_id = len(orjson.dumps({"value": str(uuid.uuid4())})) + 1
    ids = [str(uuid.uuid4()) for _ in range(size // per_id)]
    while len(orjson.dumps(add_members(ids))) > size:
        ids.pop()
    return ids


async def fill_tenant(kubeconfig: Path, namespace: str, users: int) -> float:
    """``users`` ScimUsers straight through the API server; returns the wall time."""
    kube = await KubeClient.connect(kubeconfig, timeout=60)
    run = uuid.uuid4().hex[:6]

    async def create(n: int) -> None:
        body = entra_user(n, run)
        doc = {k: v for k, v in body.items() if k not in ("schemas", "meta")}
        now = now_iso()
        meta = Meta(now, now, content_version(doc))
        obj = user_object(doc, scim_id=str(uuid.uuid4()), meta=meta, namespace=namespace)
        await kube.create(USER, obj, namespace)

    try:
        return await fan_out(list(range(users)), create, 16)
    finally:
        await kube.close()


async def cpu_of(meter: CpuMeter, name: str, action: Awaitable[int]) -> tuple[float, float, int]:
    """(CPU seconds of ``name``, wall seconds, status) over ``action``."""
    before = meter.snapshot()
    started = time.perf_counter()
    status = await action
    wall = time.perf_counter() - started
    return meter.snapshot()[name] - before[name], wall, status


def summary(label: str, values: list[float], unit: str = "s") -> str:
    spread = f"{min(values):.3f} to {max(values):.3f}"
    mean = statistics.fmean(values)
    return f"   {label:<26} mean {mean:7.3f} {unit}  ({spread}, n={len(values)})"


async def main(users: int, runs: int) -> None:
    async with cluster() as kubeconfig:
        pids = control_plane_pids(kubeconfig)
        if "kube-apiserver" not in pids:
            raise SystemExit("kube-apiserver's pid is unknown: run on a local control plane")
        meter = CpuMeter({"kube-apiserver": pids["kube-apiserver"]})
        tenant = await make_tenant(kubeconfig, "amp")
        try:
            # The API first, then the users: its watch indexes them as they are created
            # (a first list of 50,000 takes longer than the API's readiness wait).
            async with api_server(kubeconfig) as api:
                headers = {"Authorization": f"Bearer {tenant.token}"}
                await wait_for(f"{api.url}/scim/v2/ServiceProviderConfig", headers, 120)
                wall = await fill_tenant(kubeconfig, tenant.namespace, users)
                print(f"== tenant: {users} users created in {wall:.1f} s", flush=True)
                async with Scim(f"{api.url}/scim/v2", tenant.token, 4) as http:
                    await wait_indexed(http, users)
                    status, group = await http.request("POST", "/Groups", {"displayName": "G"})
                    assert status == 201, (status, group)
                    await run_all(http, f"/Groups/{group['id']}", meter, runs)
        finally:
            if os.environ.get("KUBECONFIG"):  # a local control plane is purged anyway
                await drop_tenant(kubeconfig, tenant)


async def wait_indexed(http: Scim, users: int, timeout: float = 600.0) -> None:
    """Until the API's index holds every user (its watch may lag the creates)."""
    deadline = time.monotonic() + timeout
    while True:
        _, page = await http.request("GET", "/Users", params={"count": "0"})
        if page is not None and page["totalResults"] >= users:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"the API indexed {page and page['totalResults']} of {users}")
        await asyncio.sleep(1)


async def run_all(http: Scim, path: str, meter: CpuMeter, runs: int) -> None:
    big = ids_for_bytes(MIB)  # fresh ids every run; this one only for the sizes
    size = len(orjson.dumps(add_members(big)))
    print(f"== PATCH bodies: 1 MiB = {len(big):,} ids ({size:,} bytes); bound = "
          f"{MAX_ADDED_MEMBERS:,} ids")  # fmt: skip
    figures: dict[str, list[float]] = {"idle": [], "1 MiB": [], "at the bound": []}
    walls: dict[str, list[float]] = {"1 MiB": [], "at the bound": []}
    statuses: dict[str, set[int]] = {"1 MiB": set(), "at the bound": set()}

    async def patch(ids: list[str]) -> int:
        status, _ = await http.request("PATCH", path, add_members(ids))
        return status

    for n in range(runs):
        bodies = {
            "1 MiB": ids_for_bytes(MIB),
            "at the bound": [str(uuid.uuid4()) for _ in range(MAX_ADDED_MEMBERS)],
        }
        for label, ids in bodies.items():
            cpu, wall, status = await cpu_of(meter, "kube-apiserver", patch(ids))
            figures[label].append(cpu)
            walls[label].append(wall)
            statuses[label].add(status)
        idle_for = max(walls["1 MiB"][-1], walls["at the bound"][-1])
        cpu, _, _ = await cpu_of(meter, "kube-apiserver", asyncio.sleep(idle_for, 0))
        figures["idle"].append(cpu)
        print(f"   run {n + 1}: kube-apiserver CPU idle {figures['idle'][-1]:.3f} s, "
              f"1 MiB {figures['1 MiB'][-1]:.3f} s, at the bound "
              f"{figures['at the bound'][-1]:.3f} s", flush=True)  # fmt: skip
    print("== kube-apiserver CPU seconds per request (user + system)")
    for label, values in figures.items():
        print(summary(label, values))
    for label, values in walls.items():
        print(summary(f"wall, {label}", values) + f"  statuses {sorted(statuses[label])}")
    idle = statistics.fmean(figures["idle"]) or 1e-9
    for label in ("1 MiB", "at the bound"):
        print(f"   ratio {label} / idle: {statistics.fmean(figures[label]) / idle:.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(main(args.users, args.runs))
