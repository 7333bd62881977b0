"""Benchmark: an Entra-like initial sync through the SCIM API, against the raw API server.

    python -m bench.api_sync [--users 5000] [--concurrency 16] [--scale]

In one run, on one control plane (a fresh local one, or $KUBECONFIG):

1. **raw**: the API server's create rate for equivalent ScimUser objects, written
   directly from this process with the same concurrency — the baseline;
2. **sync**: for each user, Entra's filter probe (`GET /Users?filter=userName eq …`)
   then `POST /Users`; then 100 groups filled by member PATCHes of 100; then 10 % of the
   users deactivated (`Replace active "False"`, Entra's default dialect);
3. with ``--scale``: top up to 50,000 users and 500 groups, fill one group to 50,000
   members, then measure the filter probe and 100-member PATCHes at that size.

It prints throughput and p50/p95/p99 per operation kind, the ratio of the API's write
throughput to the raw create rate, and the API process's RSS.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import orjson

from bench.support import (
    ApiProcess,
    BenchTenant,
    CpuMeter,
    Timings,
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
from zero_scim_api.storage.codec import Meta, content_version, now_iso, user_object

SCIM = "application/scim+json"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


class Scim:
    """A minimal SCIM client on aiohttp (httpx's pool is the bottleneck at 16 concurrent)."""

    def __init__(self, base_url: str, token: str, concurrency: int) -> None:
        self.base_url = base_url
        self.session = aiohttp.ClientSession(
            headers={"Authorization": f"Bearer {token}", "Content-Type": SCIM},
            connector=aiohttp.TCPConnector(limit=concurrency),
            timeout=aiohttp.ClientTimeout(total=60),
        )

    async def request(
        self, method: str, path: str, body: Any = None, params: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        data = None if body is None else orjson.dumps(body)
        async with self.session.request(
            method, self.base_url + path, data=data, params=params
        ) as r:
            raw = await r.read()
            return r.status, (orjson.loads(raw) if raw else None)

    async def __aenter__(self) -> Scim:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.session.close()


def entra_user(n: int, run: str) -> dict[str, Any]:
    """The body Entra sends for a new user (E1), with a unique userName."""
    return {
        "schemas": [
            "urn:ietf:params:scim:schemas:core:2.0:User",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
        ],
        "externalId": str(uuid.uuid4()),
        "userName": f"user{n}.{run}@contoso.example",
        "active": True,
        "displayName": f"User {n}",
        "emails": [{"primary": True, "type": "work", "value": f"user{n}.{run}@contoso.example"}],
        "meta": {"resourceType": "User"},
        "name": {
            "formatted": f"Given{n} Family{n}",
            "familyName": f"Family{n}",
            "givenName": f"Given{n}",
        },
        "title": "Engineer",
        "phoneNumbers": [{"type": "work", "value": f"+1 555 {n:07d}"}],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
            "department": f"Dept {n % 20}",
            "organization": "Contoso",
        },
        "roles": [],
    }


async def raw_baseline(
    kubeconfig: Path, namespace: str, users: int, concurrency: int, cpu: CpuMeter
) -> float:
    """Create ``users`` ScimUser objects straight through the API server; return creates/s."""
    kube = await KubeClient.connect(kubeconfig)
    before = cpu.snapshot()
    timings = Timings()
    run = uuid.uuid4().hex[:6]

    async def create(n: int) -> None:
        body = entra_user(n, run)
        doc = {k: v for k, v in body.items() if k not in ("schemas", "meta")}
        now = now_iso()
        obj = user_object(
            doc,
            scim_id=str(uuid.uuid4()),
            meta=Meta(now, now, content_version(doc)),
            namespace=namespace,
        )
        started = time.perf_counter()
        await kube.create(USER, obj, namespace)
        timings.add("raw create", time.perf_counter() - started)

    wall = await fan_out(list(range(users)), create, concurrency)
    await kube.close()
    rate = users / wall
    print(f"\n== raw API server: {users} creates, {concurrency} concurrent")
    print(f"   {rate:8.1f} creates/s  ({wall:.1f} s)")
    print("   " + timings.row("raw create"))
    print(cpu.report(before, users, "create"))
    return rate


async def probe(http: Scim, user_name: str, timings: Timings, kind: str) -> int:
    started = time.perf_counter()
    status, body = await http.request(
        "GET", "/Users", params={"filter": f'userName eq "{user_name}"'}
    )
    timings.add(kind, time.perf_counter() - started)
    if status != 200:
        raise RuntimeError(f"probe: {status} {body}")
    total: int = body["totalResults"]
    return total


async def provision_users(
    http: Scim, numbers: list[int], run: str, concurrency: int, timings: Timings
) -> tuple[list[str], float]:
    ids: list[str] = []

    async def one(n: int) -> None:
        body = entra_user(n, run)
        if await probe(http, body["userName"], timings, "GET filter probe") == 0:
            started = time.perf_counter()
            status, created = await http.request("POST", "/Users", body)
            timings.add("POST /Users", time.perf_counter() - started)
            if status != 201:
                raise RuntimeError(f"POST /Users: {status} {created}")
            ids.append(created["id"])

    wall = await fan_out(numbers, one, concurrency)
    return ids, wall


async def add_members(
    http: Scim, group_id: str, members: list[str], timings: Timings, kind: str
) -> None:
    body = {
        "schemas": [PATCH_OP],
        "Operations": [
            {"op": "Add", "path": "members", "value": [{"$ref": None, "value": m} for m in members]}
        ],
    }
    started = time.perf_counter()
    status, answer = await http.request("PATCH", f"/Groups/{group_id}", body)
    timings.add(kind, time.perf_counter() - started)
    if status != 204:
        raise RuntimeError(f"PATCH /Groups: {status} {answer}")


async def remove_members(
    http: Scim, group_id: str, members: list[str], timings: Timings, kind: str
) -> None:
    body = {
        "schemas": [PATCH_OP],
        "Operations": [
            {"op": "Remove", "path": "members", "value": [{"value": m} for m in members]}
        ],
    }
    started = time.perf_counter()
    status, answer = await http.request("PATCH", f"/Groups/{group_id}", body)
    timings.add(kind, time.perf_counter() - started)
    if status != 204:
        raise RuntimeError(f"PATCH /Groups: {status} {answer}")


async def create_groups(
    http: Scim, count: int, run: str, concurrency: int, timings: Timings
) -> list[str]:
    ids: list[str] = []

    async def one(n: int) -> None:
        body = {
            "schemas": [
                "urn:ietf:params:scim:schemas:core:2.0:Group",
                "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group",
            ],
            "externalId": str(uuid.uuid4()),
            "displayName": f"Group {n} {run}",
            "meta": {"resourceType": "Group"},
        }
        started = time.perf_counter()
        status, created = await http.request("POST", "/Groups", body)
        timings.add("POST /Groups", time.perf_counter() - started)
        if status != 201:
            raise RuntimeError(f"POST /Groups: {status} {created}")
        ids.append(created["id"])

    await fan_out(list(range(count)), one, concurrency)
    return ids


def client_for(api: ApiProcess, tenant: BenchTenant, concurrency: int) -> Scim:
    return Scim(f"{api.url}/scim/v2", tenant.token, concurrency)


async def sync_phase(
    api: ApiProcess,
    tenant: BenchTenant,
    users: int,
    concurrency: int,
    raw_rate: float,
    cpu: CpuMeter,
) -> tuple[list[str], list[str]]:
    timings = Timings()
    run = uuid.uuid4().hex[:6]
    rnd = random.Random(7)
    async with client_for(api, tenant, concurrency) as http:
        before = cpu.snapshot()
        ids, wall = await provision_users(http, list(range(users)), run, concurrency, timings)
        rate = len(ids) / wall
        print(f"\n== SCIM initial sync: {users} users (probe + POST), {concurrency} concurrent")
        print(f"   {rate:8.1f} users/s  ({wall:.1f} s)")
        print(f"   API write throughput / raw create rate = {rate / raw_rate:.2f}")
        print(cpu.report(before, len(ids), "user"))

        started = time.perf_counter()
        groups = await create_groups(http, 100, run, concurrency, timings)
        per_group = max(1, min(500, len(ids) // 10))
        patches = [
            (g, batch)
            for g in groups
            for members in [rnd.sample(ids, per_group)]
            for batch in (members[i : i + 100] for i in range(0, len(members), 100))
        ]

        async def patch(item: tuple[str, list[str]]) -> None:
            await add_members(http, item[0], item[1], timings, "PATCH /Groups add ≤100")

        await fan_out(patches, patch, concurrency)
        wall_groups = time.perf_counter() - started
        print(
            f"   100 groups x {per_group} members: "
            f"{len(patches)} member PATCHes in {wall_groups:.1f} s"
        )

        deactivate = ids[: max(1, len(ids) // 10)]
        body = {
            "schemas": [PATCH_OP],
            "Operations": [{"op": "Replace", "path": "active", "value": "False"}],
        }

        async def disable(user_id: str) -> None:
            started = time.perf_counter()
            status, answer = await http.request("PATCH", f"/Users/{user_id}", body)
            timings.add("PATCH /Users active=False", time.perf_counter() - started)
            if status != 200 or answer["active"] is not False:
                raise RuntimeError(f"deactivate: {status} {answer}")

        wall_off = await fan_out(deactivate, disable, concurrency)
        print(
            f"   {len(deactivate)} deactivations in {wall_off:.1f} s "
            f"({len(deactivate) / wall_off:.1f}/s)"
        )
    for kind in timings.samples:
        print("   " + timings.row(kind))
    print(f"   API RSS: {api.rss_mb():.0f} MB")
    return ids, groups


async def scale_phase(
    api: ApiProcess, tenant: BenchTenant, ids: list[str], groups: list[str], concurrency: int
) -> None:
    timings = Timings()
    run = uuid.uuid4().hex[:6]
    async with client_for(api, tenant, concurrency) as http:
        started = time.perf_counter()
        more_ids, _ = await provision_users(
            http, list(range(len(ids), 50_000)), run, concurrency, Timings()
        )
        ids = ids + more_ids
        groups = groups + await create_groups(http, 500 - len(groups), run, concurrency, Timings())
        print(
            f"\n== scale: {len(ids)} users, {len(groups)} groups "
            f"(loaded in {time.perf_counter() - started:.0f} s)"
        )
        big = groups[-1]
        batches = [ids[i : i + 1000] for i in range(0, len(ids), 1000)]
        started = time.perf_counter()
        for batch in batches:
            await add_members(http, big, batch, timings, "PATCH /Groups add 1000 (fill)")
        print(f"   filled one group to {len(ids)} members in {time.perf_counter() - started:.1f} s")
        print(f"   API RSS at {len(ids)} users / {len(groups)} groups: {api.rss_mb():.0f} MB")

        rnd = random.Random(11)
        names = [f"user{n}.{run}@contoso.example" for n in range(len(ids) - len(more_ids), 50_000)]
        for _ in range(2000):
            await probe(http, rnd.choice(names), timings, "GET filter probe @50k (c=1)")
        for _ in range(200):
            await probe(http, str(uuid.uuid4()), timings, "GET Test Connection @50k")
        for round_ in range(50):
            chunk = ids[round_ * 100 : (round_ + 1) * 100]
            await remove_members(http, big, chunk, timings, "PATCH 100 remove @50k group")
            await add_members(http, big, chunk, timings, "PATCH 100 add @50k group")
        for _ in range(200):
            t0 = time.perf_counter()
            await http.request("GET", f"/Groups/{big}", params={"excludedAttributes": "members"})
            timings.add("GET group excl. members @50k", time.perf_counter() - t0)
        print(f"   API RSS after: {api.rss_mb():.0f} MB")
    for kind in timings.samples:
        print("   " + timings.row(kind))


async def main_async(args: argparse.Namespace) -> None:
    async with cluster() as kubeconfig:
        cpu = CpuMeter({**control_plane_pids(kubeconfig), "load generator": os.getpid()})
        scratch = await make_tenant(kubeconfig, "raw")
        raw_rate = await raw_baseline(
            kubeconfig, scratch.namespace, args.users, args.concurrency, cpu
        )
        await drop_tenant(kubeconfig, scratch)  # its objects must not weigh on the API's index
        tenant = await make_tenant(kubeconfig)
        async with api_server(kubeconfig) as api:
            cpu.add("SCIM API", api.process.pid)
            print(f"\nAPI at {api.url} (RSS at start: {api.rss_mb():.0f} MB)")
            auth = {"Authorization": f"Bearer {tenant.token}"}
            await wait_for(f"{api.url}/scim/v2/ServiceProviderConfig", auth)
            ids, groups = await sync_phase(api, tenant, args.users, args.concurrency, raw_rate, cpu)
            if args.scale:
                await scale_phase(api, tenant, ids, groups, args.concurrency)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--scale", action="store_true", help="also the 50,000-user figures")
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
