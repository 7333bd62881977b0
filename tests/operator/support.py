"""Test support for the operator: the operator as a process, tenants, Zero (and the shared
``eventually`` of tests/support/polling.py).

Everything is real: the session's API server (tests/support/kube.py), the accounts
service (tests/support/accounts.py) and ``python -m zero_scim.cli operator`` as a
subprocess serving only the test's namespace.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
from kubernetes import client

from tests.support import polling
from tests.support.accounts import AccountsAdmin, AccountsService, Tenant
from tests.support.kube import KubeEnv
from zero_scim.kube.coordinates import (
    ANNOTATION_ROTATE,
    FINALIZER,
    GROUP,
    GROUP_KIND,
    LABEL_GROUP,
    LABEL_SCIM_ID,
    MEMBER_BATCH,
    TENANT,
    USER,
    VERSION,
    Kind,
    tenant_manifest,
)
from zero_scim.kube.names import group_object_name, user_object_name
from zero_scim.kube.objects import KubeObject
from zero_scim.kube.tokens import SECRET_NAME
from zero_scim.memberlog import entry_name

T = TypeVar("T")

#: The shared polling helper, typed as loosely as the operator tests' own copy was (its
#: callers index the value it returns without narrowing).
eventually: Callable[..., Awaitable[Any]] = polling.eventually
START_TIMEOUT = 30.0
API_KEY_SECRET = "zero-api-key"


# -- the operator process ------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class OperatorProcess:
    kubeconfig: Path
    namespaces: list[str]
    log_path: Path
    args: list[str] = field(default_factory=list)
    process: subprocess.Popen[bytes] | None = None
    port: int = 0

    def start(self) -> OperatorProcess:
        self.port = free_port()
        command = [
            sys.executable,
            "-m",
            "zero_scim.cli",
            "operator",
            *(f"--namespace={ns}" for ns in self.namespaces),
            f"--liveness=http://127.0.0.1:{self.port}/healthz",
            f"--kubeconfig={self.kubeconfig}",
            "--log-level=debug",
            "--kopf-log-level=info",
            *self.args,
        ]
        log = self.log_path.open("ab")
        log.write(f"\n==== {' '.join(command)}\n".encode())
        log.flush()
        self.process = subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, "KUBECONFIG": str(self.kubeconfig)},
            cwd=self.log_path.parent,  # not the checkout: its zero_scim/ would shadow the install
        )
        log.close()
        self._wait_live()
        return self

    def _wait_live(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        url = f"http://127.0.0.1:{self.port}/healthz"
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"the operator exited:\n{self.log()[-3000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(url, timeout=1).status_code == 200:
                    return
            time.sleep(0.1)
        raise RuntimeError(f"the operator never became live:\n{self.log()[-3000:]}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout: float = 15.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout)

    def kill(self) -> None:
        """SIGKILL: no cleanup, no final patches -- a crash."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


# -- Zero (the accounts service) -----------------------------------------------------------


