"""The errors of the Kubernetes layer: one tree for every call the API and operator make.

::

    KubeError                  any failed call; .status (the API server's Status), .request
    ├── BadRequest             400 (a malformed request: selector, patch, body)
    ├── Denied                 the API server refuses who we are or what we ask
    │   ├── Unauthorized       401 (no, expired or unknown credentials)
    │   └── Forbidden          403 (RBAC)
    ├── NotFound               404
    ├── AlreadyExists          409, reason AlreadyExists (a create of a taken name)
    ├── Conflict               409 otherwise (stale resourceVersion, failed precondition)
    ├── Gone                   410 (a watch's resourceVersion is too old: relist)
    ├── Invalid                422 (schema validation of the object)
    └── Unavailable            429, 5xx, transport errors and timeouts: try again later
                               (.retry_after: the server's hint in seconds, if it sent one)

Every error carries the API server's ``Status`` body (synthesised from the HTTP status
when the answer had none) and the request it answers (``method``, ``path``: for logs,
never for end users). A transport failure chains the original exception as
``__cause__`` and has ``code`` 0.
"""

from __future__ import annotations

from dataclasses import dataclass

from zero_scim.kube.objects import Status


@dataclass(frozen=True, slots=True)
class RequestInfo:
    """The request an error answers (for the logs)."""

    method: str
    path: str

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


class KubeError(Exception):
    """A failed call to the API server."""

    def __init__(
        self,
        message: str,
        *,
        status: Status | None = None,
        request: RequestInfo | None = None,
    ) -> None:
        self.message = message
        self.status: Status = status if status is not None else {"message": message}
        self.request = request
        super().__init__(f"{request}: {message}" if request is not None else message)

    @property
    def code(self) -> int:
        """The HTTP status code (0: no answer — a transport failure or a timeout)."""
        return self.status.get("code", 0)

    @property
    def reason(self) -> str:
        """The Status reason (``NotFound``, ``AlreadyExists``, ``Conflict``, …)."""
        return self.status.get("reason", "")


class BadRequest(KubeError):
    pass


class Denied(KubeError):
    pass


class Unauthorized(Denied):
    pass


class Forbidden(Denied):
    pass


class NotFound(KubeError):
    pass


class AlreadyExists(KubeError):
    pass


class Conflict(KubeError):
    pass


class Gone(KubeError):
    pass


class Invalid(KubeError):
    pass


class Unavailable(KubeError):
    """The API server cannot answer now (overload, restart, network): retryable."""

    def __init__(
        self,
        message: str,
        *,
        status: Status | None = None,
        request: RequestInfo | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, status=status, request=request)
        self.retry_after = retry_after


def error_for(
    code: int,
    status: Status,
    request: RequestInfo | None = None,
    *,
    retry_after: float | None = None,
) -> KubeError:
    """The error for an answer with HTTP status ``code`` and body ``status``.

    ``retry_after`` is the answer's ``Retry-After`` header (seconds), if any; without it
    the Status' ``details.retryAfterSeconds`` is the hint.
    """
    if "code" not in status:
        status = {**status, "code": code}
    message = status.get("message") or f"HTTP {code}"
    if code == 400:
        return BadRequest(message, status=status, request=request)
    if code == 401:
        return Unauthorized(message, status=status, request=request)
    if code == 403:
        return Forbidden(message, status=status, request=request)
    if code == 404:
        return NotFound(message, status=status, request=request)
    if code == 409:
        if status.get("reason") == "AlreadyExists":
            return AlreadyExists(message, status=status, request=request)
        return Conflict(message, status=status, request=request)
    if code == 410:
        return Gone(message, status=status, request=request)
    if code == 422:
        return Invalid(message, status=status, request=request)
    if code == 429 or code >= 500:
        if retry_after is None:
            hint = status.get("details", {}).get("retryAfterSeconds")
            retry_after = float(hint) if isinstance(hint, int) and hint > 0 else None
        return Unavailable(message, status=status, request=request, retry_after=retry_after)
    return KubeError(message, status=status, request=request)


def parse_retry_after(value: str | None) -> float | None:
    """A ``Retry-After`` header in seconds (the API server sends delta-seconds only)."""
    if not value:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return seconds if seconds >= 0 else None
