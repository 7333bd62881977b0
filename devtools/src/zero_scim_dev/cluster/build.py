"""Make sure the control-plane binaries exist: build them once, then reuse the cache.

The build itself is ``build-control-plane.sh`` beside this file (apt packages, Debian's
``kubernetes`` source package, the reflect2 patch, ``make``). This module runs it with a
progress display and keeps its full output in a log file.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from zero_scim_dev.cluster.errors import ClusterError

#: Bump when the build recipe changes so that old caches are not reused.
RECIPE = "debian-1.20.2-r2"
SCRIPT = Path(__file__).with_name("build-control-plane.sh")
RUNTIME_TOOLS = ("etcd", "openssl")
#: What one build installs: the control plane and the node (one `make`, one cache).
BINARIES = ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet", "kube-proxy")

Progress = Callable[[str], None]


def cache_root() -> Path:
    """``$ZERO_SCIM_CACHE`` or ``~/.cache/zero-scim`` (outside any checkout)."""
    env = os.environ.get("ZERO_SCIM_CACHE")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "zero-scim"


@dataclass(frozen=True)
class Binaries:
    kube_apiserver: Path
    kube_controller_manager: Path
    etcd: Path
    openssl: Path


def _stderr_progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _cached(bin_dir: Path) -> bool:
    return all((bin_dir / name).is_file() for name in BINARIES)


def ensure_binaries(progress: Progress = _stderr_progress) -> Binaries:
    """Return the binaries, building (minutes, once) or installing what is missing."""
    cache_dir = cache_root() / "control-plane" / RECIPE
    bin_dir = cache_dir / "bin"
    if not _cached(bin_dir):
        progress(f"zero-scim: building kube-apiserver from Debian sources into {bin_dir}")
        progress("zero-scim: this happens once per machine and takes about 7 minutes on 2 cores")
        _run_script(cache_dir, "all", progress)
    elif any(shutil.which(tool) is None for tool in RUNTIME_TOOLS):
        progress("zero-scim: installing runtime packages (etcd, openssl)")
        _run_script(cache_dir, "deps", progress)
    found = {tool: shutil.which(tool) for tool in RUNTIME_TOOLS}
    missing = [tool for tool, path in found.items() if path is None]
    if missing:
        raise ClusterError(f"required tools not found on PATH after install: {', '.join(missing)}")
    return Binaries(
        kube_apiserver=bin_dir / "kube-apiserver",
        kube_controller_manager=bin_dir / "kube-controller-manager",
        etcd=Path(found["etcd"] or ""),
        openssl=Path(found["openssl"] or ""),
    )


def _run_script(cache_dir: Path, mode: str, progress: Progress) -> None:
    cache_dir.mkdir(parents=True, exist_ok=True)
    log_path = cache_dir / f"build-{mode}.log"
    started = time.monotonic()
    last_step = ["starting"]
    done = threading.Event()

    def heartbeat() -> None:
        while not done.wait(20):
            elapsed = int(time.monotonic() - started)
            progress(f"zero-scim: ... still working ({elapsed}s): {last_step[0]}")

    ticker = threading.Thread(target=heartbeat, daemon=True)
    ticker.start()
    try:
        with log_path.open("w") as log:
            proc = subprocess.Popen(
                ["bash", str(SCRIPT), str(cache_dir), mode],
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                text=True,
            )
            assert proc.stdout is not None
            for line in proc.stdout:
                log.write(line)
                log.flush()
                if line.startswith("==>"):
                    last_step[0] = line[3:].strip()
                    progress(f"zero-scim: {last_step[0]}")
            code = proc.wait()
    finally:
        done.set()
    if code != 0:
        raise ClusterError(
            f"building the control plane failed (exit {code}) at step: {last_step[0]}",
            log_path=log_path,
        )
    progress(f"zero-scim: control plane ready in {int(time.monotonic() - started)}s")
