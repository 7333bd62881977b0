"""Signing in to Zero: start, callback, the current session, sign-out.

``start(org)``: a short-lived server-side transaction keyed by the SHA-256 of a random
``state`` holds the org, the ``nonce`` and the PKCE verifier, and is bound to the browser
by a random value in a cookie (only its digest is stored). The person is sent to the
provider's authorization endpoint (code flow, S256, ``openid profile email``).

``finish(callback)``: the transaction is taken (once), the browser binding compared, the
code recorded as redeemed (a second use is refused without asking the provider), then
exchanged; the ID token is validated (:mod:`.idtoken`) and resolved to an account
(:mod:`.store`), and a session opens. Session ids are 256 random bits; only their
SHA-256 is stored. Every failure is a :class:`SignInError` with an HTTP status and a code
for the error page, and no session.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlencode

from zero_scim_accounts.sso.idtoken import (
    Expected,
    Identity,
    InvalidIdToken,
    signing_key_id,
    verify,
)
from zero_scim_accounts.sso.oidc import CodeRefused, Metadata, OpenIdProvider, ProviderError
from zero_scim_accounts.sso.settings import CALLBACK_PATH, SsoSettings
from zero_scim_accounts.sso.store import (
    NewSession,
    SessionView,
    SignInRefused,
    SignIns,
    Transaction,
)
from zero_scim_accounts.store import Database

logger = logging.getLogger(__name__)

SCOPE = "openid profile email"
#: How long a redeemed code is remembered (longer than any provider lets a code live).
CODE_MEMORY = 3600.0


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _token() -> str:
    """256 random bits, URL-safe."""
    return secrets.token_urlsafe(32)


def _challenge(verifier: str) -> str:
    raw = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


class SignInError(Exception):
    """Sign-in failed: ``status`` and ``code`` for the page; ``org_id`` to offer a retry."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        org_id: str | None = None,
        *,
        username: str | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.org_id = org_id
        #: Who signed in, when the refusal is about the person (shown on the page).
        self.username = username


@dataclass(frozen=True, slots=True)
class Started:
    authorization_url: str
    #: The browser-binding value to keep in the transaction cookie.
    binding: str


@dataclass(frozen=True, slots=True)
class Callback:
    """The query of the redirect back from the provider."""

    state: str | None
    code: str | None
    error: str | None = None
    error_description: str | None = None
    #: RFC 9207 ``iss`` (sent by Entra and oidc-provider): must name the token's issuer.
    iss: str | None = None


@dataclass(frozen=True, slots=True)
class SignedIn:
    session: str
    org_id: str
    identity: Identity


