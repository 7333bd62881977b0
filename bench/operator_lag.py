"""Benchmark: from SCIM POST to account present in Zero, for an initial sync.

    python -m bench.operator_lag [--users 5000] [--concurrency 16] [--rate 0] [--via api]

One run on one control plane (a fresh local one, or $KUBECONFIG), with everything real:
the accounts service (``zero-scim accounts``, SQLite), the operator (``zero-scim
operator``, production settings) and the SCIM API (``zero-scim api``), each its own
process on this machine.

1. a tenant is created; the operator makes its namespace, token Secret and Ready status;
2. ``--users`` users are POSTed to ``/scim/v2/Users`` (``--concurrency`` at a time,
   at most ``--rate`` per second if given; ``--via kube`` creates the ScimUser objects
   directly instead, to take the API out of the measurement);
3. the lag of each user is ``createdAt`` of its Zero account minus the moment its POST
   was sent (one clock: everything runs here).

Printed: lag p50/p95/p99/max, sustained users/s (POST rate and arrival rate in Zero),
the API-server writes the operator made per user (from the API server's own request
counters), and the operator's CPU time and RSS.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import orjson
import psutil

from bench.support import (
    CpuMeter,
    Timings,
    accounts_process,
    api_server,
    cluster,
    control_plane_pids,
    run_concurrently,
)
from zero_scim.jsondata import JsonObject
from zero_scim.kube.client import KubeClient
from zero_scim.kube.coordinates import (
    API_VERSION,
    FINALIZER,
    LABEL_SCIM_ID,
    NAMESPACE,
    SECRET,
    TENANT,
    USER,
    tenant_manifest,
)
from zero_scim.kube.names import user_object_name
from zero_scim.kube.objects import Namespace, ObjectMeta, ScimUser, Secret
from zero_scim.kube.secrets import DecodedSecret
from zero_scim.kube.tokens import SECRET_NAME

SCIM = "application/scim+json"
ORG = "bench"
API_KEY = "bench-api-key"
ADMIN_TOKEN = "bench-admin-token"


# -- processes -------------------------------------------------------------------------------


def accounts_service(
    workdir: Path,
) -> contextlib.AbstractContextManager[tuple[subprocess.Popen[str], str]]:
    env = {"ZERO_ACCOUNTS_ADMIN_TOKEN": ADMIN_TOKEN}
    return accounts_process(workdir, f"--org={ORG}:{API_KEY}", env=env)


@contextlib.contextmanager
def operator(kubeconfig: Path, namespace: str, workdir: Path) -> Iterator[subprocess.Popen[bytes]]:
    log = (workdir / "operator.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "zero_scim.cli", "operator", f"--namespace={namespace}",
         "--liveness=off", f"--kubeconfig={kubeconfig}", "--log-level=warning"],
        stdout=log, stderr=subprocess.STDOUT, cwd=workdir,
    )  # fmt: skip
    try:
        yield process
    finally:
        process.terminate()
        process.wait(30)
        log.close()


# -- the API server's own counters -----------------------------------------------------------

_METRIC = re.compile(r"^apiserver_request_total\{(?P<labels>[^}]*)\} (?P<value>[0-9.e+]+)$")


async def write_counts(kube: KubeClient) -> Counter[str]:
    """API-server requests on scimusers, by verb and subresource (from /metrics)."""
    text = (await kube.get_bytes("/metrics", accept="text/plain")).decode()
    counts: Counter[str] = Counter()
    for line in text.splitlines():
        match = _METRIC.match(line)
        if not match:
            continue
        labels = dict(re.findall(r'(\w+)="([^"]*)"', match["labels"]))
        if labels.get("resource") == USER.plural and labels.get("verb") in (
            "PATCH", "UPDATE", "CREATE", "DELETE"
        ):  # fmt: skip
            key = f"{labels['verb']} {labels.get('subresource') or 'object'}"
            counts[key] += int(float(match["value"]))
    return counts


# -- the run ---------------------------------------------------------------------------------


async def setup_tenant(kube: KubeClient, accounts_url: str, max_concurrency: int) -> str:
    name = f"lag-{uuid.uuid4().hex[:6]}"
    namespace: Namespace = {"metadata": {"name": name}}
    await kube.create(NAMESPACE, namespace)
    api_key: Secret = {"metadata": {"name": "zero-api-key"}, "stringData": {"apiKey": API_KEY}}
    await kube.create(SECRET, api_key, name)
    spec: JsonObject = {
        "namespace": name,
        "downstream": {
            "baseUrl": accounts_url, "orgId": ORG,
            "apiKeySecretRef": {"name": "zero-api-key"},
            "maxConcurrency": max_concurrency,
        },
    }  # fmt: skip
    await kube.create(TENANT, tenant_manifest(name, spec))
    return name


async def wait_ready(kube: KubeClient, name: str, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        tenant = await kube.get(TENANT, name)
        ready = [
            c for c in tenant.get("status", {}).get("conditions") or []
            if c["type"] == "Ready" and c["status"] == "True"
        ]  # fmt: skip
        if ready:
            secret = DecodedSecret.from_object(await kube.get(SECRET, SECRET_NAME, name))
            return secret.data["token"]
        await asyncio.sleep(0.2)
    raise RuntimeError(f"tenant {name} not Ready within {timeout} s")


def scim_user(n: int, run: str) -> dict[str, Any]:
    return {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": f"lag{n}.{run}@example.com",
        "active": True,
        "displayName": f"Lag User {n}",
        "emails": [{"primary": True, "type": "work", "value": f"lag{n}.{run}@example.com"}],
        "name": {"givenName": "Lag", "familyName": f"User {n}"},
        "title": "Benchmark",
        "externalId": str(uuid.uuid4()),
    }


async def post_users(
    url: str, token: str, count: int, concurrency: int, rate: float
) -> dict[str, float]:
    """POST the users; returns SCIM id → time the POST was sent."""
    run = uuid.uuid4().hex[:6]
    sent: dict[str, float] = {}
    started = time.time()
    async with aiohttp.ClientSession(
        headers={"Authorization": f"Bearer {token}", "Content-Type": SCIM},
        connector=aiohttp.TCPConnector(limit=concurrency),
        timeout=aiohttp.ClientTimeout(total=60),
    ) as session:

        async def one(n: int) -> None:
            if rate > 0:
                due = started + n / rate
                if (delay := due - time.time()) > 0:
                    await asyncio.sleep(delay)
            at = time.time()
            body = orjson.dumps(scim_user(n, run))
            async with session.post(f"{url}/scim/v2/Users", data=body) as response:
                payload = orjson.loads(await response.read())
                if response.status != 201:
                    raise RuntimeError(f"POST answered {response.status}: {payload}")
                sent[payload["id"]] = at

        await run_concurrently(list(range(count)), one, concurrency)
    return sent


async def create_objects(
    kubeconfig: Path,
    namespace: str,
    count: int,
    concurrency: int,
    rate: float,
    finalizer: bool,
) -> dict[str, float]:
    """Create the ScimUser objects directly (what the API would write), asynchronously."""
    run = uuid.uuid4().hex[:6]
    sent: dict[str, float] = {}
    started = time.time()
    async with await KubeClient.connect(kubeconfig, pool_limit=concurrency) as kube:

        async def one(n: int) -> None:
            if rate > 0:
                due = started + n / rate
                if (delay := due - time.time()) > 0:
                    await asyncio.sleep(delay)
            scim_id = str(uuid.uuid4())
            user_name = f"lag{n}.{run}@example.com"
            metadata: ObjectMeta = {
                "name": user_object_name(user_name),
                "labels": {LABEL_SCIM_ID: scim_id},
            }
            if finalizer:  # as the API could write it: saves the operator one write per user
                metadata["finalizers"] = [FINALIZER]
            body: ScimUser = {
                "apiVersion": API_VERSION, "kind": USER.kind, "metadata": metadata,
                "spec": {"id": scim_id, "userName": user_name, "active": True,
                         "emails": [{"value": user_name, "primary": True}]},
            }  # fmt: skip
            at = time.time()
            await kube.create(USER, body, namespace)
            sent[scim_id] = at

        await run_concurrently(list(range(count)), one, concurrency)
    return sent


async def arrivals(accounts_url: str, expected: set[str], timeout: float) -> dict[str, float]:
    """Wait until every expected account exists; return key → createdAt (epoch seconds)."""
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(
        base_url=f"{accounts_url}/v1/orgs/{ORG}",
        headers={"Authorization": f"Bearer {API_KEY}"},
        timeout=30,
    ) as http:
        while True:
            found: dict[str, float] = {}
            params = {"limit": "1000"}
            while True:
                page = (await http.get("/accounts", params=params)).json()
                for item in page["items"]:
                    created = datetime.fromisoformat(item["createdAt"].replace("Z", "+00:00"))
                    found[item["externalKey"]] = created.timestamp()
                if not page["next_cursor"]:
                    break
                params["cursor"] = page["next_cursor"]
            if expected <= found.keys():
                return {k: v for k, v in found.items() if k in expected}
            if time.monotonic() > deadline:
                missing = len(expected - found.keys())
                raise RuntimeError(f"{missing} accounts still missing after {timeout} s")
            await asyncio.sleep(1.0)


async def bench(args: argparse.Namespace) -> None:
    async with cluster() as kubeconfig, await KubeClient.connect(kubeconfig) as kube:
        with tempfile.TemporaryDirectory(prefix="zero-lag-") as tmp:
            workdir = Path(tmp)
            with accounts_service(workdir) as (accounts, accounts_url):
                name = await setup_tenant(kube, accounts_url, args.max_concurrency)
                with operator(kubeconfig, name, workdir) as op:
                    try:
                        token = await wait_ready(kube, name)
                    except RuntimeError:
                        print((workdir / "operator.log").read_text()[-5000:], file=sys.stderr)
                        raise
                    writes_before = await write_counts(kube)
                    cpu_before = psutil.Process(op.pid).cpu_times()
                    meter = CpuMeter(
                        {
                            **control_plane_pids(kubeconfig),
                            "operator": op.pid,
                            "accounts": accounts.pid,
                            "load generator": os.getpid(),
                        }
                    )
                    async with scim_api(kubeconfig, args.via, args.finalizer) as (url, api_pid):
                        if url:
                            await wait_token(url, token)
                            meter.add("SCIM API", api_pid)
                        split = meter.snapshot()
                        started = time.time()
                        if args.via == "api":
                            sent = await post_users(
                                url, token, args.users, args.concurrency, args.rate
                            )
                        else:
                            sent = await create_objects(
                                kubeconfig,
                                name,
                                args.users,
                                args.concurrency,
                                args.rate,
                                args.finalizer,
                            )
                        posted = time.time() - started
                        created = await arrivals(accounts_url, set(sent), args.timeout)
                        cpu_split = meter.report(split, len(sent), "user")
                    cpu_after = psutil.Process(op.pid).cpu_times()
                    rss = psutil.Process(op.pid).memory_info().rss / 2**20
                    await asyncio.sleep(2)  # the last status patches
                    writes = await write_counts(kube) - writes_before
                report(args, sent, created, posted, writes, cpu_after.user + cpu_after.system
                       - cpu_before.user - cpu_before.system, rss)  # fmt: skip
                print(cpu_split.strip())
                if args.restart:
                    await restart(kube, kubeconfig, name, workdir, accounts_url)


async def restart(
    kube: KubeClient, kubeconfig: Path, namespace: str, workdir: Path, accounts_url: str
) -> None:
    """Start a fresh operator over the synced objects: what does it cost until idle?"""
    writes_before = await write_counts(kube)
    puts_before = await downstream_writes(accounts_url)
    started = time.monotonic()
    with operator(kubeconfig, namespace, workdir) as op:
        process = psutil.Process(op.pid)
        idle_for, last = 0, 0.0
        while idle_for < 3 and time.monotonic() - started < 300:
            await asyncio.sleep(1.0)
            times = process.cpu_times()
            cpu = times.user + times.system
            idle_for = idle_for + 1 if cpu - last < 0.05 else 0
            last = cpu
        settled = time.monotonic() - started - idle_for
        writes = await write_counts(kube) - writes_before
        puts = await downstream_writes(accounts_url) - puts_before
    print(f"restart over the synced objects: busy for {settled:.1f} s, {last:.1f} s CPU "
          f"(imports included); API-server writes on scimusers: {sum(writes.values())}; "
          f"account writes in Zero: {puts}")  # fmt: skip


async def downstream_writes(accounts_url: str) -> int:
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}) as http:
        stats = (await http.get(f"{accounts_url}/admin/stats")).json()
    return sum(
        count
        for route, by_status in stats["routes"].items()
        if route.startswith(("PUT", "POST", "DELETE"))
        for count in by_status.values()
    )


@contextlib.asynccontextmanager
async def scim_api(kubeconfig: Path, via: str, finalizer: bool) -> AsyncIterator[tuple[str, int]]:
    if via != "api":
        yield "", 0
        return
    extra = ("--operator-finalizer",) if finalizer else ()
    async with api_server(kubeconfig, *extra) as process:
        yield process.url, process.process.pid


async def wait_token(url: str, token: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient() as http:
        while time.monotonic() < deadline:
            response = await http.get(
                f"{url}/scim/v2/Users", params={"count": "0"},
                headers={"Authorization": f"Bearer {token}"},
            )  # fmt: skip
            if response.status_code == 200:
                return
            await asyncio.sleep(0.1)
    raise RuntimeError("the API never accepted the operator's token")


def report(
    args: argparse.Namespace,
    sent: dict[str, float],
    created: dict[str, float],
    posted: float,
    writes: Counter[str],
    cpu: float,
    rss: float,
) -> None:
    timings = Timings()
    for key, at in sent.items():
        timings.add("lag POST → account", max(0.0, created[key] - at))
    first, last = min(sent.values()), max(created.values())
    n = len(sent)
    print(
        f"users: {n} via {args.via}, concurrency {args.concurrency}, "
        f"rate limit {args.rate or 'none'}, downstream maxConcurrency {args.max_concurrency}"
    )
    print(timings.row("lag POST → account"))
    lags = timings.samples["lag POST → account"]
    print(f"max lag: {max(lags) * 1000:.0f} ms")
    print(
        f"POST rate: {n / posted:.1f} users/s; arrival rate in Zero: "
        f"{n / (last - first):.1f} users/s (first POST → last account: {last - first:.1f} s)"
    )
    print(
        "API-server writes on scimusers during the run: "
        + ", ".join(f"{k}={v}" for k, v in sorted(writes.items()))
    )
    by_operator = sum(v for k, v in writes.items() if not k.startswith("CREATE"))
    print(f"operator writes per user: {by_operator / n:.2f}")
    print(f"operator CPU: {cpu:.1f} s ({cpu / n * 1000:.2f} ms/user); RSS {rss:.0f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rate", type=float, default=0.0, help="users/s (0: as fast as possible)")
    parser.add_argument("--via", choices=("api", "kube"), default="api")
    parser.add_argument("--max-concurrency", type=int, default=8, help="downstream, per tenant")
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument(
        "--restart", action="store_true", help="then measure a restart over the synced users"
    )
    parser.add_argument(
        "--finalizer",
        action="store_true",
        help="create the objects with the operator's finalizer already set (--via api: the "
        "API's --operator-finalizer, as the chart runs it)",
    )
    args = parser.parse_args()
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    asyncio.run(bench(args))


if __name__ == "__main__":
    main()