@dataclass
class Zero:
    """One fresh org of the accounts service, with raw HTTP access for assertions."""

    service: AccountsService
    admin: AccountsAdmin
    org: Tenant
    http: httpx.AsyncClient

    @property
    def url(self) -> str:
        return self.service.url

    async def accounts(self) -> dict[str, dict[str, Any]]:
        return {a["externalKey"]: a for a in await self._all("/accounts")}

    async def groups(self) -> dict[str, dict[str, Any]]:
        return {g["externalKey"]: g for g in await self._all("/groups")}

    async def account(self, key: str) -> dict[str, Any] | None:
        response = await self.http.get(f"/accounts/{key}")
        if response.status_code == 404:
            return None
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    async def members(self, group_key: str) -> set[str]:
        return {m["accountKey"] for m in await self._all(f"/groups/{group_key}/members")}

    async def _all(self, path: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        params: dict[str, str] = {"limit": "1000"}
        while True:
            response = await self.http.get(path, params=params)
            response.raise_for_status()
            page = response.json()
            items += page["items"]
            if not page["next_cursor"]:
                return items
            params["cursor"] = page["next_cursor"]

    async def requests(self, method: str, path: str, status: int | None = None) -> int:
        """How often ``method`` hit ``path`` (relative to the org) with ``status``."""
        return await self.admin.count(method, f"/v1/orgs/{self.org.org_id}{path}", status)

    async def count(self, method: str, suffix: str = "", status: int | None = None) -> int:
        """Requests of this org (``method``, path ending with ``suffix``, ``status``)."""
        prefix = f"{method} /v1/orgs/{self.org.org_id}/"
        total = 0
        for key, by_status in (await self.admin.stats())["requests"].items():
            if key.startswith(prefix) and key.endswith(suffix):
                if status is None:
                    total += sum(by_status.values())
                else:
                    total += int(by_status.get(str(status), 0))
        return total


# -- Kubernetes objects --------------------------------------------------------------------


def tenant_spec(zero: Zero, namespace: str, **overrides: Any) -> dict[str, Any]:
    downstream = {
        "baseUrl": zero.url,
        "orgId": zero.org.org_id,
        "apiKeySecretRef": {"name": API_KEY_SECRET},
        "timeoutSeconds": 5,
        "resyncInterval": "10m",
        **overrides.pop("downstream", {}),
    }
    return {"namespace": namespace, "downstream": downstream, **overrides}


def create_tenant(kube: KubeEnv, zero: Zero, namespace: str, **overrides: Any) -> str:
    """The API key Secret and a ZeroTenant named like its namespace."""
    put_secret(kube, namespace, API_KEY_SECRET, {"apiKey": zero.org.api_key})
    kube.custom.create_cluster_custom_object(
        GROUP,
        VERSION,
        TENANT.plural,
        tenant_manifest(namespace, tenant_spec(zero, namespace, **overrides)),
    )
    return namespace


def put_secret(kube: KubeEnv, namespace: str, name: str, data: dict[str, str]) -> None:
    body = {"metadata": {"name": name}, "stringData": data}
    try:
        kube.core.create_namespaced_secret(namespace, body)
    except client.ApiException as exc:
        if exc.status != 409:
            raise
        kube.core.replace_namespaced_secret(name, namespace, body)


def read_secret(kube: KubeEnv, namespace: str, name: str = SECRET_NAME) -> dict[str, Any] | None:
    try:
        secret = kube.core.read_namespaced_secret(name, namespace)
    except client.ApiException as exc:
        if exc.status == 404:
            return None
        raise
    data = {k: base64.b64decode(v).decode() for k, v in (secret.data or {}).items()}
    return {
        "data": data,
        "raw": dict(secret.data or {}),
        "annotations": dict(secret.metadata.annotations or {}),
        "resourceVersion": secret.metadata.resource_version,
        "ownerReferences": secret.metadata.owner_references,
    }


def get_tenant(kube: KubeEnv, name: str) -> dict[str, Any]:
    result: dict[str, Any] = kube.custom.get_cluster_custom_object(
        GROUP, VERSION, TENANT.plural, name
    )
    return result


def patch_tenant(kube: KubeEnv, name: str, patch: dict[str, Any]) -> None:
    kube.custom.patch_cluster_custom_object(GROUP, VERSION, TENANT.plural, name, patch)


def annotate_rotate(kube: KubeEnv, name: str, value: str) -> None:
    patch_tenant(kube, name, {"metadata": {"annotations": {ANNOTATION_ROTATE: value}}})


async def all_synced(kube: KubeEnv, namespace: str, names: list[str]) -> bool:
    """Are all these ScimUsers ``Synced=True``?"""
    for name in names:
        user = await asyncio.to_thread(get_object, kube, USER, namespace, name)
        if user is None or not is_true(user, "Synced"):
            return False
    return True


def condition(obj: dict[str, Any], type_: str) -> dict[str, Any] | None:
    for item in (obj.get("status") or {}).get("conditions") or []:
        if item.get("type") == type_:
            return dict(item)
    return None


def reason_is(obj: dict[str, Any], type_: str, reason: str) -> dict[str, Any] | None:
    """The condition ``type_`` if its reason is ``reason``."""
    found = condition(obj, type_)
    return found if found is not None and found.get("reason") == reason else None


def is_true(obj: dict[str, Any], type_: str) -> bool:
    found = condition(obj, type_)
    return found is not None and found.get("status") == "True"


def user_spec(user_name: str, scim_id: str | None = None, **fields: Any) -> dict[str, Any]:
    return {
        "id": scim_id or str(uuid.uuid4()),
        "userName": user_name,
        "active": True,
        "emails": [{"value": user_name, "type": "work", "primary": True}],
        **fields,
    }


def create_user(
    kube: KubeEnv, namespace: str, spec: dict[str, Any], name: str | None = None
) -> str:
    name = name or user_object_name(spec["userName"])
    body = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": USER.kind,
        "metadata": {"name": name, "labels": {LABEL_SCIM_ID: spec["id"]}},
        "spec": spec,
    }
    kube.custom.create_namespaced_custom_object(GROUP, VERSION, namespace, USER.plural, body)
    return name


