"""Secrets as the operator reads and writes them: decoded data, the metadata it keeps.

:class:`DecodedSecret` is a Secret with its base64 ``data`` decoded (keys that are not
UTF-8 text are left out: not ours to read; a replace written from this view keeps only
what it shows, so callers carry foreign keys over explicitly). :func:`secret_object`
builds the object to create or replace, the resourceVersion being the precondition of a
replace.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from zero_scim.kube.objects import ObjectMeta, OwnerReference, Secret


@dataclass(frozen=True)
class DecodedSecret:
    namespace: str
    name: str
    resource_version: str
    data: dict[str, str]
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    creation_timestamp: str | None = None
    owner_references: list[OwnerReference] = field(default_factory=list)

    @classmethod
    def from_object(cls, secret: Secret) -> DecodedSecret:
        metadata = secret["metadata"]
        data: dict[str, str] = {}
        for key, value in (secret.get("data") or {}).items():
            try:
                data[key] = base64.b64decode(value).decode("utf-8")
            except (binascii.Error, ValueError, UnicodeDecodeError):
                continue
        return cls(
            namespace=metadata.get("namespace", ""),
            name=metadata.get("name", ""),
            resource_version=metadata.get("resourceVersion", ""),
            data=data,
            labels=dict(metadata.get("labels") or {}),
            annotations=dict(metadata.get("annotations") or {}),
            creation_timestamp=metadata.get("creationTimestamp"),
            owner_references=list(metadata.get("ownerReferences") or []),
        )


def encode_data(data: Mapping[str, str]) -> dict[str, str]:
    """A Secret's ``data`` (base64) from plain-text values."""
    return {k: base64.b64encode(v.encode("utf-8")).decode("ascii") for k, v in data.items()}


def with_owner(
    owners: Iterable[OwnerReference], owner: OwnerReference | None
) -> list[OwnerReference]:
    """``owners`` with ``owner`` in it once (an earlier reference to the same uid is
    replaced); other owners are kept."""
    kept = list(owners)
    if owner is None:
        return kept
    return [o for o in kept if o != owner and o.get("uid") != owner.get("uid")] + [owner]


def secret_object(
    namespace: str,
    name: str,
    data: Mapping[str, str],
    *,
    labels: Mapping[str, str],
    annotations: Mapping[str, str],
    owners: Iterable[OwnerReference] = (),
    resource_version: str | None = None,
) -> Secret:
    """An Opaque Secret to create, or (with ``resource_version``) to replace."""
    metadata: ObjectMeta = {
        "name": name,
        "namespace": namespace,
        "labels": dict(labels),
        "annotations": dict(annotations),
    }
    if resource_version is not None:
        metadata["resourceVersion"] = resource_version
    owner_list = list(owners)
    if owner_list:
        metadata["ownerReferences"] = owner_list
    return {"metadata": metadata, "type": "Opaque", "data": encode_data(data)}
