"""Member existence: every id a request adds to a group must name a user or group of the
same tenant — checked before anything is written, at a bounded cost.

* **Bounded per request**: a request (POST, PUT or PATCH of a group) may add at most
  :data:`MAX_ADDED_MEMBERS` member ids; more is 400 ``invalidValue`` before any lookup
  (RFC 7644 §3.12 lets a server refuse what it is unwilling to process). Removing
  members is not bounded: it needs no check.
* **From the index, never a list**: ids are looked up in this replica's watch-fed index
  (hash lookups). An id the index does not know yet may name a user created a moment
  ago through another replica: such ids are looked up again every :data:`POLL` seconds
  for up to ``wait`` seconds (``Settings.member_wait``, default 2 s) while that
  replica's write reaches this one through the watch, then refused. The API server is
  not asked: a LIST by label costs it a pass over every object of the namespace, which
  is what made unknown ids an amplification (issue 9). An id that is not shaped like
  the ids this API issues (UUIDs) can never appear and is refused at once.
* **Abandoned with the client**: the wait ends as soon as the client disconnects
  (:class:`~zero_scim_api.services.common.Abandoned`); nothing is written.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from typing import Final

from zero_scim.scim import InvalidValue
from zero_scim_api.services.common import Abandoned, Connection
from zero_scim_api.storage.index import TenantIndex

#: The most member ids one request may add (one member-log Delta holds 10,000 adds).
MAX_ADDED_MEMBERS: Final = 10_000
#: Seconds between lookups of ids the index does not know yet.
POLL: Final = 0.05
_SCIM_ID: Final = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_SHOWN: Final = 5


def _unknown(index: TenantIndex, ids: Sequence[str]) -> list[str]:
    return [m for m in ids if index.user(m) is None and index.group(m) is None]


class MemberCheck:
    def __init__(self, wait: float) -> None:
        self.wait = wait

    async def require(self, index: TenantIndex, ids: Sequence[str], connection: Connection) -> None:
        """Return once every id in ``ids`` names a user or group of ``index``'s tenant;
        else 400 ``invalidValue`` naming (some of) the unknown ids."""
        if len(ids) > MAX_ADDED_MEMBERS:
            raise InvalidValue(
                f"a request may add at most {MAX_ADDED_MEMBERS:,} members, not {len(ids):,}; "
                "send the change in several requests"
            )
        unknown = _unknown(index, ids)
        if unknown and all(_SCIM_ID.match(m) for m in unknown):
            deadline = time.monotonic() + self.wait
            while unknown and (remaining := deadline - time.monotonic()) > 0:
                if await connection.closed_within(min(POLL, remaining)):
                    raise Abandoned("the client disconnected")
                unknown = _unknown(index, unknown)
        if unknown:
            shown = ", ".join(unknown[:_SHOWN]) + (" …" if len(unknown) > _SHOWN else "")
            raise InvalidValue(f"members refer to unknown resources: {shown}")
