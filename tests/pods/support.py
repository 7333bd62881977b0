"""Real Pods: the cluster they run on, commands inside them, SCIM load from the host.

The cluster is the one-node cluster (``zero_scim_dev.cluster.node``) that the session
starts in a temporary data folder, with the images built here and imported into its
containerd — or, with ``$KUBECONFIG`` and ``ZERO_SCIM_TEST_IMAGE`` (and
``ZERO_SCIM_TEST_DEMO_IMAGE``) set, that cluster and those pullable images. Services are
reached by ClusterIP from this host: the node's kube-proxy routes them here; on another
cluster the host must route the Service network (see docs/operations.md, "Running on
Pods").
"""

from __future__ import annotations

import base64
import contextlib
import gc
import os
import tempfile
import threading
import time
import uuid
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
from kubernetes import client, config
from kubernetes.stream import stream

from tests.support.kube import KubeEnv, check_throwaway
from tests.support.polling import eventually_blocking
from zero_scim_dev.cluster import hoststate
from zero_scim_dev.cluster.node import NodeCluster

T = TypeVar("T")
IMAGE_ENV = "ZERO_SCIM_TEST_IMAGE"
DEMO_IMAGE_ENV = "ZERO_SCIM_TEST_DEMO_IMAGE"
SCIM_USER = "urn:ietf:params:scim:schemas:core:2.0:User"


@dataclass
class PodCluster:
    kube: KubeEnv
    #: The image of API and operator, and the demo image (adds the accounts service).
    image: str
    demo_image: str
    pull_policy: str
    node: NodeCluster | None  # None: a cluster given by $KUBECONFIG

    @property
    def core(self) -> client.CoreV1Api:
        return client.CoreV1Api(self.kube.api)

    def exec(self, namespace: str, pod: str, command: list[str]) -> str:
        """Run ``command`` in a Pod's container (the API server's exec, as kubectl does);
        its stdout.

        The ``kubernetes`` client's websocket code leaks its sockets (it first offers the
        v5 channel protocol, which a 1.20 API server refuses, and never closes that
        attempt's socket): their ResourceWarnings are silenced here, where they are
        collected, instead of failing whichever test the garbage collector interrupts.
        """
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            output = self._exec(namespace, pod, command)
            gc.collect()
        return output

    def _exec(self, namespace: str, pod: str, command: list[str]) -> str:
        # A client of its own: ``stream`` patches the client it is given.
        api = config.new_client_from_config(config_file=str(self.kube.kubeconfig))
        try:
            ws = stream(
                client.CoreV1Api(api).connect_get_namespaced_pod_exec,
                pod,
                namespace,
                command=command,
                stderr=True,
                stdin=False,
                stdout=True,
                tty=False,
                _preload_content=False,
            )
            try:
                ws.run_forever(timeout=120)
                output: str = ws.read_stdout()
                errors: str = ws.read_stderr()
            finally:
                ws.close()
        finally:
            api.close()
        assert output.strip(), f"no output from {command[:2]} in {pod}: {errors[-2000:]}"
        return output

    def retag(self, image: str, tag: str) -> str:
        """Another tag of ``image`` (a changed image for an upgrade): on the local node a
        containerd tag; elsewhere the image itself (the upgrade then changes values only)."""
        if self.node is None:
            return image
        target = f"{image.rsplit(':', 1)[0]}:{tag}"
        self.node.tag_image(image, target)
        return target


@contextlib.contextmanager
def pod_cluster() -> Iterator[PodCluster]:
    env_config = os.environ.get("KUBECONFIG")
    if env_config:
        image = os.environ.get(IMAGE_ENV)
        if not image:
            raise LookupError(
                f"$KUBECONFIG is set but {IMAGE_ENV} is not: the Pod tests need an image the "
                f"cluster can pull ({IMAGE_ENV}, and {DEMO_IMAGE_ENV} for the accounts service)"
            )
        kubeconfig = Path(env_config.split(os.pathsep)[0])
        check_throwaway(kubeconfig)
        api = config.new_client_from_config(config_file=str(kubeconfig))
        demo = os.environ.get(DEMO_IMAGE_ENV, image)
        try:
            yield PodCluster(KubeEnv(kubeconfig, api, None), image, demo, "IfNotPresent", None)
        finally:
            api.close()
        return
    from zero_scim_dev.cluster.build import ensure_binaries
    from zero_scim_dev.pods import prepare_images

    node = NodeCluster(Path(tempfile.mkdtemp(prefix="zero-scim-test-node-")))
    before = hoststate.record()
    try:
        kubeconfig = node.up(ensure_binaries())
        built = {b.target: b.reference for b in prepare_images(node, node.progress)}
        api = config.new_client_from_config(config_file=str(kubeconfig))
        try:
            yield PodCluster(
                KubeEnv(kubeconfig, api, None), built["runtime"], built["demo"], "Never", node
            )
        finally:
            api.close()
    finally:
        node.down(purge=True)
    changed = host_differences(before, hoststate.record())
    assert not changed, f"the node left the host changed: {changed}"


