"""The children of ``zero-scim dev``, supervised: a crashed one is restarted, not fatal.

A development stack should survive one of its parts dying (kill -9 of the API while
trying something out, an operator crash): :meth:`Stack.check` — called by ``zero-scim
dev`` every half second — restarts a child that exited, after a backoff that doubles per
quick crash (1 s, 2 s, 4 s … at most 30 s; back to 1 s once a child has run for a minute),
and says so on stderr. The rest keeps running. A restarted server gets the port it had,
so the printed URLs stay valid. Logs: ``<data>/logs/<child>.log`` (appended).
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from zero_scim_dev.cluster.errors import ClusterError

FIRST_BACKOFF = 1.0
MAX_BACKOFF = 30.0
#: A child that ran this long before it exited starts again at the first backoff.
STABLE_AFTER = 60.0
START_TIMEOUT = 60.0


def say(message: str) -> None:
    print(f"zero-scim dev: {message}", file=sys.stderr, flush=True)


@dataclass
class Child:
    name: str
    process: subprocess.Popen[str]
    log: Path
    args: list[str]
    env: dict[str, str]
    url_prefix: str = ""
    program: list[str] | None = None  # None: this Python's `zero-scim`
    url: str = ""
    started: float = 0.0
    restarts: int = 0
    backoff: float = FIRST_BACKOFF
    restart_at: float | None = None


class Stack:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.logs = data_dir / "logs"
        self.children: list[Child] = []

    def spawn(
        self,
        name: str,
        args: list[str],
        env: dict[str, str],
        url_prefix: str = "",
        program: list[str] | None = None,
    ) -> Child:
        """Start ``zero-scim ARGS`` (or ``PROGRAM ARGS``) as child ``name``; with
        ``url_prefix``, wait for the line that names its URL (``SCIM_API_URL=...``)."""
        process, ready, found = self._start(name, args, env, url_prefix, program)
        child = Child(name, process, self.logs / f"{name}.log", args, env, url_prefix, program)
        child.started = time.monotonic()
        self.children.append(child)
        self._await_url(child, ready, found)
        return child

    def _start(
        self,
        name: str,
        args: list[str],
        env: dict[str, str],
        url_prefix: str,
        program: list[str] | None = None,
    ) -> tuple[subprocess.Popen[str], threading.Event, list[str]]:
        self.logs.mkdir(parents=True, exist_ok=True)
        log = (self.logs / f"{name}.log").open("a")
        process = subprocess.Popen(
            [*(program or [sys.executable, "-m", "zero_scim.cli"]), *args],
            stdout=subprocess.PIPE,
            stderr=log,
            stdin=subprocess.DEVNULL,
            env=env,
            text=True,
            start_new_session=True,  # Ctrl-C reaches us; we stop the children in order
        )
        ready = threading.Event()
        found: list[str] = []

        def pump() -> None:
            assert process.stdout is not None
            for line in process.stdout:
                if url_prefix and line.startswith(url_prefix) and not found:
                    found.append(line.split("=", 1)[1].strip())
                    ready.set()
                log.write(line)
                log.flush()
            ready.set()
            process.stdout.close()
            log.close()

        threading.Thread(target=pump, daemon=True).start()
        return process, ready, found

    def _await_url(self, child: Child, ready: threading.Event, found: list[str]) -> None:
        if not child.url_prefix:
            return
        ready.wait(START_TIMEOUT)
        if not found:
            code = child.process.poll()
            how = f"exited with status {code}" if code is not None else "printed no URL in time"
            raise ClusterError(
                f"{child.name} did not start ({how}); last lines:\n{_tail(child.log)}",
                log_path=child.log,
            )
        child.url = found[0]

    def check(self) -> None:
        """Restart every child that exited, once its backoff has passed."""
        now = time.monotonic()
        for child in self.children:
            code = child.process.poll()
            if code is None:
                continue
            if child.restart_at is None:
                if now - child.started >= STABLE_AFTER:
                    child.backoff = FIRST_BACKOFF
                child.restart_at = now + child.backoff
                say(
                    f"{child.name} exited with status {code}; restarting it in "
                    f"{child.backoff:.0f}s (log: {child.log})"
                )
                child.backoff = min(child.backoff * 2, MAX_BACKOFF)
            elif now >= child.restart_at:
                self._restart(child)

    def _restart(self, child: Child) -> None:
        args = _same_port(child.args, child.url)
        process, ready, found = self._start(
            child.name, args, child.env, child.url_prefix, child.program
        )
        child.process, child.started, child.restart_at = process, time.monotonic(), None
        child.restarts += 1
        if child.url_prefix:
            ready.wait(START_TIMEOUT)
            if found and found[0] != child.url:
                say(f"{child.name} now listens at {found[0]} (was {child.url})")
                child.url = found[0]
        say(f"{child.name} restarted (pid {process.pid}, restart {child.restarts})")

    def stop(self) -> None:
        for child in reversed(self.children):
            if child.process.poll() is None:
                child.process.send_signal(signal.SIGTERM)
        for child in reversed(self.children):
            try:
                child.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.process.kill()
                child.process.wait()


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def _same_port(args: list[str], url: str) -> list[str]:
    """``--port N`` (or ``--port=N``) set to the port of ``url``, the one it had."""
    port = urlparse(url).port if url else None
    if port is None:
        return list(args)
    result = list(args)
    for i, arg in enumerate(result):
        if arg == "--port" and i + 1 < len(result):
            result[i + 1] = str(port)
        elif arg.startswith("--port="):
            result[i] = f"--port={port}"
    return result
