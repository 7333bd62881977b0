"""Storage failures as SCIM errors: the one mapping, and the one deadline.

Every public storage operation runs inside :func:`storage_call`, which

* bounds the whole operation (every API-server call it makes, any waiting between them)
  by the storage deadline (``Settings.storage_timeout``, default 10 s); and
* turns whatever Kubernetes failure escapes the operation into a SCIM error
  (:func:`scim_error`).

What the client sees names no internals: no object names, kinds, field paths, REST
paths, hosts or exception names. Those go to the log (with the request id the log
formatter adds) — the client's detail says what happened in SCIM terms::

    NotFound (404)                  404              the resource was not found
    Invalid (422), 413, too large   400 invalidValue the resource was refused by storage
    Unavailable (429, 5xx, network) 503 + Retry-After (the API server's hint, else 5 s)
    deadline passed                 503 + Retry-After
    Denied (401, 403)               503 + Retry-After (the API's own credentials; logged
                                    as an error)
    anything else (400, ...)        500 (a bug: logged with its traceback)

Conflicts and AlreadyExists are outcomes the operations handle themselves (a stale write,
a taken userName, a member-log seq another replica took); they never reach this mapping.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import AsyncIterator
from typing import Final

from zero_scim.kube.errors import Denied, Invalid, KubeError, NotFound, Unavailable
from zero_scim.scim import InvalidValue, ScimError, ServiceUnavailable
from zero_scim.scim import NotFound as ScimNotFound

log = logging.getLogger(__name__)

#: Retry-After (seconds) when the API server gave no hint.
DEFAULT_RETRY_AFTER: Final = 5
#: What etcd answers for an object over its request size limit (~1.5 MiB).
_TOO_LARGE: Final = "too large"


def retry_after(hint: float | None) -> int:
    """Whole seconds for ``Retry-After``: the server's hint rounded up, else the default."""
    if hint is None or hint <= 0:
        return DEFAULT_RETRY_AFTER
    return max(1, math.ceil(hint))


def scim_error(exc: KubeError | TimeoutError, action: str) -> ScimError:
    """The SCIM error for a failed storage ``action`` (``"create a user"``); the internal
    details are logged here, never returned."""
    if isinstance(exc, TimeoutError):
        log.warning("storage: %s did not finish within the deadline", action)
        return ServiceUnavailable(
            "the storage did not answer in time; retry", retry_after=DEFAULT_RETRY_AFTER
        )
    fields = {"storage_status": exc.code, "storage_reason": exc.reason}
    if isinstance(exc, Denied):
        log.error("storage: %s was denied: %s", action, exc, extra={"fields": fields})
        return ServiceUnavailable(
            "the storage is unavailable; retry", retry_after=DEFAULT_RETRY_AFTER
        )
    log.warning("storage: %s failed: %s", action, exc, extra={"fields": fields})
    if isinstance(exc, NotFound):
        return ScimNotFound("the resource was not found")
    if isinstance(exc, Invalid) or exc.code == 413 or _TOO_LARGE in exc.message:
        return InvalidValue("the resource was refused by the storage: a value is not storable")
    if isinstance(exc, Unavailable):
        return ServiceUnavailable(
            "the storage is unavailable; retry", retry_after=retry_after(exc.retry_after)
        )
    return ScimError("storage call failed", status=500)


@contextlib.asynccontextmanager
async def storage_call(action: str, deadline: float) -> AsyncIterator[None]:
    """Run a storage operation within ``deadline`` seconds; map what escapes it."""
    try:
        async with asyncio.timeout(deadline):
            yield
    except (KubeError, TimeoutError) as exc:
        raise scim_error(exc, action) from exc
