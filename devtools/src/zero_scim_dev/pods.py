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
import asyncio
import contextlib
import os
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zero_scim.kube.client import KubeClient
from zero_scim.kube.coordinates import SECRET
from zero_scim.kube.objects import Secret
from zero_scim.kube.secrets import DecodedSecret
from zero_scim_dev import sso
from zero_scim_dev.cluster.build import Progress, _stderr_progress, ensure_binaries
from zero_scim_dev.cluster.errors import ClusterError
from zero_scim_dev.cluster.node import BRIDGE_IP, NodeCluster
from zero_scim_dev.demo import Endpoints, print_ready, start_demo
from zero_scim_dev.image.build import TAG, Built, build_images
from zero_scim_dev.image.engine import Podman
from zero_scim_dev.image.errors import ImageError
from zero_scim_dev.kinds import CONFIG_MAP, SERVICE, ConfigMap, create_or_replace
from zero_scim_dev.supervisor import Stack, say

RELEASE = "zero-scim"
NAMESPACE = "zero-scim"
INSTALL_TIMEOUT = 300
#: In the release's namespace: Zero's client secret at the local identity provider, and
#: the CA of the provider's certificate (``accounts.sso`` of the chart names both).
SSO_SECRET = "zero-dev-sso"  # noqa: S105 (a name, not a secret)
SSO_CA = "zero-dev-sso-ca"


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


async def service_url(kube: KubeClient, namespace: str, name: str) -> str:
    """``http://<ClusterIP>[:<port>]`` of a Service (its first port)."""
    spec = (await kube.get(SERVICE, name, namespace)).get("spec", {})
    port = spec.get("ports", [{"port": 80}])[0]["port"]
    host = spec.get("clusterIP", "")
    return f"http://{host}" if port == 80 else f"http://{host}:{port}"


async def release_endpoints(kube: KubeClient, namespace: str, fullname: str) -> Endpoints:
    """Where the release's API and accounts Services are, and the accounts' keys."""
    accounts = f"{fullname}-accounts"
    keys = DecodedSecret.from_object(await kube.get(SECRET, accounts, namespace)).data
    return Endpoints(
        scim_base_url=f"{await service_url(kube, namespace, f'{fullname}-api')}/scim/v2",
        accounts_url=await service_url(kube, namespace, accounts),
        accounts_api_key=keys.get("apiKey", ""),
        accounts_admin_token=keys.get("adminToken", ""),
    )


async def _endpoints(kubeconfig: Path) -> Endpoints:
    async with await KubeClient.connect(kubeconfig) as kube:
        return await release_endpoints(kube, NAMESPACE, RELEASE)


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


def accounts_in_cluster(fullname: str = RELEASE, namespace: str = NAMESPACE) -> str:
    """The release's accounts Service as the operator Pod reaches it (cluster DNS)."""
    return f"http://{fullname}-accounts.{namespace}.svc"


# -- sign-in ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PodSignIn:
    """Sign-in for the accounts Pod: the local identity provider on the node's bridge.

    Pods cannot reach this host's loopback, where ``zero-scim dev`` runs the provider, and
    the accounts service accepts a plain-http authority only on its own loopback (the
    rule that keeps a real deployment on https). So the provider listens on the bridge
    address over https, with a certificate from the cluster's CA, which the chart's
    ``accounts.sso.caBundle`` gives the accounts Pod to trust.
    """

    dev: sso.DevSso
    tls: sso.IdpTls
    idp_url: str  # https://10.244.0.1:<port>, for the Pod and this host's browsers alike


def start_identity_provider(node: NodeCluster, stack: Stack, openssl: Path) -> PodSignIn:
    dev = sso.prepare(node.data_dir)
    cert, key = node.bridge_certificate(openssl, "idp")
    tls = sso.IdpTls(cert=cert, key=key, ca=node.ca_cert)
    idp = stack.spawn(
        "idp",
        sso.idp_args(dev, 0, host=BRIDGE_IP, tls=tls),
        {**os.environ, **sso.idp_env(tls)},
        "IDP_URL=",
        program=sso.idp_program(),
    )
    return PodSignIn(dev, tls, idp.url)


