"""Exceptions raised by :class:`~zero_scim_operator.downstream.ZeroAccountsClient`.

The client never lets an ``httpx`` exception escape: every failure is one of these, with
the original exception (if any) chained as ``__cause__``. The tree::

    DownstreamError                 base; .retryable, .status, .code, .details, .request_id
    ├── TransientError              retryable: 5xx, 408, timeouts, connection failures,
    │   │                           responses that cannot be decoded
    │   └── RateLimited             429; .retry_after (seconds, from Retry-After)
    ├── PermanentError              not retryable: any other 4xx (400, 401, 403, 404,
    │                               412, 413, 415, 422, ...) -- the request itself is wrong
    └── ConflictError               not retryable as is: 409 (``code`` "email_taken", ...);
                                    the state of *another* resource must change first

``ConflictError`` is not a ``PermanentError`` on purpose: it is neither a bug in the
request nor a passing glitch, and the caller must decide (report it on the resource,
retry much later). A 404 answering a delete is not an error at all.

The client does not retry; the caller owns backoff. ``retryable`` says whether sending
the same request again later may succeed.
"""

from __future__ import annotations

from typing import TypedDict, Unpack

from zero_scim.jsondata import JsonValue


class ErrorContext(TypedDict, total=False):
    """What a :class:`DownstreamError` knows about the request and the answer."""

    method: str | None
    url: str | None
    #: HTTP status, ``None`` when no response arrived (timeout, connection error).
    status: int | None
    #: The service's error code (``error.code``), e.g. ``"email_taken"``.
    code: str | None
    details: JsonValue
    request_id: str | None


class DownstreamError(Exception):
    """A call to the Zero accounts API failed."""

    retryable: bool = False

    def __init__(self, message: str, **context: Unpack[ErrorContext]) -> None:
        super().__init__(message)
        self.message = message
        self.method = context.get("method")
        self.url = context.get("url")
        self.status = context.get("status")
        self.code = context.get("code")
        self.details = context.get("details")
        self.request_id = context.get("request_id")

    def __str__(self) -> str:
        where = f" ({self.method} {self.url})" if self.method else ""
        status = f"{self.status} " if self.status is not None else ""
        code = f"{self.code}: " if self.code else ""
        return f"{status}{code}{self.message}{where}"


class TransientError(DownstreamError):
    """The service or the network failed; the same request may succeed later."""

    retryable = True


class RateLimited(TransientError):
    """429: slow down, and do not retry before ``retry_after`` seconds."""

    def __init__(
        self, message: str, *, retry_after: float, **context: Unpack[ErrorContext]
    ) -> None:
        super().__init__(message, **context)
        self.retry_after = retry_after


class PermanentError(DownstreamError):
    """A 4xx: the request is invalid or not allowed; sending it again will not help."""

    retryable = False


class ConflictError(DownstreamError):
    """409: the request conflicts with other data (e.g. ``email_taken``)."""

    retryable = False