def host_differences(before: hoststate.HostState, after: hoststate.HostState) -> dict[str, Any]:
    """What differs between two host snapshots, in the node's areas."""
    diff: dict[str, Any] = {}
    for name in ("sysctls", "folders", "nft_tables", "cgroups", "links"):
        if getattr(before, name) != getattr(after, name):
            diff[name] = (getattr(before, name), getattr(after, name))
    new_mounts = sorted(set(after.mounts) - set(before.mounts))
    if new_mounts:
        diff["mounts"] = new_mounts
    for binary, tables in after.iptables.items():
        for table, lines in tables.items():
            new = sorted(set(lines) - set(before.iptables.get(binary, {}).get(table, [])))
            if new:
                diff[f"{binary} -t {table}"] = new
    return diff


def eventually(check: Callable[[], T | None], what: str, timeout: float = 60.0) -> T:
    """The shared :func:`~tests.support.polling.eventually_blocking`, retrying while a
    Pod, a Service or the API server is not reachable yet."""
    return eventually_blocking(
        check,
        what,
        timeout=timeout,
        interval=0.3,
        retry_on=(client.ApiException, OSError, httpx.HTTPError, ValueError),
    )


def wait_in_zero(zero: httpx.Client, user_ids: Iterable[str], timeout: float = 120.0) -> None:
    """Until every one of ``user_ids`` has its account in Zero."""
    pending = set(user_ids)

    def synced() -> bool:
        for user_id in sorted(pending):
            if zero.get(f"/accounts/{user_id}").status_code == 200:
                pending.discard(user_id)
        return not pending

    eventually(synced, f"{len(pending)} accounts in Zero", timeout)


def secret_value(core: client.CoreV1Api, namespace: str, name: str, key: str) -> str:
    raw = (core.read_namespaced_secret(name, namespace).data or {}).get(key, "")
    return base64.b64decode(raw).decode() if raw else ""


def pods(core: client.CoreV1Api, namespace: str, component: str) -> list[Any]:
    selector = f"app.kubernetes.io/component={component}"
    found: list[Any] = core.list_namespaced_pod(namespace, label_selector=selector).items
    return [p for p in found if p.metadata.deletion_timestamp is None]


def ready(pod: Any) -> bool:
    return any(c.type == "Ready" and c.status == "True" for c in pod.status.conditions or [])


def user_body(user_name: str) -> dict[str, Any]:
    return {"schemas": [SCIM_USER], "userName": user_name, "active": True}


