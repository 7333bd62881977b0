"""The relying party's configuration: Zero's one Entra app, cookies and lifetimes."""

from __future__ import annotations

import re
from dataclasses import dataclass

#: Entra's multi-tenant authority for work and school accounts (the OIDC gallery model).
DEFAULT_AUTHORITY = "https://login.microsoftonline.com/organizations/v2.0"
CALLBACK_PATH = "/sso/callback"

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration(value: str) -> float:
    """Seconds from ``90``, ``90s``, ``30m``, ``8h``, ``1d`` or ``250ms``."""
    match = _DURATION.match(value.strip())
    if match is None:
        raise ValueError(f"not a duration: {value!r} (examples: 90s, 30m, 8h)")
    return float(match.group(1)) * _UNITS[match.group(2) or "s"]


@dataclass(frozen=True)
class SsoSettings:
    """Zero's app registration and the rules of its sessions.

    ``authority``: the OpenID issuer base whose ``/.well-known/openid-configuration`` is
    read (Entra's ``organizations`` endpoint names the issuer
    ``https://login.microsoftonline.com/{tenantid}/v2.0``; any OIDC issuer works).
    ``public_url``: where people reach this service (the redirect URI is
    ``<public_url>/sso/callback``); ``None``: the address it listens on.
    ``secure_cookies``: ``None`` sets ``Secure`` exactly when ``public_url`` is https.
    """

    client_id: str
    client_secret: str
    authority: str = DEFAULT_AUTHORITY
    public_url: str | None = None
    secure_cookies: bool | None = None
    #: A session ends after this long without a request ...
    session_idle: float = 3600.0
    #: ... and this long after sign-in, whatever happens.
    session_lifetime: float = 8 * 3600.0
    #: How long a started sign-in may take (the state, nonce and PKCE verifier live this long).
    transaction_ttl: float = 600.0
    #: Allowed clock difference for ``exp``/``iat``/``nbf``.
    clock_skew: float = 60.0
    #: Oldest ``iat`` accepted (the token comes straight from the code exchange).
    max_token_age: float = 600.0
    #: Least time between two JWKS fetches caused by unknown ``kid`` values.
    jwks_refetch_interval: float = 30.0
    #: JWKS and discovery are re-read after this long even when nothing is unknown.
    metadata_ttl: float = 3600.0
    http_timeout: float = 10.0

    def __post_init__(self) -> None:
        if not self.client_id or not self.client_secret:
            raise ValueError("SSO needs a client id and a client secret")
        if self.session_idle <= 0 or self.session_lifetime <= 0:
            raise ValueError("session lifetimes must be positive")
