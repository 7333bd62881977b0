"""Test support for the SCIM API: real tenants, the app in process, the server as a process.

Everything talks to the session's real API server (tests/support/kube.py):

* :func:`create_tenant` / :func:`delete_tenant`: a fresh namespace, a ZeroTenant naming
  it and the token Secret (zero_scim/k8s/tokens.py format); :func:`put_token_secret`
  rewrites the Secret (rotation), :func:`delete_token_secret` removes it.
* :func:`scim_client`: an ``httpx.AsyncClient`` on an app, in process (ASGI transport)
  or over HTTP, based at the SCIM root, with a tenant's bearer token.
* :class:`ApiProcess`: ``python -m zero_scim.cli api --port 0`` as a subprocess; the URL
  comes from the ``SCIM_API_URL=`` line it prints; :meth:`ApiProcess.wait_ready` polls
  ``/readyz``.
* :class:`HttpxScimClient`: scim2-client's sync client over plain ``httpx`` (scim2-client
  ships an engine for ``httpx2`` only), for scim2-tester.
* :func:`eventually` (from tests/support/polling.py) is re-exported for the SCIM tests.
"""

from __future__ import annotations

import contextlib
import functools
import os
import secrets
import ssl
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
from kubernetes import client
from scim2_client import BaseSyncSCIMClient

from tests.support.kube import KubeEnv
from tests.support.polling import eventually
from zero_scim.kube.coordinates import GROUP, TENANT, VERSION, tenant_manifest
from zero_scim.kube.tokens import SECRET_NAME, new_token, secret_manifest

BASE_PATH = "/scim/v2"
START_TIMEOUT = 60.0
SCIM_JSON = "application/scim+json"
T = TypeVar("T")


@functools.cache
def tls() -> ssl.SSLContext:
    """One TLS context for every client (building one per client costs ~50 ms)."""
    return ssl.create_default_context()


# -- tenants -------------------------------------------------------------------------------


@dataclass(frozen=True)
class TenantInfo:
    name: str
    namespace: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def put_token_secret(
    kube: KubeEnv,
    namespace: str,
    current: str,
    previous: str | None = None,
    previous_expires_at: datetime | None = None,
) -> None:
    """Create or replace the tenant's token Secret."""
    body = secret_manifest(namespace, current, previous, previous_expires_at)
    try:
        kube.core.create_namespaced_secret(namespace, body)
    except client.ApiException as exc:
        if exc.status != 409:
            raise
        kube.core.replace_namespaced_secret(SECRET_NAME, namespace, body)


def delete_token_secret(kube: KubeEnv, namespace: str) -> None:
    with contextlib.suppress(client.ApiException):
        kube.core.delete_namespaced_secret(SECRET_NAME, namespace)


def create_tenant(kube: KubeEnv, *, token: str | None = None, prefix: str = "scim") -> TenantInfo:
    name = f"{prefix}-{uuid.uuid4().hex[:10]}"
    token = token or new_token()
    kube.core.create_namespace({"metadata": {"name": name, "labels": {"zeroscim.io/test": "true"}}})
    kube.custom.create_cluster_custom_object(
        GROUP, VERSION, TENANT.plural, tenant_manifest(name, {"namespace": name})
    )
    put_token_secret(kube, name, token)
    return TenantInfo(name=name, namespace=name, token=token)


def delete_tenant(kube: KubeEnv, tenant: TenantInfo) -> None:
    with contextlib.suppress(client.ApiException):
        kube.custom.delete_cluster_custom_object(GROUP, VERSION, TENANT.plural, tenant.name)
    with contextlib.suppress(client.ApiException):
        kube.core.delete_namespace(tenant.namespace)


