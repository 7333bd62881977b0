"""Shared benchmark plumbing: a cluster, a tenant, the API as a subprocess, timings."""

from __future__ import annotations

import asyncio
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil

from zero_scim.kube.client import KubeClient
from zero_scim.kube.coordinates import NAMESPACE, SECRET, TENANT, tenant_manifest
from zero_scim.kube.errors import NotFound
from zero_scim.kube.objects import Namespace
from zero_scim.kube.tokens import new_token, secret_manifest
from zero_scim_dev.cluster.build import ensure_binaries
from zero_scim_dev.cluster.cluster import LocalCluster
from zero_scim_dev.crds import apply_crds


class CpuMeter:
    """CPU seconds (user + system) of named processes, to split a phase's cost by process.

    Everything runs on one machine, so the throughput of each phase is bounded by the
    sum of these costs; the split says where a ratio comes from.
    """

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = dict(pids)

    def add(self, name: str, pid: int) -> None:
        self.pids[name] = pid

    def snapshot(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for name, pid in self.pids.items():
            with contextlib.suppress(psutil.Error):
                times = psutil.Process(pid).cpu_times()
                out[name] = times.user + times.system
        return out

    def report(self, before: dict[str, float], count: int, unit: str) -> str:
        after = self.snapshot()
        parts = [
            f"{name} {(after[name] - before[name]) / count * 1000:.2f}"
            for name in after
            if name in before
        ]
        total = sum((after[n] - before[n]) for n in after if n in before) / count * 1000
        return f"   CPU ms per {unit}: " + ", ".join(parts) + f" (total {total:.2f})"


def control_plane_pids(kubeconfig: Path) -> dict[str, int]:
    """kube-apiserver's and etcd's pids when ``kubeconfig`` is a local control plane's."""
    data_dir = str(kubeconfig.parent)
    found: dict[str, int] = {}
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = proc.info.get("cmdline") or []
        if cmdline and data_dir in " ".join(cmdline):
            name = Path(cmdline[0]).name
            if name in ("kube-apiserver", "etcd"):
                found[name] = proc.pid
    return found


@dataclass
class Timings:
    """Latencies (seconds) per operation kind, and wall time per phase."""

    samples: dict[str, list[float]] = field(default_factory=dict)

    def add(self, kind: str, seconds: float) -> None:
        self.samples.setdefault(kind, []).append(seconds)

    @staticmethod
    def percentile(values: list[float], q: float) -> float:
        ordered = sorted(values)
        if not ordered:
            return float("nan")
        index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
        return ordered[index]

    def row(self, kind: str) -> str:
        values = self.samples.get(kind, [])
        ms = [v * 1000 for v in values]
        return (
            f"{kind:<28} n={len(values):>6}  p50={self.percentile(ms, 50):7.1f} ms  "
            f"p95={self.percentile(ms, 95):7.1f} ms  p99={self.percentile(ms, 99):7.1f} ms  "
            f"mean={statistics.fmean(ms) if ms else float('nan'):7.1f} ms"
        )


async def run_concurrently(
    items: list[Any], worker: Callable[[Any], Awaitable[None]], concurrency: int
) -> float:
    """Run ``worker`` over ``items`` with ``concurrency`` tasks; return the wall time."""
    queue: asyncio.Queue[Any] = asyncio.Queue()
    for item in items:
        queue.put_nowait(item)

    async def drain() -> None:
        while True:
            try:
                item = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            await worker(item)

    started = time.perf_counter()
    await asyncio.gather(*(drain() for _ in range(concurrency)))
    return time.perf_counter() - started


async def _apply_crds(kubeconfig: Path) -> None:
    async with await KubeClient.connect(kubeconfig) as kube:
        await apply_crds(kube)


@contextlib.asynccontextmanager
async def cluster() -> AsyncIterator[Path]:
    """$KUBECONFIG if set, else a fresh local control plane for this run."""
    if os.environ.get("KUBECONFIG"):
        kubeconfig = Path(os.environ["KUBECONFIG"])
        await _apply_crds(kubeconfig)
        yield kubeconfig
        return
    local = LocalCluster(Path(tempfile.mkdtemp(prefix="zero-scim-bench-")))
    kubeconfig = await asyncio.to_thread(local.up, ensure_binaries())
    try:
        await _apply_crds(kubeconfig)
        yield kubeconfig
    finally:
        await asyncio.to_thread(local.down, purge=True)


@dataclass(frozen=True)
class BenchTenant:
    name: str
    namespace: str
    token: str


async def make_tenant(kubeconfig: Path, prefix: str = "bench") -> BenchTenant:
    name = f"{prefix}-{uuid.uuid4().hex[:6]}"
    token = new_token()
    namespace: Namespace = {"metadata": {"name": name}}
    async with await KubeClient.connect(kubeconfig) as kube:
        await kube.create(NAMESPACE, namespace)
        await kube.create(TENANT, tenant_manifest(name, {"namespace": name}))
        await kube.create(SECRET, secret_manifest(name, token), name)
    return BenchTenant(name=name, namespace=name, token=token)


async def drop_tenant(kubeconfig: Path, tenant: BenchTenant, timeout: float = 300.0) -> None:
    """Delete a tenant and its namespace, and wait until the namespace is gone."""
    async with await KubeClient.connect(kubeconfig) as kube:
        await kube.delete(TENANT, tenant.name)
        await kube.delete(NAMESPACE, tenant.namespace)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                await kube.get(NAMESPACE, tenant.namespace)
            except NotFound:
                return
            await asyncio.sleep(0.5)
    raise RuntimeError(f"namespace {tenant.namespace} still exists after {timeout:.0f} s")


@dataclass
class ApiProcess:
    url: str
    process: subprocess.Popen[str]

    def rss_mb(self) -> float:
        proc = psutil.Process(self.process.pid)
        return float(proc.memory_info().rss) / 2**20


async def wait_for(url: str, headers: dict[str, str], timeout: float = 60.0) -> None:
    """Poll ``url`` until it answers 200 (readiness, or a tenant's token being known)."""
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient() as http:
        while True:
            try:
                if (await http.get(url, headers=headers)).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{url} did not answer 200 within {timeout:.0f} s")
            await asyncio.sleep(0.1)


@contextlib.asynccontextmanager
async def api_server(kubeconfig: Path, *extra_args: str) -> AsyncIterator[ApiProcess]:
    """`zero-scim api` under uvicorn on a free loopback port, as its own process."""
    process = subprocess.Popen(  # noqa: ASYNC220 (started once, before any timing)
        [sys.executable, "-m", "zero_scim.cli", "api", "--host", "127.0.0.1", "--port", "0",
         "--kubeconfig", str(kubeconfig), "--log-level", "warning", *extra_args],
        stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        url = ""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = await asyncio.to_thread(process.stdout.readline)
            if not line:
                raise RuntimeError("the API exited before printing its URL")
            if line.startswith("SCIM_API_URL="):
                url = line.split("=", 1)[1].strip()
                break
        if not url:
            raise RuntimeError("the API did not print SCIM_API_URL in time")
        await wait_for(f"{url}/readyz", {})
        yield ApiProcess(url=url, process=process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextlib.contextmanager
def accounts_process(
    workdir: Path, *args: str, env: dict[str, str] | None = None
) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """``zero-scim accounts`` on a free port with its database in ``workdir``: the process
    and its URL; terminated afterwards."""
    command = [
        sys.executable, "-m", "zero_scim.cli", "accounts", "--host=127.0.0.1", "--port=0",
        f"--db={workdir / 'accounts.sqlite3'}", "--log-level=warning", "--no-access-log", *args,
    ]  # fmt: skip
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, text=True, cwd=workdir, env={**os.environ, **(env or {})}
    )
    try:
        assert process.stdout is not None
        for line in process.stdout:
            if line.startswith("ZERO_ACCOUNTS_URL="):
                yield process, line.split("=", 1)[1].strip()
                return
        raise RuntimeError("the accounts service did not start")
    finally:
        process.terminate()
        process.wait(15)
