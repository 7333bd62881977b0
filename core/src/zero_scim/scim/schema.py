"""Schemas (RFC 7643 §2, §4, §7, §8.7): attribute model, User/Group definitions, resolver.

The definitions follow RFC 7643 §8.7 with three deliberate differences, all for ids:
``members.value``, ``groups.value`` and ``manager.value`` hold SCIM ``id``s and are
``caseExact`` like ``id`` itself; and Group ``displayName`` is ``required`` (§4.2 says
"REQUIRED"; the §8.7.1 listing says otherwise, RFC 7643 erratum). ``externalId`` is
``caseExact`` per §3.1.

:func:`resolve` maps a path to where its value lives:

* names are case-insensitive; ``name.givenName`` reaches a sub-attribute;
* ``urn:…:core:2.0:User:userName`` and ``urn:…:enterprise:2.0:User:manager.value``
  reach core and known-extension attributes;
* an unqualified name not in the core schema is looked up in the resource type's
  extensions (Entra filters on ``manager eq "…"`` without the URN);
* any other ``urn:…:<Resource>:<attr>`` (Entra's
  ``urn:ietf:params:scim:schemas:extension:<Name>:2.0:User:<attr>``) is a *custom*
  extension attribute: single-valued, any JSON value, ``caseExact`` false, no
  sub-attributes;
* a path that is an extension URN itself is the whole extension object;
* anything else is an :class:`UnknownAttr`, flagged ``malformed`` when the path's shape
  contradicts the schema (a sub-attribute of a simple attribute) rather than merely naming
  something the schema lacks.

Discovery (``/Schemas``, ``/ResourceTypes``) renders these definitions as typed JSON
(:class:`SchemaDefinition`, :class:`ResourceTypeDefinition`). The User and Group schemas
also list the common attribute ``externalId`` (RFC 7643 §3.1 defines it outside any
schema): Microsoft's gallery validation requires it among the attributes ``/Schemas``
lists, and Entra maps ``objectId`` to it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Final, Literal, NotRequired, TypeAlias, TypedDict

from zero_scim.scim.errors import quote
from zero_scim.scim.paths import AttrPath, parse_attr_path

__all__ = [
    "COMMON_ATTRIBUTES",
    "CORE_GROUP_URN",
    "CORE_USER_URN",
    "ENTERPRISE_USER_SCHEMA",
    "ENTERPRISE_USER_URN",
    "EXTERNAL_ID",
    "GROUP",
    "GROUP_SCHEMA",
    "RESOURCE_TYPE_SCHEMA_URN",
    "SCHEMA_SCHEMA_URN",
    "SERVICE_PROVIDER_CONFIG_URN",
    "USER",
    "USER_SCHEMA",
    "AttrType",
    "Attribute",
    "AttributeDefinition",
    "AuthenticationScheme",
    "BulkConfig",
    "DefinitionMeta",
    "FilterConfig",
    "MutabilityValue",
    "Resolved",
    "ResolvedAttr",
    "ResolvedExtension",
    "ResourceType",
    "ResourceTypeDefinition",
    "ReturnedValue",
    "Schema",
    "SchemaDefinition",
    "SchemaExtension",
    "SchemaExtensionReference",
    "ServiceProviderConfig",
    "Supported",
    "UniquenessValue",
    "UnknownAttr",
    "describe",
    "resolve",
    "service_provider_config",
]

AttrType: TypeAlias = Literal[
    "string", "boolean", "decimal", "integer", "dateTime", "reference", "complex", "binary"
]
MutabilityValue: TypeAlias = Literal["readOnly", "readWrite", "immutable", "writeOnly"]
ReturnedValue: TypeAlias = Literal["always", "never", "default", "request"]
UniquenessValue: TypeAlias = Literal["none", "server", "global"]

CORE_USER_URN: Final = "urn:ietf:params:scim:schemas:core:2.0:User"
CORE_GROUP_URN: Final = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE_USER_URN: Final = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
SCHEMA_SCHEMA_URN: Final = "urn:ietf:params:scim:schemas:core:2.0:Schema"
RESOURCE_TYPE_SCHEMA_URN: Final = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
SERVICE_PROVIDER_CONFIG_URN: Final = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
_CORE_PREFIX: Final = "urn:ietf:params:scim:schemas:core:"
_API_PREFIX: Final = "urn:ietf:params:scim:api:"


# --- discovery JSON (RFC 7643 §6, §7) ---------------------------------------------------


class AttributeDefinition(TypedDict):
    """One attribute of a ``/Schemas`` resource (RFC 7643 §7), camelCase, no nulls."""

    name: str
    type: AttrType
    multiValued: bool
    description: NotRequired[str]
    required: bool
    caseExact: NotRequired[bool]
    canonicalValues: NotRequired[list[str]]
    referenceTypes: NotRequired[list[str]]
    mutability: MutabilityValue
    returned: ReturnedValue
    uniqueness: UniquenessValue
    subAttributes: NotRequired[list[AttributeDefinition]]


class DefinitionMeta(TypedDict):
    """``meta`` of a discovery resource; ``location`` once the server's URL is known."""

    resourceType: str
    location: NotRequired[str]


