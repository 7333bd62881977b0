"""Acting as the chart's ServiceAccounts, and running the chart's commands locally.

No Pod ever runs on the local control plane (no kubelet), so the API and the operator
run here as processes, with the command lines of the chart's Deployments, authenticated
as the chart's ServiceAccounts: a real ServiceAccount token from the TokenRequest API
(also what kind or any real cluster would issue to the Pod), in a kubeconfig of its own.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import yaml
from kubernetes import client, config

from tests.support.kube import KubeEnv
from tests.support.polling import eventually_blocking

T = TypeVar("T")
START_TIMEOUT = 60.0
FIELD_MANAGER = "zero-scim-chart-test"


def service_account_kubeconfig(
    kube: KubeEnv, namespace: str, service_account: str, path: Path
) -> Path:
    """A kubeconfig that authenticates as ``system:serviceaccount:<ns>:<sa>``.

    Context namespace = the ServiceAccount's, like a Pod's in-cluster default (Kopf
    posts Events about cluster-scoped objects there).
    """
    request = {"spec": {"expirationSeconds": 3600}}
    token = kube.core.create_namespaced_service_account_token(
        service_account, namespace, request
    ).status.token
    admin = yaml.safe_load(kube.kubeconfig.read_text())
    context = next(c for c in admin["contexts"] if c["name"] == admin["current-context"])
    cluster = next(c for c in admin["clusters"] if c["name"] == context["context"]["cluster"])
    user = f"system:serviceaccount:{namespace}:{service_account}"
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [cluster],
                "users": [{"name": user, "user": {"token": token}}],
                "contexts": [
                    {
                        "name": service_account,
                        "context": {
                            "cluster": cluster["name"],
                            "user": user,
                            "namespace": namespace,
                        },
                    }
                ],
                "current-context": service_account,
            }
        )
    )
    path.chmod(0o600)
    return path


def api_client(kubeconfig: Path) -> client.ApiClient:
    return config.new_client_from_config(config_file=str(kubeconfig))


def forbidden(call: Callable[[], Any]) -> bool:
    """True if the API server refuses ``call`` with 403 (any other outcome: False)."""
    try:
        call()
    except client.ApiException as exc:
        return exc.status == 403
    return False


def eventually(check: Callable[[], T | None], what: str, timeout: float = 30.0) -> T:
    """The shared :func:`~tests.support.polling.eventually_blocking`, retrying while the
    API server or a process is not reachable yet."""
    return eventually_blocking(
        check,
        what,
        timeout=timeout,
        interval=0.2,
        retry_on=(client.ApiException, OSError, httpx.TransportError),
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def container_args(deployment: dict[str, Any]) -> list[str]:
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    args: list[str] = container["args"]
    return args


def replace_arg(args: list[str], option: str, value: str) -> list[str]:
    """``--option=old`` → ``--option=value`` (the option must be there)."""
    prefix = f"{option}="
    assert any(a.startswith(prefix) for a in args), (option, args)
    return [f"{prefix}{value}" if a.startswith(prefix) else a for a in args]


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[str]
    log: Path
    lines: queue.Queue[str | None]

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for_line(self, prefix: str, timeout: float = START_TIMEOUT) -> str:
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"{self.name}: no {prefix!r} line:\n{self.text()[-3000:]}")
            try:
                line = self.lines.get(timeout=remaining)
            except queue.Empty:
                continue
            if line is None:
                raise AssertionError(f"{self.name} exited:\n{self.text()[-3000:]}")
            if line.startswith(prefix):
                return line[len(prefix) :].strip()


@contextmanager
def running(name: str, args: list[str], log: Path) -> Iterator[Process]:
    """``python -m zero_scim.cli ARGS``, its stderr in ``log``; stopped (SIGTERM) on exit."""
    # Only the command line says which credentials to use: no $KUBECONFIG to fall back on.
    env = {k: v for k, v in os.environ.items() if k != "KUBECONFIG"}
    env["PYTHONUNBUFFERED"] = "1"
    stderr = log.open("w")
    popen = subprocess.Popen(
        [sys.executable, "-m", "zero_scim.cli", *args],
        stdout=subprocess.PIPE,
        stderr=stderr,
        stdin=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert popen.stdout is not None
        for line in popen.stdout:
            lines.put(line)
        lines.put(None)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    try:
        yield Process(name, popen, log, lines)
    finally:
        if popen.poll() is None:
            popen.terminate()
            try:
                popen.wait(20)
            except subprocess.TimeoutExpired:
                popen.kill()
                popen.wait()
        reader.join(5)
        assert popen.stdout is not None
        popen.stdout.close()
        stderr.close()


#: kind -> (plural, namespaced), for what the chart renders.
RESOURCES = {
    "ClusterRole": ("clusterroles", False),
    "ClusterRoleBinding": ("clusterrolebindings", False),
    "CustomResourceDefinition": ("customresourcedefinitions", False),
    "Deployment": ("deployments", True),
    "HorizontalPodAutoscaler": ("horizontalpodautoscalers", True),
    "Ingress": ("ingresses", True),
    "NetworkPolicy": ("networkpolicies", True),
    "PersistentVolumeClaim": ("persistentvolumeclaims", True),
    "Pod": ("pods", True),
    "PodDisruptionBudget": ("poddisruptionbudgets", True),
    "Secret": ("secrets", True),
    "Service": ("services", True),
    "ServiceAccount": ("serviceaccounts", True),
    "ServiceMonitor": ("servicemonitors", True),
    "Namespace": ("namespaces", False),
    "ZeroTenant": ("zerotenants", False),
}


def dry_run_apply(kube: KubeEnv, obj: dict[str, Any]) -> None:
    """Server-side apply with dryRun=All: the API server validates, admits, stores nothing."""
    plural, namespaced = RESOURCES[obj["kind"]]
    group_version = obj["apiVersion"]
    path = "/api/v1" if group_version == "v1" else f"/apis/{group_version}"
    if namespaced:
        path += f"/namespaces/{obj['metadata']['namespace']}"
    path += f"/{plural}/{obj['metadata']['name']}"
    method, url, headers, body, _ = kube.api.param_serialize(
        "PATCH",
        path,
        query_params=[("dryRun", "All"), ("fieldManager", FIELD_MANAGER), ("force", "true")],
        header_params={"Content-Type": "application/apply-patch+yaml", "Accept": "*/*"},
        body=json.dumps(obj),  # JSON is YAML
        auth_settings=["BearerToken"],
    )
    response = kube.api.call_api(method, url, header_params=headers, body=body)
    data = response.read()
    where = f"{obj['kind']} {obj['metadata']['name']}"
    assert 200 <= response.status < 300, f"{where}: {response.status} {data[:1000]!r}"


def release_finalizers(kube: KubeEnv, namespace: str, tenant: str | None = None) -> None:
    """Let a test's tenant and its objects go without an operator: drop the finalizers
    (the operator's are ``zeroscim.io/downstream``), delete the tenant."""
    group, version = "zeroscim.io", "v1alpha1"
    patch = {"metadata": {"finalizers": None}}
    for plural in ("scimusers", "scimgroups"):
        with contextlib.suppress(client.ApiException):
            items = kube.custom.list_namespaced_custom_object(group, version, namespace, plural)
            for item in items["items"]:
                with contextlib.suppress(client.ApiException):
                    kube.custom.patch_namespaced_custom_object(
                        group, version, namespace, plural, item["metadata"]["name"], patch
                    )
    if tenant is not None:
        with contextlib.suppress(client.ApiException):
            kube.custom.patch_cluster_custom_object(group, version, "zerotenants", tenant, patch)
        with contextlib.suppress(client.ApiException):
            kube.custom.delete_cluster_custom_object(group, version, "zerotenants", tenant)
