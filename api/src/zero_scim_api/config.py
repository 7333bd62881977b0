"""Settings of the SCIM API process: defaults, environment (``ZERO_SCIM_API_*``), CLI flags.

Precedence: command-line flag > environment variable > default. Every limit here is
also what the API advertises (``maxResults`` in /ServiceProviderConfig is
``max_results``), so the two cannot drift apart.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from zero_scim.scim.filter import MAX_FILTER_LENGTH

ENV_PREFIX = "ZERO_SCIM_API_"

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]


class SettingsError(ValueError):
    """The environment or the command line holds an invalid setting."""


class Settings(BaseModel):
    """Everything the HTTP layer needs to know; immutable once the app is built."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    #: Where the SCIM root is mounted (the Tenant URL's path; Entra: ``/scim/v2``).
    base_path: str = "/scim/v2"
    #: The SCIM root as clients see it (``https://scim.example.com/scim/v2``). Empty:
    #: derived per request from the Host header (and ``X-Forwarded-*``/``Forwarded``).
    public_url: str = ""
    #: Largest request body accepted; bigger ones get 413.
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    #: Longest ``filter`` accepted (characters); longer ones get 400 invalidFilter.
    max_filter_length: int = Field(default=MAX_FILTER_LENGTH, ge=64)
    #: Largest page (``count`` is capped to it); advertised as ``filter.maxResults``.
    max_results: int = Field(default=1000, ge=1)
    #: Page size when a list request has no ``count`` (None: ``max_results``).
    default_count: int | None = Field(default=None, ge=0)
    #: Seconds the process waits at startup for its watches to sync before giving up.
    ready_timeout: float = Field(default=120.0, gt=0)
    #: The deadline of every storage call (seconds): a write the API server has not
    #: answered by then is 503 with ``Retry-After`` — well before Entra gives up on the
    #: request, so the client learns the outcome.
    storage_timeout: float = Field(default=10.0, gt=0, le=60)
    #: How long a member id the index does not know yet is waited for (seconds): a user
    #: created a moment ago through another replica reaches this one through its watch.
    member_wait: float = Field(default=2.0, ge=0, le=30)
    log_level: LogLevel = "INFO"
    #: Create ScimUsers and ScimGroups with the operator's finalizer already set: saves
    #: the operator one API-server write per new object. Only where the operator runs
    #: (the chart, `zero-scim dev`): without it, deleted objects would never go away.
    operator_finalizer: bool = False
    #: Seconds between SIGTERM and closing the listener, spent draining (``/readyz`` 503,
    #: ``Connection: close``) while load balancers stop sending (zero_scim_api.shutdown).
    shutdown_delay: float = Field(default=0.0, ge=0, le=300)

    @field_validator("base_path")
    @classmethod
    def _base_path(cls, value: str) -> str:
        value = "/" + value.strip().strip("/")
        if "//" in value or any(c.isspace() for c in value):
            raise ValueError("base_path must be a plain path such as /scim/v2")
        return value if value != "/" else ""

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("public_url must be an absolute http(s) URL")
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _log_level(cls, value: object) -> object:
        return value.strip().upper() if isinstance(value, str) else value

    @classmethod
    def load(
        cls,
        overrides: Mapping[str, object] | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> Settings:
        """Defaults, then ``ZERO_SCIM_API_<FIELD>`` variables, then ``overrides`` (not None)."""
        environ = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for name in cls.model_fields:
            raw = environ.get(ENV_PREFIX + name.upper())
            if raw is not None and raw != "":
                values[name] = raw
        values.update({k: v for k, v in (overrides or {}).items() if v is not None})
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
            )
            raise SettingsError(problems) from None
