"""The Kubernetes every integration test talks to: a real API server, never a mock.

``$KUBECONFIG`` set → that cluster is used, provided it looks like a throwaway test
cluster (kind, k3d, minikube, a zero-scim local cluster or a loopback server) or
``ZERO_SCIM_TEST_ALLOW_ANY_CLUSTER=1`` says otherwise. Not set → a fresh local control
plane (etcd + kube-apiserver + kube-controller-manager) is started for the session in a
temporary data folder and stopped afterwards.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import os
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import yaml
from kubernetes import client, config

from zero_scim_dev.cluster.build import ensure_binaries
from zero_scim_dev.cluster.cluster import LocalCluster
from zero_scim_dev.crds import apply_crds_to

THROWAWAY_PREFIXES = ("kind-", "k3d-", "minikube", "zero-scim", "docker-desktop", "colima")
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
ALLOW_ANY = "ZERO_SCIM_TEST_ALLOW_ANY_CLUSTER"


class UnsafeCluster(RuntimeError):
    pass


@dataclass
class KubeEnv:
    kubeconfig: Path
    api: client.ApiClient
    local: LocalCluster | None  # None when the session uses $KUBECONFIG

    @property
    def core(self) -> client.CoreV1Api:
        return client.CoreV1Api(self.api)

    @property
    def custom(self) -> client.CustomObjectsApi:
        return client.CustomObjectsApi(self.api)

    @property
    def rbac(self) -> client.RbacAuthorizationV1Api:
        return client.RbacAuthorizationV1Api(self.api)


def check_throwaway(kubeconfig: Path) -> None:
    """Refuse a kubeconfig whose current context does not look like a test cluster."""
    if os.environ.get(ALLOW_ANY) == "1":
        return
    raw: dict[str, Any] = yaml.safe_load(kubeconfig.read_text()) or {}
    context_name = raw.get("current-context", "")
    contexts = {c["name"]: c.get("context", {}) for c in raw.get("contexts", [])}
    cluster_name = contexts.get(context_name, {}).get("cluster", "")
    clusters = {c["name"]: c.get("cluster", {}) for c in raw.get("clusters", [])}
    server = clusters.get(cluster_name, {}).get("server", "")
    host = urlparse(server).hostname or ""
    names = (context_name, cluster_name)
    if host in LOOPBACK or any(n.startswith(THROWAWAY_PREFIXES) for n in names if n):
        return
    raise UnsafeCluster(
        f"refusing to run tests against context {context_name!r} (server {server}): it does "
        f"not look like a throwaway test cluster. Set {ALLOW_ANY}=1 if it is one."
    )


@contextlib.contextmanager
def kube_session() -> Iterator[KubeEnv]:
    env_config = os.environ.get("KUBECONFIG")
    local: LocalCluster | None = None
    if env_config:
        kubeconfig = Path(env_config.split(os.pathsep)[0])
        check_throwaway(kubeconfig)
    else:
        data_dir = Path(tempfile.mkdtemp(prefix="zero-scim-test-cluster-"))
        local = LocalCluster(data_dir)
        kubeconfig = local.up(ensure_binaries())
    try:
        api = config.new_client_from_config(config_file=str(kubeconfig))
        # zero-scim's own client, on an event loop of its own (not the tests' loop)
        with concurrent.futures.ThreadPoolExecutor(1) as thread:
            thread.submit(apply_crds_to, kubeconfig).result()
        yield KubeEnv(kubeconfig=kubeconfig, api=api, local=local)
        api.close()
    finally:
        if local is not None:
            local.down(purge=True)


def create_namespace(env: KubeEnv, prefix: str = "t") -> str:
    name = f"{prefix}-{uuid.uuid4().hex[:10]}"
    env.core.create_namespace({"metadata": {"name": name, "labels": {"zeroscim.io/test": "true"}}})
    return name


def delete_namespace(env: KubeEnv, name: str) -> None:
    with contextlib.suppress(client.ApiException):
        env.core.delete_namespace(name)
