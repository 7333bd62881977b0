"""The process: CLI start-up, configuration, durability across restarts."""

from __future__ import annotations

import argparse
import json
import signal
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.support.accounts import AccountsService, Tenant, running_accounts_service
from zero_scim_accounts import config, server
from zero_scim_accounts.config import ConfigError, Settings


async def _write_some(service: AccountsService) -> dict[str, object]:
    async with service.http() as api:
        response = await api.put("/accounts/u1", json={"userName": "u1", "title": "T"})
        account: dict[str, object] = response.json()
        await api.put("/accounts/u2", json={"userName": "u2"})
        await api.put("/groups/g", json={"displayName": "G"})
        await api.post("/groups/g/members:batch", json={"add": ["u1", "u2"]})
        await api.post("/accounts/u2:disable")
    async with service.admin() as admin:
        await admin.create_org("later", "later-key")
    return account


async def _check_all_there(service: AccountsService, account: dict[str, object]) -> None:
    async with service.http() as api:
        assert (await api.get("/accounts/u1")).json() == account
        assert (await api.get("/accounts/u2")).json()["enabled"] is False
        members = (await api.get("/groups/g/members")).json()["items"]
        assert [m["accountKey"] for m in members] == ["u1", "u2"]
    # The org created through /admin survives too, with its key.
    async with service.http(Tenant("later", "later-key")) as later:
        assert (await later.get("/accounts")).status_code == 200


async def test_graceful_restart_keeps_everything(tmp_path: Path) -> None:
    db = tmp_path / "accounts.sqlite3"
    with running_accounts_service(db, api_key="acme-key") as service:
        account = await _write_some(service)
    with running_accounts_service(db, api_key="acme-key") as service:
        await _check_all_there(service, account)


async def test_kill_9_loses_nothing_committed(tmp_path: Path) -> None:
    db = tmp_path / "accounts.sqlite3"
    with running_accounts_service(db, api_key="acme-key", mode="process") as service:
        assert service.process is not None
        assert service.url.startswith("http://127.0.0.1:")
        account = await _write_some(service)
        service.process.send_signal(signal.SIGKILL)
        service.process.wait()
    with running_accounts_service(db, api_key="acme-key", mode="process") as service:
        await _check_all_there(service, account)
    # Stored as promised: WAL mode, hashed keys.
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        stored = {row[0] for row in conn.execute("SELECT key_hash FROM api_keys")}
    conn.close()
    assert "later-key" not in stored
    assert len(stored) == 2


async def test_sigterm_is_a_clean_exit(tmp_path: Path) -> None:
    with running_accounts_service(tmp_path / "a.sqlite3", mode="process") as service:
        assert service.process is not None
        async with httpx.AsyncClient() as http:
            assert (await http.get(f"{service.url}/healthz")).status_code == 200
        service.process.terminate()
        assert service.process.wait(10) == 0


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    config.add_arguments(parser)
    return parser.parse_args(argv)


def test_settings_from_flags_env_and_keys_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys_file = tmp_path / "keys.json"
    keys_file.write_text(json.dumps({"acme": ["k3"], "globex": ["g1", "g2"]}))
    monkeypatch.setenv("ZERO_ACCOUNTS_ORGS", "acme:k2, initech:i1")
    monkeypatch.setenv("ZERO_ACCOUNTS_ADMIN_TOKEN", "from-env")
    settings = Settings.from_args(
        _args("--org", "acme:k1", "--org", "acme:with:colon", "--keys-file", str(keys_file))
    )
    assert settings.orgs == {
        "acme": ("k1", "with:colon", "k2", "k3"),
        "initech": ("i1",),
        "globex": ("g1", "g2"),
    }
    assert settings.admin_token == "from-env"
    assert settings.port == config.DEFAULT_PORT
    assert settings.db == config.DEFAULT_DB


@pytest.mark.parametrize(
    ("argv", "keys_file"),
    [
        (("--org", "no-key"), None),
        (("--org", "bad org:key"), None),
        ((), "not json"),
        ((), '{"acme": "k1"}'),
    ],
)
def test_bad_configuration(tmp_path: Path, argv: tuple[str, ...], keys_file: str | None) -> None:
    if keys_file is not None:
        (tmp_path / "keys.json").write_text(keys_file)
        argv = (*argv, "--keys-file", str(tmp_path / "keys.json"))
    with pytest.raises(ConfigError):
        Settings.from_args(_args(*argv))


def test_cli_reports_bad_configuration(capsys: pytest.CaptureFixture[str]) -> None:
    assert server.run(_args("--org", "no-key")) == 2
    assert "expected ORG:KEY" in capsys.readouterr().err


def test_cli_reports_a_busy_port(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "zero_scim.cli", "accounts", f"--port={port}"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    assert result.returncode == 1
    assert "in use" in result.stderr
    assert "ZERO_ACCOUNTS_URL" not in result.stdout
