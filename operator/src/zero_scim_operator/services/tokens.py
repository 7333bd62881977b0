"""The tenant's bearer-token Secret: creation, rotation, expiry of the previous token.

The Secret is the single source of truth (format: :mod:`zero_scim.kube.tokens`). Each
decision is made from a fresh read of it and written with its ``resourceVersion`` as a
precondition; a 409 means another writer (a second operator process, a restart racing
the old one) got there first, and the decision is made again from the new state. So a
rotation happens once per due time, however many operators race for it.

* **Due time**: ``rotated-at + interval`` (``interval`` 0 = never). A rotation that was
  due while no operator ran happens once, at the next start.
* **On demand**: the tenant's ``zeroscim.io/rotate-token`` annotation differs from the
  value recorded in the Secret's ``zeroscim.io/rotation-request``.
* **Re-issue**: a Secret deleted (or emptied) after a token was issued is created
  again with a new token (``Action.REISSUE``, a Warning Event: Entra's copy no longer
  works); the tenant loop reads the Secret on every round, so this happens within one
  status interval.
* **Grace**: after a rotation the old token stays in ``previousToken`` until
  ``previousTokenExpiresAt`` (= rotation time + ``gracePeriod``); then it is removed.
  Only one previous token is kept: rotating twice within the grace period ends the
  older token's grace at once.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from zero_scim.kube.client import KubeClient
from zero_scim.kube.coordinates import LABEL_PART_OF, LABEL_TENANT, LABEL_TOKEN, SECRET
from zero_scim.kube.errors import AlreadyExists, Conflict, KubeError
from zero_scim.kube.secrets import DecodedSecret, secret_object, with_owner
from zero_scim.kube.tokens import (
    ANNOTATION_ROTATED_AT,
    ANNOTATION_ROTATION_REQUEST,
    KEY_PREVIOUS,
    KEY_PREVIOUS_EXPIRES,
    KEY_TOKEN,
    SECRET_NAME,
    new_token,
    parse_time,
    secret_data,
)
from zero_scim_operator.models import TenantConfig
from zero_scim_operator.services.common import EventSink

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 5


def precise_time(value: datetime) -> str:
    """RFC 3339 with milliseconds (``parse_time`` reads it; the due time of a rotation
    every few seconds must not move by up to a second)."""
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Action(enum.Enum):
    NONE = "none"
    CREATE = "create"
    REISSUE = "reissue"  # created again: the Secret went missing after a token was issued
    ROTATE_SCHEDULED = "scheduled"
    ROTATE_REQUESTED = "requested"
    EXPIRE_PREVIOUS = "expire-previous"


@dataclass(frozen=True)
class TokenState:
    rotated_at: datetime
    previous_expires_at: datetime | None
    honored_request: str | None
    has_token: bool

    def next_rotation(self, interval: timedelta) -> datetime | None:
        return self.rotated_at + interval if interval > timedelta(0) else None


@dataclass(frozen=True)
class TokenResult:
    state: TokenState
    secret_name: str
    action: Action  # what this call did (NONE if nothing)
    next_rotation_at: datetime | None

    def wake_at(self) -> datetime | None:
        """When the token needs attention again (rotation or end of grace)."""
        times = [t for t in (self.next_rotation_at, self.state.previous_expires_at) if t]
        return min(times) if times else None


def read_state(secret: DecodedSecret | None) -> TokenState | None:
    if secret is None:
        return None
    rotated_raw = secret.annotations.get(ANNOTATION_ROTATED_AT) or secret.creation_timestamp
    never = datetime.min.replace(tzinfo=UTC)
    try:
        rotated_at = parse_time(rotated_raw) if rotated_raw else never
    except ValueError:
        rotated_at = never
    expires: datetime | None = None
    if secret.data.get(KEY_PREVIOUS):
        raw = secret.data.get(KEY_PREVIOUS_EXPIRES)
        try:
            expires = parse_time(raw) if raw else None
        except ValueError:
            expires = never
    return TokenState(
        rotated_at=rotated_at,
        previous_expires_at=expires,
        honored_request=secret.annotations.get(ANNOTATION_ROTATION_REQUEST),
        has_token=bool(secret.data.get(KEY_TOKEN, "").strip()),
    )


def decide(
    state: TokenState | None,
    *,
    interval: timedelta,
    request: str | None,
    now: datetime,
) -> Action:
    """What to do with the token now (pure)."""
    if state is None or not state.has_token:
        return Action.CREATE
    if request is not None and request != state.honored_request:
        return Action.ROTATE_REQUESTED
    next_rotation = state.next_rotation(interval)
    if next_rotation is not None and now >= next_rotation:
        return Action.ROTATE_SCHEDULED
    if state.previous_expires_at is not None and now >= state.previous_expires_at:
        return Action.EXPIRE_PREVIOUS
    return Action.NONE


class TokenWriteFailed(Exception):
    """The Secret could not be written; ``missing``: there is no usable token meanwhile."""

    def __init__(self, error: KubeError, *, missing: bool) -> None:
        super().__init__(str(error))
        self.error = error
        self.missing = missing


class TokenService:
    def __init__(self, kube: KubeClient, events: EventSink) -> None:
        self._kube = kube
        self._events = events

    async def reconcile(
        self, tenant: TenantConfig, now: datetime, *, issued: bool = False
    ) -> TokenResult:
        """Create, rotate or trim the tenant's token Secret as due; return its state.

        ``issued``: a token was issued before (a missing Secret is then re-issued).
        KubeError if the Secret cannot be read, :class:`TokenWriteFailed` if it cannot be
        written.
        """
        spec = tenant.require_spec()
        interval = spec.token_rotation.interval
        grace = spec.token_rotation.grace_period
        namespace = tenant.namespace
        for _ in range(MAX_ATTEMPTS):
            raw = await self._kube.find(SECRET, SECRET_NAME, namespace)
            secret = DecodedSecret.from_object(raw) if raw is not None else None
            state = read_state(secret)
            action = decide(state, interval=interval, request=tenant.rotate_request, now=now)
            if action is Action.CREATE and issued:
                action = Action.REISSUE
            if action is Action.NONE:
                assert state is not None
                return TokenResult(state, SECRET_NAME, action, state.next_rotation(interval))
            try:
                written = await self._write(tenant, secret, action, grace, now)
            except (AlreadyExists, Conflict):
                logger.info("token Secret of %s changed meanwhile; deciding again", tenant.name)
                continue
            except KubeError as exc:
                missing = state is None or not state.has_token
                raise TokenWriteFailed(exc, missing=missing) from exc
            new_state = read_state(written)
            assert new_state is not None
            self._announce(tenant, action, new_state)
            return TokenResult(new_state, SECRET_NAME, action, new_state.next_rotation(interval))
        raise Conflict(f"token Secret of {tenant.name} keeps changing")

    async def _write(
        self,
        tenant: TenantConfig,
        secret: DecodedSecret | None,
        action: Action,
        grace: timedelta,
        now: datetime,
    ) -> DecodedSecret:
        """Create or replace the Secret (AlreadyExists/Conflict: someone wrote first)."""
        labels = {LABEL_TOKEN: "true", LABEL_TENANT: tenant.name, LABEL_PART_OF: "zero-scim"}
        owner = tenant.owner_reference()
        annotations = dict(secret.annotations) if secret is not None else {}
        current = secret.data.get(KEY_TOKEN, "").strip() if secret is not None else ""
        if action is Action.EXPIRE_PREVIOUS:
            assert secret is not None
            data = {
                k: v
                for k, v in secret.data.items()
                if k not in (KEY_PREVIOUS, KEY_PREVIOUS_EXPIRES)
            }
        else:
            token = new_token()
            previous = current if current and grace > timedelta(0) else None
            data = secret_data(token, previous)
            if previous:  # milliseconds: a grace period of seconds must not lose one
                data[KEY_PREVIOUS_EXPIRES] = precise_time(now + grace)
            if secret is not None:  # keep keys that are not ours
                ours = (KEY_TOKEN, KEY_PREVIOUS, KEY_PREVIOUS_EXPIRES)
                data = {**{k: v for k, v in secret.data.items() if k not in ours}, **data}
            annotations[ANNOTATION_ROTATED_AT] = precise_time(now)
            if tenant.rotate_request is not None:
                annotations[ANNOTATION_ROTATION_REQUEST] = tenant.rotate_request
        merged_labels = {**(secret.labels if secret is not None else {}), **labels}
        if secret is None:
            body = secret_object(
                tenant.namespace,
                SECRET_NAME,
                data,
                labels=merged_labels,
                annotations=annotations,
                owners=[owner],
            )
            return DecodedSecret.from_object(await self._kube.create(SECRET, body))
        body = secret_object(
            secret.namespace,
            secret.name,
            data,
            labels=merged_labels,
            annotations=annotations,
            owners=with_owner(secret.owner_references, owner),
            resource_version=secret.resource_version,  # the lock: Conflict if it moved
        )
        return DecodedSecret.from_object(await self._kube.replace(SECRET, body))

    def _announce(self, tenant: TenantConfig, action: Action, state: TokenState) -> None:
        if action is Action.CREATE:
            message = f"token Secret {tenant.namespace}/{SECRET_NAME} created"
            self._events.post(tenant.reference, "Normal", "TokenCreated", message)
        elif action is Action.REISSUE:
            message = (
                f"token Secret {tenant.namespace}/{SECRET_NAME} was missing: a new token was "
                "issued; the old one no longer works (give Entra the new one)"
            )
            self._events.post(tenant.reference, "Warning", "TokenReissued", message)
        elif action in (Action.ROTATE_SCHEDULED, Action.ROTATE_REQUESTED):
            grace = (
                f"; the previous token is accepted until {precise_time(state.previous_expires_at)}"
                if state.previous_expires_at
                else "; the previous token no longer works"
            )
            message = f"token rotated ({action.value}){grace}"
            self._events.post(tenant.reference, "Normal", "TokenRotated", message)
        elif action is Action.EXPIRE_PREVIOUS:
            message = "the previous token's grace period ended; it was removed"
            self._events.post(tenant.reference, "Normal", "PreviousTokenExpired", message)
