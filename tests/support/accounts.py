"""Run the local Zero accounts service for tests -- the real service over real HTTP.

``running_accounts_service(db_path)`` starts it on a free loopback port and yields an
:class:`AccountsService` (URL, admin token, one org and its key). Two modes:

* ``"thread"`` (default): uvicorn on a background thread of this process, with its own
  event loop; starts in milliseconds and restarts cheaply on the same database.
* ``"process"``: ``python -m zero_scim.cli accounts --port 0`` as a subprocess, reading the
  ``ZERO_ACCOUNTS_URL=`` line it prints; use it to test the CLI or to kill -9 the service.

:class:`AccountsAdmin` drives ``/admin``: fresh orgs, faults, stats.
"""

from __future__ import annotations

import asyncio
import functools
import os
import queue
import secrets
import ssl
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

import httpx

from zero_scim_accounts.config import Settings
from zero_scim_accounts.server import URL_PREFIX, AccountsServer
from zero_scim_accounts.sso.settings import SsoSettings
from zero_scim_operator.downstream import ZeroAccountsClient

START_TIMEOUT = 20.0


@functools.cache
def _tls() -> ssl.SSLContext:
    # The service speaks plain HTTP, but every httpx client builds a TLS context, and
    # loading the CA bundle each time costs ~50 ms per client: build it once.
    return ssl.create_default_context()


@dataclass(frozen=True)
class Tenant:
    """An org of the service and an API key for it."""

    org_id: str
    api_key: str


@dataclass(frozen=True)
class AccountsService:
    url: str
    admin_token: str
    org_id: str
    api_key: str
    db_path: Path
    #: The service's process in ``"process"`` mode (to kill it), else None.
    process: subprocess.Popen[str] | None = field(default=None, compare=False)

    @property
    def tenant(self) -> Tenant:
        return Tenant(self.org_id, self.api_key)

    def admin(self) -> AccountsAdmin:
        return AccountsAdmin(self.url, self.admin_token)

    def client(self, tenant: Tenant | None = None, *, timeout: float = 5.0) -> ZeroAccountsClient:
        """The operator's client for ``tenant`` (default: the service's own org)."""
        tenant = tenant or self.tenant
        return ZeroAccountsClient(self.url, tenant.org_id, tenant.api_key, timeout=timeout)

    def http(self, tenant: Tenant | None = None, *, timeout: float = 10.0) -> httpx.AsyncClient:
        """A raw httpx client for ``tenant``: base URL ``/v1/orgs/{orgId}``, key set."""
        tenant = tenant or self.tenant
        return httpx.AsyncClient(
            base_url=f"{self.url}/v1/orgs/{tenant.org_id}",
            headers={"Authorization": f"Bearer {tenant.api_key}"},
            timeout=timeout,
            verify=_tls(),
        )


