"""The tenant token Secret: its format, and how a presented bearer token is checked.

One Secret per tenant, in the tenant's namespace, named ``zero-scim-token`` and labelled
``zeroscim.io/token: "true"`` and ``zeroscim.io/tenant: <tenant>``::

    data:
      token:                   the current bearer token (what the Entra admin pastes)
      previousToken:           optional: the token before the last rotation
      previousTokenExpiresAt:  optional: RFC 3339 time after which previousToken is refused
    metadata.annotations:
      zeroscim.io/rotated-at:  RFC 3339 time of the last rotation (written by the operator)
      zeroscim.io/rotation-request:  the value of the tenant's ``zeroscim.io/rotate-token``
                               annotation that the last rotation answered (operator)

The operator creates and rotates it; the API only reads it, by name (its RBAC grants
Secrets of that one name, nothing else). The API keeps SHA-256 digests, never the
plaintext, and compares digests in constant time (``secrets.compare_digest``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from zero_scim.kube.coordinates import LABEL_TENANT, LABEL_TOKEN
from zero_scim.kube.objects import Secret

SECRET_NAME = "zero-scim-token"  # noqa: S105 (a name, not a secret)
KEY_TOKEN = "token"  # noqa: S105
KEY_PREVIOUS = "previousToken"
KEY_PREVIOUS_EXPIRES = "previousTokenExpiresAt"
ANNOTATION_ROTATED_AT = "zeroscim.io/rotated-at"
ANNOTATION_ROTATION_REQUEST = "zeroscim.io/rotation-request"
TOKEN_PREFIX = "zscim_"  # noqa: S105 (lets secret scanners recognise a leaked token)


def new_token() -> str:
    """A fresh token: 32 random bytes (256 bits), URL-safe, with a recognisable prefix."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def digest(token: str | bytes) -> bytes:
    raw = token.encode("utf-8") if isinstance(token, str) else token
    return hashlib.sha256(raw).digest()


def parse_time(value: str) -> datetime:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def format_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class TokenDigests:
    """What the API keeps of a tenant's Secret: digests and the previous token's expiry."""

    current: bytes | None
    previous: bytes | None
    previous_expires_at: datetime | None

    def accepts(self, presented: bytes, now: datetime) -> bool:
        """Constant-time check of a presented token's digest against both slots."""
        ok = False
        if self.current is not None:
            ok |= secrets.compare_digest(self.current, presented)
        if self.previous is not None:
            fresh = self.previous_expires_at is None or now < self.previous_expires_at
            ok |= secrets.compare_digest(self.previous, presented) and fresh
        return ok


def _decode(data: dict[str, str], key: str) -> bytes | None:
    value = data.get(key)
    if not value:
        return None
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None


def digests_from_secret_data(data: dict[str, str] | None) -> TokenDigests:
    """Digest a Secret's base64 ``data``; the decoded plaintext does not outlive this call."""
    data = data or {}
    current = _decode(data, KEY_TOKEN)
    previous = _decode(data, KEY_PREVIOUS)
    expires_raw = _decode(data, KEY_PREVIOUS_EXPIRES)
    expires: datetime | None = None
    if expires_raw:
        try:
            expires = parse_time(expires_raw.decode("utf-8").strip())
        except ValueError:
            expires = datetime.min.replace(tzinfo=UTC)  # unreadable expiry: refuse previous
    return TokenDigests(
        current=digest(current.strip()) if current and current.strip() else None,
        previous=digest(previous.strip()) if previous and previous.strip() else None,
        previous_expires_at=expires,
    )


def secret_data(
    current: str, previous: str | None = None, previous_expires_at: datetime | None = None
) -> dict[str, str]:
    """The ``stringData`` of a token Secret (for the operator and tests)."""
    data = {KEY_TOKEN: current}
    if previous:
        data[KEY_PREVIOUS] = previous
        if previous_expires_at is not None:
            data[KEY_PREVIOUS_EXPIRES] = format_time(previous_expires_at)
    return data


def secret_manifest(
    tenant: str,
    current: str,
    previous: str | None = None,
    previous_expires_at: datetime | None = None,
) -> Secret:
    """A token Secret as the operator writes it (for tests, benchmarks and tools)."""
    return {
        "metadata": {
            "name": SECRET_NAME,
            "labels": {LABEL_TOKEN: "true", LABEL_TENANT: tenant},
        },
        "type": "Opaque",
        "stringData": secret_data(current, previous, previous_expires_at),
    }
