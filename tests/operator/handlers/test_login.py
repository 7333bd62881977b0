"""Kopf logs in with the operator's own configuration (pure: no API server)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from zero_scim.kube.config import Authorization, KubeConfig, NoCredentials, StaticCredentials
from zero_scim_operator.handlers.login import connection_info

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def config(auth: Authorization | None) -> KubeConfig:
    return KubeConfig(
        server="https://127.0.0.1:6443",
        credentials=StaticCredentials(auth) if auth is not None else NoCredentials(),
        ca_file="/pki/ca.crt",
        client_cert_file="/pki/client.crt",
        client_key_file="/pki/client.key",
        insecure=False,
        namespace="zero-scim",
    )


async def test_the_connection_is_the_configuration() -> None:
    info = await connection_info(config(Authorization("Bearer", "abc")), NOW)
    assert (info.server, info.ca_path, info.insecure) == (
        "https://127.0.0.1:6443",
        "/pki/ca.crt",
        False,
    )
    assert (info.scheme, info.token) == ("Bearer", "abc")
    assert (info.certificate_path, info.private_key_path) == ("/pki/client.crt", "/pki/client.key")
    assert info.as_http_headers() == {"Authorization": "Bearer abc"}
    assert info.default_namespace is None  # tenants' Events go to "default" (docs/operations.md)
    assert info.expiration is None


async def test_basic_auth_and_certificates_only() -> None:
    basic = await connection_info(config(Authorization("Basic", "YWRhOnB3")), NOW)
    assert basic.as_http_headers() == {"Authorization": "Basic YWRhOnB3"}
    certificate = await connection_info(config(None), NOW)
    assert certificate.as_http_headers() == {} and certificate.certificate_path


async def test_kopf_logs_in_again_before_the_token_expires_but_never_in_a_loop() -> None:
    later = NOW + timedelta(hours=1)
    info = await connection_info(config(Authorization("Bearer", "t", later)), NOW)
    assert info.expiration == later
    soon = NOW + timedelta(seconds=20)  # about to expire (or expired): a 401 renews it
    info = await connection_info(config(Authorization("Bearer", "t", soon)), NOW)
    assert info.expiration is None
