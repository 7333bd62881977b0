"""Settings of the accounts service, from command-line flags and environment variables.

Org API keys come from three sources, merged: ``--org ORG:KEY`` (repeatable),
``ZERO_ACCOUNTS_ORGS="org:key,org:key"`` and a JSON file (``--keys-file`` /
``ZERO_ACCOUNTS_KEYS_FILE``) mapping org id to a list of keys. They are stored (hashed)
in the database at startup, next to any added through ``POST /admin/orgs``.

Sign-in with Entra (``/sso/*``) is on when Zero's app registration is given: its client
id (``--sso-client-id`` / ``ZERO_ACCOUNTS_SSO_CLIENT_ID``) and secret
(``ZERO_ACCOUNTS_SSO_CLIENT_SECRET``, e.g. from a Kubernetes Secret, or a file:
``--sso-client-secret-file`` / ``ZERO_ACCOUNTS_SSO_CLIENT_SECRET_FILE``; never a flag, which
``ps`` would show). Which Entra tenant signs in to which org is data, not configuration
(``PUT /v1/orgs/{orgId}/sso``).
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from zero_scim_accounts.models import OrgIn
from zero_scim_accounts.sso.settings import DEFAULT_AUTHORITY, SsoSettings, parse_duration

ENV_PREFIX = "ZERO_ACCOUNTS_"
DEFAULT_DB = "zero-accounts.sqlite3"
DEFAULT_PORT = 8090


class ConfigError(ValueError):
    """The configuration cannot be used; the message says why."""


@dataclass(frozen=True)
class Settings:
    db: str = DEFAULT_DB
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    orgs: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    admin_token: str | None = None
    log_level: str = "info"
    access_log: bool = True
    #: Let uvicorn configure logging (the CLI); embedders keep their own.
    configure_logging: bool = True
    #: Sign-in with Entra; ``None``: off.
    sso: SsoSettings | None = None

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Settings:
        pairs = list(args.org or [])
        env_orgs = os.environ.get(f"{ENV_PREFIX}ORGS", "")
        pairs += [p.strip() for p in env_orgs.split(",") if p.strip()]
        orgs = parse_org_pairs(pairs)
        if args.keys_file:
            orgs = merge_orgs(orgs, load_keys_file(Path(args.keys_file)))
        return cls(
            db=args.db,
            host=args.host,
            port=args.port,
            orgs=orgs,
            admin_token=args.admin_token or None,
            log_level=args.log_level,
            access_log=not args.no_access_log,
            sso=sso_from_args(args),
        )


def sso_from_args(args: argparse.Namespace) -> SsoSettings | None:
    client_id = (args.sso_client_id or "").strip()
    secret = os.environ.get(f"{ENV_PREFIX}SSO_CLIENT_SECRET", "").strip()
    if args.sso_client_secret_file:
        try:
            secret = Path(args.sso_client_secret_file).read_text().strip()
        except OSError as exc:
            raise ConfigError(f"cannot read the SSO client secret: {exc}") from exc
    if not client_id and not secret:
        return None
    if not client_id or not secret:
        raise ConfigError("single sign-on needs both a client id and a client secret")
    cookies = {"auto": None, "always": True, "never": False}[args.cookie_secure]
    try:
        return SsoSettings(
            client_id=client_id,
            client_secret=secret,
            authority=args.sso_authority,
            public_url=args.public_url or None,
            secure_cookies=cookies,
            session_idle=parse_duration(args.session_idle),
            session_lifetime=parse_duration(args.session_lifetime),
        )
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


def parse_org_pairs(pairs: Iterable[str]) -> dict[str, tuple[str, ...]]:
    orgs: dict[str, tuple[str, ...]] = {}
    for pair in pairs:
        org_id, sep, key = pair.partition(":")
        if not sep or not org_id or not key:
            raise ConfigError(f"expected ORG:KEY, got {pair!r}")
        orgs = merge_orgs(orgs, {org_id: (key,)})
    return _validated(orgs)


def load_keys_file(path: Path) -> dict[str, tuple[str, ...]]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read keys file {path}: {exc}") from exc
    if not isinstance(data, dict) or not all(
        isinstance(keys, list) and all(isinstance(k, str) for k in keys) for keys in data.values()
    ):
        raise ConfigError(f"{path}: expected a JSON object of org id -> list of key strings")
    return _validated({str(org): tuple(keys) for org, keys in data.items()})


def merge_orgs(
    a: Mapping[str, tuple[str, ...]], b: Mapping[str, tuple[str, ...]]
) -> dict[str, tuple[str, ...]]:
    merged = dict(a)
    for org_id, keys in b.items():
        merged[org_id] = tuple(dict.fromkeys((*merged.get(org_id, ()), *keys)))
    return merged


def _validated(orgs: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
    for org_id, keys in orgs.items():
        try:
            OrgIn(id=org_id, keys=list(keys))
        except ValidationError as exc:
            raise ConfigError(f"org {org_id!r}: {exc.errors()[0]['msg']}") from None
    return orgs


def add_arguments(parser: argparse.ArgumentParser) -> None:
    env = os.environ.get
    parser.add_argument(
        "--host", default=env(f"{ENV_PREFIX}HOST", "127.0.0.1"), help="bind address"
    )
    parser.add_argument(
        "--port",
        type=int,
        default=int(env(f"{ENV_PREFIX}PORT", str(DEFAULT_PORT))),
        help="TCP port; 0 picks a free one (default %(default)s)",
    )
    parser.add_argument(
        "--db",
        default=env(f"{ENV_PREFIX}DB", DEFAULT_DB),
        help="SQLite database file, created if missing; ':memory:' for a throw-away one",
    )
    parser.add_argument(
        "--org",
        action="append",
        metavar="ORG:KEY",
        help="grant KEY access to ORG (creating ORG); repeatable; also $ZERO_ACCOUNTS_ORGS",
    )
    parser.add_argument(
        "--keys-file",
        default=env(f"{ENV_PREFIX}KEYS_FILE"),
        help='JSON file {"org": ["key", ...]}; also $ZERO_ACCOUNTS_KEYS_FILE',
    )
    parser.add_argument(
        "--admin-token",
        default=env(f"{ENV_PREFIX}ADMIN_TOKEN"),
        help="bearer token for /admin/* (disabled when unset); prefer $ZERO_ACCOUNTS_ADMIN_TOKEN",
    )
    parser.add_argument(
        "--log-level",
        default=env(f"{ENV_PREFIX}LOG_LEVEL", "info"),
        choices=["critical", "error", "warning", "info", "debug"],
    )
    parser.add_argument("--no-access-log", action="store_true", help="do not log each request")
    sso = parser.add_argument_group("single sign-on (Entra ID, OpenID Connect)")
    sso.add_argument(
        "--public-url",
        default=env(f"{ENV_PREFIX}PUBLIC_URL"),
        help="where people reach this service (redirect URI <url>/sso/callback); "
        "default: the address it listens on",
    )
    sso.add_argument(
        "--sso-client-id",
        default=env(f"{ENV_PREFIX}SSO_CLIENT_ID"),
        help="Zero's app (client) id; sign-in is off without it",
    )
    sso.add_argument(
        "--sso-client-secret-file",
        default=env(f"{ENV_PREFIX}SSO_CLIENT_SECRET_FILE"),
        help="file holding the client secret (or set $ZERO_ACCOUNTS_SSO_CLIENT_SECRET)",
    )
    sso.add_argument(
        "--sso-authority",
        default=env(f"{ENV_PREFIX}SSO_AUTHORITY", DEFAULT_AUTHORITY),
        help="OpenID issuer base, its discovery at <authority>/.well-known/openid-configuration "
        "(default %(default)s)",
    )
    sso.add_argument(
        "--cookie-secure",
        choices=["auto", "always", "never"],
        default=env(f"{ENV_PREFIX}COOKIE_SECURE", "auto"),
        help="the Secure cookie flag; auto: when the public URL is https (default %(default)s)",
    )
    sso.add_argument(
        "--session-idle",
        default=env(f"{ENV_PREFIX}SESSION_IDLE", "1h"),
        help="a session ends after this long without a request (default %(default)s)",
    )
    sso.add_argument(
        "--session-lifetime",
        default=env(f"{ENV_PREFIX}SESSION_LIFETIME", "8h"),
        help="a session ends this long after sign-in (default %(default)s)",
    )