class AccountsAdmin:
    """Async access to ``/admin/*``: ``async with service.admin() as admin: ...``."""

    def __init__(self, url: str, admin_token: str) -> None:
        self._http = httpx.AsyncClient(
            base_url=url,
            headers={"Authorization": f"Bearer {admin_token}"},
            timeout=10.0,
            verify=_tls(),
        )

    async def __aenter__(self) -> AccountsAdmin:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._http.aclose()

    async def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Any request to the service with the admin token (``path`` from the root)."""
        return await self._http.request(method, path, **kwargs)

    async def create_org(self, org_id: str | None = None, *keys: str) -> Tenant:
        """Create an org (random id and key unless given) and return it with its first key."""
        org_id = org_id or f"org-{secrets.token_hex(4)}"
        keys = keys or (f"key-{secrets.token_urlsafe(16)}",)
        response = await self._http.post("/admin/orgs", json={"id": org_id, "keys": list(keys)})
        response.raise_for_status()
        return Tenant(org_id, keys[0])

    async def set_faults(self, **faults: Any) -> dict[str, Any]:
        """Replace the fault configuration (see ``PUT /admin/faults``)."""
        response = await self._http.put("/admin/faults", json=faults)
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    async def clear_faults(self) -> None:
        await self.set_faults()

    async def faults(self) -> dict[str, Any]:
        response = await self._http.get("/admin/faults")
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    async def stats(self) -> dict[str, Any]:
        response = await self._http.get("/admin/stats")
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    async def reset_stats(self) -> None:
        (await self._http.delete("/admin/stats")).raise_for_status()

    async def count(self, method: str, path: str, status: int | None = None) -> int:
        """How many ``method path`` requests were served (with ``status``, if given)."""
        by_status = (await self.stats())["requests"].get(f"{method} {path}", {})
        if status is not None:
            return int(by_status.get(str(status), 0))
        return sum(by_status.values())


@contextmanager
def running_accounts_service(
    db_path: Path,
    *,
    org_id: str = "acme",
    api_key: str | None = None,
    admin_token: str | None = None,
    mode: Literal["thread", "process"] = "thread",
    sso: SsoSettings | None = None,
) -> Iterator[AccountsService]:
    """Serve the accounts API on ``127.0.0.1:<free port>`` with ``db_path`` until exit.

    ``org_id`` is created with ``api_key``; both secrets are random unless given. The
    database outlives the service: start again on the same ``db_path`` to restart it.
    ``sso``: serve Entra sign-in too (thread mode).
    """
    api_key = api_key or f"key-{secrets.token_urlsafe(16)}"
    admin_token = admin_token or f"admin-{secrets.token_urlsafe(16)}"
    if mode == "thread":
        with _in_thread(db_path, org_id, api_key, admin_token, sso) as (url, process):
            yield AccountsService(url, admin_token, org_id, api_key, db_path, process)
        return
    assert sso is None, "sign-in is configured in thread mode only"
    with _in_process(db_path, org_id, api_key, admin_token) as (url, process):
        yield AccountsService(url, admin_token, org_id, api_key, db_path, process)


@contextmanager
def _in_thread(
    db_path: Path, org_id: str, api_key: str, admin_token: str, sso: SsoSettings | None = None
) -> Iterator[tuple[str, None]]:
    settings = Settings(
        db=str(db_path),
        host="127.0.0.1",
        port=0,
        orgs={org_id: (api_key,)},
        admin_token=admin_token,
        log_level="warning",
        access_log=False,
        configure_logging=False,
        sso=sso,
    )
    server = AccountsServer(settings)
    ready = threading.Event()
    failure: list[BaseException] = []

    def serve() -> None:
        try:
            asyncio.run(server.serve(ready=lambda url: ready.set()))
        except BaseException as exc:  # reported to the starting thread
            failure.append(exc)
        finally:
            ready.set()

    thread = threading.Thread(target=serve, name="zero-accounts", daemon=True)
    thread.start()
    ready.wait(START_TIMEOUT)
    try:
        if server.url is None:
            raise RuntimeError("the accounts service did not start") from (
                failure[0] if failure else None
            )
        yield server.url, None
    finally:
        server.stop()
        thread.join(START_TIMEOUT)


@contextmanager
def _in_process(
    db_path: Path, org_id: str, api_key: str, admin_token: str
) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    command = [
        sys.executable,
        "-m",
        "zero_scim.cli",
        "accounts",
        "--host=127.0.0.1",
        "--port=0",
        f"--db={db_path}",
        f"--org={org_id}:{api_key}",
        "--log-level=warning",
        "--no-access-log",
    ]
    env = {**os.environ, "ZERO_ACCOUNTS_ADMIN_TOKEN": admin_token}
    with tempfile.TemporaryFile("w+") as stderr:
        # cwd: the database's folder, so the service never depends on the caller's.
        process = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            env=env,
            cwd=db_path.parent,
        )
        lines: queue.Queue[str | None] = queue.Queue()
        assert process.stdout is not None
        reader = threading.Thread(target=_drain, args=(process.stdout, lines), daemon=True)
        reader.start()
        try:
            yield _wait_for_url(process, lines, stderr), process
        finally:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(START_TIMEOUT)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            reader.join(START_TIMEOUT)
            process.stdout.close()


def _drain(stream: Any, lines: queue.Queue[str | None]) -> None:
    for line in stream:
        lines.put(line)
    lines.put(None)


def _wait_for_url(
    process: subprocess.Popen[str], lines: queue.Queue[str | None], stderr: Any
) -> str:
    try:
        while True:
            line = lines.get(timeout=START_TIMEOUT)
            if line is None:
                break
            if line.startswith(URL_PREFIX):
                return line[len(URL_PREFIX) :].strip()
    except queue.Empty:
        pass
    process.kill()
    process.wait()
    stderr.seek(0)
    raise RuntimeError(f"the accounts service did not start:\n{stderr.read()}")
