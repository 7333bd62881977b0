"""Typed shapes of the Kubernetes objects zero-scim reads and writes.

These are ``TypedDict``\\ s over the JSON the API server sends: no parsing, no copies, no
validation (the API server validated the custom resources against ``crds/`` already).
:mod:`zero_scim.kube.client` returns them, the API's index and the operator's handlers
read them, and Kopf's ``body`` is converted into them at the handler boundary
(:func:`zero_scim.kube.coordinates.from_body`). Field names are the API's (camelCase);
a field is required exactly where the CRD requires it.

Where a field holds data without a schema (a SCIM extension's attributes, Kopf's
bookkeeping under ``status.kopf``) it is a :data:`~zero_scim.jsondata.JsonObject`.
"""

from __future__ import annotations

from typing import Generic, Literal, Required, TypedDict, TypeVar

from zero_scim.jsondata import JsonObject, JsonValue

# -- metadata ------------------------------------------------------------------------------


class OwnerReference(TypedDict, total=False):
    apiVersion: Required[str]
    kind: Required[str]
    name: Required[str]
    uid: Required[str]
    controller: bool
    blockOwnerDeletion: bool


class ObjectMeta(TypedDict, total=False):
    name: str
    generateName: str
    namespace: str
    uid: str
    resourceVersion: str
    generation: int
    creationTimestamp: str
    deletionTimestamp: str
    deletionGracePeriodSeconds: int
    labels: dict[str, str]
    annotations: dict[str, str]
    finalizers: list[str]
    ownerReferences: list[OwnerReference]


class ObjectReference(TypedDict, total=False):
    """What an Event is about (``involvedObject``)."""

    apiVersion: str
    kind: str
    namespace: str
    name: str
    uid: str


# ``continue`` is a Python keyword: the functional form is the only way to name it.
ListMeta = TypedDict(
    "ListMeta",
    {"resourceVersion": str, "continue": str, "remainingItemCount": int},
    total=False,
)

ConditionStatus = Literal["True", "False", "Unknown"]


class Condition(TypedDict, total=False):
    """A cert-manager-style status condition (every status of zero-scim carries a list)."""

    type: Required[str]
    status: Required[ConditionStatus]
    reason: str
    message: str
    lastTransitionTime: str
    observedGeneration: int


# -- the API server's answers --------------------------------------------------------------


class StatusCause(TypedDict, total=False):
    reason: str
    message: str
    field: str


class StatusDetails(TypedDict, total=False):
    name: str
    group: str
    kind: str
    uid: str
    causes: list[StatusCause]
    retryAfterSeconds: int


class Status(TypedDict, total=False):
    """``metav1.Status``: the body of every error answer (and of some deletions)."""

    apiVersion: str
    kind: str
    metadata: ListMeta
    status: str  # "Success" or "Failure"
    message: str
    reason: str  # NotFound, AlreadyExists, Conflict, Invalid, Expired, ...
    details: StatusDetails
    code: int


class KubeObject(TypedDict, total=False):
    """What every object has; the kinds below are structural subtypes of it."""

    apiVersion: str
    kind: str
    metadata: Required[ObjectMeta]


ObjectT = TypeVar("ObjectT", bound=KubeObject)
ObjectT_co = TypeVar("ObjectT_co", bound=KubeObject, covariant=True)


class ObjectList(TypedDict, Generic[ObjectT], total=False):
    apiVersion: str
    kind: str
    metadata: ListMeta
    items: Required[list[ObjectT]]


WatchEventType = Literal["ADDED", "MODIFIED", "DELETED", "BOOKMARK"]


class WatchEvent(TypedDict, Generic[ObjectT]):
    """One event of a watch stream (``ERROR`` events are raised, never yielded).

    A ``BOOKMARK`` carries only ``metadata.resourceVersion``.
    """

    type: WatchEventType
    object: ObjectT


# -- Kubernetes' own kinds -----------------------------------------------------------------


class Secret(TypedDict, total=False):
    apiVersion: str
    kind: str
    metadata: Required[ObjectMeta]
    type: str
    data: dict[str, str]  # base64
    stringData: dict[str, str]  # write-only: plain text, merged into data by the server
    immutable: bool


class NamespaceStatus(TypedDict, total=False):
    phase: str


class Namespace(TypedDict, total=False):
    apiVersion: str
    kind: str
    metadata: Required[ObjectMeta]
    status: NamespaceStatus


# -- status common to zero-scim's kinds ----------------------------------------------------


class SyncStatus(TypedDict, total=False):
    """What the operator writes on a ScimUser (and, with member fields, a ScimGroup)."""

    observedGeneration: int
    downstreamId: str
    lastSyncedAt: str
    lastError: str
    conditions: list[Condition]
    kopf: JsonObject  # Kopf's bookkeeping (kept open by the CRDs)


