"""Typed views of the custom resources, as the operator's services use them.

Kopf's bodies are converted to the typed objects of :mod:`zero_scim.kube.objects` at the
handler boundary; these classes are what the services take from them. The tenant spec
is validated with pydantic (the CRD's defaults are repeated here, so an object written
before a default existed reads the same).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import timedelta
from typing import Annotated, Literal, TypedDict, cast

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel

from zero_scim.jsondata import JsonObject
from zero_scim.kube.objects import (
    Condition,
    ObjectReference,
    ScimGroup,
    ScimGroupSpec,
    ScimUser,
    ScimUserSpec,
    SyncStatus,
    ZeroTenant,
    ZeroTenantStatus,
)
from zero_scim.kube.tenants import Tenant
from zero_scim_operator.durations import parse_duration


def _duration(value: object) -> object:
    return parse_duration(value) if isinstance(value, str) else value


Duration = Annotated[timedelta, BeforeValidator(_duration)]


class _Spec(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, frozen=True, extra="ignore"
    )


class ApiKeyRef(_Spec):
    name: str
    key: str = "apiKey"


class DownstreamSpec(_Spec):
    base_url: str
    org_id: str
    api_key_secret_ref: ApiKeyRef
    timeout_seconds: Annotated[int, Field(ge=1, le=300)] = 10
    max_concurrency: Annotated[int, Field(ge=1, le=128)] = 8
    resync_interval: Duration = timedelta(minutes=10)


class TokenRotationSpec(_Spec):
    interval: Duration = timedelta(0)
    grace_period: Duration = timedelta(hours=24)


#: An Entra tenant (directory) id: a GUID (the CRD checks the same pattern).
TENANT_ID_PATTERN = r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$"


class SsoSpec(_Spec):
    """``spec.sso``: the Entra tenant whose people sign in to the tenant's Zero org."""

    entra_tenant_id: Annotated[str, Field(pattern=TENANT_ID_PATTERN)]
    enabled: bool = True


class TenantSpec(_Spec):
    namespace: str | None = None
    display_name: str | None = None
    suspend: bool = False
    deletion_policy: Literal["Retain", "Deprovision"] = "Retain"
    downstream: DownstreamSpec | None = None
    token_rotation: TokenRotationSpec = TokenRotationSpec()
    sso: SsoSpec | None = None


class InvalidSpec(ValueError):
    """A tenant spec the operator cannot act on (the message says why)."""


@dataclass(frozen=True)
class TenantConfig(Tenant):
    """A ZeroTenant as one watch event showed it, with its spec validated.

    The shared :class:`~zero_scim.kube.tenants.Tenant` (name, namespace, uid, …) plus
    what only the operator needs: the parsed spec (or why it is invalid) and the status.
    """

    spec: TenantSpec | None = None
    spec_error: str | None = None
    status: ZeroTenantStatus = field(default_factory=ZeroTenantStatus, compare=False)

    @classmethod
    def from_object(cls, obj: ZeroTenant) -> TenantConfig:
        base = Tenant.from_object(obj)
        spec: TenantSpec | None = None
        error: str | None = None
        try:
            spec = TenantSpec.model_validate(obj.get("spec") or {})
        except (ValidationError, ValueError) as exc:
            error = _first_error(exc)
        return cls(
            **{f.name: getattr(base, f.name) for f in fields(Tenant)},
            spec=spec,
            spec_error=error,
            status=obj.get("status") or {},
        )

    def require_spec(self) -> TenantSpec:
        if self.spec is None:
            raise InvalidSpec(self.spec_error or "invalid spec")
        return self.spec


def _first_error(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        errors = exc.errors(include_url=False, include_input=False)
        if errors:
            first = errors[0]
            where = ".".join(str(part) for part in first["loc"])
            return f"spec.{where}: {first['msg']}" if where else str(first["msg"])
    return str(exc)


@dataclass(frozen=True)
class ObjectRef:
    """Where a namespaced custom object lives, and which incarnation of it."""

    api_version: str
    kind: str
    namespace: str
    name: str
    uid: str

    @classmethod
    def from_object(cls, obj: ScimUser | ScimGroup) -> ObjectRef:
        metadata = obj["metadata"]
        return cls(
            api_version=obj.get("apiVersion", ""),
            kind=obj.get("kind", ""),
            namespace=metadata.get("namespace", ""),
            name=metadata.get("name", ""),
            uid=metadata.get("uid", ""),
        )

    def as_reference(self) -> ObjectReference:
        return {
            "apiVersion": self.api_version,
            "kind": self.kind,
            "namespace": self.namespace,
            "name": self.name,
            "uid": self.uid,
        }


@dataclass(frozen=True)
class ScimObject:
    """A ScimUser or ScimGroup: reference, generation, spec and status of one event."""

    ref: ObjectRef
    generation: int
    resource_version: str
    scim_id: str
    spec: ScimUserSpec | ScimGroupSpec
    status: SyncStatus  # a ScimGroup's has member fields too (ScimGroupStatus)
    deleting: bool

    @classmethod
    def from_object(cls, obj: ScimUser | ScimGroup) -> ScimObject:
        metadata = obj["metadata"]
        spec = obj["spec"]
        return cls(
            ref=ObjectRef.from_object(obj),
            generation=metadata.get("generation") or 0,
            resource_version=metadata.get("resourceVersion", ""),
            scim_id=str(spec.get("id", "")),
            spec=spec,
            status=obj.get("status") or {},
            deleting=bool(metadata.get("deletionTimestamp")),
        )

    @property
    def namespace(self) -> str:
        return self.ref.namespace

    @property
    def name(self) -> str:
        return self.ref.name


# -- what the operator writes: status patches (JSON merge patches; None deletes a field) ----


class UserStatusPatch(TypedDict, total=False):
    """A ScimUser's status as one sync records it (``SyncStatus`` with deletions)."""

    observedGeneration: int
    conditions: list[Condition]
    downstreamId: str | None
    lastSyncedAt: str | None
    lastError: str | None
    kopf: JsonObject


class GroupStatusPatch(UserStatusPatch, total=False):
    membersSyncedSeq: int
    memberCount: int | None


class TenantStatusPatch(TypedDict, total=False):
    observedGeneration: int
    namespace: str
    tokenSecretName: str | None
    tokenRotatedAt: str | None
    nextRotationAt: str | None
    previousTokenExpiresAt: str | None
    userCount: int
    groupCount: int
    lastSyncAt: str | None
    conditions: list[Condition]


def as_json(patch: Mapping[str, object]) -> JsonObject:
    """A status patch as the JSON the client sends (the TypedDicts above hold only JSON)."""
    return cast(JsonObject, patch)
