"""Build the Dockerfile's images with podman: ``runtime`` (production) and ``demo``.

The base is either the local Debian image (:mod:`zero_scim_dev.image.base`, the default:
no registry is reachable here) or the Dockerfile's own default, the official
``python:3.11-slim-bookworm`` (``base="official"``, where a registry is reachable). podman
caches layers: a second build with unchanged sources takes seconds, and the builder's
pip cache (a ``RUN --mount=type=cache``) keeps downloads across source changes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from zero_scim_dev.cluster.build import Progress
from zero_scim_dev.image.base import BASE_IMAGE, ensure_base_image
from zero_scim_dev.image.engine import HOST_CA_BUNDLE, Podman
from zero_scim_dev.image.errors import ImageError

#: The images of the Dockerfile's two final targets, as the local cluster runs them.
REPOSITORY = "localhost/zero-scim"
DEMO_REPOSITORY = "localhost/zero-scim-demo"
TAG = "dev"
TARGETS: dict[str, str] = {"runtime": REPOSITORY, "demo": DEMO_REPOSITORY}

Base = Literal["local", "official"]


def source_dir() -> Path:
    """The checkout whose Dockerfile is built (the development tooling runs editable)."""
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "Dockerfile").is_file() and (parent / "core" / "pyproject.toml").is_file():
            return parent
    raise ImageError(f"no zero-scim checkout (Dockerfile) above {here}")


@dataclass(frozen=True)
class Built:
    target: str
    reference: str
    image_id: str
    size: int
    seconds: float


def reference(target: str, tag: str = TAG) -> str:
    return f"{TARGETS[target]}:{tag}"


def build_images(
    progress: Progress,
    *,
    targets: tuple[str, ...] = ("runtime", "demo"),
    tag: str = TAG,
    base: Base = "local",
    context: Path | None = None,
    podman: Podman | None = None,
) -> list[Built]:
    """Build ``targets`` (the base image first, if needed); return what was built."""
    podman = podman or Podman.create()
    context = context or source_dir()
    unknown = [t for t in targets if t not in TARGETS]
    if unknown:
        raise ImageError(f"unknown target(s) {unknown}; known: {sorted(TARGETS)}")
    args: list[str] = []
    if base == "local":
        ensure_base_image(podman, progress)
        args += ["--build-arg", f"PYTHON_IMAGE={BASE_IMAGE}"]
    if HOST_CA_BUNDLE.is_file():
        args += ["--volume", f"{HOST_CA_BUNDLE}:{HOST_CA_BUNDLE}:ro"]
    built: list[Built] = []
    for target in targets:
        ref = reference(target, tag)
        started = time.monotonic()
        progress(f"zero-scim: podman build --target {target} -t {ref}")
        podman.run(
            "build", "--isolation", "chroot", "--layers", "--pull=never",
            *args, "--target", target, "--tag", ref,
            "--file", str(context / "Dockerfile"), str(context),
            timeout=1800,
        )  # fmt: skip
        seconds = time.monotonic() - started
        image = Built(target, ref, podman.image_id(ref), podman.size(ref), seconds)
        progress(f"zero-scim: {ref} built in {seconds:.1f}s ({image.size / 1e6:.0f} MB)")
        built.append(image)
    return built