def get_object(
    kube: KubeEnv, kind: Kind[KubeObject], namespace: str, name: str
) -> dict[str, Any] | None:
    try:
        result: dict[str, Any] = kube.custom.get_namespaced_custom_object(
            GROUP, VERSION, namespace, kind.plural, name
        )
    except client.ApiException as exc:
        if exc.status == 404:
            return None
        raise
    return result


def patch_spec(
    kube: KubeEnv, kind: Kind[KubeObject], namespace: str, name: str, spec: dict[str, Any]
) -> None:
    kube.custom.patch_namespaced_custom_object(
        GROUP, VERSION, namespace, kind.plural, name, {"spec": spec}
    )


def delete_object(kube: KubeEnv, kind: Kind[KubeObject], namespace: str, name: str) -> None:
    with contextlib.suppress(client.ApiException):
        kube.custom.delete_namespaced_custom_object(GROUP, VERSION, namespace, kind.plural, name)


def create_group(kube: KubeEnv, namespace: str, group_id: str, display_name: str) -> str:
    name = group_object_name(group_id)
    body = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": GROUP_KIND.kind,
        "metadata": {"name": name, "labels": {LABEL_SCIM_ID: group_id}},
        "spec": {"id": group_id, "displayName": display_name},
    }
    kube.custom.create_namespaced_custom_object(GROUP, VERSION, namespace, GROUP_KIND.plural, body)
    return name


def add_entry(
    kube: KubeEnv,
    namespace: str,
    group_id: str,
    seq: int,
    *,
    add: list[str] | None = None,
    remove: list[str] | None = None,
    snapshot: bool = False,
    part: int = 0,
    parts: int = 1,
) -> str:
    """One member-log entry, as the API writes it."""
    group = group_object_name(group_id)
    spec: dict[str, Any] = {
        "groupId": group_id,
        "seq": seq,
        "type": "Snapshot" if snapshot else "Delta",
        "part": part,
        "parts": parts,
    }
    if add:
        spec["add"] = add
    if remove:
        spec["remove"] = remove
    name = entry_name(group, seq, part)
    body = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": MEMBER_BATCH.kind,
        "metadata": {"name": name, "labels": {LABEL_GROUP: group}},
        "spec": spec,
    }
    kube.custom.create_namespaced_custom_object(
        GROUP, VERSION, namespace, MEMBER_BATCH.plural, body
    )
    return name


def events_for(kube: KubeEnv, namespace: str, name: str, reason: str | None = None) -> list[Any]:
    selector = f"involvedObject.name={name}"
    items = kube.core.list_namespaced_event(namespace, field_selector=selector).items
    return [e for e in items if reason is None or e.reason == reason]


def strip_finalizers(kube: KubeEnv, namespace: str, tenant: str | None) -> None:
    """Leave nothing blocked behind a stopped operator."""
    patch = {"metadata": {"finalizers": None}}
    for kind in (USER, GROUP_KIND):
        with contextlib.suppress(client.ApiException):
            items = kube.custom.list_namespaced_custom_object(
                GROUP, VERSION, namespace, kind.plural
            )["items"]
            for item in items:
                if FINALIZER in (item["metadata"].get("finalizers") or []):
                    with contextlib.suppress(client.ApiException):
                        kube.custom.patch_namespaced_custom_object(
                            GROUP, VERSION, namespace, kind.plural, item["metadata"]["name"], patch
                        )
    if tenant is not None:
        with contextlib.suppress(client.ApiException):
            kube.custom.patch_cluster_custom_object(GROUP, VERSION, TENANT.plural, tenant, patch)
        with contextlib.suppress(client.ApiException):
            kube.custom.delete_cluster_custom_object(GROUP, VERSION, TENANT.plural, tenant)
