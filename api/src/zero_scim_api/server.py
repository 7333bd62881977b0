"""``zero-scim api``: serve the SCIM API with uvicorn (httptools, uvloop).

Startup: connect to the API server (``--kubeconfig``, else in-cluster, else the default
kubeconfig), start the watches, bind the socket and start serving at once — ``/healthz``
answers while the index loads, ``/readyz`` and the SCIM routes answer 503 until it has
synced. Once listening, one line ``SCIM_API_URL=http://<host>:<port>`` goes to stdout
(``--port 0`` picks a free port). If the watches have not synced within
``--ready-timeout`` seconds the process exits with status 1 (Kubernetes restarts it).
SIGTERM/SIGINT: drain for ``--shutdown-delay`` seconds (``/readyz`` 503, responses
``Connection: close``; :mod:`zero_scim_api.shutdown`), then stop accepting, finish in-flight
requests, stop the watches, exit 0. A second signal skips the rest of the drain.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import uvicorn
import uvloop

from zero_scim.kube.coordinates import FINALIZER
from zero_scim_api import logging as api_logging
from zero_scim_api.app import create_app
from zero_scim_api.config import Settings, SettingsError
from zero_scim_api.metrics import Metrics
from zero_scim_api.shutdown import Drain
from zero_scim_api.storage.store import Storage

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="0.0.0.0", help="address to bind (default 0.0.0.0)")  # noqa: S104
    parser.add_argument("--port", type=int, default=8080, help="port (0: a free port)")
    parser.add_argument(
        "--kubeconfig",
        type=Path,
        default=None,
        help="kubeconfig file (default: in-cluster config, else ~/.kube/config)",
    )
    parser.add_argument("--base-path", default=None, help="SCIM root path (default /scim/v2)")
    parser.add_argument("--public-url", default=None, help="the SCIM root as clients see it")
    parser.add_argument("--log-level", default=None, help="DEBUG, INFO, WARNING or ERROR")
    parser.add_argument(
        "--ready-timeout", type=float, default=None, help="seconds to wait for the index"
    )
    parser.add_argument(
        "--storage-timeout",
        type=float,
        default=None,
        help="seconds a storage call may take before the answer is 503 (default 10)",
    )
    parser.add_argument(
        "--operator-finalizer",
        action="store_true",
        default=None,
        help="create users and groups with the operator's finalizer set (only where the "
        "operator runs: saves it one write per object)",
    )
    parser.add_argument(
        "--shutdown-delay",
        type=float,
        default=None,
        help="seconds to keep serving after SIGTERM while load balancers stop sending "
        "(/readyz answers 503 meanwhile; default 0)",
    )


class _Server(uvicorn.Server):
    """uvicorn's server without its own signal handling: :func:`serve` owns the signals."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto must say TCP: asyncio sets TCP_NODELAY only on accepted sockets whose proto
    # is IPPROTO_TCP; without it keep-alive responses wait ~40 ms on Nagle/delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.setblocking(False)
    return sock


def _display_host(host: str) -> str:
    if host in ("0.0.0.0", ""):  # noqa: S104
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


async def serve(settings: Settings, host: str, port: int, kubeconfig: Path | None) -> int:
    metrics = Metrics()
    storage = await Storage.connect(
        kubeconfig,
        on_watch_restart=metrics.watch_restarted,
        finalizers=(FINALIZER,) if settings.operator_finalizer else (),
        timeout=settings.storage_timeout,
    )
    drain = Drain(create_app(settings, storage, metrics=metrics))
    config = uvicorn.Config(
        drain,
        http="httptools",
        loop="none",
        lifespan="off",
        log_config=None,
        access_log=False,
        server_header=False,
        proxy_headers=False,
        timeout_graceful_shutdown=10,
    )
    server = _Server(config)
    sock = _bind(host, port)
    loop = asyncio.get_running_loop()
    stopping: list[asyncio.TimerHandle] = []

    def on_signal() -> None:
        if drain.draining or settings.shutdown_delay <= 0:
            server.should_exit = True
            return
        log.info("stopping: draining for %ss", settings.shutdown_delay)
        drain.start()
        stopping.append(
            loop.call_later(settings.shutdown_delay, setattr, server, "should_exit", True)
        )

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, on_signal)
    code = 0
    try:
        storage.start()
        serving = asyncio.create_task(server.serve(sockets=[sock]))
        # uvicorn reports startup only through this flag
        while not server.started and not serving.done():  # noqa: ASYNC110
            await asyncio.sleep(0.01)
        if serving.done():
            serving.result()
            return 1
        bound_port = sock.getsockname()[1]
        print(f"SCIM_API_URL=http://{_display_host(host)}:{bound_port}", flush=True)
        log.info("listening on %s:%s, waiting for the index", host, bound_port)
        waiting = asyncio.create_task(storage.wait_ready(settings.ready_timeout))
        await asyncio.wait({serving, waiting}, return_when=asyncio.FIRST_COMPLETED)
        if waiting.done():
            if waiting.exception() is not None:
                log.error("the index did not sync within %ss; exiting", settings.ready_timeout)
                server.should_exit = True
                code = 1
            else:
                log.info("ready")
        else:
            waiting.cancel()
        await serving
    finally:
        await storage.stop()
        sock.close()
    return code


def run(args: argparse.Namespace) -> int:
    try:
        settings = Settings.load(
            {
                "base_path": args.base_path,
                "public_url": args.public_url,
                "log_level": args.log_level,
                "ready_timeout": args.ready_timeout,
                "storage_timeout": args.storage_timeout,
                "operator_finalizer": args.operator_finalizer,
                "shutdown_delay": args.shutdown_delay,
            }
        )
    except SettingsError as exc:
        print(f"zero-scim api: invalid settings: {exc}", file=sys.stderr)
        return 2
    api_logging.configure(settings.log_level)
    return uvloop.run(serve(settings, args.host, args.port, args.kubeconfig))
