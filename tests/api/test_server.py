"""`zero-scim api` as a process: URL line, health while loading, graceful stop, failures."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.support.kube import KubeEnv
from tests.support.scim import ApiProcess, running_api


def test_serves_prints_its_url_and_stops_cleanly(kube: KubeEnv) -> None:
    with running_api(kube.kubeconfig, "--log-level", "warning") as api:
        assert api.url.startswith("http://127.0.0.1:")
        assert httpx.get(f"{api.url}/healthz").json() == {"status": "ok"}
        assert httpx.get(f"{api.url}/readyz").status_code == 200
        assert [line for line in api.stdout_lines if line.startswith("SCIM_API_URL=")] == [
            f"SCIM_API_URL={api.url}\n"
        ]
        code = api.stop()
    assert code == 0


def unreachable_kubeconfig(tmp_path: Path) -> Path:
    path = tmp_path / "kubeconfig"
    path.write_text(
        """
apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "http://127.0.0.1:9"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
"""
    )
    return path


def test_healthz_answers_while_the_index_cannot_load_then_exits_1(tmp_path: Path) -> None:
    api = ApiProcess(unreachable_kubeconfig(tmp_path), ["--ready-timeout", "4"])
    api.start()
    try:
        assert httpx.get(f"{api.url}/healthz").status_code == 200
        assert httpx.get(f"{api.url}/readyz").status_code == 503
        scim = httpx.get(f"{api.url}/scim/v2/Users", headers={"Authorization": "Bearer x"})
        assert scim.status_code == 503 and scim.json()["status"] == "503"
        assert api.process is not None
        deadline = time.monotonic() + 20
        while api.process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert api.process.returncode == 1
    finally:
        api.stop()
    assert any("did not sync" in line for line in api.stderr_lines)


def test_invalid_settings_exit_2() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "zero_scim.cli", "api", "--base-path", "/a//b"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert "invalid settings" in result.stderr


def test_sigterm_drains_for_the_shutdown_delay_then_stops(kube: KubeEnv) -> None:
    """During the drain the API still serves, but /readyz says 503 and every response asks
    the client to close its connection; afterwards it stops and exits 0."""
    with running_api(kube.kubeconfig, "--log-level", "info", "--shutdown-delay", "3") as api:
        with httpx.Client(base_url=api.url) as http:
            assert http.get("/readyz").status_code == 200
            assert http.get("/healthz").headers.get("connection") != "close"
            assert api.process is not None
            api.process.send_signal(signal.SIGTERM)
            signalled = time.monotonic()
            deadline = signalled + 2
            while http.get("/readyz").status_code != 503:
                assert time.monotonic() < deadline, "/readyz still 200 while draining"
                time.sleep(0.05)
            ready = http.get("/readyz")
            assert ready.headers["retry-after"] == "1" and ready.json()["status"] == "503"
            health = http.get("/healthz")  # still served, on a connection it asks to close
            assert health.status_code == 200 and health.headers["connection"] == "close"
            assert time.monotonic() - signalled < 3  # all of this within the delay
        deadline = signalled + 20
        while api.process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert api.process.returncode == 0
        assert time.monotonic() - signalled >= 3  # it did not stop before the delay
    assert any("draining for 3.0s" in line for line in api.stderr_lines)
