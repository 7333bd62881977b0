"""The configuration loader, from kubeconfig files and service-account folders written
here (no API server: what is loaded is checked, not used)."""

from __future__ import annotations

import base64
import json
import os
import ssl
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from zero_scim.kube.config import (
    Authorization,
    ConfigError,
    ExecPlugin,
    StaticCredentials,
    TokenFile,
    jwt_expiry,
    load_config,
    load_incluster,
    load_kubeconfig,
)


def kubeconfig(
    path: Path,
    user: dict[str, Any],
    *,
    cluster: dict[str, Any] | None = None,
    namespace: str | None = None,
    name: str = "test",
) -> Path:
    context: dict[str, Any] = {"cluster": name, "user": name}
    if namespace:
        context["namespace"] = namespace
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [
                    {"name": name, "cluster": cluster or {"server": "https://127.0.0.1:6443/"}}
                ],
                "users": [{"name": name, "user": user}],
                "contexts": [{"name": name, "context": context}],
                "current-context": name,
            }
        )
    )
    return path


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate and its key (openssl), usable as CA and client cert."""
    folder = tmp_path_factory.mktemp("pki")
    cert, key = folder / "tls.crt", folder / "tls.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=zero-scim-test", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


def same_content(path: str, expected: Path) -> bool:
    return Path(path).read_bytes() == expected.read_bytes()


async def header(config: Any, *, refresh: bool = False) -> str | None:
    auth = await config.credentials.authorization(refresh=refresh)
    return None if auth is None else str(auth.header)


async def test_a_token_in_the_kubeconfig(tmp_path: Path) -> None:
    path = kubeconfig(tmp_path / "config", {"token": "abc"}, namespace="team-a")
    config = await load_kubeconfig(str(path))
    assert config.server == "https://127.0.0.1:6443"
    assert isinstance(config.credentials, StaticCredentials)
    assert await header(config) == "Bearer abc"
    assert config.namespace == "team-a"
    assert str(path) in config.origin and "context test" in config.origin
    assert not config.insecure


async def test_a_token_file_is_read_relative_to_the_kubeconfig_and_again_when_it_changes(
    tmp_path: Path,
) -> None:
    (tmp_path / "tokens").mkdir()
    token = tmp_path / "tokens" / "sa"
    token.write_text("first\n")
    path = kubeconfig(tmp_path / "config", {"tokenFile": "tokens/sa", "token": "ignored"})
    config = await load_kubeconfig(str(path), check_interval=0.0)
    assert isinstance(config.credentials, TokenFile)
    assert await header(config) == "Bearer first"
    replacement = tmp_path / "tokens" / "sa.new"
    replacement.write_text("second")
    os.replace(replacement, token)  # how the kubelet swaps a projected token
    assert await header(config) == "Bearer second"


async def test_a_token_file_is_checked_at_most_once_per_interval(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("one")
    now = [100.0]
    source = TokenFile(token, check_interval=10.0, clock=lambda: now[0])
    assert (await source.authorization()) == Authorization("Bearer", "one")
    token.write_text("two, longer")
    now[0] += 5.0
    assert (await source.authorization()).credentials == "one"
    now[0] += 5.0
    assert (await source.authorization()).credentials == "two, longer"


async def test_a_token_file_that_vanishes_keeps_the_last_token_and_refresh_rereads(
    tmp_path: Path,
) -> None:
    token = tmp_path / "token"
    token.write_text("one")
    source = TokenFile(token, check_interval=0.0)
    token.unlink()
    assert (await source.authorization()).credentials == "one"
    token.write_text("one")  # same size; a refresh reads it regardless
    token.write_text("uno")
    assert (await source.authorization(refresh=True)).credentials == "uno"
    empty = tmp_path / "empty"
    empty.write_text("")
    with pytest.raises(ConfigError, match="missing or empty"):
        TokenFile(empty)


def jwt(claims: dict[str, Any]) -> str:
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    return f"{part({'alg': 'RS256'})}.{part(claims)}.signature"


def test_the_expiry_of_a_service_account_token_is_its_exp_claim() -> None:
    assert jwt_expiry(jwt({"exp": 1_700_000_000})) == datetime.fromtimestamp(1_700_000_000, UTC)
    assert jwt_expiry(jwt({"sub": "no expiry"})) is None
    assert jwt_expiry("not-a-jwt") is None
    assert jwt_expiry("a.!!!.c") is None


async def test_client_certificates_a_ca_and_insecure_skip_verify(
    tmp_path: Path, certificate: tuple[Path, Path]
) -> None:
    cert, key = certificate
    path = kubeconfig(
        tmp_path / "config",
        {"client-certificate": str(cert), "client-key": str(key)},
        cluster={"server": "https://127.0.0.1:6443", "certificate-authority": str(cert)},
    )
    config = await load_kubeconfig(str(path))
    assert (config.client_cert_file, config.client_key_file, config.ca_file) == (
        str(cert),
        str(key),
        str(cert),
    )
    assert await header(config) is None  # the certificate is the identity
    context = config.ssl_context()
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname

    inline = kubeconfig(
        tmp_path / "inline",
        {
            "client-certificate-data": base64.b64encode(cert.read_bytes()).decode(),
            "client-key-data": base64.b64encode(key.read_bytes()).decode(),
        },
        cluster={"server": "https://127.0.0.1:6443", "insecure-skip-tls-verify": True},
    )
    config = await load_kubeconfig(str(inline))
    assert config.insecure and config.ca_file is None
    assert config.client_cert_file is not None
    assert same_content(config.client_cert_file, cert)  # the data, in a private temp file
    context = config.ssl_context()
    assert context.verify_mode == ssl.CERT_NONE and not context.check_hostname


async def test_username_and_password_are_basic_auth(tmp_path: Path) -> None:
    path = kubeconfig(tmp_path / "config", {"username": "ada", "password": "s3cret"})
    config = await load_kubeconfig(str(path))
    expected = base64.b64encode(b"ada:s3cret").decode()
    assert await header(config) == f"Basic {expected}"


def exec_plugin(tmp_path: Path, lifetime: timedelta) -> tuple[dict[str, Any], Path]:
    """An exec credential plugin that counts its runs and hands out token-<n>."""
    counter = tmp_path / "runs"
    script = tmp_path / "plugin.py"
    script.write_text(
        "import json, pathlib, sys, datetime\n"
        f"counter = pathlib.Path({str(counter)!r})\n"
        "n = int(counter.read_text()) + 1 if counter.exists() else 1\n"
        "counter.write_text(str(n))\n"
        "expires = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta("
        f"seconds={lifetime.total_seconds()})\n"
        "print(json.dumps({'apiVersion': 'client.authentication.k8s.io/v1', "
        "'kind': 'ExecCredential', 'status': {'token': f'token-{n}', "
        "'expirationTimestamp': expires.strftime('%Y-%m-%dT%H:%M:%SZ')}}))\n"
    )
    user = {
        "exec": {
            "apiVersion": "client.authentication.k8s.io/v1",
            "command": sys.executable,
            "args": [str(script)],
            "interactiveMode": "Never",
        }
    }
    return user, counter


async def test_an_exec_plugin_runs_once_and_again_when_its_token_expires(
    tmp_path: Path,
) -> None:
    user, counter = exec_plugin(tmp_path, timedelta(hours=1))
    config = await load_kubeconfig(str(kubeconfig(tmp_path / "config", user)))
    assert isinstance(config.credentials, ExecPlugin)
    assert await header(config) == "Bearer token-1"
    assert await header(config) == "Bearer token-1"  # cached until it expires
    auth = await config.credentials.authorization()
    assert auth is not None and auth.expires_at is not None
    assert auth.expires_at > datetime.now(UTC) + timedelta(minutes=50)
    assert await header(config, refresh=True) == "Bearer token-2"  # e.g. after a 401
    assert counter.read_text() == "2"

    (tmp_path / "short").mkdir()
    short, _ = exec_plugin(tmp_path / "short", timedelta(seconds=5))
    config = await load_kubeconfig(str(kubeconfig(tmp_path / "short" / "config", short)))
    # Expiring within the renewal margin: every use renews it.
    assert await header(config) == "Bearer token-2"
    assert await header(config) == "Bearer token-3"


@pytest.fixture
def service_account(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "serviceaccount"
    folder.mkdir()
    (folder / "token").write_text(jwt({"exp": 4_000_000_000}))
    (folder / "ca.crt").write_text("-----BEGIN CERTIFICATE-----\n")
    (folder / "namespace").write_text("zero-scim\n")
    yield folder


def test_in_cluster(service_account: Path) -> None:
    environ = {"KUBERNETES_SERVICE_HOST": "10.0.0.1", "KUBERNETES_SERVICE_PORT": "443"}
    config = load_incluster(environ, directory=service_account)
    assert config.server == "https://10.0.0.1:443"
    assert config.ca_file == str(service_account / "ca.crt")
    assert config.namespace == "zero-scim" and config.origin == "in-cluster"
    assert isinstance(config.credentials, TokenFile)
    ipv6 = load_incluster(
        {"KUBERNETES_SERVICE_HOST": "fd00::1", "KUBERNETES_SERVICE_PORT": "443"},
        directory=service_account,
    )
    assert ipv6.server == "https://[fd00::1]:443"


async def test_the_in_cluster_token_is_reread_when_the_kubelet_rotates_it(
    service_account: Path,
) -> None:
    environ = {"KUBERNETES_SERVICE_HOST": "10.0.0.1", "KUBERNETES_SERVICE_PORT": "443"}
    config = load_incluster(environ, directory=service_account, check_interval=0.0)
    first = await config.credentials.authorization()
    assert first is not None
    assert first.expires_at == datetime.fromtimestamp(4_000_000_000, UTC)
    rotated = jwt({"exp": 4_000_003_600})
    (service_account / "token.new").write_text(rotated)
    os.replace(service_account / "token.new", service_account / "token")
    assert await header(config) == f"Bearer {rotated}"


def test_in_cluster_needs_its_environment_and_files(service_account: Path) -> None:
    with pytest.raises(ConfigError, match="KUBERNETES_SERVICE_HOST"):
        load_incluster({}, directory=service_account)
    (service_account / "ca.crt").unlink()
    with pytest.raises(ConfigError, match="CA"):
        load_incluster(
            {"KUBERNETES_SERVICE_HOST": "h", "KUBERNETES_SERVICE_PORT": "1"},
            directory=service_account,
        )


async def test_the_order_of_sources(tmp_path: Path) -> None:
    explicit = kubeconfig(tmp_path / "explicit", {"token": "explicit"}, name="explicit")
    env_file = kubeconfig(tmp_path / "env", {"token": "from-env"}, name="env")
    environ = {"KUBECONFIG": str(env_file)}
    assert await header(await load_config(explicit, environ=environ)) == "Bearer explicit"
    assert await header(await load_config(environ=environ)) == "Bearer from-env"
    # In a Pod without a service account token, $KUBECONFIG is the fallback.
    pod = {**environ, "KUBERNETES_SERVICE_HOST": "10.0.0.1", "KUBERNETES_SERVICE_PORT": "443"}
    assert await header(await load_config(environ=pod)) == "Bearer from-env"


async def test_kubeconfig_files_in_the_environment_are_merged_and_a_context_chosen(
    tmp_path: Path,
) -> None:
    first = kubeconfig(tmp_path / "first", {"token": "one"}, name="one")
    second = kubeconfig(tmp_path / "second", {"token": "two"}, name="two")
    environ = {"KUBECONFIG": f"{first}{os.pathsep}{second}"}
    assert await header(await load_config(environ=environ, context="one")) == "Bearer one"
    assert await header(await load_config(environ=environ, context="two")) == "Bearer two"


async def test_unusable_configuration_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        await load_kubeconfig(str(tmp_path / "missing"))
    path = kubeconfig(tmp_path / "config", {"token": "x"})
    with pytest.raises(ConfigError, match="nope"):
        await load_kubeconfig(str(path), context="nope")
    with pytest.raises(ConfigError):
        await load_config(environ={"KUBECONFIG": str(tmp_path / "missing")})
