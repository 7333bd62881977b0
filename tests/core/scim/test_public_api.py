"""The package's public surface is exactly what we intend to support."""

from pathlib import Path

import zero_scim.scim as scim

INTENDED = {
    # errors
    "ERROR_SCHEMA", "ScimError", "InvalidFilter", "TooMany", "InvalidSyntax", "InvalidPath",
    "NoTarget", "InvalidValue", "InvalidVersion", "Mutability", "Unauthorized", "Forbidden",
    "NotFound", "MethodNotAllowed", "Uniqueness", "Conflict", "PreconditionFailed",
    "PayloadTooLarge", "TooManyRequests", "NotSupported", "ServiceUnavailable", "ErrorBody",
    # schema
    "Attribute", "Schema", "SchemaExtension", "ResourceType", "ResolvedAttr",
    "ResolvedExtension", "UnknownAttr", "resolve", "USER", "GROUP", "USER_SCHEMA",
    "GROUP_SCHEMA", "ENTERPRISE_USER_SCHEMA", "CORE_USER_URN", "CORE_GROUP_URN",
    "ENTERPRISE_USER_URN",
    # discovery JSON
    "AttributeDefinition", "SchemaDefinition", "ResourceTypeDefinition",
    "ServiceProviderConfig", "AuthenticationScheme", "service_provider_config",
    # text
    "caseless",
    # paths and filters
    "AttrPath", "parse_attr_path", "Filter", "Compare", "Present", "And", "Or", "Not",
    "ValueFilter", "parse_filter", "parse_path", "to_string",
    # evaluation
    "matches", "compile_filter", "validate_filter", "equality_terms", "MemberSet",
    # resources
    "normalize", "normalize_user", "normalize_group", "normalize_members", "render",
    "project", "compile_projection", "Projection", "sort_key",
    # patch
    "apply_patch", "parse_patch", "PatchRequest", "PatchOperation", "PatchOutcome",
    "PATCH_OP_URN",
    # listing
    "ListQuery", "ListResponse", "parse_list_query", "parse_search_request", "list_response",
    "LIST_RESPONSE_URN", "SEARCH_REQUEST_URN",
}  # fmt: skip


def test_all_is_the_intended_surface():
    assert set(scim.__all__) == INTENDED
    assert len(scim.__all__) == len(set(scim.__all__))


def test_every_public_name_exists():
    for name in scim.__all__:
        assert getattr(scim, name) is not None, name


def test_star_import_gives_exactly_all():
    namespace: dict[str, object] = {}
    exec("from zero_scim.scim import *", namespace)  # noqa: S102
    assert set(namespace) - {"__builtins__"} == INTENDED


def test_no_io_or_framework_imports():
    forbidden = ("falcon", "kopf", "kubernetes", "aiohttp", "httpx", "socket", "asyncio")
    package = Path(scim.__file__).parent
    sources = sorted(package.glob("*.py"))
    assert len(sources) == 11  # the nine of before, text.py and limits.py
    for source in sources:
        text = source.read_text(encoding="utf-8")
        for name in forbidden:
            assert f"import {name}" not in text, (source.name, name)
            assert f"from {name}" not in text, (source.name, name)
        assert "open(" not in text, source.name
