"""podman, configured for this project: its own engine settings and its own image store.

``containers.conf`` beside this module holds the engine settings (ulimits, runc, cgroupfs,
host network); a generated ``storage.conf`` puts the image store under the project's cache
(``<cache>/images/storage``), so nothing in ``/etc/containers`` or ``/var/lib/containers``
is read or changed. Every podman call goes through :class:`Podman`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from zero_scim_dev.cluster.build import cache_root
from zero_scim_dev.image.errors import ImageError

CONTAINERS_CONF = Path(__file__).with_name("containers.conf")
#: Debian packages the builds need (podman and buildah's runtime pieces, debootstrap).
PACKAGES = ("podman", "buildah", "runc", "debootstrap", "uidmap", "fuse-overlayfs")
#: The host's CA bundle, mounted read-only into every build step: TLS to the package
#: index is verified with the host's trust store (a fresh base image may lack it).
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")


def images_dir() -> Path:
    return cache_root() / "images"


@dataclass(frozen=True)
class Podman:
    """podman with the project's settings (``CONTAINERS_CONF``, ``CONTAINERS_STORAGE_CONF``)."""

    root: Path

    @classmethod
    def create(cls, root: Path | None = None) -> Podman:
        engine = cls((root or images_dir()).resolve())
        engine.root.mkdir(parents=True, exist_ok=True)
        engine._write_storage_conf()
        return engine

    @property
    def storage_conf(self) -> Path:
        return self.root / "storage.conf"

    def _write_storage_conf(self) -> None:
        text = (
            "[storage]\n"
            'driver = "overlay"\n'
            f'graphroot = "{self.root / "storage"}"\n'
            f'runroot = "/run/zero-scim-podman"\n'
        )
        if not self.storage_conf.exists() or self.storage_conf.read_text() != text:
            self.storage_conf.write_text(text)

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["CONTAINERS_CONF"] = str(CONTAINERS_CONF)
        env["CONTAINERS_STORAGE_CONF"] = str(self.storage_conf)
        env["BUILDAH_ISOLATION"] = "chroot"
        # Big temporary files and buildah's cache mounts stay in the project's cache too.
        tmp = self.root / "tmp"
        tmp.mkdir(exist_ok=True)
        env["TMPDIR"] = str(tmp)
        return env

    def command(self, *args: str) -> list[str]:
        binary = shutil.which("podman")
        if binary is None:
            raise ImageError("podman is not installed (apt-get install " + " ".join(PACKAGES) + ")")
        return [binary, *args]

    def run(
        self, *args: str, check: bool = True, capture: bool = True, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            self.command(*args),
            env=self.env(),
            capture_output=capture,
            text=True,
            check=False,
            timeout=timeout,
        )
        if check and result.returncode != 0:
            detail = (result.stderr or result.stdout or "").strip()[-2000:]
            raise ImageError(f"podman {args[0]} failed (exit {result.returncode}): {detail}")
        return result

    def exists(self, reference: str) -> bool:
        return self.run("image", "exists", reference, check=False).returncode == 0

    def inspect(self, reference: str) -> dict[str, object]:
        raw = json.loads(self.run("image", "inspect", reference).stdout)
        if not raw:
            raise ImageError(f"no image {reference}")
        found: dict[str, object] = raw[0]
        return found

    def label(self, reference: str, name: str) -> str | None:
        if not self.exists(reference):
            return None
        labels = self.inspect(reference).get("Labels") or {}
        assert isinstance(labels, dict)
        value = labels.get(name)
        return str(value) if value is not None else None

    def size(self, reference: str) -> int:
        size = self.inspect(reference).get("Size", 0)
        assert isinstance(size, int)
        return size

    def image_id(self, reference: str) -> str:
        return str(self.inspect(reference)["Id"])

    def save_to(self, reference: str, consumer: Sequence[str]) -> None:
        """``podman save REFERENCE | CONSUMER...`` (an OCI archive streamed, no temp file)."""
        with subprocess.Popen(
            self.command("save", "--format", "docker-archive", reference),
            env=self.env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        ) as save:
            assert save.stdout is not None and save.stderr is not None
            load = subprocess.run(
                list(consumer), stdin=save.stdout, capture_output=True, check=False
            )
            save.stdout.close()
            save_err = save.stderr.read().decode(errors="replace")
            code = save.wait()
        if code != 0:
            raise ImageError(f"podman save {reference} failed: {save_err.strip()[-2000:]}")
        if load.returncode != 0:
            detail = load.stderr.decode(errors="replace").strip()[-2000:]
            raise ImageError(f"importing {reference} failed: {detail}")
