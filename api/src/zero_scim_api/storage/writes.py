"""What the user and group repositories write alike: merge patches with a resourceVersion
precondition, deletions with a uid precondition, new objects' ids, meta and finalizers.

Merge patches (RFC 7386, not PUT) leave the operator's finalizers, annotations and status
alone; an attribute the SCIM document no longer holds (cleared: RFC 7643 §2.5) becomes
``null`` in the patch, which removes the field from the custom resource.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final, Generic

import orjson

from zero_scim.jsondata import JsonObject
from zero_scim.kube.client import KubeClient
from zero_scim.kube.coordinates import Kind
from zero_scim.kube.errors import Conflict, NotFound
from zero_scim.kube.objects import KubeObject, ObjectMeta, ObjectT
from zero_scim.scim import InvalidValue
from zero_scim_api.storage.codec import Meta, content_version, doc_to_spec, now_iso
from zero_scim_api.storage.results import EntryT, Stale, WriteResult, Written

#: The largest spec the API writes (bytes of JSON). etcd refuses objects over ~1.5 MiB
#: (metadata and the API server's managedFields included); only custom extensions,
#: which have no bound of their own, can grow a document that far.
MAX_SPEC_BYTES: Final = 1_000_000


def merge_patch(old: JsonObject, new: JsonObject) -> JsonObject:
    """RFC 7386 merge patch turning ``old`` into ``new`` (lists replace wholesale)."""
    patch: JsonObject = {}
    for key in old.keys() - new.keys():
        patch[key] = None
    for key, value in new.items():
        before = old.get(key)
        if isinstance(value, dict) and isinstance(before, dict):
            nested = merge_patch(before, value)
            if nested:
                patch[key] = nested
        elif value != before or key not in old:
            patch[key] = value
    return patch


def check_size(spec: Mapping[str, object]) -> None:
    """400 invalidValue if a spec is too large to store (see :data:`MAX_SPEC_BYTES`)."""
    size = len(orjson.dumps(spec))
    if size > MAX_SPEC_BYTES:
        raise InvalidValue(
            f"the resource would take {size:,} bytes; a resource holds at most "
            f"{MAX_SPEC_BYTES:,} bytes"
        )


def new_meta(doc: JsonObject) -> tuple[str, Meta]:
    """A fresh SCIM id and ``meta`` stamped now, for a new user or group."""
    now = now_iso()
    return str(uuid.uuid4()), Meta(created=now, last_modified=now, version=content_version(doc))


def next_meta(meta: Meta, doc: JsonObject) -> Meta:
    """``meta`` of a new version of a document (``created`` survives)."""
    return Meta(meta.created, now_iso(), content_version(doc))


def with_finalizers(obj: ObjectT, finalizers: tuple[str, ...]) -> ObjectT:
    if finalizers:
        obj["metadata"]["finalizers"] = list(finalizers)
    return obj


def resource_version(metadata: ObjectMeta) -> int:
    try:
        return int(metadata.get("resourceVersion", 0))
    except (TypeError, ValueError):
        return 0


@dataclass(frozen=True, slots=True)
class Target(Generic[ObjectT]):
    """The object a write is meant for: its kind, where it is, and the version read."""

    kind: Kind[ObjectT]
    namespace: str
    name: str
    rv: int
    uid: str


@dataclass(frozen=True, slots=True)
class Held(Generic[ObjectT, EntryT]):
    """How this replica's index holds one kind: put an object, drop one, get by SCIM id."""

    put: Callable[[ObjectT], EntryT | None]
    drop: Callable[[KubeObject], None]
    get: Callable[[str], EntryT | None]


async def update_document(
    kube: KubeClient,
    target: Target[ObjectT],
    held: Held[ObjectT, EntryT],
    expected: EntryT,
    doc: JsonObject,
) -> WriteResult[EntryT]:
    """Write ``doc`` over the document of ``expected`` (the entry read) if the object is
    still at that version; the outcome is in the index either way."""
    meta = next_meta(expected.meta, doc)
    written, ok = await patch_document(kube, target, expected.doc(), doc, meta)
    if written is None:
        held.drop({"metadata": {"name": target.name}})
        return Stale(None)
    entry = held.put(written)
    if not ok:
        return Stale(held.get(expected.id))
    assert entry is not None
    return Written(entry)


async def patch_document(
    kube: KubeClient,
    target: Target[ObjectT],
    old_doc: JsonObject,
    new_doc: JsonObject,
    meta: Meta,
) -> tuple[ObjectT | None, bool]:
    """Merge-patch the object's spec from ``old_doc`` to ``new_doc`` if it is still at the
    version read (``target.rv``).

    Returns the written object and True; or, when someone wrote first, the object as it
    is now and False (None and False if it was deleted meanwhile).
    """
    new_spec = doc_to_spec(new_doc)
    check_size(new_spec)
    patch_spec = merge_patch(doc_to_spec(old_doc), new_spec)
    patch_spec["meta"] = meta.to_spec()
    patch: JsonObject = {"spec": patch_spec}
    try:
        written = await kube.merge_patch(
            target.kind, target.name, patch, target.namespace, resource_version=str(target.rv)
        )
    except NotFound:
        return None, False
    except Conflict:
        return await kube.find(target.kind, target.name, target.namespace), False
    return written, True


async def delete_object(
    kube: KubeClient, target: Target[ObjectT], held: Held[ObjectT, EntryT]
) -> bool:
    """Delete the object if it is still the one read (uid precondition) and reflect that in
    the index: still there with finalizers (the operator deletes downstream first), or
    gone. False if it was gone already or the name now belongs to another object.

    An object deleted outright is answered with a ``Status``, not the object: it is
    dropped by name, with its last known resourceVersion as the tombstone.
    """
    try:
        response = await kube.delete(target.kind, target.name, target.namespace, uid=target.uid)
    except NotFound:
        held.drop({"metadata": {"name": target.name}})
        return False
    except Conflict:
        return False  # a different object (new uid) now has that name: not ours to delete
    metadata: ObjectMeta = response["metadata"] if response is not None else {}
    if response is not None and metadata.get("deletionTimestamp") and metadata.get("finalizers"):
        held.put(response)
        return True
    rv = max(target.rv, resource_version(metadata))
    held.drop({"metadata": {"name": target.name, "resourceVersion": str(rv)}})
    return True
