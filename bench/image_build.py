"""Image builds: cold (an empty image store: the debootstrap base, both targets, no pip
cache) and warm (the same again, --runs times), with the images' sizes.

    python -m bench.image_build [--runs 3]

The cold build uses a temporary store of its own (deleted afterwards), so the project's
cache in ~/.cache/zero-scim/images is neither used nor changed by it; warm runs use the
project's store, as `zero-scim image build` does.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from zero_scim_dev.image.base import ensure_base_image
from zero_scim_dev.image.build import build_images
from zero_scim_dev.image.engine import Podman, images_dir


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3, help="warm runs")
    args = parser.parse_args()
    quiet = lambda _line: None  # noqa: E731
    results: dict[str, object] = {}

    scratch = Path(tempfile.mkdtemp(prefix="bench-images-", dir=images_dir().parent))
    try:
        podman = Podman.create(scratch)
        started = time.monotonic()
        ensure_base_image(podman, quiet)
        base_seconds = time.monotonic() - started
        built = build_images(quiet, podman=podman)
        results["cold"] = {
            "base_seconds": round(base_seconds, 1),
            **{f"{b.target}_seconds": round(b.seconds, 1) for b in built},
            "total_seconds": round(time.monotonic() - started, 1),
        }
        results["size_mb"] = {b.target: round(b.size / 1e6) for b in built}
        results["base_size_mb"] = round(podman.size("localhost/debian-python:bookworm") / 1e6)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    warm: dict[str, list[float]] = {"runtime": [], "demo": []}
    build_images(quiet)  # bring the project's store up to date first
    for _ in range(args.runs):
        for b in build_images(quiet):
            warm[b.target].append(b.seconds)
    results["warm"] = {
        target: {
            "median_seconds": round(statistics.median(times), 1),
            "min": round(min(times), 1),
            "max": round(max(times), 1),
            "runs": len(times),
        }
        for target, times in warm.items()
    }
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
