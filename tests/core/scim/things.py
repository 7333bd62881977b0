"""A made-up resource type, "Thing", for the cases Users and Groups do not have
(immutable attributes, numbers, binary values) — shared by the core's tests."""

from __future__ import annotations

from collections.abc import Sequence

from zero_scim.scim.schema import Attribute, ResourceType, Schema, SchemaExtension


def thing_type(
    attributes: Sequence[Attribute], extensions: Sequence[SchemaExtension] = ()
) -> ResourceType:
    """``/Things`` of schema ``urn:acme:Thing`` with ``attributes``."""
    schema = Schema("urn:acme:Thing", "Thing", "Thing", tuple(attributes))
    return ResourceType("Thing", "Thing", "/Things", "Thing", schema, tuple(extensions))


#: A Thing with an immutable ``serial`` and a plain ``label``.
IMMUTABLE_THING = thing_type((Attribute("serial", mutability="immutable"), Attribute("label")))
