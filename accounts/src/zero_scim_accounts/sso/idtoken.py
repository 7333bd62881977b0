"""ID-token validation: what may be believed about who signed in.

Two steps, so that the key is looked up only for a token of the one accepted algorithm:
:func:`signing_key_id` reads the (unverified) header and refuses anything but RS256 with
a ``kid``; :func:`verify` checks the signature with that key (joserfc) and every claim
Zero relies on:

- ``iss`` equals the provider's issuer with the token's own ``tid`` in place of
  ``{tenantid}`` (Entra's multi-tenant issuer template); a tenant-specific issuer must
  match as is and name the token's ``tid`` (Entra: ``<instance>/<tid>/v2.0``);
- ``aud`` is Zero's client id (with ``azp`` naming it when there are several audiences);
- ``nonce`` is the one this sign-in sent;
- ``exp`` is in the future and ``iat`` neither in the future nor older than allowed, each
  within a small skew; ``nbf`` if present;
- ``tid`` and ``oid`` are GUIDs (``oid`` is the immutable key of the person; mutable
  claims such as ``preferred_username`` or ``email`` never decide access).

Whether that ``tid`` may sign in to the org is the sign-in's business, not the token's.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import re
from dataclasses import dataclass
from typing import Any

from joserfc import jws, jwt
from joserfc.errors import (
    BadSignatureError,
    ExpiredTokenError,
    InvalidClaimError,
    JoseError,
    MissingClaimError,
)
from joserfc.jwk import RSAKey
from joserfc.jwt import JWTClaimsRegistry

from zero_scim_accounts.jsontypes import JsonObject

ALGORITHM = "RS256"
TENANT_PLACEHOLDER = "{tenantid}"
MIN_RSA_BITS = 2048
MAX_TOKEN_BYTES = 16 * 1024
_GUID = re.compile(r"^[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")


class InvalidIdToken(Exception):
    """The ID token must not be accepted; the message says why (for logs, not people)."""


@dataclass(frozen=True, slots=True)
class Identity:
    """Who the identity provider vouches for, from a validated ID token."""

    issuer: str
    tenant_id: str
    object_id: str
    #: ``preferred_username`` (Entra: the UPN): used once, to link by SCIM userName.
    username: str | None
    email: str | None
    name: str | None


@dataclass(frozen=True, slots=True)
class Expected:
    """What this sign-in expects of its ID token."""

    client_id: str
    #: The provider's ``issuer``, possibly containing ``{tenantid}``.
    issuer: str
    nonce: str
    now: float
    skew: float
    max_age: float


def signing_key_id(token: str) -> str:
    """The ``kid`` of an RS256 token; any other algorithm (``none``, HS256, ...) is refused."""
    if len(token) > MAX_TOKEN_BYTES:
        raise InvalidIdToken("the ID token is too large")
    try:
        header = jws.extract_compact(token.encode("ascii")).headers()
    except (JoseError, ValueError, UnicodeError) as exc:
        raise InvalidIdToken(f"the ID token is not a compact JWS: {exc}") from None
    alg = header.get("alg")
    if alg != ALGORITHM:
        raise InvalidIdToken(f"ID token algorithm {alg!r} is not accepted (only {ALGORITHM})")
    if "crit" in header:
        raise InvalidIdToken("ID token header has critical extensions")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise InvalidIdToken("the ID token names no signing key (kid)")
    return kid


def signing_key(jwk: Any) -> RSAKey | None:
    """The key of a JWKS entry Zero accepts ID tokens from, or ``None``.

    Only public RSA keys of at least 2048 bits, meant for signatures with RS256 (``use``
    and ``alg`` absent or saying so); anything else in the set is ignored.
    """
    if not isinstance(jwk, dict) or jwk.get("kty") != "RSA" or "d" in jwk:
        return None
    if jwk.get("use", "sig") != "sig" or jwk.get("alg", ALGORITHM) != ALGORITHM:
        return None
    modulus = jwk.get("n")
    if not isinstance(modulus, str) or _bits(modulus) < MIN_RSA_BITS:
        return None
    try:
        return RSAKey.import_key({k: v for k, v in jwk.items() if k in ("kty", "n", "e")})
    except (JoseError, ValueError, TypeError):
        return None


def _bits(b64url: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(b64url + "=" * (-len(b64url) % 4))
    except (ValueError, binascii.Error):
        return 0
    return int.from_bytes(raw, "big").bit_length()


def verify(token: str, key: RSAKey, expected: Expected) -> Identity:
    """Check the signature with ``key`` and every claim (else :class:`InvalidIdToken`)."""
    try:
        claims = jwt.decode(token, key, algorithms=[ALGORITHM]).claims
    except BadSignatureError:
        raise InvalidIdToken("the ID token's signature does not verify") from None
    except (JoseError, ValueError) as exc:
        raise InvalidIdToken(f"the ID token cannot be decoded: {exc}") from None
    tenant_id = _guid(claims, "tid")
    object_id = _guid(claims, "oid")
    issuer = expected.issuer.replace(TENANT_PLACEHOLDER, tenant_id)
    if f"/{tenant_id}/" not in issuer.lower() + "/":
        # A tenant-specific authority: its issuer names one tenant, which must be the tid's.
        raise InvalidIdToken("the ID token's tid is not the issuer's tenant")
    registry = JWTClaimsRegistry(
        now=int(expected.now),
        leeway=int(expected.skew),
        iss={"essential": True, "value": issuer},
        aud={"essential": True, "value": expected.client_id},
        exp={"essential": True},
        iat={"essential": True},
        nonce={"essential": True},
    )
    try:
        registry.validate(claims)
    except ExpiredTokenError:
        raise InvalidIdToken("the ID token has expired") from None
    except MissingClaimError as exc:
        raise InvalidIdToken(f"the ID token lacks {exc.claim}") from None
    except InvalidClaimError as exc:
        raise InvalidIdToken(f"the ID token's {exc.claim} is not valid") from None
    _check_audience(claims, expected.client_id)
    if claims["iat"] < expected.now - expected.max_age - expected.skew:
        raise InvalidIdToken("the ID token was issued too long ago")
    nonce = claims["nonce"]
    if not isinstance(nonce, str) or not hmac.compare_digest(nonce, expected.nonce):
        raise InvalidIdToken("the ID token's nonce is not this sign-in's")
    return Identity(
        issuer=issuer,
        tenant_id=tenant_id,
        object_id=object_id,
        username=_text(claims.get("preferred_username")),
        email=_text(claims.get("email")),
        name=_text(claims.get("name")),
    )


def _guid(claims: JsonObject, name: str) -> str:
    value = claims.get(name)
    if not isinstance(value, str) or not _GUID.match(value):
        raise InvalidIdToken(f"the ID token's {name} is missing or not a GUID")
    return value.lower()


def _check_audience(claims: JsonObject, client_id: str) -> None:
    audience = claims["aud"]
    several = isinstance(audience, list) and audience != [client_id]
    if several and claims.get("azp") != client_id:
        raise InvalidIdToken("the ID token has several audiences and azp is not Zero")


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
