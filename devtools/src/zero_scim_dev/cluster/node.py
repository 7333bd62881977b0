"""The one-node cluster: the local control plane plus a node that really runs Pods.

On top of etcd, kube-apiserver and kube-controller-manager (all controllers) it starts
kube-scheduler, containerd (its own config, root, state and socket), the kubelet,
kube-proxy (iptables mode) and a DNS stand-in (:mod:`zero_scim_dev.cluster.dns`), with
Pods on a bridge (``zsbr0``, 10.244.0.0/24, the bridge CNI plugin) and Services on
10.96.0.0/16. Pods cannot reach the host's loopback, so the API server listens on the
bridge address (10.244.0.1), and host clients use that address too.

The node changes the host (sysctls, iptables, mounts, the bridge, cgroups, folders):
:mod:`zero_scim_dev.cluster.hoststate` records all of it in ``<data>/host-state.json``
before the first change, and ``down`` restores it after stopping, by pid, exactly the
processes ``up`` started. The kubelet owns machine-wide things (cgroups, iptables
chains, ``/var/lib/kubelet``), so there is one node per machine: a lock file
(``/run/zero-scim-node.lock``) names the data folder of the node that runs.

Files, besides the control plane's (:mod:`zero_scim_dev.cluster.cluster`)::

    <data>/host-state.json     what the host looked like before the node started
    <data>/node/               containerd's root and config, CNI config and IPAM,
                               the kubelet's root, configs of kubelet and kube-proxy
    /run/zero-scim-node/       containerd's state and socket, runc's state
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable
from pathlib import Path

import yaml

from zero_scim.kube.client import KubeClient
from zero_scim.kube.errors import AlreadyExists, KubeError, NotFound
from zero_scim_dev.cluster.build import Binaries, Progress, _stderr_progress, cache_root
from zero_scim_dev.cluster.cluster import (
    PROCESS_ORDER,
    LocalCluster,
    Ports,
    State,
    _alive,
    _tail,
)
from zero_scim_dev.cluster.errors import ClusterError
from zero_scim_dev.cluster.hoststate import HostState, record, restore
from zero_scim_dev.cluster.pki import Pki, ensure_client_cert, ensure_pki, ensure_serving_cert
from zero_scim_dev.kinds import (
    CLUSTER_ROLE,
    CLUSTER_ROLE_BINDING,
    NODE,
    POD,
    RBAC_GROUP,
    ClusterRole,
    ClusterRoleBinding,
)

NODE_NAME = "zero-scim-node"
BRIDGE = "zsbr0"
BRIDGE_IP = "10.244.0.1"
POD_CIDR = "10.244.0.0/24"
SERVICE_CIDR = "10.96.0.0/16"
KUBERNETES_SERVICE_IP = "10.96.0.1"
CLUSTER_DOMAIN = "cluster.local"
KUBELET_PORT = 10250
DNS_PORT = 53
RUN_DIR = Path("/run/zero-scim-node")
LOCK = Path("/run/zero-scim-node.lock")
PAUSE_IMAGE = "localhost/zero-scim/pause:1"
PAUSE_SOURCE = Path(__file__).with_name("pause.go")
NODE_PROCESSES = ("kube-scheduler", "containerd", "dns", "kubelet", "kube-proxy")
START_TIMEOUT = 120.0
#: Debian packages the node needs (plus podman, buildah and Go for the pause image).
PACKAGES = (
    "containerd", "runc", "containernetworking-plugins", "iptables", "conntrack", "ipset",
    "nftables", "podman", "buildah", "uidmap", "fuse-overlayfs", "golang-go",
)  # fmt: skip
COMMANDS = {
    "containerd": "containerd", "ctr": "containerd", "runc": "runc",
    "iptables": "iptables", "conntrack": "conntrack", "ipset": "ipset", "nft": "nftables",
    "podman": "podman", "go": "golang-go",
}  # fmt: skip
#: Identities of the node's components (static tokens; the built-in RBAC roles apply).
IDENTITIES: dict[str, tuple[str, ...]] = {
    "system:kube-scheduler": (),
    f"system:node:{NODE_NAME}": ("system:nodes",),
    "system:kube-proxy": (),
    "zero-scim:dns": (),
}

#: ``save(reference, consumer_argv)``: stream an image as a docker archive into a command.
SaveImage = Callable[[str, list[str]], None]


def default_node_dir() -> Path:
    return cache_root() / "clusters" / "node"


def ensure_node_packages(progress: Progress = _stderr_progress) -> None:
    """Install (apt) whatever the node needs and this machine lacks."""
    missing = sorted({pkg for cmd, pkg in COMMANDS.items() if shutil.which(cmd) is None})
    if not Path("/usr/lib/cni/bridge").is_file():
        missing.append("containernetworking-plugins")
    if not missing:
        return
    progress(f"zero-scim: apt: installing {' '.join(missing)}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for argv in (
        ["apt-get", "update", "-q"],
        ["apt-get", "install", "-y", "-q", "--no-install-recommends", *missing],
    ):
        result = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
        if result.returncode != 0:
            raise ClusterError(f"{' '.join(argv)} failed: {result.stderr.strip()[-1500:]}")


def _run(argv: list[str], *, timeout: float = 60, check: bool = True) -> str:
    result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    if check and result.returncode != 0:
        raise ClusterError(f"{' '.join(argv)} failed: {(result.stderr or result.stdout).strip()}")
    return result.stdout


class NodeCluster(LocalCluster):
    """The control plane with a node; ``up``/``down``/``status`` like :class:`LocalCluster`."""

    process_order = (*PROCESS_ORDER, *NODE_PROCESSES)
    port_names = (
        *LocalCluster.port_names, "scheduler", "kubelet_healthz", "proxy_healthz", "proxy_metrics",
    )  # fmt: skip
    bind_address = BRIDGE_IP

    def __init__(self, data_dir: Path | None = None, *, progress: Progress = _stderr_progress):
        super().__init__(data_dir or default_node_dir(), progress=progress)
        self.node_dir = self.data_dir / "node"
        self.host_state_path = self.data_dir / "host-state.json"
        self.socket = RUN_DIR / "containerd" / "containerd.sock"

    # -- public API --------------------------------------------------------------------
    def up(self, binaries: Binaries) -> Path:
        self._acquire_lock()
        try:
            kubeconfig = super().up(binaries)
        except BaseException:
            if not self._anything_alive():
                self._release_lock()
            raise
        return kubeconfig

    def down(self, *, purge: bool = False) -> list[str]:
        stopped = super().down(purge=purge)
        if self.state_path.exists() or purge:
            self._release_lock()
        return stopped

    def ctr(self, *args: str, timeout: float = 120) -> str:
        """``ctr`` against this node's containerd, in the Kubernetes namespace."""
        return _run(
            ["ctr", "--address", str(self.socket), "--namespace", "k8s.io", *args], timeout=timeout
        )

    def load_image(self, reference: str, image_id: str, save: SaveImage) -> bool:
        """Import an image into the node's containerd unless it holds that very image.

        ``image_id`` is the image's config digest (podman's image id); ``save`` streams
        the image as a docker archive into the command it is given. True if imported.
        """
        if self._loaded_config(reference) == f"sha256:{image_id.removeprefix('sha256:')}":
            return False
        started = time.monotonic()
        save(reference, ["ctr", "--address", str(self.socket), "--namespace", "k8s.io",
                         "images", "import", "--no-unpack", "-"])  # fmt: skip
        self.progress(f"zero-scim: {reference} imported in {time.monotonic() - started:.1f}s")
        return True

    @property
    def ca_cert(self) -> Path:
        """The cluster's CA (it signs the API server's and :meth:`bridge_certificate`'s)."""
        return Pki.in_dir(self.data_dir / "pki").ca_cert

    def bridge_certificate(self, openssl: Path, name: str) -> tuple[Path, Path]:
        """A TLS certificate and key for ``https://<bridge address>``, signed by the
        cluster's CA: for a server on this host that Pods call (they cannot reach its
        loopback), such as ``zero-scim dev --pods``' identity provider."""
        return ensure_serving_cert(self.data_dir / "pki", openssl, name, f"IP:{BRIDGE_IP}")

    def tag_image(self, source: str, target: str) -> None:
        with contextlib.suppress(ClusterError):
            self.ctr("images", "rm", target)
        self.ctr("images", "tag", source, target)

    # -- steps -------------------------------------------------------------------------
    def _ensure_pki(self, binaries: Binaries) -> Pki:
        folder = self.data_dir / "pki"
        extra = (f"IP:{KUBERNETES_SERVICE_IP}", f"IP:{BRIDGE_IP}")
        pki = ensure_pki(folder, binaries.openssl, extra_sans=extra)
        ensure_client_cert(
            folder, binaries.openssl, "apiserver-kubelet-client",
            "kube-apiserver-kubelet-client", "system:masters",
        )  # fmt: skip
        return pki

    def _ensure_tokens(self) -> None:
        super()._ensure_tokens()
        tokens = self._read_tokens()
        changed = False
        for name, groups in IDENTITIES.items():
            if name not in tokens:
                tokens[name] = (secrets.token_urlsafe(32), groups)
                changed = True
        if changed:
            self._write_tokens(tokens)

    def _prepare_host(self, state: State) -> None:
        if os.geteuid() != 0:
            raise ClusterError(
                "the one-node cluster needs root: the kubelet, containerd and kube-proxy "
                "manage cgroups, mounts, iptables and a bridge"
            )
        ensure_node_packages(self.progress)
        if not self.host_state_path.exists():
            if Path(f"/sys/class/net/{BRIDGE}").exists():
                raise ClusterError(
                    f"the bridge {BRIDGE} exists but this node recorded no host state: another "
                    "node (or a crashed one) owns it; run `zero-scim cluster down --node` with "
                    "its data folder, or delete the bridge by hand"
                )
            record().save(self.host_state_path)
        self.node_dir.mkdir(parents=True, exist_ok=True)
        if not Path(f"/sys/class/net/{BRIDGE}").exists():
            _run(["ip", "link", "add", BRIDGE, "type", "bridge"])
            _run(["ip", "addr", "add", f"{BRIDGE_IP}/24", "dev", BRIDGE])
        _run(["ip", "link", "set", BRIDGE, "up"])

    def _apiserver_argv(self, binaries: Binaries, pki: Pki, ports: Ports) -> list[str]:
        argv = super()._apiserver_argv(binaries, pki, ports)
        folder = self.data_dir / "pki"
        replace = {
            "--authorization-mode": "Node,RBAC",
            "--service-cluster-ip-range": SERVICE_CIDR,
            "--enable-admission-plugins": "NamespaceLifecycle,ServiceAccount,NodeRestriction",
        }
        argv = [
            f"{a.split('=', 1)[0]}={replace[a.split('=', 1)[0]]}"
            if a.split("=", 1)[0] in replace
            else a
            for a in argv
        ]
        return [
            *argv,
            "--allow-privileged=true",
            f"--kubelet-client-certificate={folder / 'apiserver-kubelet-client.crt'}",
            f"--kubelet-client-key={folder / 'apiserver-kubelet-client.key'}",
            "--kubelet-preferred-address-types=InternalIP",
        ]

    def _controller_manager_argv(self, binaries: Binaries, pki: Pki, state: State) -> list[str]:
        argv = [
            a
            for a in super()._controller_manager_argv(binaries, pki, state)
            if not a.startswith("--controllers=")
        ]
        return [
            *argv,
            "--controllers=*",
            "--use-service-account-credentials=true",
            f"--authentication-kubeconfig={self.kubeconfig}",
            f"--authorization-kubeconfig={self.kubeconfig}",
            f"--cluster-signing-cert-file={pki.ca_cert}",
            f"--cluster-signing-key-file={pki.ca_key}",
            f"--cert-dir={self.data_dir / 'pki' / 'kcm-certs'}",
        ]

    def _start_more(self, binaries: Binaries, pki: Pki, state: State) -> None:
        bin_dir = binaries.kube_apiserver.parent
        ports = state.ports
        scheduler_kc = self._identity_kubeconfig("system:kube-scheduler")
        self._write_kubeconfig(scheduler_kc, ports.apiserver, pki, "system:kube-scheduler")
        self._spawn(
            "kube-scheduler",
            [str(bin_dir / "kube-scheduler"), f"--kubeconfig={scheduler_kc}",
             f"--authentication-kubeconfig={scheduler_kc}",
             f"--authorization-kubeconfig={scheduler_kc}",
             "--bind-address=127.0.0.1", f"--secure-port={ports.scheduler}", "--port=0",
             "--leader-elect=false", f"--cert-dir={self.data_dir / 'pki' / 'scheduler-certs'}",
             "--v=1"],
            state,
        )  # fmt: skip
        self._start_containerd(state)
        self._ensure_pause_image()
        self._start_dns(pki, state)
        self._start_kubelet(bin_dir, pki, state)
        self._start_kube_proxy(bin_dir, pki, state)
        self._uncordon()

    def _start_containerd(self, state: State) -> None:
        root = self.node_dir / "containerd"
        cni = self.node_dir / "cni"
        for folder in (root / "root", root / "opt", cni / "net.d", cni / "ipam", RUN_DIR):
            folder.mkdir(parents=True, exist_ok=True)
        (cni / "net.d" / "10-zero-scim.conflist").write_text(
            json.dumps(
                {
                    "cniVersion": "0.4.0",
                    "name": "zero-scim",
                    "plugins": [
                        {
                            "type": "bridge",
                            "bridge": BRIDGE,
                            "isGateway": True,
                            "isDefaultGateway": False,
                            "ipMasq": False,
                            "hairpinMode": True,
                            "ipam": {
                                "type": "host-local",
                                "dataDir": str(cni / "ipam"),
                                "ranges": [[{"subnet": POD_CIDR, "gateway": BRIDGE_IP}]],
                                "routes": [{"dst": SERVICE_CIDR}],
                            },
                        }
                    ],
                },
                indent=2,
            )
        )
        config = root / "config.toml"
        config.write_text(
            f"""version = 2
root = "{root / "root"}"
state = "{RUN_DIR / "containerd"}"
[grpc]
  address = "{self.socket}"
[ttrpc]
  address = "{self.socket}.ttrpc"
[plugins]
  [plugins."io.containerd.grpc.v1.cri"]
    sandbox_image = "{PAUSE_IMAGE}"
    enable_selinux = false
    # Without CAP_SYS_RESOURCE (VMs, containers) a negative oom_score_adj fails runc.
    restrict_oom_score_adj = true
    [plugins."io.containerd.grpc.v1.cri".containerd]
      snapshotter = "overlayfs"
      default_runtime_name = "runc"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
        runtime_type = "io.containerd.runc.v2"
        [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
          BinaryName = "{shutil.which("runc") or "runc"}"
          SystemdCgroup = false
          Root = "{RUN_DIR / "runc"}"
    [plugins."io.containerd.grpc.v1.cri".cni]
      bin_dir = "/usr/lib/cni"
      conf_dir = "{cni / "net.d"}"
      max_conf_num = 1
  [plugins."io.containerd.internal.v1.opt"]
    path = "{root / "opt"}"
"""
        )
        self._spawn("containerd", [shutil.which("containerd") or "containerd",
                                   "--config", str(config)], state)  # fmt: skip
        self._wait(state, "containerd", lambda: self._ctr_ok())

    def _ctr_ok(self) -> bool:
        try:
            self.ctr("version", timeout=5)
        except (ClusterError, subprocess.TimeoutExpired):
            return False
        return True

    def _ensure_pause_image(self) -> None:
        from zero_scim_dev.image.engine import Podman

        podman = Podman.create()
        if not podman.exists(PAUSE_IMAGE):
            folder = podman.root / "pause"
            folder.mkdir(parents=True, exist_ok=True)
            shutil.copy(PAUSE_SOURCE, folder / "main.go")
            env = {**os.environ, "CGO_ENABLED": "0", "GO111MODULE": "off",
                   "GOCACHE": str(folder / "gocache"), "HOME": str(folder)}  # fmt: skip
            result = subprocess.run(
                ["go", "build", "-ldflags=-s -w", "-o", "pause", "main.go"],
                cwd=folder, env=env, capture_output=True, text=True, check=False,
            )  # fmt: skip
            if result.returncode != 0:
                raise ClusterError(f"building the pause program failed: {result.stderr.strip()}")
            (folder / "Containerfile").write_text(
                'FROM scratch\nCOPY pause /pause\nUSER 65535:65535\nENTRYPOINT ["/pause"]\n'
            )
            podman.run("build", "--isolation", "chroot", "-t", PAUSE_IMAGE, str(folder))
        self.load_image(PAUSE_IMAGE, podman.image_id(PAUSE_IMAGE), podman.save_to)

    def _start_dns(self, pki: Pki, state: State) -> None:
        try:
            asyncio.run(self._with_client(self._grant_dns))
        except KubeError as exc:
            raise ClusterError(f"could not grant the DNS stand-in its role: {exc}") from exc
        env = {
            **os.environ,
            "ZS_DNS_API": f"https://{BRIDGE_IP}:{state.ports.apiserver}",
            "ZS_DNS_TOKEN": self._read_tokens()["zero-scim:dns"][0],
            "ZS_DNS_CA": str(pki.ca_cert),
            "ZS_DNS_ADDRESS": f"{BRIDGE_IP}:{DNS_PORT}",
        }
        self._spawn("dns", [sys.executable, "-m", "zero_scim_dev.cluster.dns"], state, env=env)

    def _start_kubelet(self, bin_dir: Path, pki: Pki, state: State) -> None:
        name = f"system:node:{NODE_NAME}"
        kubeconfig = self._identity_kubeconfig(name)
        self._write_kubeconfig(kubeconfig, state.ports.apiserver, pki, name)
        root = self.node_dir / "kubelet"
        root.mkdir(parents=True, exist_ok=True)
        config = self.node_dir / "kubelet.yaml"
        config.write_text(
            yaml.safe_dump(
                {
                    "apiVersion": "kubelet.config.k8s.io/v1beta1",
                    "kind": "KubeletConfiguration",
                    "address": BRIDGE_IP,
                    "port": KUBELET_PORT,
                    "readOnlyPort": 0,
                    "healthzBindAddress": "127.0.0.1",
                    "healthzPort": state.ports.kubelet_healthz,
                    "authentication": {
                        "anonymous": {"enabled": False},
                        "webhook": {"enabled": True},
                        "x509": {"clientCAFile": str(pki.ca_cert)},
                    },
                    "authorization": {"mode": "Webhook"},
                    "cgroupDriver": "cgroupfs",
                    "failSwapOn": False,
                    "clusterDomain": CLUSTER_DOMAIN,
                    "clusterDNS": [BRIDGE_IP],
                    "resolvConf": "/etc/resolv.conf",
                    "serializeImagePulls": False,
                    "maxPods": 50,
                    "volumePluginDir": str(self.node_dir / "volume-plugins"),
                    "evictionHard": {
                        "memory.available": "100Mi",
                        "nodefs.available": "2%",
                        "nodefs.inodesFree": "2%",
                        "imagefs.available": "2%",
                    },
                }
            )
        )
        self._spawn(
            "kubelet",
            [str(bin_dir / "kubelet"), f"--config={config}", f"--kubeconfig={kubeconfig}",
             "--container-runtime=remote",
             f"--container-runtime-endpoint=unix://{self.socket}",
             f"--root-dir={root}", f"--cert-dir={root / 'pki'}",
             f"--hostname-override={NODE_NAME}", f"--node-ip={BRIDGE_IP}", "--v=1"],
            state,
        )  # fmt: skip
        self._wait(state, "the node to be Ready", self._node_ready, START_TIMEOUT)

    def _start_kube_proxy(self, bin_dir: Path, pki: Pki, state: State) -> None:
        kubeconfig = self._identity_kubeconfig("system:kube-proxy")
        self._write_kubeconfig(kubeconfig, state.ports.apiserver, pki, "system:kube-proxy")
        config = self.node_dir / "kube-proxy.yaml"
        config.write_text(
            yaml.safe_dump(
                {
                    "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
                    "kind": "KubeProxyConfiguration",
                    "clientConnection": {"kubeconfig": str(kubeconfig)},
                    "mode": "iptables",
                    "hostnameOverride": NODE_NAME,
                    "bindAddress": BRIDGE_IP,
                    "clusterCIDR": POD_CIDR,
                    "healthzBindAddress": f"127.0.0.1:{state.ports.proxy_healthz}",
                    "metricsBindAddress": f"127.0.0.1:{state.ports.proxy_metrics}",
                    # Leave the host's conntrack settings alone.
                    "conntrack": {
                        "maxPerCore": 0,
                        "min": 0,
                        "tcpEstablishedTimeout": "0s",
                        "tcpCloseWaitTimeout": "0s",
                    },
                }
            )
        )
        self._spawn("kube-proxy", [str(bin_dir / "kube-proxy"), f"--config={config}"], state)
        self._wait(state, "kube-proxy's rules", self._proxy_ready, START_TIMEOUT)

    # -- readiness ---------------------------------------------------------------------
    def _wait(
        self, state: State, what: str, check: Callable[[], bool], timeout: float = START_TIMEOUT
    ) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for name, rec in state.processes.items():
                if not _alive(rec):
                    raise ClusterError(
                        f"{name} exited while waiting for {what}; last lines:\n"
                        f"{_tail(Path(rec.log))}",
                        log_path=Path(rec.log),
                    )
            if check():
                return
            time.sleep(0.3)
        raise ClusterError(f"timed out after {timeout:.0f}s waiting for {what}")

    def _admin_get(self, path: str) -> dict[str, object] | None:
        state = self._load_state()
        token = self._read_tokens()["admin"][0]
        request = urllib.request.Request(
            f"https://{BRIDGE_IP}:{state.ports.apiserver}{path}",
            headers={"Authorization": f"Bearer {token}"},
        )
        try:
            with urllib.request.urlopen(request, timeout=5, context=self._ssl_context()) as r:
                data: dict[str, object] = json.loads(r.read())
                return data
        except (urllib.error.URLError, OSError, ValueError):
            return None

    def _node_ready(self) -> bool:
        node = self._admin_get(f"/api/v1/nodes/{NODE_NAME}")
        status = node.get("status") if node else None
        conditions = status.get("conditions", []) if isinstance(status, dict) else []
        return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)

    def _proxy_ready(self) -> bool:
        result = subprocess.run(
            ["iptables", "-w", "5", "-t", "nat", "-S", "KUBE-SERVICES"],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        return KUBERNETES_SERVICE_IP in result.stdout

    def _loaded_config(self, reference: str) -> str | None:
        """The config digest of ``reference`` in containerd (None if it is not there)."""
        try:
            listing = self.ctr("images", "ls", f"name=={reference}")
        except ClusterError:
            return None
        lines = listing.splitlines()[1:]
        if not lines:
            return None
        digest = lines[0].split()[2]
        try:
            manifest = json.loads(self.ctr("content", "get", digest))
        except (ClusterError, ValueError):
            return None
        config = manifest.get("config", {}).get("digest")
        return str(config) if config else None

    # -- stopping ----------------------------------------------------------------------
    def _uncordon(self) -> None:
        async def uncordon(kube: KubeClient) -> None:
            await kube.merge_patch(NODE, NODE_NAME, {"spec": {"unschedulable": None}})

        try:
            asyncio.run(self._with_client(uncordon))
        except KubeError as exc:
            raise ClusterError(f"could not uncordon the node: {exc}") from exc

    def _drain(self) -> None:
        """Cordon the node and delete its Pods while the kubelet still runs, so that
        every Pod's volumes, network (CNI DEL) and cgroups are cleaned up by their owners.
        Deployments stay (and are back at the next ``up``)."""
        try:
            asyncio.run(self._with_client(self._drain_pods))
        except (KubeError, OSError) as exc:
            self.progress(f"zero-scim: could not drain the node: {exc}")

    async def _drain_pods(self, kube: KubeClient) -> None:
        await kube.merge_patch(NODE, NODE_NAME, {"spec": {"unschedulable": True}})
        selector = f"spec.nodeName={NODE_NAME}"
        on_node, _ = await kube.list_all(POD, field_selector=selector)
        for pod in on_node:
            with contextlib.suppress(NotFound):
                await kube.delete(
                    POD,
                    pod["metadata"].get("name", ""),
                    pod["metadata"].get("namespace"),
                    grace_period_seconds=5,
                )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            left, _ = await kube.list_all(POD, field_selector=selector)
            if not left and not self._tasks():
                return
            await asyncio.sleep(0.5)

    @staticmethod
    async def _grant_dns(kube: KubeClient) -> None:
        """The DNS stand-in's identity may list Services and Endpoints, nothing else."""
        name = "zero-scim:dns"
        role: ClusterRole = {
            "metadata": {"name": name},
            "rules": [
                {"apiGroups": [""], "resources": ["services", "endpoints"], "verbs": ["list"]}
            ],
        }
        binding: ClusterRoleBinding = {
            "metadata": {"name": name},
            "roleRef": {"apiGroup": RBAC_GROUP, "kind": "ClusterRole", "name": name},
            "subjects": [{"apiGroup": RBAC_GROUP, "kind": "User", "name": name}],
        }
        with contextlib.suppress(AlreadyExists):
            await kube.create(CLUSTER_ROLE, role)
        with contextlib.suppress(AlreadyExists):
            await kube.create(CLUSTER_ROLE_BINDING, binding)

    async def _with_client(self, call: Callable[[KubeClient], Awaitable[None]]) -> None:
        """``call`` with a client of the admin kubeconfig (its own event loop: the callers
        are synchronous)."""
        async with await KubeClient.connect(self.kubeconfig, timeout=30) as kube:
            await call(kube)

    def _tasks(self) -> list[str]:
        try:
            return [line.split()[0] for line in self.ctr("tasks", "ls").splitlines()[1:] if line]
        except (ClusterError, subprocess.TimeoutExpired):
            return []

    def _stop(self, state: State) -> list[str]:
        alive = {name for name, rec in state.processes.items() if _alive(rec)}
        if {"kube-apiserver", "kubelet", "containerd"} <= alive:
            self._drain()
        stopped = self._stop_processes(state, ("kube-proxy", "kubelet"))
        if "containerd" in alive:
            for task in self._tasks():  # anything the drain left behind
                with contextlib.suppress(ClusterError, subprocess.TimeoutExpired):
                    self.ctr("tasks", "kill", "--signal", "SIGKILL", task, timeout=10)
            deadline = time.monotonic() + 10
            while self._tasks() and time.monotonic() < deadline:
                time.sleep(0.2)
        proxy = self._bin_dir() / "kube-proxy"
        if proxy.is_file() and self.host_state_path.exists():
            subprocess.run([str(proxy), "--cleanup"], capture_output=True, check=False, timeout=60)
        stopped += super()._stop(state)
        if self.host_state_path.exists():
            before = HostState.load(self.host_state_path)
            restore(
                before,
                node_paths=(str(self.data_dir), str(RUN_DIR)),
                bridge=BRIDGE,
                log=lambda line: self.progress(f"zero-scim: host: {line}"),
            )
            shutil.rmtree(RUN_DIR, ignore_errors=True)
            shutil.rmtree(self.node_dir / "cni" / "ipam", ignore_errors=True)
            self.host_state_path.unlink()
        return stopped

    def _bin_dir(self) -> Path:
        from zero_scim_dev.cluster.build import RECIPE

        return cache_root() / "control-plane" / RECIPE / "bin"

    # -- the machine-wide lock ---------------------------------------------------------
    def _anything_alive(self) -> bool:
        if not self.state_path.exists():
            return False
        return any(_alive(rec) for rec in self._load_state().processes.values())

    def _acquire_lock(self) -> None:
        mine = str(self.data_dir)
        for _ in range(3):
            try:
                fd = os.open(LOCK, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                owner = LOCK.read_text().strip() if LOCK.exists() else ""
                if owner == mine:
                    return
                other = NodeCluster(Path(owner), progress=self.progress) if owner else None
                if (
                    other is not None
                    and Path(owner).is_dir()
                    and (other._anything_alive() or other.host_state_path.exists())
                ):
                    raise ClusterError(
                        f"a one-node cluster already runs on this machine (data folder "
                        f"{owner}); only one node per machine is possible (the kubelet owns "
                        f"host-wide cgroups, iptables chains and folders). Stop it first: "
                        f"zero-scim cluster down --node --data-dir {owner}"
                    ) from None
                LOCK.unlink(missing_ok=True)  # its owner is gone and left nothing behind
                continue
            with os.fdopen(fd, "w") as fh:
                fh.write(mine + "\n")
            return
        raise ClusterError(f"could not take the node lock {LOCK}")

    def _release_lock(self) -> None:
        with contextlib.suppress(OSError):
            if LOCK.read_text().strip() == str(self.data_dir):
                LOCK.unlink()
