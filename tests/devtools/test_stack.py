"""``zero-scim dev``, the README's first command: the whole stack, a demo tenant whose
printed URL and token provision a user into Zero, and Ctrl-C stopping all of it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from zero_scim_dev.cluster.cluster import LocalCluster

pytestmark = [
    pytest.mark.cluster,
    pytest.mark.skipif(
        bool(os.environ.get("KUBECONFIG")),
        reason="zero-scim dev runs its own local control plane; the session uses $KUBECONFIG",
    ),
]

START_TIMEOUT = 240.0


class DevStack:
    def __init__(self, data_dir: Path, log: Path) -> None:
        self.data_dir = data_dir
        self.printed: dict[str, str] = {}
        self._ready = threading.Event()
        self._stderr = log.open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "zero_scim.cli", "dev", "--data-dir", str(data_dir),
             "--api-port", "0", "--accounts-port", "0", "--timeout", "180"],
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            stdin=subprocess.DEVNULL,
            text=True,
            env={k: v for k, v in os.environ.items() if k != "KUBECONFIG"},
        )  # fmt: skip
        self._log = log
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            name, sep, value = line.partition("=")
            if sep and name.isupper() and name not in self.printed:
                self.printed[name] = value.split()[0] if value.split() else ""
            if line.startswith("Ready in"):
                self._ready.set()
        self._ready.set()

    def wait_ready(self) -> None:
        if not self._ready.wait(START_TIMEOUT) or self.process.poll() is not None:
            raise AssertionError(f"zero-scim dev did not get ready:\n{self.log_tail()}")

    def log_tail(self) -> str:
        return self._log.read_text(errors="replace")[-3000:]

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        assert self.process.stdout is not None
        self.process.stdout.close()
        self._stderr.close()
        return self.process.returncode


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[DevStack]:
    dev = DevStack(tmp_path / "dev", tmp_path / "dev.log")
    try:
        yield dev
    finally:
        dev.stop()
        LocalCluster(tmp_path / "dev").down(purge=True)  # only if the test failed early


def test_the_dev_stack_provisions_a_user_with_its_printed_token(stack: DevStack) -> None:
    stack.wait_ready()
    base_url, token = stack.printed["SCIM_BASE_URL"], stack.printed["SCIM_TOKEN"]
    assert base_url.endswith("/scim/v2") and token
    assert Path(stack.printed["KUBECONFIG"]).is_file()
    with httpx.Client(timeout=10) as http:
        created = http.post(
            f"{base_url}/Users",
            headers={"Authorization": f"Bearer {token}"},
            json={
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": "ada@example.com",
                "active": True,
            },
        )
        assert created.status_code == 201, created.text
        user_id = created.json()["id"]

        # The operator puts the account into the demo org of the accounts service.
        api_key = (stack.data_dir / "demo-api-key").read_text().strip()
        account_url = f"{stack.printed['ZERO_ACCOUNTS_URL']}/v1/orgs/demo-org/accounts/{user_id}"
        deadline = time.monotonic() + 30
        while True:
            response = http.get(account_url, headers={"Authorization": f"Bearer {api_key}"})
            if response.status_code == 200:
                break
            assert time.monotonic() < deadline, f"no account in Zero: {response.status_code}"
            time.sleep(0.2)
        assert response.json()["userName"] == "ada@example.com"

    # Ctrl-C (SIGTERM here) stops everything it started, the control plane included.
    assert stack.stop() == 0
    assert not LocalCluster(stack.data_dir).status().get("ready")


def _children(pid: int) -> dict[str, int]:
    """The stack's children by command (``api``, ``operator``, ``accounts``) -> pid."""
    import psutil

    found: dict[str, int] = {}
    for child in psutil.Process(pid).children():
        cmdline = child.cmdline()
        if "zero_scim.cli" in cmdline:
            found[cmdline[cmdline.index("zero_scim.cli") + 1]] = child.pid
    return found


def test_a_crashed_child_is_restarted_and_the_rest_keeps_running(stack: DevStack) -> None:
    stack.wait_ready()
    base_url, token = stack.printed["SCIM_BASE_URL"], stack.printed["SCIM_TOKEN"]
    before = _children(stack.process.pid)
    assert set(before) == {"accounts", "api", "operator"}, before

    os.kill(before["api"], signal.SIGKILL)  # a child of our child: we started it

    deadline = time.monotonic() + 60
    while "api restarted" not in stack.log_tail():
        assert stack.process.poll() is None, f"zero-scim dev exited:\n{stack.log_tail()}"
        assert time.monotonic() < deadline, f"the API was not restarted:\n{stack.log_tail()}"
        time.sleep(0.2)
    assert "api exited with status -9; restarting it in" in stack.log_tail()
    after = _children(stack.process.pid)
    assert after["api"] != before["api"]
    # The rest kept running: the same processes.
    assert after["accounts"] == before["accounts"] and after["operator"] == before["operator"]

    # The restarted API serves on the printed URL, with the printed token, and the user
    # it takes still reaches Zero through the operator that never stopped.
    with httpx.Client(timeout=10) as http:
        deadline = time.monotonic() + 60
        while True:
            try:
                created = http.post(
                    f"{base_url}/Users",
                    headers={"Authorization": f"Bearer {token}"},
                    json={
                        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                        "userName": "grace@example.com",
                    },
                )
            except httpx.TransportError:
                created = None
            if created is not None and created.status_code != 503:
                break
            assert time.monotonic() < deadline, "the restarted API never became ready"
            time.sleep(0.3)
        assert created.status_code == 201, created.text
        api_key = (stack.data_dir / "demo-api-key").read_text().strip()
        account_url = (
            f"{stack.printed['ZERO_ACCOUNTS_URL']}/v1/orgs/demo-org/accounts/{created.json()['id']}"
        )
        deadline = time.monotonic() + 30
        while (
            http.get(account_url, headers={"Authorization": f"Bearer {api_key}"}).status_code != 200
        ):
            assert time.monotonic() < deadline, "the user did not reach Zero"
            time.sleep(0.2)
    assert stack.stop() == 0
