"""The identity provider over HTTP: discovery, signing keys and the code exchange.

:class:`OpenIdProvider` reads ``<authority>/.well-known/openid-configuration`` once (and
again after ``metadata_ttl``), keeps the provider's JWKS in memory and fetches it again
when a token names a ``kid`` it does not know (key rotation) -- but no more often than
``jwks_refetch_interval`` for unknown ids, so tokens with made-up ``kid`` values cannot
make Zero hammer the provider. Endpoints must be https, except on loopback (tests, the
local identity provider of ``zero-scim dev``).

Failures are :class:`ProviderError` (unreachable, malformed answers: a 502 for the person)
or :class:`CodeRefused` (the token endpoint said no, e.g. ``invalid_grant``).
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
from joserfc.jwk import RSAKey

from zero_scim_accounts.jsontypes import JsonObject
from zero_scim_accounts.sso.idtoken import signing_key
from zero_scim_accounts.sso.settings import SsoSettings

logger = logging.getLogger(__name__)

DISCOVERY = "/.well-known/openid-configuration"
MAX_DOCUMENT = 256 * 1024


class ProviderError(Exception):
    """The identity provider could not be used (unreachable, or an answer Zero cannot use)."""


class CodeRefused(ProviderError):
    """The token endpoint refused the authorization code; ``error`` is its OAuth error code."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(f"{error}: {description}" if description else error)
        self.error = error


@dataclass(frozen=True, slots=True)
class Metadata:
    """The parts of the discovery document Zero uses."""

    #: May contain ``{tenantid}`` (Entra's organizations/common endpoints).
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str


def is_loopback(host: str | None) -> bool:
    if host is None:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_endpoint(url: str, what: str) -> str:
    """``url`` if it is https (or http on loopback); else :class:`ProviderError`."""
    parts = urlsplit(url)
    secure = parts.scheme == "https" or (parts.scheme == "http" and is_loopback(parts.hostname))
    if not secure or not parts.netloc:
        raise ProviderError(f"the provider's {what} {url!r} is not an https URL")
    return url


class OpenIdProvider:
    """One authority's metadata, keys and token endpoint, shared by every sign-in."""

    def __init__(
        self,
        settings: SsoSettings,
        *,
        http: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._settings = settings
        self._authority = check_endpoint(settings.authority.rstrip("/"), "authority")
        self._http = http or httpx.AsyncClient(
            timeout=settings.http_timeout,
            follow_redirects=False,
            headers={"Accept": "application/json", "User-Agent": "zero-accounts-sso"},
        )
        self._clock = clock
        self._lock = asyncio.Lock()
        self._metadata: Metadata | None = None
        self._metadata_at = 0.0
        self._keys: dict[str, RSAKey] = {}
        self._keys_at: float | None = None
        self._refetched_at: float | None = None

    async def aclose(self) -> None:
        await self._http.aclose()

    async def metadata(self) -> Metadata:
        async with self._lock:
            return await self._current_metadata()

    async def key(self, kid: str) -> RSAKey | None:
        """The signing key ``kid``: from the cached JWKS, else from a fresh one (rate-limited)."""
        async with self._lock:
            now = self._clock()
            stale = self._keys_at is None or now - self._keys_at >= self._settings.metadata_ttl
            if stale:
                await self._fetch_keys()
            elif kid not in self._keys:
                recent = self._refetched_at is not None and (
                    now - self._refetched_at < self._settings.jwks_refetch_interval
                )
                if recent:
                    logger.info("unknown signing key %r; JWKS fetched moments ago", kid)
                    return None
                self._refetched_at = now
                logger.info("unknown signing key %r: fetching the provider's JWKS again", kid)
                await self._fetch_keys()
            return self._keys.get(kid)

    async def exchange(self, code: str, code_verifier: str, redirect_uri: str) -> str:
        """Redeem the code at the token endpoint (client_secret_post); the raw ID token."""
        metadata = await self.metadata()
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "client_id": self._settings.client_id,
            "client_secret": self._settings.client_secret,
            "code_verifier": code_verifier,
        }
        try:
            response = await self._http.post(metadata.token_endpoint, data=form)
        except httpx.HTTPError as exc:
            raise ProviderError(f"token endpoint unreachable: {type(exc).__name__}") from exc
        body = _json(response)
        if response.status_code in (400, 401) and isinstance(body, dict):
            error = body.get("error")
            description = body.get("error_description")
            raise CodeRefused(
                error if isinstance(error, str) else "invalid_request",
                description if isinstance(description, str) else "",
            )
        if response.status_code != 200 or not isinstance(body, dict):
            raise ProviderError(f"token endpoint answered {response.status_code}")
        id_token = body.get("id_token")
        if not isinstance(id_token, str) or not id_token:
            raise ProviderError("the token response has no id_token")
        return id_token

    # -- plumbing ------------------------------------------------------------------------

    async def _current_metadata(self) -> Metadata:
        now = self._clock()
        if self._metadata is not None and now - self._metadata_at < self._settings.metadata_ttl:
            return self._metadata
        document = await self._get(self._authority + DISCOVERY, "discovery document")
        try:
            metadata = Metadata(
                issuer=_field(document, "issuer"),
                authorization_endpoint=check_endpoint(
                    _field(document, "authorization_endpoint"), "authorization endpoint"
                ),
                token_endpoint=check_endpoint(_field(document, "token_endpoint"), "token endpoint"),
                jwks_uri=check_endpoint(_field(document, "jwks_uri"), "jwks_uri"),
            )
        except ValueError as exc:
            raise ProviderError(f"discovery document: {exc}") from None
        issuer = urlsplit(metadata.issuer)
        authority = urlsplit(self._authority)
        if (issuer.scheme, issuer.netloc) != (authority.scheme, authority.netloc):
            raise ProviderError(f"the issuer {metadata.issuer!r} is not at the authority's host")
        self._metadata, self._metadata_at = metadata, now
        return metadata

    async def _fetch_keys(self) -> None:
        metadata = await self._current_metadata()
        document = await self._get(metadata.jwks_uri, "JWKS")
        entries = document.get("keys")
        if not isinstance(entries, list):
            raise ProviderError("the JWKS has no keys list")
        keys: dict[str, RSAKey] = {}
        for entry in entries:
            key = signing_key(entry)
            kid = entry.get("kid") if isinstance(entry, dict) else None
            if key is not None and isinstance(kid, str) and kid:
                keys[kid] = key
        self._keys, self._keys_at = keys, self._clock()

    async def _get(self, url: str, what: str) -> JsonObject:
        try:
            response = await self._http.get(url)
        except httpx.HTTPError as exc:
            raise ProviderError(f"{what} unreachable: {type(exc).__name__}") from exc
        body = _json(response)
        if response.status_code != 200 or not isinstance(body, dict):
            raise ProviderError(f"{what} at {url} answered {response.status_code}")
        return body


def _json(response: httpx.Response) -> Any:
    if len(response.content) > MAX_DOCUMENT:
        return None
    try:
        return response.json()
    except ValueError:
        return None


def _field(document: JsonObject, name: str) -> str:
    value = document.get(name)
    if not isinstance(value, str) or not value:
        raise ValueError(f"{name} is missing")
    return value
