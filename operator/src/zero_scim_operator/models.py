"""Typed views of the custom resources, as the operator reads them.

Bodies come from Kopf (watch events) as mappings; these classes are the boundary where
they become typed values. The tenant spec is validated with pydantic (the CRD's defaults
are repeated here, so an object written before a default existed reads the same).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel

from zero_scim.kube.coordinates import ANNOTATION_ROTATE, tenant_namespace
from zero_scim_operator.durations import parse_duration


def _duration(value: Any) -> Any:
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
class Tenant:
    """A ZeroTenant as one watch event showed it."""

    name: str
    uid: str
    generation: int
    namespace: str
    spec: TenantSpec | None
    spec_error: str | None
    #: The ``zeroscim.io/rotate-token`` annotation (an on-demand rotation request).
    rotate_request: str | None
    deleting: bool
    status: Mapping[str, Any] = field(default_factory=dict, compare=False)

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> Tenant:
        metadata = body.get("metadata", {})
        raw_spec = body.get("spec") or {}
        spec: TenantSpec | None = None
        error: str | None = None
        try:
            spec = TenantSpec.model_validate(raw_spec)
        except (ValidationError, ValueError) as exc:
            error = _first_error(exc)
        annotations = metadata.get("annotations") or {}
        request = annotations.get(ANNOTATION_ROTATE)
        return cls(
            name=str(metadata.get("name", "")),
            uid=str(metadata.get("uid", "")),
            generation=int(metadata.get("generation") or 0),
            namespace=tenant_namespace(dict(body)),
            spec=spec,
            spec_error=error,
            rotate_request=str(request) if request is not None else None,
            deleting=bool(metadata.get("deletionTimestamp")),
            status=dict(body.get("status") or {}),
        )

    def require_spec(self) -> TenantSpec:
        if self.spec is None:
            raise InvalidSpec(self.spec_error or "invalid spec")
        return self.spec

    @property
    def reference(self) -> dict[str, str]:
        return {
            "apiVersion": "zeroscim.io/v1alpha1",
            "kind": "ZeroTenant",
            "name": self.name,
            "uid": self.uid,
        }


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
    def from_body(cls, body: Mapping[str, Any]) -> ObjectRef:
        metadata = body.get("metadata", {})
        return cls(
            api_version=str(body.get("apiVersion", "")),
            kind=str(body.get("kind", "")),
            namespace=str(metadata.get("namespace", "")),
            name=str(metadata.get("name", "")),
            uid=str(metadata.get("uid", "")),
        )

    def as_reference(self) -> dict[str, str]:
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
    spec: Mapping[str, Any]
    status: Mapping[str, Any]
    deleting: bool

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> ScimObject:
        metadata = body.get("metadata", {})
        spec = body.get("spec") or {}
        return cls(
            ref=ObjectRef.from_body(body),
            generation=int(metadata.get("generation") or 0),
            resource_version=str(metadata.get("resourceVersion", "")),
            scim_id=str(spec.get("id", "")),
            spec=spec,
            status=body.get("status") or {},
            deleting=bool(metadata.get("deletionTimestamp")),
        )

    @property
    def namespace(self) -> str:
        return self.ref.namespace

    @property
    def name(self) -> str:
        return self.ref.name


@dataclass(frozen=True, slots=True)
class BatchEntry:
    """One ScimMemberBatch, without its member ids (those are read when needed)."""

    name: str
    seq: int
    type: Literal["Delta", "Snapshot"]
    part: int
    parts: int

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> BatchEntry | None:
        spec = body.get("spec") or {}
        try:
            seq = int(spec.get("seq", 0))
            part = int(spec.get("part", 0) or 0)
            parts = max(1, int(spec.get("parts", 1) or 1))
        except (TypeError, ValueError):
            return None
        kind = spec.get("type")
        if seq <= 0 or kind not in ("Delta", "Snapshot"):
            return None
        return cls(
            name=str(body.get("metadata", {}).get("name", "")),
            seq=seq,
            type=kind,
            part=part,
            parts=parts,
        )
