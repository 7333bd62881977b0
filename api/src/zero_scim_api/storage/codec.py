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
from typing import Any

import orjson

from zero_scim.kube.coordinates import (
    API_VERSION,
    GROUP_KIND,
    LABEL_GROUP,
    LABEL_PART_OF,
    LABEL_SCIM_ID,
    MEMBER_BATCH,
    USER,
)
from zero_scim.kube.names import batch_object_name, group_object_name, user_object_name

ENTERPRISE_URN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PART_OF = "zero-scim"


def now_iso() -> str:
    """Millisecond-precision UTC time, the form used for SCIM meta timestamps."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def content_version(doc: dict[str, Any]) -> str:
    """A strong content hash of a document: the basis of the ETag (survives renames)."""
    return hashlib.sha256(orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)).hexdigest()[:20]


@dataclass(frozen=True, slots=True)
class Meta:
    created: str
    last_modified: str
    version: str

    def to_spec(self) -> dict[str, str]:
        return {
            "created": self.created,
            "lastModified": self.last_modified,
            "version": self.version,
        }

    @classmethod
    def from_spec(cls, raw: Any, fallback_time: str) -> Meta:
        raw = raw if isinstance(raw, dict) else {}
        created = str(raw.get("created") or fallback_time)
        return cls(
            created=created,
            last_modified=str(raw.get("lastModified") or created),
            version=str(raw.get("version") or ""),
        )


def _rename_key(value: Any, old: str, new: str) -> Any:
    if isinstance(value, dict):
        return {(new if k == old else k): _rename_key(v, old, new) for k, v in value.items()}
    if isinstance(value, list):
        return [_rename_key(v, old, new) for v in value]
    return value


def doc_to_spec(doc: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = {}
    for key, value in doc.items():
        if key == ENTERPRISE_URN:
            spec["enterprise"] = _rename_key(value, "$ref", "ref")
        elif key.startswith("urn:"):
            spec.setdefault("extensions", {})[key] = value
        else:
            spec[key] = _rename_key(value, "$ref", "ref")
    return spec


def spec_to_doc(spec: dict[str, Any]) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    for key, value in spec.items():
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


def user_object(doc: dict[str, Any], *, scim_id: str, meta: Meta, namespace: str) -> dict[str, Any]:
    spec = doc_to_spec(doc)
    spec["id"] = scim_id
    spec["meta"] = meta.to_spec()
    return {
        "apiVersion": API_VERSION,
        "kind": USER.kind,
        "metadata": {
            "name": user_object_name(doc["userName"]),
            "namespace": namespace,
            "labels": {LABEL_SCIM_ID: scim_id, LABEL_PART_OF: PART_OF},
        },
        "spec": spec,
    }


def group_object(
    doc: dict[str, Any], *, scim_id: str, meta: Meta, namespace: str
) -> dict[str, Any]:
    spec = doc_to_spec(doc)
    spec["id"] = scim_id
    spec["meta"] = meta.to_spec()
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


def batch_object(
    *,
    group_object_name_: str,
    group_uid: str,
    group_id: str,
    namespace: str,
    seq: int,
    kind: str,
    add: list[str],
    remove: list[str],
    part: int = 0,
    parts: int = 1,
    displays: dict[str, str] | None = None,
) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "groupId": group_id,
        "seq": seq,
        "type": kind,
        "part": part,
        "parts": parts,
    }
    if add:
        spec["add"] = add
    if remove:
        spec["remove"] = remove
    if displays:
        spec["displays"] = displays
    return {
        "apiVersion": API_VERSION,
        "kind": MEMBER_BATCH.kind,
        "metadata": {
            "name": batch_object_name(group_object_name_, seq, part),
            "namespace": namespace,
            "labels": {LABEL_GROUP: group_object_name_, LABEL_PART_OF: PART_OF},
            "ownerReferences": [
                {
                    "apiVersion": API_VERSION,
                    "kind": GROUP_KIND.kind,
                    "name": group_object_name_,
                    "uid": group_uid,
                    "blockOwnerDeletion": False,
                }
            ],
        },
        "spec": spec,
    }
