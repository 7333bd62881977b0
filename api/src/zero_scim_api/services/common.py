"""What the user and group services share: the call, the answers, ETags, the write loop.

A service method takes a :class:`Call` (who asks, and how the answer is shaped) and
returns a :class:`ResourceView` or a :class:`Page`; failures are
:class:`~zero_scim.scim.ScimError`\\ s. Writes follow one path (:func:`write_loop`):
read the current entry from the index, check ``If-Match`` against it, compute the whole
change (the PATCH is parsed once, before the loop), make one storage call; if storage
answers :class:`~zero_scim_api.storage.results.Stale`, compute the change again on the
fresh entry it returns.
"""

from __future__ import annotations

import asyncio
import random
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final, Protocol, TypeVar

from zero_scim.kube.tenants import Tenant
from zero_scim.scim import ListQuery, NotFound, PreconditionFailed, ScimError, ServiceUnavailable
from zero_scim_api.storage.codec import Meta
from zero_scim_api.storage.index import GroupEntry, UserEntry
from zero_scim_api.storage.results import Stale, WriteResult, Written

EntryT = TypeVar("EntryT", UserEntry, GroupEntry)

#: Writes of one request that may find the object changed by someone else, each time
#: re-applying the change to the fresh object, before the answer is 503 (retry).
MAX_ATTEMPTS: Final = 16
#: The longest pause (seconds) before writing again after a lost race; the pause is
#: random and grows with each loss, so that writers racing for one object spread out.
MAX_PAUSE: Final = 0.2


class Connection(Protocol):
    """The client's connection, as far as a service needs it: has it gone away?"""

    async def closed_within(self, seconds: float) -> bool:
        """Wait up to ``seconds``; True as soon as the client has disconnected."""
        ...


class _Kept:
    """A connection that never closes (calls made by the API itself, unit tests)."""

    async def closed_within(self, seconds: float) -> bool:
        await asyncio.sleep(seconds)
        return False


KEPT: Final[Connection] = _Kept()


class Abandoned(ScimError):
    """The client went away while the request waited: the work stops, nothing is written.

    Nobody reads the answer; its status (499, "client closed request") is for the logs.
    """

    status = 499


@dataclass(frozen=True, slots=True)
class Call:
    """What every service call needs of its request."""

    tenant: Tenant
    #: The SCIM root as the client sees it (for ``meta.location``).
    base_url: str
    #: ``attributes`` / ``excludedAttributes`` of a request on one resource.
    attributes: tuple[str, ...] = ()
    excluded: tuple[str, ...] = ()
    #: The ``If-Match`` header, if any.
    if_match: str | None = None
    connection: Connection = KEPT

    @property
    def namespace(self) -> str:
        return self.tenant.namespace


@dataclass(frozen=True, slots=True)
class ResourceView:
    """A rendered (and projected) SCIM resource with its ETag and location."""

    body: dict[str, object]
    etag: str
    location: str


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a list: the total across pages and this page's resources."""

    total: int
    start_index: int
    resources: list[dict[str, object]]


class Resources(ABC):
    """The SCIM operations on one resource type (Users, Groups), as the handlers see them."""

    @abstractmethod
    def get(self, call: Call, scim_id: str) -> ResourceView: ...

    @abstractmethod
    def search(self, call: Call, query: ListQuery) -> Page: ...

    @abstractmethod
    async def create(self, call: Call, body: object) -> ResourceView: ...

    @abstractmethod
    async def replace(self, call: Call, scim_id: str, body: object) -> ResourceView: ...

    @abstractmethod
    async def patch(self, call: Call, scim_id: str, body: object) -> ResourceView: ...

    @abstractmethod
    async def delete(self, call: Call, scim_id: str) -> None: ...


def weak_etag(version: str) -> str:
    return f'W/"{version}"'


def check_if_match(header: str | None, etag: str) -> None:
    """RFC 7232 If-Match with weak comparison: ``*`` or any listed tag must match."""
    if header is None:
        return
    wanted = header.strip()
    if wanted == "*":
        return
    current = etag.removeprefix("W/")
    for tag in wanted.split(","):
        if tag.strip().removeprefix("W/") == current:
            return
    raise PreconditionFailed(f"If-Match {wanted} does not match the current version {etag}")


def meta_json(resource_type: str, meta: Meta, location: str, etag: str) -> dict[str, object]:
    return {
        "resourceType": resource_type,
        "created": meta.created,
        "lastModified": meta.last_modified,
        "location": location,
        "version": etag,
    }


def found(entry: EntryT | None, kind: str, scim_id: str) -> EntryT:
    """``entry``, or 404 naming the resource as the client asked for it."""
    if entry is None:
        raise NotFound(f"{kind} {scim_id} not found")
    return entry


#: One attempt of a write: compute the change on ``entry`` and make its storage call; None
#: when there is nothing to write (the answer is ``entry`` as it is).
Attempt = Callable[[EntryT], Awaitable[WriteResult[EntryT] | None]]


async def write_loop(
    first: EntryT,
    attempt: Attempt[EntryT],
    *,
    kind: str,
    scim_id: str,
    etag: Callable[[EntryT], str],
    if_match: str | None,
) -> EntryT:
    """Run ``attempt`` on ``first``, then on each fresh entry storage answers Stale with;
    ``If-Match`` is checked against every entry the change is computed on."""
    entry = first
    for lost in range(MAX_ATTEMPTS):
        check_if_match(if_match, etag(entry))
        result = await attempt(entry)
        if result is None:
            return entry
        if isinstance(result, Written):
            return result.entry
        assert isinstance(result, Stale)
        entry = found(result.current, kind, scim_id)
        await asyncio.sleep(random.uniform(0, min(MAX_PAUSE, 0.005 * 2**lost)))
    raise ServiceUnavailable(f"too many concurrent updates of this {kind}; retry", retry_after=1)
