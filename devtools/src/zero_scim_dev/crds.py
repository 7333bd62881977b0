"""``zero-scim crds``: print or apply the CustomResourceDefinitions (the checkout's crds/)."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path
from typing import Required, TypedDict, cast

import yaml

from zero_scim.jsondata import JsonObject
from zero_scim.kube.client import KubeClient
from zero_scim.kube.coordinates import Kind
from zero_scim.kube.errors import AlreadyExists
from zero_scim.kube.objects import Condition, ObjectMeta


class CrdStatus(TypedDict, total=False):
    conditions: list[Condition]


class CustomResourceDefinition(TypedDict, total=False):
    apiVersion: str
    kind: str
    metadata: Required[ObjectMeta]
    spec: JsonObject
    status: CrdStatus


CRD: Kind[CustomResourceDefinition] = Kind(
    "CustomResourceDefinition",
    "customresourcedefinitions",
    namespaced=False,
    group="apiextensions.k8s.io",
    version="v1",
)


def crd_dir() -> Path:
    """``$ZERO_SCIM_CRDS_DIR``, else the CRDs in the wheel, else the checkout's ``crds/``.

    A built wheel carries them as ``zero_scim_dev/crd_files``; an editable install (the
    usual way to run the development tooling) finds the repository's folder, their one
    source.
    """
    env = os.environ.get("ZERO_SCIM_CRDS_DIR")
    if env:
        return Path(env)
    packaged = Path(__file__).with_name("crd_files")
    if any(packaged.glob("*.yaml")):
        return packaged
    return Path(__file__).resolve().parents[3] / "crds"


def load_crds() -> list[CustomResourceDefinition]:
    docs: list[CustomResourceDefinition] = []
    for path in sorted(crd_dir().glob("*.yaml")):
        docs.extend(
            cast(CustomResourceDefinition, d) for d in yaml.safe_load_all(path.read_text()) if d
        )
    if not docs:
        raise FileNotFoundError(f"no CRDs found in {crd_dir()}")
    return docs


async def apply_crds(kube: KubeClient, *, timeout: float = 60.0) -> list[str]:
    """Create or update every CRD and wait until each is Established."""
    names: list[str] = []
    for crd in load_crds():
        name = crd["metadata"].get("name", "")
        names.append(name)
        try:
            await kube.create(CRD, crd)
        except AlreadyExists:
            current = await kube.get(CRD, name)
            crd["metadata"]["resourceVersion"] = current["metadata"].get("resourceVersion", "")
            await kube.replace(CRD, crd)
    deadline = time.monotonic() + timeout
    pending = set(names)
    while pending:
        for name in sorted(pending):
            status = (await kube.get(CRD, name)).get("status", {})
            if any(
                c.get("type") == "Established" and c.get("status") == "True"
                for c in status.get("conditions") or []
            ):
                pending.discard(name)
        if pending:
            if time.monotonic() > deadline:
                raise TimeoutError(f"CRDs not established after {timeout}s: {sorted(pending)}")
            await asyncio.sleep(0.1)
    return names


def apply_crds_to(kubeconfig: str | os.PathLike[str] | None = None) -> list[str]:
    """:func:`apply_crds` for synchronous callers (its own event loop, in this thread)."""

    async def apply() -> list[str]:
        async with await KubeClient.connect(kubeconfig) as kube:
            return await apply_crds(kube)

    return asyncio.run(apply())


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    actions.add_parser("print", help="print the CRDs as one YAML stream")
    actions.add_parser("apply", help="create/update the CRDs in the cluster of $KUBECONFIG")


def run(args: argparse.Namespace) -> int:
    if args.action == "print":
        yaml.safe_dump_all(load_crds(), sys.stdout, sort_keys=False)
        return 0
    for name in apply_crds_to():
        print(f"customresourcedefinition {name} established")
    return 0