# -- ScimUser ------------------------------------------------------------------------------


class Meta(TypedDict, total=False):
    """SCIM ``meta`` as kept in a spec (``resourceType`` and ``location`` are derived)."""

    created: str
    lastModified: str
    version: str


class Name(TypedDict, total=False):
    formatted: str
    familyName: str
    givenName: str
    middleName: str
    honorificPrefix: str
    honorificSuffix: str


class MultiValued(TypedDict, total=False):
    """emails, phoneNumbers, ims, photos, entitlements, roles, x509Certificates."""

    value: str
    display: str
    type: str
    primary: bool


class Address(TypedDict, total=False):
    formatted: str
    streetAddress: str
    locality: str
    region: str
    postalCode: str
    country: str
    type: str
    primary: bool


class Manager(TypedDict, total=False):
    value: str
    ref: str  # SCIM's ``$ref`` (a ``$``-key would read as a JSON reference in a CRD)
    displayName: str


class Enterprise(TypedDict, total=False):
    """The Enterprise User extension, kept under ``spec.enterprise``."""

    employeeNumber: str
    costCenter: str
    organization: str
    division: str
    department: str
    manager: Manager


class ScimUserSpec(TypedDict, total=False):
    id: Required[str]
    userName: Required[str]
    externalId: str
    displayName: str
    nickName: str
    profileUrl: str
    title: str
    userType: str
    preferredLanguage: str
    locale: str
    timezone: str
    active: bool
    name: Name
    emails: list[MultiValued]
    phoneNumbers: list[MultiValued]
    ims: list[MultiValued]
    photos: list[MultiValued]
    addresses: list[Address]
    entitlements: list[MultiValued]
    roles: list[MultiValued]
    x509Certificates: list[MultiValued]
    enterprise: Enterprise
    extensions: dict[str, JsonValue]  # other extensions, by schema URN
    meta: Meta


class ScimUser(TypedDict, total=False):
    apiVersion: str
    kind: str
    metadata: Required[ObjectMeta]
    spec: Required[ScimUserSpec]
    status: SyncStatus


# -- ScimGroup -----------------------------------------------------------------------------


class ScimGroupSpec(TypedDict, total=False):
    id: Required[str]
    displayName: Required[str]
    externalId: str
    extensions: dict[str, JsonValue]
    meta: Meta


class ScimGroupStatus(SyncStatus, total=False):
    membersSyncedSeq: int  # the member-log entries applied to Zero (zero_scim.memberlog)
    memberCount: int


class ScimGroup(TypedDict, total=False):
    apiVersion: str
    kind: str
    metadata: Required[ObjectMeta]
    spec: Required[ScimGroupSpec]
    status: ScimGroupStatus


# -- ScimMemberBatch -----------------------------------------------------------------------

EntryType = Literal["Delta", "Snapshot"]


class ScimMemberBatchSpec(TypedDict, total=False):
    """One member-log entry (the protocol: :mod:`zero_scim.memberlog`)."""

    groupId: Required[str]
    seq: Required[int]
    type: Required[EntryType]
    add: list[str]
    remove: list[str]
    part: int
    parts: int
    displays: dict[str, str]


class ScimMemberBatch(TypedDict, total=False):
    apiVersion: str
    kind: str
    metadata: Required[ObjectMeta]
    spec: Required[ScimMemberBatchSpec]


# -- ZeroTenant ----------------------------------------------------------------------------


class ApiKeySecretRef(TypedDict, total=False):
    name: Required[str]
    key: str


class DownstreamSpec(TypedDict, total=False):
    baseUrl: Required[str]
    orgId: Required[str]
    apiKeySecretRef: Required[ApiKeySecretRef]
    timeoutSeconds: int
    maxConcurrency: int
    resyncInterval: str


class TokenRotationSpec(TypedDict, total=False):
    interval: str
    gracePeriod: str


class ZeroTenantSpec(TypedDict, total=False):
    namespace: str
    displayName: str
    suspend: bool
    deletionPolicy: Literal["Retain", "Deprovision"]
    downstream: DownstreamSpec
    tokenRotation: TokenRotationSpec


class ZeroTenantStatus(TypedDict, total=False):
    observedGeneration: int
    namespace: str
    tokenSecretName: str
    tokenRotatedAt: str
    nextRotationAt: str
    previousTokenExpiresAt: str
    userCount: int
    groupCount: int
    lastSyncAt: str
    conditions: list[Condition]
    kopf: JsonObject


class ZeroTenant(TypedDict, total=False):
    apiVersion: str
    kind: str
    metadata: Required[ObjectMeta]
    spec: Required[ZeroTenantSpec]
    status: ZeroTenantStatus
