"""``zero-scim accounts``: serve the local Zero accounts API on uvicorn.

Once the socket is listening, one line ``ZERO_ACCOUNTS_URL=http://HOST:PORT`` is printed
(and flushed) on stdout, so a parent process started with ``--port 0`` learns the port.
:class:`AccountsServer` is the embeddable form (tests run it on a background thread).
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import socket
import sys
from collections.abc import Callable, Mapping

import uvicorn
from uvicorn.config import LOGGING_CONFIG

from zero_scim_accounts import config
from zero_scim_accounts.app import create_app
from zero_scim_accounts.config import ConfigError, Settings
from zero_scim_accounts.faults import FaultInjector
from zero_scim_accounts.sso.service import SignInService
from zero_scim_accounts.stats import Stats
from zero_scim_accounts.store import Database, Store

URL_PREFIX = "ZERO_ACCOUNTS_URL="


def add_arguments(parser: argparse.ArgumentParser) -> None:
    config.add_arguments(parser)


def run(args: argparse.Namespace) -> int:
    try:
        settings = Settings.from_args(args)
    except ConfigError as exc:
        print(f"zero-scim accounts: {exc}", file=sys.stderr)
        return 2
    server = AccountsServer(settings)
    # uvicorn handles SIGINT/SIGTERM while serving, then re-raises the signal to whatever
    # handler was there before: make that one a graceful stop too, so the process always
    # closes the database and exits 0 (also when signalled during start-up).
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: server.stop())
    try:
        asyncio.run(server.serve(ready=_announce))
    except OSError as exc:
        print(f"zero-scim accounts: {exc}", file=sys.stderr)
        return 1
    return 0


def _announce(url: str) -> None:
    print(f"{URL_PREFIX}{url}", flush=True)


class AccountsServer:
    """One service instance: database, app and uvicorn server, started by :meth:`serve`."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.url: str | None = None
        self._server: uvicorn.Server | None = None
        self._stopping = False

    async def serve(self, ready: Callable[[str], None] | None = None) -> None:
        """Serve until :meth:`stop` or a signal; ``ready(url)`` is called once listening."""
        settings = self.settings
        sock = _bind(settings.host, settings.port)
        try:
            db = await Database.open(settings.db)
            try:
                await db.run(lambda store: _seed(store, settings.orgs))
                await self._serve(db, sock, ready)
            finally:
                await db.close()
        finally:
            sock.close()

    async def _serve(
        self, db: Database, sock: socket.socket, ready: Callable[[str], None] | None
    ) -> None:
        settings = self.settings
        host = f"[{settings.host}]" if ":" in settings.host else settings.host
        own_url = f"http://{host}:{sock.getsockname()[1]}"
        sign_in = None
        if settings.sso is not None:
            sign_in = SignInService(db, settings.sso, settings.sso.public_url or own_url)
        try:
            await self._run(db, sock, ready, own_url, sign_in)
        finally:
            if sign_in is not None:
                await sign_in.aclose()

    async def _run(
        self,
        db: Database,
        sock: socket.socket,
        ready: Callable[[str], None] | None,
        own_url: str,
        sign_in: SignInService | None,
    ) -> None:
        settings = self.settings
        injector = FaultInjector()
        app = create_app(
            db, injector, Stats(injector), admin_token=settings.admin_token, sign_in=sign_in
        )
        uv_config = uvicorn.Config(
            app,
            lifespan="off",
            log_level=settings.log_level,
            access_log=settings.access_log,
            log_config=LOGGING_CONFIG if settings.configure_logging else None,
            timeout_graceful_shutdown=5,
        )
        server = self._server = _Server(uv_config)
        server.should_exit = self._stopping
        task = asyncio.create_task(server.serve(sockets=[sock]))
        listening = asyncio.create_task(server.listening.wait())
        await asyncio.wait({task, listening}, return_when=asyncio.FIRST_COMPLETED)
        listening.cancel()
        if server.started:
            self.url = own_url
            if ready is not None:
                ready(self.url)
        await task

    def stop(self) -> None:
        """Ask the server to shut down gracefully (safe from any thread)."""
        self._stopping = True
        if self._server is not None:
            self._server.should_exit = True


class _Server(uvicorn.Server):
    """uvicorn's server, with an event set once its sockets listen."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.listening = asyncio.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            self.listening.set()


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto must say TCP: asyncio only sets TCP_NODELAY on accepted sockets whose proto is
    # IPPROTO_TCP, and without it every keep-alive request waits ~40 ms on Nagle.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def _seed(store: Store, orgs: Mapping[str, tuple[str, ...]]) -> None:
    for org_id, keys in orgs.items():
        store.put_org(org_id, keys)
