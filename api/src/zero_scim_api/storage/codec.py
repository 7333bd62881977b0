"""SCIM documents ↔ custom-resource objects.

A SCIM document here is the canonical internal shape of ``zero_scim.scim.resources``:
the resource's attributes without ``id``, ``meta``, ``schemas`` (and without ``members``
for groups), core attributes at the top, extensions under their full URN. In the custom
resource, core attributes sit at the top of ``spec`` under the same names, the Enterprise
extension under ``spec.enterprise``, other extensions under ``spec.extensions[<URN>]``,
and ``$ref`` becomes ``ref`` (a ``$``-key in a CRD schema would read as a JSON reference).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import cast

import orjson

from zero_scim.jsondata import JsonObject, JsonValue
from zero_scim.kube.coordinates import (
    API_VERSION,
    GROUP_KIND,
    LABEL_PART_OF,
    LABEL_SCIM_ID,
    PART_OF,
    USER,
)
from zero_scim.kube.names import group_object_name, user_object_name
from zero_scim.kube.objects import Meta as SpecMeta
from zero_scim.kube.objects import ScimGroup, ScimGroupSpec, ScimUser, ScimUserSpec

ENTERPRISE_URN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def now_iso() -> str:
    """Millisecond-precision UTC time, the form used for SCIM meta timestamps."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def content_version(doc: JsonObject) -> str:
    """A strong content hash of a document: the basis of the ETag (survives renames)."""
    return hashlib.sha256(orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)).hexdigest()[:20]


@dataclass(frozen=True, slots=True)
class Meta:
    created: str
    last_modified: str
    version: str

    def to_spec(self) -> JsonObject:
        return {
            "created": self.created,
            "lastModified": self.last_modified,
            "version": self.version,
        }

    @classmethod
    def from_spec(cls, raw: SpecMeta | None, fallback_time: str) -> Meta:
        raw = raw if isinstance(raw, dict) else {}
        created = str(raw.get("created") or fallback_time)
        return cls(
            created=created,
            last_modified=str(raw.get("lastModified") or created),
            version=str(raw.get("version") or ""),
        )


def _rename_key(value: JsonValue, old: str, new: str) -> JsonValue:
    if isinstance(value, dict):
        return {(new if k == old else k): _rename_key(v, old, new) for k, v in value.items()}
    if isinstance(value, list):
        return [_rename_key(v, old, new) for v in value]
    return value


def doc_to_spec(doc: JsonObject) -> JsonObject:
    """A SCIM document as the top of a ScimUser/ScimGroup spec (without id and meta)."""
    spec: JsonObject = {}
    extensions: JsonObject = {}
    for key, value in doc.items():
        if key == ENTERPRISE_URN:
            spec["enterprise"] = _rename_key(value, "$ref", "ref")
        elif key.startswith("urn:"):
            extensions[key] = value
            spec["extensions"] = extensions
        else:
            spec[key] = _rename_key(value, "$ref", "ref")
    return spec


def spec_to_doc(spec: ScimUserSpec | ScimGroupSpec | JsonObject) -> JsonObject:
    """The SCIM document a spec holds (``id`` and ``meta`` left out)."""
    doc: JsonObject = {}
    raw = cast(JsonObject, spec)  # a spec is JSON; its SCIM attributes are read generically
    for key, value in raw.items():
        if key in ("id", "meta"):
            continue
        if key == "enterprise":
            doc[ENTERPRISE_URN] = _rename_key(value, "ref", "$ref")
        elif key == "extensions":
            if isinstance(value, dict):
                doc.update(value)
        else:
            doc[key] = _rename_key(value, "ref", "$ref")
    return doc


def _spec(doc: JsonObject, scim_id: str, meta: Meta) -> JsonObject:
    spec = doc_to_spec(doc)
    spec["id"] = scim_id
    spec["meta"] = meta.to_spec()
    return spec


def user_object(doc: JsonObject, *, scim_id: str, meta: Meta, namespace: str) -> ScimUser:
    """A new ScimUser holding ``doc`` (validated by the SCIM layer: its shape is the
    CRD's, which the cast states; the API server checks it again)."""
    spec = cast(ScimUserSpec, _spec(doc, scim_id, meta))
    return {
        "apiVersion": API_VERSION,
        "kind": USER.kind,
        "metadata": {
            "name": user_object_name(spec["userName"]),
            "namespace": namespace,
            "labels": {LABEL_SCIM_ID: scim_id, LABEL_PART_OF: PART_OF},
        },
        "spec": spec,
    }


def group_object(doc: JsonObject, *, scim_id: str, meta: Meta, namespace: str) -> ScimGroup:
    """A new ScimGroup holding ``doc`` (see :func:`user_object`)."""
    spec = cast(ScimGroupSpec, _spec(doc, scim_id, meta))
    return {
        "apiVersion": API_VERSION,
        "kind": GROUP_KIND.kind,
        "metadata": {
            "name": group_object_name(scim_id),
            "namespace": namespace,
            "labels": {LABEL_SCIM_ID: scim_id, LABEL_PART_OF: PART_OF},
        },
        "spec": spec,
    }
