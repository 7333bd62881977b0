"""``zero-scim dev --pods``: the main job as real Pods, on the one-node cluster.

Builds the images (cached), starts the one-node cluster (:mod:`zero_scim_dev.cluster.node`),
imports the images into its containerd, ``helm install``s ``charts/zero-scim`` (API x2,
operator, the demo Zero accounts service), declares the demo tenant against the accounts
Service, waits until the operator issued its token and the API Service accepts it, and
prints the same lines as ``zero-scim dev``::

    SCIM_BASE_URL=http://10.96.x.y/scim/v2        (the API Service's ClusterIP)
    SCIM_TOKEN=zscim_…
    KUBECONFIG=…/clusters/node/kubeconfig
    ZERO_ACCOUNTS_URL=http://10.96.x.z  (admin token: …)

The ClusterIPs are reachable from this host (kube-proxy's rules) and from every Pod.
Ctrl-C (or SIGTERM) uninstalls the release (the CRDs and the demo tenant's data stay,
as with any ``helm uninstall`` of the chart) and stops the cluster, restoring the host —
unless the cluster was already running, which then stays up.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import signal
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zero_scim.kube.tokens import KEY_TOKEN, SECRET_NAME
from zero_scim_dev.cluster.build import Progress, _stderr_progress, ensure_binaries
from zero_scim_dev.cluster.errors import ClusterError
from zero_scim_dev.cluster.node import NodeCluster
from zero_scim_dev.image.build import TAG, Built, build_images
from zero_scim_dev.image.engine import Podman
from zero_scim_dev.image.errors import ImageError

RELEASE = "zero-scim"
NAMESPACE = "zero-scim"
DEMO = "demo"
ORG = "demo-org"
INSTALL_TIMEOUT = 300


def chart_dir() -> Path:
    from zero_scim_dev.image.build import source_dir

    return source_dir() / "charts" / "zero-scim"


def release_values(images: dict[str, str], *, pull_policy: str = "Never") -> dict[str, Any]:
    """Values for the chart: the production image for API and operator, the demo image
    (which adds the accounts service) for the accounts service."""
    runtime_repo, runtime_tag = images["runtime"].rsplit(":", 1)
    demo_repo, demo_tag = images["demo"].rsplit(":", 1)
    return {
        "image": {"repository": runtime_repo, "tag": runtime_tag, "pullPolicy": pull_policy},
        "accounts": {"enabled": True, "image": {"repository": demo_repo, "tag": demo_tag}},
    }


def prepare_images(node: NodeCluster, progress: Progress, *, tag: str = TAG) -> list[Built]:
    """Build (cached) both images and import each into the node unless already there."""
    podman = Podman.create()
    built = build_images(progress, tag=tag, podman=podman)
    for image in built:
        node.load_image(image.reference, image.image_id, podman.save_to)
    return built


@dataclass(frozen=True)
class Endpoints:
    scim_base_url: str
    accounts_url: str
    accounts_api_key: str
    accounts_admin_token: str


def _secret(core: Any, namespace: str, name: str, key: str) -> str:
    data = core.read_namespaced_secret(name, namespace).data or {}
    raw = data.get(key, "")
    return base64.b64decode(raw).decode() if raw else ""


def service_url(core: Any, namespace: str, name: str) -> str:
    service = core.read_namespaced_service(name, namespace)
    port = service.spec.ports[0].port
    host = service.spec.cluster_ip
    return f"http://{host}" if port == 80 else f"http://{host}:{port}"


def release_endpoints(api_client: Any, namespace: str, fullname: str) -> Endpoints:
    from kubernetes import client

    core = client.CoreV1Api(api_client)
    accounts = f"{fullname}-accounts"
    return Endpoints(
        scim_base_url=f"{service_url(core, namespace, f'{fullname}-api')}/scim/v2",
        accounts_url=service_url(core, namespace, accounts),
        accounts_api_key=_secret(core, namespace, accounts, "apiKey"),
        accounts_admin_token=_secret(core, namespace, accounts, "adminToken"),
    )


def declare_demo_tenant(
    api_client: Any, *, accounts_in_cluster: str, api_key: str, tenant: str = DEMO
) -> None:
    """The demo ZeroTenant, its namespace and its Zero API key Secret (idempotent)."""
    from kubernetes import client

    from zero_scim.kube.coordinates import GROUP, TENANT, VERSION, tenant_manifest

    core = client.CoreV1Api(api_client)
    custom = client.CustomObjectsApi(api_client)
    with contextlib.suppress(client.ApiException):
        core.create_namespace({"metadata": {"name": tenant}})
    secret = {"metadata": {"name": "zero-api-key"}, "stringData": {"apiKey": api_key}}
    try:
        core.create_namespaced_secret(tenant, secret)
    except client.ApiException:
        core.replace_namespaced_secret("zero-api-key", tenant, secret)
    spec = {
        "namespace": tenant,
        "displayName": "Demo tenant",
        "downstream": {
            "baseUrl": accounts_in_cluster,
            "orgId": ORG,
            "apiKeySecretRef": {"name": "zero-api-key"},
            "resyncInterval": "1m",
        },
    }
    try:
        custom.create_cluster_custom_object(
            GROUP, VERSION, TENANT.plural, tenant_manifest(tenant, spec)
        )
    except client.ApiException as exc:
        if exc.status != 409:
            raise
        custom.patch_cluster_custom_object(GROUP, VERSION, TENANT.plural, tenant, {"spec": spec})


def wait_token(api_client: Any, namespace: str, deadline: float) -> str:
    from kubernetes import client

    core = client.CoreV1Api(api_client)
    while time.monotonic() < deadline:
        with contextlib.suppress(client.ApiException):
            token = _secret(core, namespace, SECRET_NAME, KEY_TOKEN)
            if token:
                return token
        time.sleep(0.5)
    raise ClusterError("the operator Pod did not issue the demo tenant's token in time")


def wait_accepted(base_url: str, token: str, deadline: float) -> None:
    """Until the API Service answers 200 to the token (kube-proxy's rules and the API's
    token watch both follow a moment after the Pods are Ready)."""
    request = urllib.request.Request(
        f"{base_url}/ServiceProviderConfig", headers={"Authorization": f"Bearer {token}"}
    )
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(request, timeout=3) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.5)
    raise ClusterError("the SCIM API Service did not accept the demo token in time")


def install(kubeconfig: Path, values: dict[str, Any], *, name: str = RELEASE,
            namespace: str = NAMESPACE) -> dict[str, Any]:  # fmt: skip
    """``helm install`` (or ``upgrade`` of an existing release), waiting until Ready."""
    import helm_python

    helm_python.disable_logging()
    try:
        return _install(helm_python, kubeconfig, values, name, namespace)
    except helm_python.HelmError as exc:
        raise ClusterError(f"helm install {name} failed: {exc}") from exc


def _install(helm_python: Any, kubeconfig: Path, values: dict[str, Any], name: str,
             namespace: str) -> dict[str, Any]:  # fmt: skip
    with helm_python.Config(kubeconfig_path=kubeconfig, namespace=namespace) as helm:
        existing = {r["name"] for r in helm.list()}
        if name in existing:
            release: dict[str, Any] = helm.upgrade(
                chart_dir(), name, values, namespace=namespace, wait="watcher",
                timeout=INSTALL_TIMEOUT,
            )  # fmt: skip
        else:
            release = helm.install(
                chart_dir(), name, values, namespace=namespace, wait="watcher",
                timeout=INSTALL_TIMEOUT, create_namespace=True,
            )  # fmt: skip
        return release


def uninstall(kubeconfig: Path, *, name: str = RELEASE, namespace: str = NAMESPACE) -> None:
    import helm_python

    with helm_python.Config(kubeconfig_path=kubeconfig, namespace=namespace) as helm:
        helm.uninstall(name, ignore_not_found=True, wait="watcher", timeout=120)


def say(message: str) -> None:
    _stderr_progress(f"zero-scim dev: {message}")


def run(args: argparse.Namespace) -> int:
    from kubernetes import config

    node = NodeCluster(args.data_dir)
    was_running = bool(node.state_path.exists() and node.status().get("ready"))
    stopping = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    started = time.monotonic()
    kubeconfig: Path | None = None
    try:
        say("starting the one-node cluster")
        kubeconfig = node.up(ensure_binaries())
        say("building and importing the images")
        built = {b.target: b.reference for b in prepare_images(node, _stderr_progress)}
        say(f"helm install {RELEASE} (API x2, operator, accounts)")
        install(kubeconfig, release_values(built))
        api_client = config.new_client_from_config(config_file=str(kubeconfig))
        endpoints = release_endpoints(api_client, NAMESPACE, RELEASE)
        declare_demo_tenant(
            api_client,
            accounts_in_cluster=f"http://{RELEASE}-accounts.{NAMESPACE}.svc",
            api_key=endpoints.accounts_api_key,
        )
        deadline = time.monotonic() + args.timeout
        token = wait_token(api_client, DEMO, deadline)
        wait_accepted(endpoints.scim_base_url, token, deadline)
        base_url = endpoints.scim_base_url
        print(f"SCIM_BASE_URL={base_url}")
        print(f"SCIM_TOKEN={token}")
        print(f"KUBECONFIG={kubeconfig}")
        print(
            f"ZERO_ACCOUNTS_URL={endpoints.accounts_url}  "
            f"(admin token: {endpoints.accounts_admin_token})"
        )
        user = '{"userName":"ada@example.com","active":true}'
        print(
            "\nTry it:\n"
            f"  curl -s -H 'Authorization: Bearer {token}' \\\n"
            f"    -H 'Content-Type: application/scim+json' -d '{user}' {base_url}/Users\n"
            f"  kubectl --kubeconfig {kubeconfig} get pods -n {NAMESPACE}\n"
            f"  kubectl --kubeconfig {kubeconfig} get scimusers -n {DEMO}\n"
            f"  curl -s -H 'Authorization: Bearer {endpoints.accounts_api_key}' \\\n"
            f"    {endpoints.accounts_url}/v1/orgs/{ORG}/accounts\n"
            f"\nReady in {time.monotonic() - started:.0f}s (images: {built['runtime']}, "
            f"{built['demo']}). Ctrl-C stops everything.",
            flush=True,
        )
        stopping.wait()
        say("stopping")
        return 0
    except (ClusterError, ImageError) as exc:
        say(f"error: {exc}")
        return 1
    finally:
        if kubeconfig is not None:
            say(f"helm uninstall {RELEASE}")
            with contextlib.suppress(Exception):  # best effort: the node goes next anyway
                uninstall(kubeconfig)
        if not was_running:
            say("stopping the one-node cluster (and restoring the host)")
            node.down()
