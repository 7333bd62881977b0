"""What the one-node cluster changes on the host, recorded before and restored after.

A kubelet, kube-proxy, containerd and the bridge CNI plugin change machine-wide state
that no flag keeps them from touching: kernel sysctls, iptables rules and chains (and the
nft tables iptables-nft creates for them), mounts, the bridge and its veths, cgroups and a
few hard-coded folders. :func:`record` takes a snapshot of exactly those things before the
node starts; :func:`restore` undoes, afterwards, every difference from that snapshot that
lies in the node's own areas — and nothing else: a rule, mount or folder that existed
before stays, and so does anything outside the node's paths and chains.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

#: Sysctls that the kubelet (setupKernelTunables), kube-proxy and the bridge plugin set.
SYSCTLS = (
    "kernel.panic",
    "kernel.panic_on_oops",
    "vm.overcommit_memory",
    "vm.panic_on_oom",
    "kernel.keys.root_maxkeys",
    "kernel.keys.root_maxbytes",
    "net.ipv4.conf.all.route_localnet",
    "net.ipv4.ip_forward",
    "net.bridge.bridge-nf-call-iptables",
    "net.bridge.bridge-nf-call-ip6tables",
)
#: Folders the kubelet and containerd create at hard-coded paths despite their flags.
HOST_FOLDERS = (
    "/var/lib/kubelet",  # device-plugins/, pod-resources/
    "/var/log/pods",
    "/var/log/containers",
    "/run/containerd",  # the shims' sockets (s/)
    "/run/netns",  # containerd's network namespaces
    "/var/lib/cni",  # libcni's result cache
    "/usr/libexec/kubernetes",  # the kubelet's default volume plugin folder
)
#: Mount points below these (and the node's own folders) are the node's.
MOUNT_AREAS = ("/run/netns", "/var/lib/kubelet", "/run/containerd")
IPTABLES_TABLES = ("filter", "nat", "mangle")
CGROUP_ROOT = Path("/sys/fs/cgroup")
#: The kubelet's cgroup tree (cgroupfs driver), one per hierarchy.
CGROUP_NAME = "kubepods"

Log = Callable[[str], None]


@dataclass
class HostState:
    sysctls: dict[str, str] = field(default_factory=dict)
    folders: dict[str, bool] = field(default_factory=dict)
    mounts: list[str] = field(default_factory=list)
    iptables: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    nft_tables: list[str] = field(default_factory=list)
    cgroups: list[str] = field(default_factory=list)
    links: list[str] = field(default_factory=list)

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=2))

    @classmethod
    def load(cls, path: Path) -> HostState:
        return cls(**json.loads(path.read_text()))


def _sysctl_path(name: str) -> Path:
    return Path("/proc/sys") / name.replace(".", "/")


def _read_sysctls() -> dict[str, str]:
    values: dict[str, str] = {}
    for name in SYSCTLS:
        with contextlib.suppress(OSError):
            values[name] = _sysctl_path(name).read_text().strip()
    return values


def mount_points() -> list[str]:
    """Mount points from /proc/self/mountinfo, in mount order (octal escapes decoded)."""
    points: list[str] = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        raw = line.split()[4]
        points.append(re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), raw))
    return points


def _iptables_rules(binary: str) -> dict[str, list[str]]:
    """``-S`` output per table (chain definitions and rules), or nothing if unavailable."""
    tables: dict[str, list[str]] = {}
    if shutil.which(binary) is None:
        return tables
    for table in IPTABLES_TABLES:
        result = subprocess.run(
            [binary, "-w", "5", "-t", table, "-S"], capture_output=True, text=True, check=False
        )
        if result.returncode == 0:
            tables[table] = result.stdout.splitlines()
    return tables


def _nft_tables() -> list[str]:
    if shutil.which("nft") is None:
        return []
    result = subprocess.run(["nft", "list", "tables"], capture_output=True, text=True, check=False)
    return [line.removeprefix("table ").strip() for line in result.stdout.splitlines() if line]


def _cgroups() -> list[str]:
    found: list[str] = []
    with contextlib.suppress(OSError):
        for hierarchy in CGROUP_ROOT.iterdir():
            if (hierarchy / CGROUP_NAME).is_dir():
                found.append(str(hierarchy / CGROUP_NAME))
    return found


def _links() -> list[str]:
    return sorted(os.listdir("/sys/class/net"))


def record() -> HostState:
    return HostState(
        sysctls=_read_sysctls(),
        folders={path: os.path.lexists(path) for path in HOST_FOLDERS},
        mounts=mount_points(),
        iptables={binary: _iptables_rules(binary) for binary in ("iptables", "ip6tables")},
        nft_tables=_nft_tables(),
        cgroups=_cgroups(),
        links=_links(),
    )


def unmount_new(before: HostState, areas: Iterable[str], log: Log) -> None:
    """Unmount every mount point below ``areas`` that was not there before (deepest first)."""
    prefixes = tuple(str(a).rstrip("/") for a in areas)
    known = set(before.mounts)
    for _ in range(5):  # stacked mounts of one path need one umount each
        new = [
            p
            for p in mount_points()
            if p not in known and any(p == a or p.startswith(a + "/") for a in prefixes)
        ]
        if not new:
            return
        for point in sorted(set(new), key=lambda p: (-p.count("/"), p)):
            result = subprocess.run(["umount", point], capture_output=True, text=True, check=False)
            if result.returncode != 0:
                subprocess.run(["umount", "-l", point], capture_output=True, check=False)
    log(f"mounts still left: {new}")


def _ours(line: str) -> bool:
    """A rule or chain of the kubelet, kube-proxy or a CNI plugin (all name theirs so)."""
    return "KUBE-" in line or "CNI-" in line


def _restore_iptables(binary: str, before: dict[str, list[str]], log: Log) -> None:
    after = _iptables_rules(binary)
    for table, lines in after.items():
        known = set(before.get(table, []))
        lines = [line for line in lines if _ours(line)]
        new_rules = [line for line in lines if line.startswith("-A ") and line not in known]
        for rule in reversed(new_rules):
            args = ["-D", *_split(rule[3:])]
            subprocess.run(
                [binary, "-w", "5", "-t", table, *args], capture_output=True, check=False
            )
        new_chains = [
            line.split()[1] for line in lines if line.startswith("-N ") and line not in known
        ]
        for chain in new_chains:
            _quiet([binary, "-w", "5", "-t", table, "-F", chain])
        for chain in new_chains:
            result = _quiet([binary, "-w", "5", "-t", table, "-X", chain])
            if result.returncode != 0:
                log(f"{binary} -t {table} -X {chain}: {result.stderr.strip()}")


def _quiet(argv: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, check=False)


def _split(rule: str) -> list[str]:
    import shlex

    return shlex.split(rule)


def restore(before: HostState, *, node_paths: Iterable[str], bridge: str, log: Log) -> None:
    """Undo what the node changed: mounts, iptables/nft, links, sysctls, folders, cgroups."""
    unmount_new(before, (*MOUNT_AREAS, *node_paths), log)
    for binary, tables in before.iptables.items():
        if shutil.which(binary):
            _restore_iptables(binary, tables, log)
    for table in _nft_tables():
        if table not in before.nft_tables:
            result = _quiet(["nft", "delete", "table", *table.split()])
            if result.returncode != 0:
                log(f"nft delete table {table}: {result.stderr.strip()}")
    for link in _links():
        if link in before.links:
            continue
        master = Path(f"/sys/class/net/{link}/master")
        if link == bridge or (master.exists() and master.resolve().name == bridge):
            subprocess.run(["ip", "link", "delete", link], capture_output=True, check=False)
    for name, value in before.sysctls.items():
        with contextlib.suppress(OSError):
            path = _sysctl_path(name)
            if path.read_text().strip() != value:
                path.write_text(value)
    for folder, existed in before.folders.items():
        if not existed and os.path.lexists(folder):
            unmount_new(before, (folder,), log)
            shutil.rmtree(folder, ignore_errors=True)
    for tree in _cgroups():
        if tree not in before.cgroups:
            _rmdir_tree(Path(tree), log)


def _rmdir_tree(root: Path, log: Log) -> None:
    """rmdir a cgroup tree depth-first (cgroup folders are removed with rmdir, never rm)."""
    folders = sorted(
        (Path(d) for d, _, _ in os.walk(root)), key=lambda p: len(p.parts), reverse=True
    )
    for folder in folders:
        try:
            folder.rmdir()
        except OSError as exc:
            log(f"cgroup {folder} left: {exc.strerror}")
            return
