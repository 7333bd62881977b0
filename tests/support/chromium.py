"""A person in headless Chromium: tests/sso/browser.mjs (playwright-core) as a subprocess.

Debian's ``chromium`` package is needed (``/usr/bin/chromium``; .ci/run installs it). On a
developer machine without it the browser tests skip; in CI (``CI`` set) they fail.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import threading
from pathlib import Path
from types import TracebackType
from typing import Any

import pytest

from tests.support.idp import IDP_DIR

SCRIPT = Path(__file__).resolve().parents[1] / "sso" / "browser.mjs"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
TIMEOUT = 90.0


def require_chromium() -> None:
    driver = IDP_DIR / "node_modules" / "playwright-core"
    needs = (
        ("Debian's chromium (/usr/bin/chromium)", Path(CHROMIUM).exists()),
        ("Node.js", shutil.which("node") is not None),
        ("playwright-core (npm ci --prefix idp)", driver.is_dir()),
    )
    missing = [what for what, there in needs if not there]
    if missing:
        message = "the browser test needs " + ", ".join(missing)
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


class ChromiumPerson:
    """Signs in at ``sign_in_url`` on start; then :meth:`command` drives the open page."""

    def __init__(self, sign_in_url: str, login: str, password: str, screenshots: Path) -> None:
        require_chromium()
        screenshots.mkdir(parents=True, exist_ok=True)
        node = shutil.which("node")
        assert node is not None
        self._stderr = (screenshots / "browser.log").open("w")
        self.process = subprocess.Popen(
            [node, str(SCRIPT), sign_in_url, login, password, str(screenshots)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
            env={**os.environ, "IDP_DIR": str(IDP_DIR), "CHROMIUM": CHROMIUM},
        )
        self._lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._lines.put(line)
        self._lines.put(None)

    def report(self) -> dict[str, Any]:
        """The next page report (the first one: the page sign-in landed on)."""
        try:
            line = self._lines.get(timeout=TIMEOUT)
        except queue.Empty:
            raise AssertionError("the browser reported nothing") from None
        if line is None:
            self._stderr.flush()
            log = Path(self._stderr.name).read_text()[-3000:]
            raise AssertionError(f"the browser exited:\n{log}")
        result: dict[str, Any] = json.loads(line)
        assert result["step"] != "error", result
        return result

    def command(self, line: str) -> dict[str, Any]:
        assert self.process.stdin is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()
        return self.report()

    def close(self) -> None:
        if self.process.poll() is None:
            assert self.process.stdin is not None
            try:
                self.process.stdin.write("quit\n")
                self.process.stdin.close()
                self.process.wait(20)
            except (OSError, subprocess.TimeoutExpired):
                self.process.kill()
                self.process.wait()
        for pipe in (self.process.stdin, self.process.stdout):
            if pipe is not None and not pipe.closed:
                pipe.close()
        self._stderr.close()

    def __enter__(self) -> ChromiumPerson:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
