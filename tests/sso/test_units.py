"""Pure units of sign-in: ID-token checks the provider never gets wrong on its own,
durations, configuration, and the database migration that adds sign-in."""

from __future__ import annotations

import argparse
import base64
import json
import sqlite3
import uuid
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from joserfc import jws, jwt
from joserfc.jwk import OctKey, RSAKey

from zero_scim_accounts import config
from zero_scim_accounts.sso.idtoken import (
    Expected,
    InvalidIdToken,
    signing_key,
    signing_key_id,
    verify,
)
from zero_scim_accounts.sso.settings import DEFAULT_AUTHORITY, parse_duration
from zero_scim_accounts.store import SCHEMA_VERSION, Store

KEY = RSAKey.generate_key(2048, parameters={"kid": "k1"})
TENANT = str(uuid.uuid4())
ISSUER = "https://login.example/{tenantid}/v2.0"
NOW = 1_800_000_000.0


def claims(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "iss": f"https://login.example/{TENANT}/v2.0",
        "aud": "zero",
        "iat": int(NOW) - 5,
        "exp": int(NOW) + 3600,
        "nonce": "n-1",
        "tid": TENANT,
        "oid": str(uuid.uuid4()),
        "preferred_username": "ada@contoso.example",
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def token(payload: dict[str, Any], header: dict[str, Any] | None = None) -> str:
    return jwt.encode(header or {"alg": "RS256", "kid": "k1"}, payload, KEY)


def expected(**changes: Any) -> Expected:
    values: dict[str, Any] = {
        "client_id": "zero",
        "issuer": ISSUER,
        "nonce": "n-1",
        "now": NOW,
        "skew": 60.0,
        "max_age": 600.0,
    }
    values.update(changes)
    return Expected(**values)


def test_a_good_token_yields_the_identity() -> None:
    oid = str(uuid.uuid4()).upper()
    identity = verify(token(claims(oid=oid)), KEY, expected())
    assert identity.tenant_id == TENANT and identity.object_id == oid.lower()
    assert identity.issuer == f"https://login.example/{TENANT}/v2.0"
    assert identity.username == "ada@contoso.example"


@pytest.mark.parametrize(
    ("payload", "why"),
    [
        (claims(oid=None), "oid is missing"),
        (claims(tid="contoso"), "tid is missing or not a GUID"),
        (claims(nonce=None), "lacks nonce"),
        (claims(exp=None), "lacks exp"),
        (claims(iat=int(NOW) - 3600), "issued too long ago"),
        (claims(exp=int(NOW) - 61), "has expired"),
        (claims(aud=["zero", "other"]), "several audiences"),
        (claims(aud=["zero", "other"], azp="other"), "several audiences"),
        (claims(nbf=int(NOW) + 3600), "nbf is not valid"),
        (claims(iss="https://login.example/organizations/v2.0"), "iss is not valid"),
    ],
)
def test_claims_zero_refuses(payload: dict[str, Any], why: str) -> None:
    with pytest.raises(InvalidIdToken, match=why):
        verify(token(payload), KEY, expected())


def test_small_clock_skew_is_tolerated() -> None:
    verify(token(claims(exp=int(NOW) - 30, iat=int(NOW) + 30)), KEY, expected())
    verify(token(claims(aud=["zero", "other"], azp="zero")), KEY, expected())


def test_a_plain_issuer_must_match_as_is() -> None:
    plain = expected(issuer=f"https://login.example/{TENANT}/v2.0")
    verify(token(claims()), KEY, plain)
    other = str(uuid.uuid4())
    with pytest.raises(InvalidIdToken, match="tid is not the issuer's tenant"):
        verify(token(claims(tid=other)), KEY, plain)
    elsewhere = expected(issuer="https://login.example/organizations/v2.0")
    with pytest.raises(InvalidIdToken, match="tid is not the issuer's tenant"):
        verify(token(claims(iss="https://login.example/organizations/v2.0")), KEY, elsewhere)


def test_only_rs256_with_a_kid_reaches_key_lookup() -> None:
    assert signing_key_id(token(claims())) == "k1"
    secret = OctKey.generate_key(256)
    for alg in ("HS256", "PS256"):
        key = secret if alg.startswith("HS") else KEY
        forged = jws.serialize_compact(
            {"alg": alg, "kid": "k1"}, json.dumps(claims()), key, algorithms=[alg]
        )
        with pytest.raises(InvalidIdToken, match=f"algorithm '{alg}'"):
            signing_key_id(forged)
    with pytest.raises(InvalidIdToken, match="names no signing key"):
        signing_key_id(token(claims(), {"alg": "RS256"}))
    with pytest.raises(InvalidIdToken, match="not a compact JWS"):
        signing_key_id("not.a-token")
    with pytest.raises(InvalidIdToken, match="too large"):
        signing_key_id("a" * 20_000)


def test_jwks_entries_zero_accepts() -> None:
    public = KEY.as_dict(private=False)
    assert signing_key({**public, "use": "sig", "alg": "RS256"}) is not None
    assert signing_key({**public, "use": "enc"}) is None
    assert signing_key({**public, "alg": "RS512"}) is None
    assert signing_key(KEY.as_dict(private=True)) is None  # a private key is never "published"
    weak_private = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505
    weak = weak_private.public_key()
    n = weak.public_numbers().n.to_bytes(128, "big")
    small = {**public, "n": base64.urlsafe_b64encode(n).rstrip(b"=").decode()}
    assert signing_key(small) is None  # < 2048 bits
    assert signing_key({"kty": "oct", "k": "c2VjcmV0"}) is None
    assert signing_key("nonsense") is None


def test_durations() -> None:
    assert parse_duration("90") == 90.0 and parse_duration("30m") == 1800.0
    assert parse_duration("8h") == 28800.0 and parse_duration("250ms") == 0.25
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration("soon")


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    config.add_arguments(parser)
    return parser.parse_args(list(argv))


def test_sign_in_configuration(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SSO_CLIENT_ID", "SSO_CLIENT_SECRET", "SSO_CLIENT_SECRET_FILE", "SSO_AUTHORITY"):
        monkeypatch.delenv(f"ZERO_ACCOUNTS_{name}", raising=False)
    assert config.Settings.from_args(_args()).sso is None  # off unless configured
    secret_file = tmp_path / "secret"
    secret_file.write_text("s3cret-from-a-file\n")
    settings = config.Settings.from_args(
        _args("--sso-client-id", "zero", "--sso-client-secret-file", str(secret_file))
    ).sso
    assert settings is not None and settings.client_secret == "s3cret-from-a-file"
    assert settings.authority == DEFAULT_AUTHORITY
    assert settings.session_idle == 3600 and settings.session_lifetime == 8 * 3600
    assert settings.secure_cookies is None

    monkeypatch.setenv("ZERO_ACCOUNTS_SSO_CLIENT_SECRET", "from-env")
    env_only = config.Settings.from_args(
        _args("--sso-client-id", "zero", "--cookie-secure", "never", "--session-idle", "5m")
    ).sso
    assert env_only is not None and env_only.client_secret == "from-env"
    assert env_only.secure_cookies is False and env_only.session_idle == 300
    with pytest.raises(config.ConfigError, match="both a client id and a client secret"):
        config.Settings.from_args(_args())
    with pytest.raises(config.ConfigError, match="not a duration"):
        config.Settings.from_args(_args("--sso-client-id", "zero", "--session-idle", "ever"))


def test_a_version_1_database_gains_sign_in(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as conn:  # the schema as version 1 created it
        conn.executescript(
            """
            CREATE TABLE orgs (id TEXT PRIMARY KEY, created_at TEXT NOT NULL) WITHOUT ROWID;
            CREATE TABLE accounts (
                org_id TEXT NOT NULL REFERENCES orgs(id), external_key TEXT NOT NULL,
                id TEXT NOT NULL UNIQUE, email_norm TEXT, enabled INTEGER NOT NULL,
                profile TEXT NOT NULL, version INTEGER NOT NULL, created_at TEXT NOT NULL,
                updated_at TEXT NOT NULL, PRIMARY KEY (org_id, external_key)) WITHOUT ROWID;
            INSERT INTO orgs VALUES ('acme', '2026-01-01T00:00:00Z');
            INSERT INTO accounts VALUES ('acme', 'k1', 'acc_1', NULL, 1,
                '{"userName":"Ada@Example.com"}', 1, '2026-01-01T00:00:00Z',
                '2026-01-01T00:00:00Z');
            PRAGMA user_version=1;
            """
        )
    store = Store.open(path)
    try:
        row = store.connection.execute(
            "SELECT user_name_norm FROM accounts WHERE external_key = 'k1'"
        ).fetchone()
        assert row["user_name_norm"] == "ada@example.com"
        assert store.connection.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        tables = {
            r["name"]
            for r in store.connection.execute("SELECT name FROM sqlite_master WHERE type='table'")
        }
        assert {"org_sso", "sso_sessions", "sso_identities", "sso_transactions"} <= tables
        record = store.get_account("acme", "k1")
        assert record is not None and record.profile["userName"] == "Ada@Example.com"
    finally:
        store.close()
