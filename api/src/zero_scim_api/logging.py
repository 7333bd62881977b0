"""Structured JSON logs: one object per line, a request id on everything, never a token.

Every record is rendered by :class:`JsonFormatter` as one JSON line (``ts``, ``level``,
``logger``, ``msg`` and any structured fields passed with ``extra={"fields": {...}}``).
While a request is handled, :data:`request_context` holds its id and the bearer token it
presented; every line written in that context carries the id, and the token, if it
appears anywhere in the line (an error message quoting a body, a traceback), is replaced
by ``[REDACTED]``. Text shaped like a zero-scim token (``zscim_…``) or an
``Authorization: Bearer …`` value is redacted in every line as well.

The access log line (one per request) is written by the middleware with the fields
``request_id``, ``method``, ``route`` (the route template, never the raw path: paths and
query strings are client input), ``status``, ``duration_ms`` and ``tenant``.
"""

from __future__ import annotations

import contextvars
import logging
import re
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TextIO

import orjson

from zero_scim.kube.tokens import TOKEN_PREFIX

ACCESS_LOGGER = "zero_scim_api.access"
REDACTED = "[REDACTED]"

_TOKENISH = re.compile(
    rf"{re.escape(TOKEN_PREFIX)}[A-Za-z0-9_\-]*|(?i:bearer)(?:\s+|%20|\+)[A-Za-z0-9\-._~+/]{{8,}}=*"
)


@dataclass(slots=True)
class RequestContext:
    request_id: str
    token: str | None = None


request_context: contextvars.ContextVar[RequestContext | None] = contextvars.ContextVar(
    "zero_scim_request", default=None
)


def redact(text: str, token: str | None = None) -> str:
    """``text`` without ``token`` (when given) and without anything shaped like a token."""
    if token and len(token) >= 4:
        text = text.replace(token, REDACTED)
    return _TOKENISH.sub(REDACTED, text)


class JsonFormatter(logging.Formatter):
    """One JSON object per record, scrubbed of tokens."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        context = request_context.get()
        if context is not None:
            out["request_id"] = context.request_id
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            out.update(fields)
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        line = orjson.dumps(out, default=str).decode("utf-8")
        return redact(line, context.token if context is not None else None)


def configure(level: str = "INFO", stream: TextIO | None = None) -> None:
    """Route every logger (ours, uvicorn's, the storage's) through one JSON handler."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    # uvicorn's own access log would print raw paths and query strings: ours replaces it.
    logging.getLogger("uvicorn.access").disabled = True
