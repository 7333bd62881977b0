"""``zero-scim image build|base``: build zero-scim's images here, with podman (cached)."""

from __future__ import annotations

import argparse
import json
import sys
import time

from zero_scim_dev.cluster.build import _stderr_progress
from zero_scim_dev.image.base import BASE_IMAGE, ensure_base_image
from zero_scim_dev.image.build import TAG, TARGETS, build_images
from zero_scim_dev.image.engine import Podman
from zero_scim_dev.image.errors import ImageError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    build = actions.add_parser(
        "build", help="build the base image once, then the Dockerfile's targets; print JSON"
    )
    build.add_argument(
        "--target",
        action="append",
        choices=sorted(TARGETS),
        help="runtime (production) and/or demo (default: both)",
    )
    build.add_argument("--tag", default=TAG, help="image tag (default %(default)s)")
    build.add_argument(
        "--base",
        choices=("local", "official"),
        default="local",
        help=f"local: {BASE_IMAGE} made with debootstrap (default; no registry needed); "
        "official: the Dockerfile's python:3.11-slim-bookworm (needs a registry)",
    )
    base = actions.add_parser("base", help=f"only make {BASE_IMAGE} (debootstrap)")
    base.add_argument("--rebuild", action="store_true", help="even if it exists")


def run(args: argparse.Namespace) -> int:
    try:
        if args.action == "base":
            started = time.monotonic()
            made = ensure_base_image(Podman.create(), _stderr_progress, rebuild=args.rebuild)
            state = "made" if made else "already there"
            print(f"{BASE_IMAGE}: {state} ({time.monotonic() - started:.1f}s)", file=sys.stderr)
            return 0
        targets = tuple(args.target or ("runtime", "demo"))
        built = build_images(_stderr_progress, targets=targets, tag=args.tag, base=args.base)
        print(
            json.dumps(
                [
                    {
                        "target": b.target,
                        "image": b.reference,
                        "id": b.image_id,
                        "size_bytes": b.size,
                        "seconds": round(b.seconds, 1),
                    }
                    for b in built
                ],
                indent=2,
            )
        )
        return 0
    except ImageError as exc:
        print(f"zero-scim: error: {exc}", file=sys.stderr)
        return 1
    raise AssertionError(f"unknown action {args.action}")