# -- clients -------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def scim_client(
    target: Any, token: str | None = None, *, base_path: str = BASE_PATH
) -> AsyncIterator[httpx.AsyncClient]:
    """A client at the SCIM root: ``target`` is an ASGI app (in process) or a base URL."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if isinstance(target, str):
        http = httpx.AsyncClient(
            base_url=target.rstrip("/") + base_path, headers=headers, verify=tls(), timeout=30
        )
    else:
        http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=target),
            base_url="http://testserver" + base_path,
            headers=headers,
            verify=tls(),
            timeout=30,
        )
    async with http:
        yield http


def root_client(app: Any) -> httpx.AsyncClient:
    """A client at the root of an in-process app (ops endpoints, raw paths); no token."""
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver", verify=tls()
    )


class HttpxScimClient(BaseSyncSCIMClient):
    """scim2-client's synchronous client over an ``httpx.Client``."""

    def __init__(self, http: httpx.Client, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.client = http

    def _stays_under_base_url(self, endpoint: str) -> bool:
        base = self.client.base_url
        url = self.client.build_request("GET", endpoint).url
        same_origin = (url.scheme, url.host, url.port) == (base.scheme, base.host, base.port)
        return same_origin and url.raw_path.startswith(base.raw_path)

    def _parse_json(self, response: Any) -> Any:
        return response.json()

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        return self.client.request(method, url, **kwargs)


async def wait_for_tenant(url: str, tenant: TenantInfo, timeout: float = 10.0) -> None:
    """Wait until the API at ``url`` accepts the tenant's token (its watch saw the Secret)."""
    async with scim_client(url, tenant.token) as http:

        async def accepted() -> bool:
            return (await http.get("/ServiceProviderConfig")).status_code == 200

        await eventually(accepted, timeout=timeout)


# -- the server as a process ---------------------------------------------------------------


@dataclass
class ApiProcess:
    """``zero-scim api`` in a subprocess, on a free loopback port."""

    kubeconfig: Path
    extra_args: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    url: str = ""
    process: subprocess.Popen[str] | None = None
    stderr_lines: list[str] = field(default_factory=list)
    stdout_lines: list[str] = field(default_factory=list)
    _threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> str:
        command = [
            sys.executable,
            "-m",
            "zero_scim.cli",
            "api",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--kubeconfig",
            str(self.kubeconfig),
            *self.extra_args,
        ]
        self.process = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
            env={**os.environ, **self.env},
        )
        found = threading.Event()

        def read_stdout() -> None:
            assert self.process is not None and self.process.stdout is not None
            for line in self.process.stdout:
                self.stdout_lines.append(line)
                if line.startswith("SCIM_API_URL=") and not self.url:
                    self.url = line.strip().split("=", 1)[1]
                    found.set()
            found.set()

        def read_stderr() -> None:
            assert self.process is not None and self.process.stderr is not None
            for line in self.process.stderr:
                self.stderr_lines.append(line)

        for target in (read_stdout, read_stderr):
            thread = threading.Thread(target=target, daemon=True)
            thread.start()
            self._threads.append(thread)
        if not found.wait(START_TIMEOUT) or not self.url:
            self.stop()
            raise RuntimeError(
                "the API process printed no SCIM_API_URL:\n" + "".join(self.stderr_lines[-30:])
            )
        return self.url

    def wait_ready(self, timeout: float = START_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        with httpx.Client(verify=tls(), timeout=5) as http:
            while time.monotonic() < deadline:
                with contextlib.suppress(httpx.HTTPError):
                    if http.get(f"{self.url}/readyz").status_code == 200:
                        return
                if self.process is not None and self.process.poll() is not None:
                    break
                time.sleep(0.05)
        raise RuntimeError("the API never became ready:\n" + "".join(self.stderr_lines[-30:]))

    def stop(self, timeout: float = 15.0) -> int | None:
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)
        for thread in self._threads:
            thread.join(5)
        for pipe in (self.process.stdout, self.process.stderr):
            if pipe is not None:
                pipe.close()
        return self.process.returncode


@contextlib.contextmanager
def running_api(kubeconfig: Path, *args: str, **env: str) -> Iterator[ApiProcess]:
    """A ready API process; stopped (SIGTERM) afterwards."""
    api = ApiProcess(kubeconfig, list(args), dict(env))
    api.start()
    try:
        api.wait_ready()
        yield api
    finally:
        api.stop()


def random_name(prefix: str = "user") -> str:
    return f"{prefix}-{secrets.token_hex(6)}@example.com"


def deactivate(base_url: str, token: str, user_name: str) -> None:
    """Find the user called ``user_name`` and ``PATCH active=false``, as Entra disables one."""
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base_url, headers=headers, timeout=30) as scim:
        found = scim.get("/Users", params={"filter": f'userName eq "{user_name}"'}).json()
        [user] = found["Resources"]
        disable = {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "Replace", "path": "active", "value": False}],
        }
        assert scim.patch(f"/Users/{user['id']}", json=disable).status_code in (200, 204)