class SignInService:
    def __init__(
        self,
        db: Database,
        settings: SsoSettings,
        public_url: str,
        *,
        provider: OpenIdProvider | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._db = db
        self.settings = settings
        self.redirect_uri = public_url.rstrip("/") + CALLBACK_PATH
        self.secure_cookies = (
            settings.secure_cookies
            if settings.secure_cookies is not None
            else public_url.startswith("https://")
        )
        self.provider = provider or OpenIdProvider(settings)
        self._clock = clock

    async def aclose(self) -> None:
        await self.provider.aclose()

    # -- start ---------------------------------------------------------------------------

    async def start(self, org_id: str, binding: str | None) -> Started:
        config = await self._db.run(lambda store: SignIns(store).config(org_id))
        if config is None or not config.enabled:
            raise SignInError(
                404, "sso_not_configured", f"org {org_id!r} has no single sign-on", org_id
            )
        metadata = await self._metadata(org_id)
        binding = binding if binding and len(binding) >= 43 else _token()
        state, nonce, verifier = _token(), _token(), _token()
        tx = Transaction(
            state_hash=digest(state),
            binding_hash=digest(binding),
            org_id=org_id,
            nonce=nonce,
            code_verifier=verifier,
            expires_at=self._clock() + self.settings.transaction_ttl,
        )
        await self._db.run(lambda store: SignIns(store).add_transaction(tx, self._clock()))
        query = urlencode(
            {
                "client_id": self.settings.client_id,
                "response_type": "code",
                "response_mode": "query",
                "redirect_uri": self.redirect_uri,
                "scope": SCOPE,
                "state": state,
                "nonce": nonce,
                "code_challenge": _challenge(verifier),
                "code_challenge_method": "S256",
            }
        )
        separator = "&" if "?" in metadata.authorization_endpoint else "?"
        return Started(f"{metadata.authorization_endpoint}{separator}{query}", binding)

    # -- callback ------------------------------------------------------------------------

    async def finish(self, callback: Callback, binding: str | None) -> SignedIn:
        tx = await self._take(callback.state, binding)
        org_id = tx.org_id
        if callback.error is not None:
            description = callback.error_description or ""
            raise SignInError(
                403, "idp_error", f"{callback.error}: {description}".strip(": "), org_id
            )
        if not callback.code:
            raise SignInError(400, "bad_request", "the callback carries no code", org_id)
        code = callback.code
        expires = self._clock() + CODE_MEMORY
        fresh = await self._db.run(lambda store: SignIns(store).claim_code(digest(code), expires))
        if not fresh:
            raise SignInError(400, "code_replayed", "this code was used before", org_id)
        try:
            id_token = await self.provider.exchange(code, tx.code_verifier, self.redirect_uri)
        except CodeRefused as exc:
            raise SignInError(400, "code_rejected", str(exc), org_id) from None
        except ProviderError as exc:
            raise SignInError(502, "idp_unavailable", str(exc), org_id) from None
        identity = await self._validate(id_token, tx)
        if callback.iss is not None and callback.iss != identity.issuer:
            raise SignInError(401, "invalid_token", "the callback's iss is not the token's", org_id)
        return await self._open(identity, org_id)

    async def _take(self, state: str | None, binding: str | None) -> Transaction:
        if not state:
            raise SignInError(400, "bad_state", "the callback carries no state")
        now = self._clock()
        tx = await self._db.run(lambda store: SignIns(store).take_transaction(digest(state), now))
        if tx is None:
            raise SignInError(400, "bad_state", "no sign-in in progress has this state")
        if binding is None or not hmac.compare_digest(digest(binding), tx.binding_hash):
            raise SignInError(
                400, "bad_state", "this sign-in was started in another browser", tx.org_id
            )
        return tx

    async def _validate(self, id_token: str, tx: Transaction) -> Identity:
        try:
            kid = signing_key_id(id_token)
            metadata = await self.provider.metadata()
            key = await self.provider.key(kid)
            if key is None:
                raise InvalidIdToken(f"the provider publishes no usable key {kid!r}")
            now = self._clock()
            expected = Expected(
                client_id=self.settings.client_id,
                issuer=metadata.issuer,
                nonce=tx.nonce,
                now=now,
                skew=self.settings.clock_skew,
                max_age=self.settings.max_token_age,
            )
            return verify(id_token, key, expected)
        except InvalidIdToken as exc:
            logger.warning("sign-in to %s refused: %s", tx.org_id, exc)
            raise SignInError(401, "invalid_token", str(exc), tx.org_id) from None
        except ProviderError as exc:
            raise SignInError(502, "idp_unavailable", str(exc), tx.org_id) from None

    async def _open(self, identity: Identity, org_id: str) -> SignedIn:
        session = _token()
        now = self._clock()
        new = NewSession(
            id_hash=digest(session),
            org_id=org_id,
            tenant_id=identity.tenant_id,
            object_id=identity.object_id,
            username=identity.username,
            created_at=now,
            expires_at=now + self.settings.session_lifetime,
        )
        try:
            account = await self._db.run(lambda store: SignIns(store).sign_in(new))
        except SignInRefused as exc:
            logger.info(
                "sign-in to %s refused (%s): tid=%s oid=%s: %s",
                org_id,
                exc.reason,
                identity.tenant_id,
                identity.object_id,
                exc.detail,
            )
            raise SignInError(
                403, exc.reason, exc.detail, org_id, username=identity.username
            ) from None
        logger.info(
            "signed in to %s: account %s (tid=%s oid=%s)",
            org_id,
            account.external_key,
            identity.tenant_id,
            identity.object_id,
        )
        return SignedIn(session, org_id, identity)

    async def _metadata(self, org_id: str) -> Metadata:
        try:
            return await self.provider.metadata()
        except ProviderError as exc:
            raise SignInError(502, "idp_unavailable", str(exc), org_id) from None

    # -- sessions ------------------------------------------------------------------------

    async def current(self, session: str | None) -> SessionView | None:
        """The live session of the cookie value, or ``None`` (every rule re-checked now)."""
        if not session or len(session) > 128:
            return None
        idle = self.settings.session_idle
        touch_after = min(60.0, idle / 4)
        at = self._clock()
        return await self._db.run(
            lambda store: SignIns(store).session(
                digest(session), at, idle=idle, touch_after=touch_after
            )
        )

    async def sign_out(self, session: str | None) -> str | None:
        """End the session (if any); the org it belonged to."""
        if not session or len(session) > 128:
            return None
        return await self._db.run(lambda store: SignIns(store).end_session(digest(session)))
