"""A local control plane: etcd, kube-apiserver and kube-controller-manager on loopback.

Everything lives in one data folder::

    <data>/state.json          pids, ports, start times of what `up` started
    <data>/pki/                CA, serving certificate, service-account keys
    <data>/etcd/               etcd's data (survives `down`; `down --purge` removes it)
    <data>/tokens.csv          static bearer tokens: admin plus any added identities
    <data>/kubeconfig          admin kubeconfig (trusts the CA; context zero-scim-local)
    <data>/kubeconfig-<name>   one per added identity
    <data>/logs/*.log          one log per process

``up`` is idempotent: when the recorded processes are alive and ready it only prints the
kubeconfig. ``down`` stops exactly the processes recorded in state.json, after checking
that each pid still runs the command it started (pids get reused).
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path

import yaml

from zero_scim_dev.cluster.build import Binaries, Progress, _stderr_progress, cache_root
from zero_scim_dev.cluster.errors import ClusterError
from zero_scim_dev.cluster.pki import Pki, ensure_pki

CONTEXT = "zero-scim-local"
ADMIN = "admin"
READY_TIMEOUT = 60.0
PROCESS_ORDER = ("etcd", "kube-apiserver", "kube-controller-manager")
CONTROLLERS = "namespace,garbagecollector,serviceaccount-token,serviceaccount"


# Processes this Python process started, by pid: kept so they are reaped (no zombies)
# and so Popen does not warn about children that outlive their object on purpose.
_children: dict[int, subprocess.Popen[bytes]] = {}


def _reap(pid: int) -> None:
    proc = _children.get(pid)
    if proc is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=5)
            del _children[pid]
    else:
        with contextlib.suppress(ChildProcessError, OSError):
            os.waitpid(pid, os.WNOHANG)


def _reap_exited() -> None:
    """Reap the children that have exited (killed by someone else, or failed to start)."""
    for pid, proc in list(_children.items()):
        if proc.poll() is not None:
            del _children[pid]


def default_data_dir() -> Path:
    return cache_root() / "clusters" / "default"


@dataclass
class ProcessRecord:
    pid: int
    start_ticks: int  # field 22 of /proc/<pid>/stat: tells a reused pid apart
    log: str


@dataclass
class Ports:
    etcd: int = 0
    etcd_peer: int = 0
    apiserver: int = 0
    controller_manager: int = 0
    # The node's (zero_scim_dev.cluster.node): 0 on a control plane alone.
    scheduler: int = 0
    kubelet_healthz: int = 0
    proxy_healthz: int = 0
    proxy_metrics: int = 0


@dataclass
class State:
    ports: Ports = field(default_factory=Ports)
    processes: dict[str, ProcessRecord] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> State:
        raw = json.loads(path.read_text())
        return cls(
            ports=Ports(**raw.get("ports", {})),
            processes={k: ProcessRecord(**v) for k, v in raw.get("processes", {}).items()},
        )

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=2))


def _start_ticks(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may contain spaces; fields after it are space-separated.
    fields = stat[stat.rindex(")") + 2 :].split()
    return int(fields[19])


def _alive(record: ProcessRecord) -> bool:
    ticks = _start_ticks(record.pid)
    if ticks is None or ticks != record.start_ticks:
        return False
    with contextlib.suppress(OSError):
        state = Path(f"/proc/{record.pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        if state == "Z":
            return False
    return True


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError:
        return ""
    return "\n".join(text[-lines:])


@dataclass(frozen=True)
class Identity:
    """A static-token identity: user name, groups and the kubeconfig that acts as it."""

    name: str
    groups: tuple[str, ...]
    token: str
    kubeconfig: Path


class LocalCluster:
    """One local control plane, described by its data folder.

    A subclass adds processes (``process_order``), ports (``port_names``) and steps
    (``_prepare_host``, ``_start_more``); :class:`zero_scim_dev.cluster.node.NodeCluster`
    is one.
    """

    process_order: tuple[str, ...] = PROCESS_ORDER
    port_names: tuple[str, ...] = ("etcd", "etcd_peer", "apiserver", "controller_manager")
    #: Where the API server listens (and what the kubeconfigs name).
    bind_address = "127.0.0.1"

    def __init__(self, data_dir: Path | None = None, *, progress: Progress = _stderr_progress):
        self.data_dir = (data_dir or default_data_dir()).expanduser().resolve()
        self.progress = progress
        self.state_path = self.data_dir / "state.json"
        self.tokens_path = self.data_dir / "tokens.csv"
        self.kubeconfig = self.data_dir / "kubeconfig"
        self.logs = self.data_dir / "logs"

    # -- public API --------------------------------------------------------------------
    def up(self, binaries: Binaries) -> Path:
        """Start (or find running) and return the admin kubeconfig path once ready."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.logs.mkdir(exist_ok=True)
        state = self._load_state()
        running = {name for name, rec in state.processes.items() if _alive(rec)}
        if running == set(self.process_order) and self._ready(state.ports.apiserver):
            return self.kubeconfig
        if running:
            self.progress(
                f"zero-scim: {self.data_dir} has a partly running cluster "
                f"({', '.join(sorted(running))}); restarting it"
            )
            self._stop(state)
        elif state.processes:
            self.progress(f"zero-scim: stale state in {self.data_dir} (processes gone); restarting")
        state.processes = {}
        pki = self._ensure_pki(binaries)
        self._ensure_tokens()
        state.ports = self._choose_ports(state.ports)
        state.save(self.state_path)
        try:
            self._prepare_host(state)
            self._start_etcd(binaries, state)
            self._start_apiserver(binaries, pki, state)
            self._write_kubeconfigs(state.ports.apiserver, pki)
            self._wait_ready(state, "kube-apiserver")
            self._start_controller_manager(binaries, pki, state)
            self._start_more(binaries, pki, state)
        except BaseException:
            self._stop(state)
            raise
        return self.kubeconfig

    def down(self, *, purge: bool = False) -> list[str]:
        """Stop what `up` started (and nothing else); return the names stopped."""
        stopped: list[str] = []
        if self.state_path.exists():
            state = self._load_state()
            stopped = self._stop(state)
        if purge and self.data_dir.exists():
            shutil.rmtree(self.data_dir)
        return stopped

    def status(self) -> dict[str, object]:
        state = self._load_state()
        return {
            "data_dir": str(self.data_dir),
            "kubeconfig": str(self.kubeconfig),
            "ports": asdict(state.ports),
            "processes": {
                name: {"pid": rec.pid, "running": _alive(rec), "log": rec.log}
                for name, rec in state.processes.items()
            },
            "ready": bool(state.ports.apiserver) and self._ready(state.ports.apiserver),
        }

    def add_identity(self, name: str, groups: tuple[str, ...] = ()) -> Identity:
        """Add (or return) a static-token identity; restarts the API server if it runs.

        kube-apiserver 1.20 reads its token file only at start, so a new identity needs a
        restart (about 3 s; etcd and its data stay up).
        """
        self.data_dir.mkdir(parents=True, exist_ok=True)
        tokens = self._read_tokens()
        existing = tokens.get(name)
        if existing is None or tuple(existing[1]) != tuple(groups):
            token = existing[0] if existing else secrets.token_urlsafe(32)
            tokens[name] = (token, tuple(groups))
            self._write_tokens(tokens)
            self._restart_apiserver_if_running()
        token = tokens[name][0]
        path = self._identity_kubeconfig(name)
        state = self._load_state()
        self._write_kubeconfig(path, state.ports.apiserver, Pki.in_dir(self.data_dir / "pki"), name)
        return Identity(name=name, groups=tuple(groups), token=token, kubeconfig=path)

    # -- steps a subclass extends ------------------------------------------------------
    def _ensure_pki(self, binaries: Binaries) -> Pki:
        return ensure_pki(self.data_dir / "pki", binaries.openssl)

    def _ensure_tokens(self) -> None:
        self._ensure_admin_token()

    def _prepare_host(self, state: State) -> None:
        """Before etcd starts (nothing to do for a control plane on loopback)."""

    def _start_more(self, binaries: Binaries, pki: Pki, state: State) -> None:
        """After the controller manager started (nothing more for a control plane)."""

    # -- processes ---------------------------------------------------------------------
    def _spawn(
        self, name: str, argv: list[str], state: State, env: dict[str, str] | None = None
    ) -> None:
        _reap_exited()
        log_path = self.logs / f"{name}.log"
        with log_path.open("ab") as log:
            log.write(f"\n--- {time.strftime('%Y-%m-%dT%H:%M:%S')} {' '.join(argv)}\n".encode())
            log.flush()
            proc = subprocess.Popen(
                argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # survives the `up` command and Ctrl-C in its shell
                cwd=self.data_dir,
                env=env,
            )
        _children[proc.pid] = proc
        ticks = _start_ticks(proc.pid)
        if ticks is None:
            raise ClusterError(f"{name} exited immediately", log_path=log_path)
        state.processes[name] = ProcessRecord(pid=proc.pid, start_ticks=ticks, log=str(log_path))
        state.save(self.state_path)

    def _stop(self, state: State) -> list[str]:
        return self._stop_processes(state, tuple(reversed(self.process_order)))

    def _stop_processes(self, state: State, names: tuple[str, ...]) -> list[str]:
        """Stop ``names`` in that order: SIGTERM by recorded pid, SIGKILL after 10 s."""
        stopped: list[str] = []
        for name in names:
            record = state.processes.get(name)
            if record is None:
                continue
            if _alive(record):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(record.pid, signal.SIGTERM)
                deadline = time.monotonic() + 10
                while _alive(record) and time.monotonic() < deadline:
                    time.sleep(0.05)
                if _alive(record):
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(record.pid, signal.SIGKILL)
                stopped.append(name)
                _reap(record.pid)
            del state.processes[name]
        state.save(self.state_path)
        _reap_exited()
        return stopped

    def _start_etcd(self, binaries: Binaries, state: State) -> None:
        ports = state.ports
        peer = f"http://127.0.0.1:{ports.etcd_peer}"
        client = f"http://127.0.0.1:{ports.etcd}"
        self._spawn(
            "etcd",
            [
                str(binaries.etcd),
                "--name=zero-scim",
                f"--data-dir={self.data_dir / 'etcd'}",
                f"--listen-client-urls={client}",
                f"--advertise-client-urls={client}",
                f"--listen-peer-urls={peer}",
                f"--initial-advertise-peer-urls={peer}",
                f"--initial-cluster=zero-scim={peer}",
                "--log-level=warn",
                "--logger=zap",
            ],
            state,
        )

    def _apiserver_argv(self, binaries: Binaries, pki: Pki, ports: Ports) -> list[str]:
        return [
            str(binaries.kube_apiserver),
            f"--etcd-servers=http://127.0.0.1:{ports.etcd}",
            f"--bind-address={self.bind_address}",
            f"--advertise-address={self.bind_address}",
            f"--secure-port={ports.apiserver}",
            "--insecure-port=0",
            f"--tls-cert-file={pki.serving_cert}",
            f"--tls-private-key-file={pki.serving_key}",
            f"--client-ca-file={pki.ca_cert}",
            f"--token-auth-file={self.tokens_path}",
            "--authorization-mode=RBAC",
            f"--service-account-key-file={pki.sa_pub}",
            f"--service-account-signing-key-file={pki.sa_key}",
            "--service-account-issuer=https://kubernetes.default.svc",
            "--api-audiences=https://kubernetes.default.svc",
            "--service-cluster-ip-range=10.96.0.0/12",
            "--enable-admission-plugins=NamespaceLifecycle,ServiceAccount",
            "--profiling=false",
            f"--cert-dir={self.data_dir / 'pki' / 'apiserver-certs'}",
            "--v=1",
        ]

    def _start_apiserver(self, binaries: Binaries, pki: Pki, state: State) -> None:
        self._spawn("kube-apiserver", self._apiserver_argv(binaries, pki, state.ports), state)

    def _start_controller_manager(self, binaries: Binaries, pki: Pki, state: State) -> None:
        self._spawn(
            "kube-controller-manager", self._controller_manager_argv(binaries, pki, state), state
        )

    def _controller_manager_argv(self, binaries: Binaries, pki: Pki, state: State) -> list[str]:
        return [
            str(binaries.kube_controller_manager),
            f"--kubeconfig={self.kubeconfig}",
            f"--controllers={CONTROLLERS}",
            f"--service-account-private-key-file={pki.sa_key}",
            f"--root-ca-file={pki.ca_cert}",
            "--bind-address=127.0.0.1",
            f"--secure-port={state.ports.controller_manager}",
            "--port=0",
            "--leader-elect=false",
            "--v=1",
        ]

    def _restart_apiserver_if_running(self) -> None:
        if not self.state_path.exists():
            return
        state = self._load_state()
        record = state.processes.get("kube-apiserver")
        if record is None or not _alive(record):
            return
        from zero_scim_dev.cluster.build import ensure_binaries

        binaries = ensure_binaries(self.progress)
        os.kill(record.pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        while _alive(record) and time.monotonic() < deadline:
            time.sleep(0.05)
        if _alive(record):
            os.kill(record.pid, signal.SIGKILL)
        _reap(record.pid)
        # The old process can hold the port a moment longer.
        deadline = time.monotonic() + 10
        while not _port_free(state.ports.apiserver) and time.monotonic() < deadline:
            time.sleep(0.1)
        self._start_apiserver(binaries, Pki.in_dir(self.data_dir / "pki"), state)
        self._wait_ready(state, "kube-apiserver")

    # -- readiness ---------------------------------------------------------------------
    def _ssl_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.data_dir / "pki" / "ca.crt"))

    def _ready(self, port: int) -> bool:
        if not port:
            return False
        token = self._read_tokens().get(ADMIN, ("", ()))[0]
        request = urllib.request.Request(
            f"https://{self.bind_address}:{port}/readyz",
            headers={"Authorization": f"Bearer {token}"},
        )
        try:
            with urllib.request.urlopen(request, timeout=2, context=self._ssl_context()) as resp:
                body: bytes = resp.read()
                return resp.status == 200 and body.strip() == b"ok"
        except (urllib.error.URLError, OSError, ssl.SSLError):
            return False

    def _wait_ready(self, state: State, waiting_for: str) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            for name, record in state.processes.items():
                if not _alive(record):
                    log = Path(record.log)
                    hint = ""
                    text = _tail(log, 40)
                    if "address already in use" in text:
                        hint = " (a port it needs is already in use)"
                    raise ClusterError(
                        f"{name} exited while starting{hint}; last lines:\n{_tail(log)}",
                        log_path=log,
                    )
            if self._ready(state.ports.apiserver):
                return
            time.sleep(0.2)
        log = Path(state.processes["kube-apiserver"].log)
        raise ClusterError(
            f"{waiting_for} was not ready after {READY_TIMEOUT:.0f}s; last lines:\n{_tail(log)}",
            log_path=log,
        )

    # -- files -------------------------------------------------------------------------
    def _load_state(self) -> State:
        if not self.state_path.exists():
            return State()
        try:
            return State.load(self.state_path)
        except (ValueError, TypeError, KeyError) as exc:
            raise ClusterError(
                f"{self.state_path} is unreadable ({exc}); stop any processes by hand and "
                f"remove it, or run `zero-scim cluster down --purge --data-dir {self.data_dir}`"
            ) from exc

    def _choose_ports(self, previous: Ports) -> Ports:
        # Keep earlier ports when free (etcd remembers its peer URL); otherwise pick new ones.
        chosen = Ports()
        taken: set[int] = set()
        for name in self.port_names:
            port = getattr(previous, name)
            if not port or port in taken or not _port_free(port):
                port = _free_port()
                while port in taken:
                    port = _free_port()
            taken.add(port)
            setattr(chosen, name, port)
        return chosen

    def _read_tokens(self) -> dict[str, tuple[str, tuple[str, ...]]]:
        tokens: dict[str, tuple[str, tuple[str, ...]]] = {}
        if not self.tokens_path.exists():
            return tokens
        with self.tokens_path.open(newline="") as fh:
            for row in csv.reader(fh):
                if len(row) >= 3:
                    groups = tuple(g for g in (row[3].split(",") if len(row) > 3 else []) if g)
                    tokens[row[1]] = (row[0], groups)
        return tokens

    def _write_tokens(self, tokens: dict[str, tuple[str, tuple[str, ...]]]) -> None:
        tmp = self.tokens_path.with_suffix(".tmp")
        with tmp.open("w", newline="") as fh:
            writer = csv.writer(fh, quoting=csv.QUOTE_MINIMAL)
            for name, (token, groups) in tokens.items():
                writer.writerow([token, name, name, ",".join(groups)])
        tmp.chmod(0o600)
        tmp.replace(self.tokens_path)

    def _ensure_admin_token(self) -> None:
        tokens = self._read_tokens()
        if ADMIN not in tokens:
            tokens[ADMIN] = (secrets.token_urlsafe(32), ("system:masters",))
            self._write_tokens(tokens)

    def _identity_kubeconfig(self, name: str) -> Path:
        if name == ADMIN:
            return self.kubeconfig
        return self.data_dir / f"kubeconfig-{name.replace(':', '_')}"

    def _write_kubeconfigs(self, port: int, pki: Pki) -> None:
        for name in self._read_tokens():
            self._write_kubeconfig(self._identity_kubeconfig(name), port, pki, name)

    def _write_kubeconfig(self, path: Path, port: int, pki: Pki, user: str) -> None:
        token = self._read_tokens()[user][0]
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": CONTEXT,
                    "cluster": {
                        "server": f"https://{self.bind_address}:{port}",
                        "certificate-authority": str(pki.ca_cert),
                    },
                }
            ],
            "users": [{"name": user, "user": {"token": token}}],
            "contexts": [{"name": CONTEXT, "context": {"cluster": CONTEXT, "user": user}}],
            "current-context": CONTEXT,
        }
        tmp = path.with_suffix(".tmp")
        tmp.write_text(yaml.safe_dump(config, sort_keys=False))
        tmp.chmod(0o600)
        tmp.replace(path)
