"""``zero-scim crds``: print or apply the CustomResourceDefinitions (the checkout's crds/)."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

import yaml


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


def load_crds() -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    for path in sorted(crd_dir().glob("*.yaml")):
        docs.extend(d for d in yaml.safe_load_all(path.read_text()) if d)
    if not docs:
        raise FileNotFoundError(f"no CRDs found in {crd_dir()}")
    return docs


def apply_crds(api_client: Any, *, timeout: float = 60.0) -> list[str]:
    """Create or update every CRD through ``api_client`` and wait until each is Established.

    ``api_client`` is a ``kubernetes.client.ApiClient``.
    """
    from kubernetes import client
    from kubernetes.client.rest import ApiException

    ext = client.ApiextensionsV1Api(api_client)
    names: list[str] = []
    for crd in load_crds():
        name = crd["metadata"]["name"]
        names.append(name)
        try:
            ext.create_custom_resource_definition(crd)
        except ApiException as exc:
            if exc.status != 409:
                raise
            current = ext.read_custom_resource_definition(name)
            crd["metadata"]["resourceVersion"] = current.metadata.resource_version
            ext.replace_custom_resource_definition(name, crd)
    deadline = time.monotonic() + timeout
    pending = set(names)
    while pending:
        for name in sorted(pending):
            conditions = ext.read_custom_resource_definition(name).status.conditions or []
            if any(c.type == "Established" and c.status == "True" for c in conditions):
                pending.discard(name)
        if pending:
            if time.monotonic() > deadline:
                raise TimeoutError(f"CRDs not established after {timeout}s: {sorted(pending)}")
            time.sleep(0.1)
    return names


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    actions.add_parser("print", help="print the CRDs as one YAML stream")
    actions.add_parser("apply", help="create/update the CRDs in the cluster of $KUBECONFIG")


def run(args: argparse.Namespace) -> int:
    if args.action == "print":
        yaml.safe_dump_all(load_crds(), sys.stdout, sort_keys=False)
        return 0
    from kubernetes import config

    api_client = config.new_client_from_config()
    for name in apply_crds(api_client):
        print(f"customresourcedefinition {name} established")
    return 0