class SchemaDefinition(TypedDict):
    """A ``/Schemas`` resource (RFC 7643 §7)."""

    schemas: list[str]
    id: str
    name: str
    description: str
    attributes: list[AttributeDefinition]
    meta: DefinitionMeta


class SchemaExtensionReference(TypedDict):
    """An entry of a resource type's ``schemaExtensions`` (RFC 7643 §6)."""

    schema: str
    required: bool


class ResourceTypeDefinition(TypedDict):
    """A ``/ResourceTypes`` resource (RFC 7643 §6)."""

    schemas: list[str]
    id: str
    name: str
    endpoint: str
    description: str
    schema: str
    schemaExtensions: NotRequired[list[SchemaExtensionReference]]
    meta: DefinitionMeta


class Supported(TypedDict):
    """A ServiceProviderConfig feature that is only on or off (RFC 7643 §5)."""

    supported: bool


class BulkConfig(TypedDict):
    supported: bool
    maxOperations: int
    maxPayloadSize: int


class FilterConfig(TypedDict):
    supported: bool
    maxResults: int


class AuthenticationScheme(TypedDict):
    """An entry of ``authenticationSchemes`` (RFC 7643 §5)."""

    type: str
    name: str
    description: str
    specUri: NotRequired[str]
    documentationUri: NotRequired[str]
    primary: NotRequired[bool]


class ServiceProviderConfig(TypedDict):
    """The ``/ServiceProviderConfig`` resource (RFC 7643 §5)."""

    schemas: list[str]
    documentationUri: NotRequired[str]
    patch: Supported
    bulk: BulkConfig
    filter: FilterConfig
    changePassword: Supported
    sort: Supported
    etag: Supported
    authenticationSchemes: list[AuthenticationScheme]
    meta: DefinitionMeta


def _meta(resource_type: str, location: str | None) -> DefinitionMeta:
    meta: DefinitionMeta = {"resourceType": resource_type}
    if location is not None:
        meta["location"] = location
    return meta


