"""The CustomResourceDefinitions: where they are, and installing them (`zero-scim crds`)."""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import time
from pathlib import Path
from typing import Any

import yaml


def crd_dir() -> Path:
    """``$ZERO_SCIM_CRDS_DIR``, else the CRDs installed with the package (``crds/``)."""
    env = os.environ.get("ZERO_SCIM_CRDS_DIR")
    if env:
        return Path(env)
    spec = importlib.util.find_spec("zero_scim.crd_files")
    if spec is not None and spec.submodule_search_locations:
        for location in spec.submodule_search_locations:
            if any(Path(location).glob("*.yaml")):
                return Path(location)
    return Path(__file__).resolve().parents[1] / "crds"  # a bare checkout


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
