"""``zero-scim cluster up|down|status|add-identity``: the local control plane from a shell."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from zero_scim_dev.cluster.build import ensure_binaries
from zero_scim_dev.cluster.cluster import LocalCluster
from zero_scim_dev.cluster.errors import ClusterError
from zero_scim_dev.cluster.node import NodeCluster


def _common(parser: argparse.ArgumentParser, *, defaults: bool) -> None:
    """``--data-dir`` and ``--node``; without ``defaults`` they set only what is given."""
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None if defaults else argparse.SUPPRESS,
        help="data folder (default: ~/.cache/zero-scim/clusters/default, with --node .../node)",
    )
    parser.add_argument(
        "--node",
        action="store_true",
        default=False if defaults else argparse.SUPPRESS,
        help="the one-node cluster: the control plane plus a node that runs Pods (scheduler, "
        "kubelet, kube-proxy, containerd, bridge CNI, DNS); changes the host (restored by "
        "`down --node`), one per machine, needs root",
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    # The options are read before or after the action (``cluster --node up`` and
    # ``cluster up --node``): the action's copies only set what was given there.
    _common(parser, defaults=True)
    shared = argparse.ArgumentParser(add_help=False)
    _common(shared, defaults=False)
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    actions.add_parser(
        "up",
        parents=[shared],
        help="build once if needed, start, wait for /readyz, print KUBECONFIG",
    )
    down = actions.add_parser(
        "down", parents=[shared], help="stop exactly the processes `up` started"
    )
    down.add_argument("--purge", action="store_true", help="also delete the data folder")
    actions.add_parser(
        "status", parents=[shared], help="print processes, ports and readiness as JSON"
    )
    actions.add_parser("build", parents=[shared], help="only build (or verify) the cached binaries")
    ident = actions.add_parser(
        "add-identity",
        parents=[shared],
        help="add a static-token identity (system:serviceaccount:NS:SA); print its kubeconfig",
    )
    ident.add_argument("name")
    ident.add_argument("--group", action="append", default=[], help="group (repeatable)")


def run(args: argparse.Namespace) -> int:
    cluster = NodeCluster(args.data_dir) if args.node else LocalCluster(args.data_dir)
    try:
        if args.action == "build":
            ensure_binaries()
            return 0
        if args.action == "up":
            started = time.monotonic()
            kubeconfig = cluster.up(ensure_binaries())
            print(
                f"zero-scim: control plane ready in {time.monotonic() - started:.1f}s",
                file=sys.stderr,
            )
            print(f"KUBECONFIG={kubeconfig}")
            return 0
        if args.action == "down":
            stopped = cluster.down(purge=args.purge)
            print(f"stopped: {', '.join(stopped) if stopped else 'nothing was running'}")
            return 0
        if args.action == "status":
            status = cluster.status()
            print(json.dumps(status, indent=2))
            return 0 if status["ready"] else 1
        if args.action == "add-identity":
            identity = cluster.add_identity(args.name, tuple(args.group))
            print(f"KUBECONFIG={identity.kubeconfig}")
            return 0
    except ClusterError as exc:
        print(f"zero-scim: error: {exc}", file=sys.stderr)
        return 1
    raise AssertionError(f"unknown action {args.action}")