def service_provider_config(
    *,
    patch: bool,
    max_results: int,
    sort: bool,
    etag: bool,
    change_password: bool,
    authentication_schemes: Sequence[AuthenticationScheme],
    bulk: BulkConfig | None = None,
    location: str | None = None,
) -> ServiceProviderConfig:
    """The ServiceProviderConfig of a server with these features (no bulk unless given)."""
    return {
        "schemas": [SERVICE_PROVIDER_CONFIG_URN],
        "patch": {"supported": patch},
        "bulk": bulk or {"supported": False, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": True, "maxResults": max_results},
        "changePassword": {"supported": change_password},
        "sort": {"supported": sort},
        "etag": {"supported": etag},
        "authenticationSchemes": list(authentication_schemes),
        "meta": _meta("ServiceProviderConfig", location),
    }


@dataclass(frozen=True, slots=True)
class Attribute:
    """One attribute definition (RFC 7643 §7); sub-attributes are looked up case-insensitively."""

    name: str
    type: AttrType = "string"
    multi_valued: bool = False
    required: bool = False
    case_exact: bool = False
    mutability: MutabilityValue = "readWrite"
    returned: ReturnedValue = "default"
    uniqueness: UniquenessValue = "none"
    sub_attributes: tuple[Attribute, ...] = ()
    canonical_values: tuple[str, ...] = ()
    reference_types: tuple[str, ...] = ()
    description: str = ""
    _subs: dict[str, Attribute] = field(
        init=False, repr=False, compare=False, hash=False, default_factory=dict
    )

    def __post_init__(self) -> None:
        self._subs.update({sub.name.casefold(): sub for sub in self.sub_attributes})

    def sub(self, name: str) -> Attribute | None:
        """The sub-attribute called ``name`` (any case), or None."""
        return self._subs.get(name.casefold())

    def to_scim_json(self) -> AttributeDefinition:
        """This definition as RFC 7643 §7 JSON (camelCase, nothing null or empty)."""
        out: AttributeDefinition = {
            "name": self.name,
            "type": self.type,
            "multiValued": self.multi_valued,
            "required": self.required,
            "mutability": self.mutability,
            "returned": self.returned,
            "uniqueness": self.uniqueness,
        }
        if self.description:
            out["description"] = self.description
        if self.type in ("string", "reference", "binary"):
            out["caseExact"] = self.case_exact
        if self.canonical_values:
            out["canonicalValues"] = list(self.canonical_values)
        if self.reference_types:
            out["referenceTypes"] = list(self.reference_types)
        if self.sub_attributes:
            out["subAttributes"] = [sub.to_scim_json() for sub in self.sub_attributes]
        return out


@dataclass(frozen=True, slots=True)
class Schema:
    """A schema (core or extension): its URN ``id``, a name and its attributes.

    ``listed_common`` are common attributes (RFC 7643 §3.1) that ``/Schemas`` lists with
    this schema's own ones; they are resolved through the resource type, not here.
    """

    id: str
    name: str
    description: str
    attributes: tuple[Attribute, ...]
    listed_common: tuple[Attribute, ...] = ()
    _by_name: dict[str, Attribute] = field(
        init=False, repr=False, compare=False, hash=False, default_factory=dict
    )

    def __post_init__(self) -> None:
        self._by_name.update({attr.name.casefold(): attr for attr in self.attributes})

    def attribute(self, name: str) -> Attribute | None:
        """The attribute called ``name`` (any case), or None."""
        return self._by_name.get(name.casefold())

    def definition(self, location: str | None = None) -> SchemaDefinition:
        """The /Schemas resource (RFC 7643 §7), with ``meta.location`` if given."""
        return {
            "schemas": [SCHEMA_SCHEMA_URN],
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "attributes": [attr.to_scim_json() for attr in (*self.attributes, *self.listed_common)],
            "meta": _meta("Schema", location),
        }


@dataclass(frozen=True, slots=True)
class SchemaExtension:
    """An extension schema of a resource type, and whether resources must carry it."""

    schema: Schema
    required: bool = False


@dataclass(frozen=True, eq=False)
class ResourceType:
    """A resource type (RFC 7643 §6). Compared and hashed by identity: define each once."""

    id: str
    name: str
    endpoint: str
    description: str
    schema: Schema
    schema_extensions: tuple[SchemaExtension, ...] = ()
    common_attributes: tuple[Attribute, ...] = field(default=(), repr=False)
    _core: dict[str, Attribute] = field(init=False, repr=False, default_factory=dict)
    _extensions: dict[str, Schema] = field(init=False, repr=False, default_factory=dict)
    _unqualified: dict[str, tuple[Schema, Attribute]] = field(
        init=False, repr=False, default_factory=dict
    )

    def __post_init__(self) -> None:
        self._core.update({attr.name.casefold(): attr for attr in self.common_attributes})
        self._core.update({attr.name.casefold(): attr for attr in self.schema.attributes})
        for ext in self.schema_extensions:
            self._extensions[ext.schema.id.casefold()] = ext.schema
            for attr in ext.schema.attributes:
                self._unqualified.setdefault(attr.name.casefold(), (ext.schema, attr))

    def core_attribute(self, name: str) -> Attribute | None:
        """A common or core-schema attribute by name (any case)."""
        return self._core.get(name.casefold())

    def extension(self, urn: str) -> Schema | None:
        """The known extension schema with this URN (any case)."""
        return self._extensions.get(urn.casefold())

    def extension_attribute(self, name: str) -> tuple[Schema, Attribute] | None:
        """The first extension attribute called ``name``, for unqualified paths."""
        return self._unqualified.get(name.casefold())

    @property
    def schema_urns(self) -> tuple[str, ...]:
        """The core schema URN followed by every known extension URN."""
        return (self.schema.id, *(ext.schema.id for ext in self.schema_extensions))

    def definition(self, location: str | None = None) -> ResourceTypeDefinition:
        """The /ResourceTypes resource (RFC 7643 §6), with ``meta.location`` if given."""
        out: ResourceTypeDefinition = {
            "schemas": [RESOURCE_TYPE_SCHEMA_URN],
            "id": self.id,
            "name": self.name,
            "endpoint": self.endpoint,
            "description": self.description,
            "schema": self.schema.id,
            "meta": _meta("ResourceType", location),
        }
        if self.schema_extensions:
            out["schemaExtensions"] = [
                {"schema": ext.schema.id, "required": ext.required}
                for ext in self.schema_extensions
            ]
        return out


# --- resolution ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ResolvedAttr:
    """Where an attribute lives: top level (``extension`` None) or under an extension URN key.

    ``extension`` is the canonical URN for known extensions and the URN as written for
    custom ones (``custom`` True; their ``attribute`` is synthetic). ``sub_attribute`` is set
    for ``attr.sub`` paths.
    """

    attribute: Attribute
    sub_attribute: Attribute | None = None
    extension: str | None = None
    custom: bool = False

    @property
    def target(self) -> Attribute:
        """The attribute the path ends at (the sub-attribute if there is one)."""
        return self.sub_attribute if self.sub_attribute is not None else self.attribute


@dataclass(frozen=True, slots=True)
class ResolvedExtension:
    """The path names a whole extension object; ``schema`` is None for a custom extension."""

    urn: str
    schema: Schema | None


@dataclass(frozen=True, slots=True)
class UnknownAttr:
    """The path names nothing in the schema; ``malformed`` if its shape is impossible."""

    path: str
    reason: str
    malformed: bool = False


Resolved: TypeAlias = ResolvedAttr | ResolvedExtension | UnknownAttr


def _is_extension_urn(urn: str, resource_type: ResourceType) -> bool:
    """Whether an unknown URN may be a custom extension of ``resource_type``."""
    lowered = urn.casefold()
    if lowered.startswith((_CORE_PREFIX, _API_PREFIX)):
        return False
    return not lowered.startswith("urn:ietf:params:scim:schemas:extension:enterprise:")


def _whole_extension_urn(path: AttrPath, resource_type: ResourceType) -> str | None:
    """If ``urn:a:b:2.0:User`` was split as urn ``urn:a:b:2.0`` + attr ``User``: the full URN."""
    if path.urn is None or path.sub_attr is not None:
        return None
    full = f"{path.urn}:{path.attr}"
    if resource_type.extension(full) is not None:
        return full
    if path.attr.casefold() != resource_type.schema.name.casefold():
        return None
    if path.urn.casefold().endswith(":" + path.attr.casefold()):
        return None  # urn:…:2.0:User:User is an attribute called User
    return full if _is_extension_urn(full, resource_type) else None


def _with_sub(
    attribute: Attribute, path: AttrPath, extension: str | None, custom: bool = False
) -> Resolved:
    if path.sub_attr is None:
        return ResolvedAttr(attribute, None, extension, custom)
    if attribute.type != "complex":
        return UnknownAttr(str(path), f"{attribute.name!r} has no sub-attributes", malformed=True)
    sub = attribute.sub(path.sub_attr)
    if sub is None:
        return UnknownAttr(str(path), f"{attribute.name!r} has no sub-attribute {path.sub_attr!r}")
    return ResolvedAttr(attribute, sub, extension, custom)


@lru_cache(maxsize=4096)
def _resolve(resource_type: ResourceType, path: AttrPath) -> Resolved:
    text = str(path)
    if path.urn is None:
        attribute = resource_type.core_attribute(path.attr)
        if attribute is not None:
            return _with_sub(attribute, path, None)
        found = resource_type.extension_attribute(path.attr)
        if found is not None:
            return _with_sub(found[1], path, found[0].id)
        return UnknownAttr(text, f"unknown attribute {path.attr!r}")
    whole = _whole_extension_urn(path, resource_type)
    if whole is not None:
        known = resource_type.extension(whole)
        return ResolvedExtension(known.id if known is not None else whole, known)
    if path.urn.casefold() == resource_type.schema.id.casefold():
        attribute = resource_type.core_attribute(path.attr)
        if attribute is None:
            return UnknownAttr(text, f"unknown attribute {path.attr!r}")
        return _with_sub(attribute, path, None)
    schema = resource_type.extension(path.urn)
    if schema is not None:
        attribute = schema.attribute(path.attr)
        if attribute is None:
            return UnknownAttr(text, f"unknown attribute {path.attr!r} in {schema.id}")
        return _with_sub(attribute, path, schema.id)
    if not _is_extension_urn(path.urn, resource_type):
        return UnknownAttr(text, f"schema {path.urn!r} does not apply to {resource_type.name}")
    if path.sub_attr is not None:
        return UnknownAttr(text, "custom extension attributes have no sub-attributes", True)
    return ResolvedAttr(Attribute(path.attr), None, path.urn, custom=True)


@lru_cache(maxsize=4096)
def _resolve_text(resource_type: ResourceType, text: str) -> Resolved:
    return _resolve(resource_type, parse_attr_path(text))


def resolve(resource_type: ResourceType, path: str | AttrPath) -> Resolved:
    """Resolve ``path`` against ``resource_type`` (see the module docstring).

    A string that is not an attribute path at all raises InvalidPath.
    """
    if isinstance(path, AttrPath):
        return _resolve(resource_type, path)
    return _resolve_text(resource_type, path)


def describe(resolved: Resolved) -> str:
    """A short human-readable name for a resolution result, for error details."""
    if isinstance(resolved, ResolvedAttr):
        name = resolved.attribute.name
        if resolved.sub_attribute is not None:
            name = f"{name}.{resolved.sub_attribute.name}"
        return f"{resolved.extension}:{name}" if resolved.extension else name
    if isinstance(resolved, ResolvedExtension):
        return resolved.urn
    return quote(resolved.path)


# --- definitions -----------------------------------------------------------------------


def _s(
    name: str,
    description: str = "",
    *,
    required: bool = False,
    case_exact: bool = False,
    mutability: MutabilityValue = "readWrite",
    uniqueness: UniquenessValue = "none",
    returned: ReturnedValue = "default",
    canonical_values: tuple[str, ...] = (),
) -> Attribute:
    return Attribute(
        name,
        "string",
        required=required,
        case_exact=case_exact,
        mutability=mutability,
        returned=returned,
        uniqueness=uniqueness,
        canonical_values=canonical_values,
        description=description,
    )


def _multi(
    name: str,
    description: str,
    *,
    value_type: AttrType = "string",
    types: tuple[str, ...] = (),
    reference_types: tuple[str, ...] = (),
    display: bool = True,
) -> Attribute:
    subs = [
        Attribute(
            "value",
            value_type,
            description=f"The value of the {name} entry.",
            reference_types=reference_types,
        )
    ]
    if display:
        subs.append(_s("display", "A human-readable name, primarily used for display purposes."))
    subs.append(
        _s("type", f"A label indicating the {name} entry's function.", canonical_values=types)
    )
    subs.append(
        Attribute(
            "primary",
            "boolean",
            description="Whether this is the primary value; at most one per attribute.",
        )
    )
    return Attribute(
        name, "complex", multi_valued=True, sub_attributes=tuple(subs), description=description
    )


EXTERNAL_ID: Final = Attribute(
    "externalId",
    case_exact=True,
    description="An identifier for the resource as defined by the provisioning client.",
)

COMMON_ATTRIBUTES: Final[tuple[Attribute, ...]] = (
    Attribute(
        "id",
        case_exact=True,
        mutability="readOnly",
        returned="always",
        uniqueness="server",
        description="Unique identifier for the resource, assigned by the service provider.",
    ),
    EXTERNAL_ID,
    Attribute(
        "meta",
        "complex",
        mutability="readOnly",
        description="Resource metadata.",
        sub_attributes=(
            _s("resourceType", mutability="readOnly", case_exact=True),
            Attribute("created", "dateTime", mutability="readOnly"),
            Attribute("lastModified", "dateTime", mutability="readOnly"),
            Attribute(
                "location",
                "reference",
                mutability="readOnly",
                case_exact=True,
                reference_types=("uri",),
            ),
            _s("version", mutability="readOnly", case_exact=True),
        ),
    ),
)

USER_SCHEMA: Final = Schema(
    CORE_USER_URN,
    "User",
    "User Account",
    (
        _s(
            "userName",
            "Unique identifier for the User, typically used by the user to directly "
            "authenticate to the service provider. REQUIRED.",
            required=True,
            uniqueness="server",
        ),
        Attribute(
            "name",
            "complex",
            description="The components of the user's real name.",
            sub_attributes=(
                _s("formatted", "The full name, formatted for display."),
                _s("familyName", "The family name of the User."),
                _s("givenName", "The given name of the User."),
                _s("middleName", "The middle name(s) of the User."),
                _s("honorificPrefix", "The honorific prefix(es) of the User."),
                _s("honorificSuffix", "The honorific suffix(es) of the User."),
            ),
        ),
        _s("displayName", "The name of the User, suitable for display to end-users."),
        _s("nickName", "The casual way to address the user in real life."),
        Attribute(
            "profileUrl",
            "reference",
            reference_types=("external",),
            description="A fully qualified URL pointing to a page representing the User.",
        ),
        _s("title", 'The user\'s title, such as "Vice President".'),
        _s("userType", "Identifies the relationship between the organization and the user."),
        _s("preferredLanguage", "The User's preferred written or spoken language."),
        _s("locale", "The User's default location for localization."),
        _s("timezone", "The User's time zone in the IANA Time Zone database format."),
        Attribute("active", "boolean", description="The User's administrative status."),
        _s(
            "password",
            "The User's cleartext password; never stored or returned by this server.",
            mutability="writeOnly",
            returned="never",
        ),
        _multi("emails", "Email addresses for the user.", types=("work", "home", "other")),
        _multi(
            "phoneNumbers",
            "Phone numbers for the User.",
            types=("work", "home", "mobile", "fax", "pager", "other"),
        ),
        _multi(
            "ims",
            "Instant messaging addresses for the User.",
            types=("aim", "gtalk", "icq", "xmpp", "msn", "skype", "qq", "yahoo"),
        ),
        _multi(
            "photos",
            "URLs of photos of the User.",
            value_type="reference",
            reference_types=("external",),
            types=("photo", "thumbnail"),
        ),
        Attribute(
            "addresses",
            "complex",
            multi_valued=True,
            description="A physical mailing address for this User.",
            sub_attributes=(
                _s("formatted", "The full mailing address, formatted for display."),
                _s("streetAddress", "The full street address component."),
                _s("locality", "The city or locality component."),
                _s("region", "The state or region component."),
                _s("postalCode", "The zip code or postal code component."),
                _s("country", "The country name component."),
                _s(
                    "type",
                    "A label indicating the address's function.",
                    canonical_values=("work", "home", "other"),
                ),
                Attribute("primary", "boolean", description="The primary address."),
            ),
        ),
        Attribute(
            "groups",
            "complex",
            multi_valued=True,
            mutability="readOnly",
            description="A list of groups to which the user belongs.",
            sub_attributes=(
                Attribute(
                    "value",
                    case_exact=True,
                    mutability="readOnly",
                    description="The identifier of the User's group.",
                ),
                Attribute(
                    "$ref",
                    "reference",
                    reference_types=("User", "Group"),
                    mutability="readOnly",
                    description="The URI of the group.",
                ),
                _s("display", "A human-readable name for the group.", mutability="readOnly"),
                _s(
                    "type",
                    "How the membership was derived.",
                    canonical_values=("direct", "indirect"),
                    mutability="readOnly",
                ),
            ),
        ),
        _multi("entitlements", "A list of entitlements for the User."),
        _multi("roles", "A list of roles for the User."),
        _multi(
            "x509Certificates",
            "A list of certificates issued to the User.",
            value_type="binary",
        ),
    ),
    listed_common=(EXTERNAL_ID,),
)

ENTERPRISE_USER_SCHEMA: Final = Schema(
    ENTERPRISE_USER_URN,
    "EnterpriseUser",
    "Enterprise User",
    (
        _s("employeeNumber", "Numeric or alphanumeric identifier assigned to a person."),
        _s("costCenter", "Identifies the name of a cost center."),
        _s("organization", "Identifies the name of an organization."),
        _s("division", "Identifies the name of a division."),
        _s("department", "Identifies the name of a department."),
        Attribute(
            "manager",
            "complex",
            description="The User's manager.",
            sub_attributes=(
                Attribute(
                    "value",
                    case_exact=True,
                    description="The id of the SCIM resource representing the manager.",
                ),
                Attribute(
                    "$ref",
                    "reference",
                    reference_types=("User",),
                    description="The URI of the SCIM resource representing the manager.",
                ),
                _s("displayName", "The displayName of the User's manager.", mutability="readOnly"),
            ),
        ),
    ),
)

GROUP_SCHEMA: Final = Schema(
    CORE_GROUP_URN,
    "Group",
    "Group",
    (
        _s("displayName", "A human-readable name for the Group. REQUIRED.", required=True),
        Attribute(
            "members",
            "complex",
            multi_valued=True,
            description="A list of members of the Group.",
            sub_attributes=(
                Attribute(
                    "value",
                    case_exact=True,
                    mutability="immutable",
                    required=True,
                    description="Identifier of the member of this Group.",
                ),
                Attribute(
                    "$ref",
                    "reference",
                    reference_types=("User", "Group"),
                    mutability="immutable",
                    description="The URI of the member of this Group.",
                ),
                _s(
                    "display",
                    "A human-readable name of the member: as sent, else its displayName.",
                    mutability="immutable",
                ),
                _s(
                    "type",
                    "The type of the member.",
                    canonical_values=("User", "Group"),
                    mutability="immutable",
                ),
            ),
        ),
    ),
    listed_common=(EXTERNAL_ID,),
)

USER: Final = ResourceType(
    id="User",
    name="User",
    endpoint="/Users",
    description="User Account",
    schema=USER_SCHEMA,
    schema_extensions=(SchemaExtension(ENTERPRISE_USER_SCHEMA, required=False),),
    common_attributes=COMMON_ATTRIBUTES,
)
GROUP: Final = ResourceType(
    id="Group",
    name="Group",
    endpoint="/Groups",
    description="Group",
    schema=GROUP_SCHEMA,
    common_attributes=COMMON_ATTRIBUTES,
)
