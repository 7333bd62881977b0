"""SCIM errors (RFC 7644 §3.12): one base class, a flat family, one body shape.

Every failure the protocol core reports is a :class:`ScimError`; the HTTP layer turns it
into a response with :meth:`ScimError.to_body` and :attr:`ScimError.status`. Nothing in
``zero_scim.scim`` raises anything else for bad client input.

::

    ScimError                       (status, scim_type, detail)
    ├── InvalidFilter               400 invalidFilter
    ├── TooMany                     400 tooMany
    ├── InvalidSyntax               400 invalidSyntax
    ├── InvalidPath                 400 invalidPath
    ├── NoTarget                    400 noTarget
    ├── InvalidValue                400 invalidValue
    ├── InvalidVersion              400 invalidVers
    ├── Mutability                  400 mutability
    ├── Unauthorized                401
    ├── Forbidden                   403
    ├── NotFound                    404
    ├── MethodNotAllowed            405
    ├── Uniqueness                  409 uniqueness
    ├── Conflict                    409
    ├── PreconditionFailed          412
    ├── PayloadTooLarge             413
    ├── TooManyRequests             429   (retry_after)
    ├── NotSupported                501
    └── ServiceUnavailable          503   (retry_after)
"""

from __future__ import annotations

from typing import NotRequired, TypedDict

ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"

__all__ = [
    "ERROR_SCHEMA",
    "Conflict",
    "ErrorBody",
    "Forbidden",
    "InvalidFilter",
    "InvalidPath",
    "InvalidSyntax",
    "InvalidValue",
    "InvalidVersion",
    "MethodNotAllowed",
    "Mutability",
    "NoTarget",
    "NotFound",
    "NotSupported",
    "PayloadTooLarge",
    "PreconditionFailed",
    "ScimError",
    "ServiceUnavailable",
    "TooMany",
    "TooManyRequests",
    "Unauthorized",
    "Uniqueness",
    "quote",
]


class ErrorBody(TypedDict):
    """The RFC 7644 §3.12 error body: ``status`` is a string; ``scimType`` only for 400/409."""

    schemas: list[str]
    status: str
    scimType: NotRequired[str]
    detail: str


class ScimError(Exception):
    """A SCIM error: an HTTP status, an optional ``scimType`` and a human-readable detail."""

    status: int = 500
    scim_type: str | None = None
    default_detail: str = "Internal server error"

    def __init__(
        self, detail: str = "", *, status: int | None = None, scim_type: str | None = None
    ) -> None:
        self.detail = detail or self.default_detail
        if status is not None:
            self.status = status
        if scim_type is not None:
            self.scim_type = scim_type
        super().__init__(self.detail)

    def to_body(self) -> ErrorBody:
        """The RFC 7644 §3.12 error body (``status`` is a string; no ``scimType`` if None)."""
        if self.scim_type is None:
            return {"schemas": [ERROR_SCHEMA], "status": str(self.status), "detail": self.detail}
        return {
            "schemas": [ERROR_SCHEMA],
            "status": str(self.status),
            "scimType": self.scim_type,
            "detail": self.detail,
        }

    def with_context(self, context: str) -> ScimError:
        """A copy of this error, same class, whose detail starts with ``context``."""
        clone = type(self).__new__(type(self))
        ScimError.__init__(
            clone, f"{context}: {self.detail}", status=self.status, scim_type=self.scim_type
        )
        for name, value in vars(self).items():
            if name != "detail":
                setattr(clone, name, value)
        return clone

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status={self.status}, detail={self.detail!r})"


class InvalidFilter(ScimError):
    """The filter is malformed, too large, or compares types that cannot be compared."""

    status = 400
    scim_type = "invalidFilter"
    default_detail = "The filter is invalid"


class TooMany(ScimError):
    """The query would return more results than the server is willing to process."""

    status = 400
    scim_type = "tooMany"
    default_detail = "Too many results"


class InvalidSyntax(ScimError):
    """The request body is not the JSON structure the operation needs."""

    status = 400
    scim_type = "invalidSyntax"
    default_detail = "The request body is invalid"


class InvalidPath(ScimError):
    """A PATCH ``path`` is malformed or contradicts the schema."""

    status = 400
    scim_type = "invalidPath"
    default_detail = "The path is invalid"


class NoTarget(ScimError):
    """A PATCH path matched nothing where a target is required."""

    status = 400
    scim_type = "noTarget"
    default_detail = "The path did not match any value"


class InvalidValue(ScimError):
    """An attribute value has the wrong type, is missing, or breaks a rule of the schema."""

    status = 400
    scim_type = "invalidValue"
    default_detail = "An attribute value is invalid"


class InvalidVersion(ScimError):
    """The requested protocol version is not supported."""

    status = 400
    scim_type = "invalidVers"
    default_detail = "Unsupported SCIM version"


class Mutability(ScimError):
    """The request tries to change a readOnly or immutable attribute."""

    status = 400
    scim_type = "mutability"
    default_detail = "The attribute cannot be modified"


class Unauthorized(ScimError):
    """Missing or wrong credentials."""

    status = 401
    default_detail = "Authorization failure"


class Forbidden(ScimError):
    """The credentials do not allow this operation."""

    status = 403
    default_detail = "Operation not permitted"


class NotFound(ScimError):
    """The resource does not exist."""

    status = 404
    default_detail = "Resource not found"


class MethodNotAllowed(ScimError):
    """The HTTP method is not supported on this endpoint."""

    status = 405
    default_detail = "Method not allowed"


class Uniqueness(ScimError):
    """A value that must be unique (``userName``, a group's ``displayName``) is taken."""

    status = 409
    scim_type = "uniqueness"
    default_detail = "A unique attribute value is already in use"


class Conflict(ScimError):
    """The resource changed underneath the request (a version conflict)."""

    status = 409
    default_detail = "Conflict"


class PreconditionFailed(ScimError):
    """``If-Match`` did not match the current version."""

    status = 412
    default_detail = "Precondition failed"


class PayloadTooLarge(ScimError):
    """The request (body size, operation count) is larger than the server accepts."""

    status = 413
    default_detail = "Payload too large"


class TooManyRequests(ScimError):
    """The client is over its request budget; ``retry_after`` is in seconds."""

    status = 429
    default_detail = "Too many requests"

    def __init__(self, detail: str = "", *, retry_after: int | None = None) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class NotSupported(ScimError):
    """The operation is valid SCIM but this server does not implement it."""

    status = 501
    default_detail = "Not implemented"


class ServiceUnavailable(ScimError):
    """The server cannot serve the request right now; ``retry_after`` is in seconds."""

    status = 503
    default_detail = "Service unavailable"

    def __init__(self, detail: str = "", *, retry_after: int | None = None) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


def quote(text: str, limit: int = 60) -> str:
    """``text`` for an error detail: truncated, quoted, and safe to encode as UTF-8."""
    short = text if len(text) <= limit else text[:limit] + "…"
    safe = short.encode("utf-8", "backslashreplace").decode("utf-8")
    return repr(safe)