@dataclass
class Load:
    """SCIM clients creating users in a loop, each with its own keep-alive connection
    pool and no retries: every request either succeeds or counts as failed.

    Bounded: at most ``max_requests`` in all and ``max_seconds``; ``stop()`` ends it.
    ``retry_connect``: a request whose connection could not be made (nothing was sent)
    is tried again — what any client does when a backend disappears (the kill tests).
    """

    base_url: str
    token: str
    clients: int = 8
    max_requests: int = 20_000
    max_seconds: float = 300.0
    #: Requests per second per client (Entra's pace is a steady stream, not a flood).
    rate: float = 5.0
    retry_connect: bool = False
    sent: int = 0
    acknowledged: dict[str, str] = field(default_factory=dict)  # userName -> SCIM id
    failures: list[tuple[float, str]] = field(default_factory=list)
    connect_retries: int = 0
    _started: float = 0.0
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> Load:
        self._started = time.monotonic()
        for i in range(self.clients):
            thread = threading.Thread(target=self._client, args=(i,), daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def _client(self, index: int) -> None:
        prefix = uuid.uuid4().hex[:8]
        headers = {"Authorization": f"Bearer {self.token}"}
        n = 0
        with httpx.Client(timeout=30, headers=headers) as http:
            while not self._stop.is_set():
                if time.monotonic() - self._started > self.max_seconds:
                    return
                with self._lock:
                    if self.sent >= self.max_requests:
                        return
                    self.sent += 1
                name = f"load-{prefix}-{index}-{n}@example.com"
                n += 1
                began = time.monotonic()
                self._create(http, name)
                self._stop.wait(max(0.0, 1 / self.rate - (time.monotonic() - began)))

    def _create(self, http: httpx.Client, name: str) -> None:
        while True:
            try:
                response = http.post(f"{self.base_url}/Users", json=user_body(name))
            except httpx.ConnectError as exc:
                if self.retry_connect and not self._stop.is_set():
                    with self._lock:
                        self.connect_retries += 1
                    time.sleep(0.05)
                    continue
                self._fail(f"{name}: {type(exc).__name__}: {exc}")
                return
            except httpx.HTTPError as exc:
                self._fail(f"{name}: {type(exc).__name__}: {exc}")
                return
            if response.status_code == 201:
                with self._lock:
                    self.acknowledged[name] = response.json()["id"]
            else:
                self._fail(f"{name}: {response.status_code} {response.text[:200]}")
            return

    def _fail(self, what: str) -> None:
        with self._lock:
            self.failures.append((time.monotonic(), what))

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(60)

    def summary(self) -> dict[str, Any]:
        return {
            "clients": self.clients,
            "sent": self.sent,
            "acknowledged": len(self.acknowledged),
            "failed": len(self.failures),
            "connect_retries": self.connect_retries,
            "seconds": round(time.monotonic() - self._started, 1),
        }


def lost_writes(base_url: str, token: str, acknowledged: dict[str, str]) -> list[str]:
    """Acknowledged users the API does not return (by id, then by userName filter)."""
    lost: list[str] = []
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(timeout=30, headers=headers) as http:
        for name, scim_id in acknowledged.items():
            response = http.get(f"{base_url}/Users/{scim_id}")
            if response.status_code != 200 or response.json().get("userName") != name:
                lost.append(f"{name} ({scim_id}): {response.status_code}")
    return lost


def inspect_script() -> str:
    """Python run inside a container: who it runs as and what it may do, as JSON."""
    return (
        "import json, os\n"
        "status = dict(l.split(':\\t', 1) for l in open('/proc/self/status').read()"
        ".splitlines() if ':\\t' in l)\n"
        "out = {'uid': os.getuid(), 'gid': os.getgid(), 'groups': os.getgroups(),\n"
        "       'no_new_privs': status['NoNewPrivs'].strip(),\n"
        "       'cap_eff': status['CapEff'].strip(), 'cap_prm': status['CapPrm'].strip(),\n"
        "       'seccomp': status['Seccomp'].strip()}\n"
        "try:\n"
        "    open('/probe-root', 'w')\n"
        "    out['root_write'] = 'ok'\n"
        "except OSError as exc:\n"
        "    out['root_write'] = exc.errno\n"
        "try:\n"
        "    open('/tmp/probe', 'w').write('x')\n"
        "    out['tmp_write'] = 'ok'\n"
        "except OSError as exc:\n"
        "    out['tmp_write'] = exc.errno\n"
        "out['sa_token'] = os.path.exists('/var/run/secrets/kubernetes.io/serviceaccount/token')\n"
        "print(json.dumps(out))\n"
    )


def rbac_script(checks: list[tuple[str, str, dict[str, Any] | None]]) -> str:
    """Python run inside a Pod: the API server's answer to each (method, path, body) with
    the Pod's own ServiceAccount token, through the ``kubernetes`` Service's DNS name."""
    return (
        "import json, ssl, urllib.error, urllib.request\n"
        "sa = '/var/run/secrets/kubernetes.io/serviceaccount'\n"
        "token = open(sa + '/token').read()\n"
        "ctx = ssl.create_default_context(cafile=sa + '/ca.crt')\n"
        "def call(method, path, body):\n"
        "    data = json.dumps(body).encode() if body is not None else None\n"
        "    req = urllib.request.Request('https://kubernetes.default.svc' + path, data=data,\n"
        "        method=method, headers={'Authorization': 'Bearer ' + token,\n"
        "                                'Content-Type': 'application/json'})\n"
        "    try:\n"
        "        with urllib.request.urlopen(req, context=ctx, timeout=10) as r:\n"
        "            return r.status\n"
        "    except urllib.error.HTTPError as e:\n"
        "        return e.code\n"
        f"checks = {checks!r}\n"
        "print(json.dumps([call(m, p, b) for m, p, b in checks]))\n"
    )
