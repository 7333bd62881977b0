"""``zero-scim dev``: the whole local stack in the foreground.

Starts (or reuses) the local control plane, installs the CRDs, runs the Zero accounts
service, the SCIM API and the operator as child processes, declares a demo tenant, waits
until the operator has issued its token and the API accepts it, then prints::

    SCIM_BASE_URL=http://127.0.0.1:8080/scim/v2
    SCIM_TOKEN=zscim_…
    KUBECONFIG=/root/.cache/zero-scim/clusters/default/kubeconfig
    SSO_LOGIN_URL=… SSO_DEMO_USER=… SSO_DEMO_PASSWORD=…   (sign-in: zero_scim_dev.sso)

and a curl example. A child that crashes is restarted with backoff, the rest keeps running
(:mod:`zero_scim_dev.supervisor`). Ctrl-C (or SIGTERM) stops everything this command
started — the control plane too, unless it was already running before. Logs:
``<data>/logs/``. ``--pods`` runs the same as Pods instead (:mod:`zero_scim_dev.pods`).
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import socket
import threading
import time
from pathlib import Path

from zero_scim_dev import sso
from zero_scim_dev.cluster.build import ensure_binaries
from zero_scim_dev.cluster.cluster import LocalCluster, default_data_dir
from zero_scim_dev.cluster.errors import ClusterError
from zero_scim_dev.crds import apply_crds_to
from zero_scim_dev.demo import ORG, Endpoints, print_ready, start_demo
from zero_scim_dev.supervisor import Stack, say


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", type=Path, default=None, help="control-plane data folder")
    parser.add_argument("--api-port", type=int, default=8080, help="SCIM API port (0: any)")
    parser.add_argument("--accounts-port", type=int, default=8090, help="accounts port (0: any)")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds to become ready")
    parser.add_argument(
        "--pods",
        action="store_true",
        help="run it as Pods: images, the one-node cluster, the Helm chart (zero_scim_dev.pods)",
    )


def _port(preferred: int) -> int:
    if preferred == 0:
        return 0
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", preferred))
        except OSError:
            say(f"port {preferred} is busy; using a free one")
            return 0
    return preferred


def _api_key(data_dir: Path) -> str:
    path = data_dir / "demo-api-key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(24))
        path.chmod(0o600)
    return path.read_text().strip()


def run(args: argparse.Namespace) -> int:
    if args.pods:
        from zero_scim_dev import pods

        return pods.run(args)
    cluster = LocalCluster(args.data_dir or default_data_dir())
    data_dir = cluster.data_dir
    was_running = bool(cluster.state_path.exists() and cluster.status().get("ready"))
    stack = Stack(data_dir)
    stopping = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    started = time.monotonic()
    try:
        say("starting the local control plane")
        kubeconfig = cluster.up(ensure_binaries())
        apply_crds_to(kubeconfig)
        env = {**os.environ, "KUBECONFIG": str(kubeconfig), "PYTHONUNBUFFERED": "1"}
        api_key = _api_key(data_dir)
        admin_token = secrets.token_urlsafe(16)
        no_sso = sso.available()
        sign_in = sso.prepare(data_dir) if no_sso is None else None
        idp_url, sso_args = "", []
        if sign_in is not None:
            say("starting the local identity provider (Entra-shaped, for sign-in)")
            idp = stack.spawn(
                "idp", sso.idp_args(sign_in, 0), env, "IDP_URL=", program=sso.idp_program()
            )
            idp_url, sso_args = idp.url, sso.accounts_args(idp.url)
        else:
            say(f"sign-in is left out: {no_sso}")
        say("starting the Zero accounts service, the SCIM API and the operator")
        accounts = stack.spawn(
            "accounts",
            ["accounts", "--host", "127.0.0.1", "--port", str(_port(args.accounts_port)),
             "--db", str(data_dir / "accounts.sqlite3"), "--org", f"{ORG}:{api_key}",
             "--admin-token", admin_token, *sso_args],
            {**env, **(sign_in.env if sign_in else {})},
            "ZERO_ACCOUNTS_URL=",
        )  # fmt: skip
        if sign_in is not None:
            sso.register_client(sign_in, idp_url, accounts.url)
        api = stack.spawn(
            "api",
            ["api", "--host", "127.0.0.1", "--port", str(_port(args.api_port)),
             "--kubeconfig", str(kubeconfig), "--operator-finalizer"],
            env,
            "SCIM_API_URL=",
        )  # fmt: skip
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.bind(("127.0.0.1", 0))
            liveness_port = probe.getsockname()[1]
        stack.spawn(
            "operator", ["operator", "--liveness", f"http://127.0.0.1:{liveness_port}/healthz"], env
        )
        deadline = time.monotonic() + args.timeout
        endpoints = Endpoints(f"{api.url}/scim/v2", accounts.url, api_key, admin_token)
        token = start_demo(
            kubeconfig, endpoints, accounts.url, deadline,
            sign_in=sign_in is not None, check=stack.check,
        )  # fmt: skip
        print_ready(
            endpoints, token, kubeconfig,
            sso_password=sign_in.password if sign_in else None,
            footer=f"Ready in {time.monotonic() - started:.0f}s. Logs: {stack.logs}. "
            "Ctrl-C stops everything.",
        )  # fmt: skip
        while not stopping.wait(0.5):
            stack.check()
        say("stopping")
        return 0
    except ClusterError as exc:
        say(f"error: {exc}")
        return 1
    finally:
        stack.stop()
        if not was_running:
            cluster.down()