def sign_in_values(sign_in: PodSignIn, public_url: str) -> dict[str, Any]:
    """The chart's ``accounts.sso`` for the local provider; people reach the service at
    ``public_url`` (its Service's ClusterIP, known once the release is installed)."""
    return {
        "enabled": True,
        "clientId": sso.CLIENT_ID,
        "clientSecret": {"secretName": SSO_SECRET, "key": "clientSecret"},
        "authority": sso.authority(sign_in.idp_url),
        "publicUrl": public_url,
        "caBundle": {"configMapName": SSO_CA, "key": "ca.crt"},
    }


async def store_sign_in(kube: KubeClient, sign_in: PodSignIn, namespace: str) -> None:
    """What :func:`sign_in_values` names: the client secret and the provider's CA."""
    secret: Secret = {
        "metadata": {"name": SSO_SECRET, "namespace": namespace},
        "stringData": {"clientSecret": sign_in.dev.client_secret},
    }
    ca: ConfigMap = {
        "metadata": {"name": SSO_CA, "namespace": namespace},
        "data": {"ca.crt": sign_in.tls.ca.read_text()},
    }
    await create_or_replace(kube, SECRET, secret)
    await create_or_replace(kube, CONFIG_MAP, ca)


def enable_sign_in(
    node: NodeCluster,
    stack: Stack,
    openssl: Path,
    kubeconfig: Path,
    values: dict[str, Any],
    endpoints: Endpoints,
) -> PodSignIn | None:
    """The provider, then ``helm upgrade`` with sign-in (the accounts Pod is replaced,
    before any tenant uses it); None, and why on stderr, if the provider cannot run."""
    why_not = sso.available()
    if why_not is not None:
        say(f"sign-in is left out: {why_not}")
        return None
    say("starting the local identity provider (Entra-shaped) on the node's bridge, https")
    sign_in = start_identity_provider(node, stack, openssl)

    async def store() -> None:
        async with await KubeClient.connect(kubeconfig) as kube:
            await store_sign_in(kube, sign_in, NAMESPACE)

    asyncio.run(store())
    say(f"helm upgrade {RELEASE}: sign-in for the accounts service at {endpoints.accounts_url}")
    values["accounts"]["sso"] = sign_in_values(sign_in, endpoints.accounts_url)
    install(kubeconfig, values)
    sso.register_client(sign_in.dev, sign_in.idp_url, endpoints.accounts_url, tls=sign_in.tls)
    return sign_in


# -- the command -------------------------------------------------------------------------


def run(args: argparse.Namespace) -> int:
    node = NodeCluster(args.data_dir)
    was_running = bool(node.state_path.exists() and node.status().get("ready"))
    stack = Stack(node.data_dir)  # the identity provider, restarted if it crashes
    stopping = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    started = time.monotonic()
    kubeconfig: Path | None = None
    try:
        say("starting the one-node cluster")
        binaries = ensure_binaries()
        kubeconfig = node.up(binaries)
        say("building and importing the images")
        built = {b.target: b.reference for b in prepare_images(node, _stderr_progress)}
        say(f"helm install {RELEASE} (API x2, operator, accounts)")
        values = release_values(built)
        install(kubeconfig, values)
        endpoints = asyncio.run(_endpoints(kubeconfig))
        sign_in = enable_sign_in(node, stack, binaries.openssl, kubeconfig, values, endpoints)
        deadline = time.monotonic() + args.timeout
        token = start_demo(
            kubeconfig, endpoints, accounts_in_cluster(), deadline,
            sign_in=sign_in is not None, check=stack.check,
        )  # fmt: skip
        print_ready(
            endpoints, token, kubeconfig,
            sso_password=sign_in.dev.password if sign_in else None,
            extra=[
                f"SSO_CA_FILE={sign_in.tls.ca}  (the sign-in page {sign_in.idp_url} has its cert)"
            ] if sign_in else [],
            commands=[f"kubectl --kubeconfig {kubeconfig} get pods -n {NAMESPACE}"],
            footer=f"Ready in {time.monotonic() - started:.0f}s (images: {built['runtime']}, "
            f"{built['demo']}). Ctrl-C stops everything.",
        )  # fmt: skip
        while not stopping.wait(0.5):
            stack.check()
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
        stack.stop()
        if not was_running:
            say("stopping the one-node cluster (and restoring the host)")
            node.down()
