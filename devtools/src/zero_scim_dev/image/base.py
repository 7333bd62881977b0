"""The local Python base image: Debian bookworm's own Python, made with debootstrap.

No image registry is reachable on the machines this project is built on, so the
Dockerfile's default base (``python:3.11-slim-bookworm``) cannot be pulled there. This
makes a stand-in from Debian's packages — Python 3.11, like the official image — and
imports it as ``localhost/debian-python:bookworm``. It is built once and reused while its
recipe (:data:`RECIPE`, kept as an image label) is unchanged.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from zero_scim_dev.cluster.build import Progress
from zero_scim_dev.image.engine import Podman
from zero_scim_dev.image.errors import ImageError

BASE_IMAGE = "localhost/debian-python:bookworm"
#: Bump when the packages or the clean-up below change.
RECIPE = "bookworm-python3-r1"
LABEL = "io.zero-scim.base-recipe"
SUITE = "bookworm"
#: What the Dockerfile needs from a base: python3 with venv (and ensurepip's wheels),
#: useradd/groupadd, CA certificates. No compiler, no pip in the system Python.
PACKAGES = ("python3", "python3-venv", "passwd", "ca-certificates")
DEFAULT_MIRROR = "http://deb.debian.org/debian"
SLIM = (
    "var/lib/apt/lists/*", "var/cache/apt/*.bin", "var/cache/apt/archives/*.deb",
    "usr/share/doc/*", "usr/share/man/*", "usr/share/info/*", "var/log/*.log",
)  # fmt: skip
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def debian_mirror(sources: Path = Path("/etc/apt/sources.list.d/debian.sources")) -> str:
    """The Debian mirror this machine's apt already uses (the first ``URIs:``)."""
    with contextlib.suppress(OSError):
        for line in sources.read_text().splitlines():
            if line.startswith("URIs:") and line.split()[1:]:
                return line.split()[1]
    return DEFAULT_MIRROR


def ensure_base_image(podman: Podman, progress: Progress, *, rebuild: bool = False) -> bool:
    """Build the base image unless it exists with the current recipe; True if built."""
    if not rebuild and podman.label(BASE_IMAGE, LABEL) == RECIPE:
        return False
    debootstrap = shutil.which("debootstrap")
    if debootstrap is None:
        raise ImageError("debootstrap is not installed (apt-get install debootstrap)")
    started = time.monotonic()
    progress(f"zero-scim: making {BASE_IMAGE} with debootstrap (about a minute, once)")
    scratch = Path(tempfile.mkdtemp(prefix="debootstrap-", dir=podman.root))
    rootfs = scratch / "rootfs"
    try:
        result = subprocess.run(
            [debootstrap, "--variant=minbase", f"--include={','.join(PACKAGES)}", SUITE,
             str(rootfs), debian_mirror()],
            capture_output=True, text=True, check=False, timeout=900,
        )  # fmt: skip
        if result.returncode != 0:
            log = scratch.with_suffix(".log")
            log.write_text(result.stdout + result.stderr)
            raise ImageError(f"debootstrap failed (exit {result.returncode}); log: {log}")
        _slim(rootfs)
        tar = subprocess.Popen(
            ["tar", "-C", str(rootfs), "--numeric-owner", "-c", "."], stdout=subprocess.PIPE
        )
        assert tar.stdout is not None
        imported = subprocess.run(
            podman.command(
                "import",
                "--change", f"ENV PATH={PATH}",
                "--change", "ENV LANG=C.UTF-8",
                "--change", f"LABEL {LABEL}={RECIPE}",
                "--change", 'CMD ["python3"]',
                "-", BASE_IMAGE,
            ),
            stdin=tar.stdout, env=podman.env(), capture_output=True, text=True, check=False,
        )  # fmt: skip
        tar.stdout.close()
        if tar.wait() != 0 or imported.returncode != 0:
            raise ImageError(f"podman import failed: {imported.stderr.strip()[-2000:]}")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    progress(f"zero-scim: {BASE_IMAGE} made in {time.monotonic() - started:.0f}s")
    return True


def _slim(rootfs: Path) -> None:
    """What an image does not need: apt's lists and caches, documentation, man pages."""
    for pattern in SLIM:
        for path in rootfs.glob(pattern):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
