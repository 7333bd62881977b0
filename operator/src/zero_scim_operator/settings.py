"""The operator's settings, and how they shape Kopf.

Storage (see docs/operator.md, "What the operator writes"):

* **Finalizer** ``zeroscim.io/downstream`` (``FINALIZER``). Kopf adds it only when an
  object lacks it; the API may create objects with it already set, saving a write.
* **Progress** of handlers that must retry: ``status.kopf.progress`` (status only, never
  annotations; the CRDs keep ``status.kopf`` open so nothing is pruned). A handler that
  succeeds at the first attempt leaves no progress record behind.
* **Diff base**: :class:`GenerationDiffBase` — the last handled ``metadata.generation`` of
  a ScimUser in ``status.kopf.handledGeneration`` (one integer, written in the same status
  patch as the handler's result), instead of a copy of the whole spec. The other kinds
  are reconciled by level-triggered loops (daemons) and keep no diff base at all.
* **Events**: only those the operator posts on purpose (failures, rotations), never one
  per successful handler.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import cast

import kopf

from zero_scim.kube.coordinates import FINALIZER, USER

KOPF_FIELD = "kopf"
HANDLED_GENERATION = ("status", KOPF_FIELD, "handledGeneration")


@dataclass(frozen=True)
class OperatorConfig:
    """Everything the command line decides; defaults are the production values."""

    #: Namespaces (or Kopf globs) to serve; empty = all namespaces (cluster-wide).
    namespaces: tuple[str, ...] = ()
    #: ``http://HOST:PORT/PATH`` of the liveness endpoint, or None.
    liveness: str | None = None
    kubeconfig: str | None = None
    finalizer: str = FINALIZER
    #: Ask the API server to end each watch after this many seconds (a fresh request then
    #: continues from the last resourceVersion: no relisting).
    watch_server_timeout: float = 60.0
    #: Hard limit on one watch request: a silently stalled stream is cut after this.
    watch_client_timeout: float = 90.0
    watch_connect_timeout: float = 10.0
    #: No event (bookmarks included) for this long → the stream is considered dead.
    watch_inactivity_timeout: float = 75.0
    #: Timeout of every other API request (patches, reads, event posting).
    request_timeout: float = 30.0
    #: How long a handler waits in-process for a downstream that is failing or rate
    #: limiting before it gives the object back to Kopf's retry (which costs API writes).
    retry_budget: float = 300.0
    #: Exponential backoff with full jitter for retries: base * 2**n, capped.
    backoff_base: float = 0.5
    backoff_cap: float = 300.0
    #: Consecutive transient failures after which a tenant's downstream is "unreachable"
    #: (callers wait for one trial request instead of each hammering it).
    breaker_threshold: int = 5
    breaker_cap: float = 30.0
    #: How often a tenant's status (counts, reachability) is refreshed if it changed.
    status_interval: float = 10.0
    #: How often a tenant's downstream is probed when nothing else talks to it.
    probe_interval: float = 60.0
    #: A group member whose account does not exist downstream yet is waited for this long.
    member_wait: float = 30.0

    @property
    def clusterwide(self) -> bool:
        return not self.namespaces


class GenerationDiffBase(kopf.DiffBaseStorage):
    """Kopf's diff base, reduced to ``metadata.generation``.

    For the tracked kinds (ScimUser) an object is *new* when it has no handled
    generation, *changed* when its generation differs from the handled one (stored in
    ``status.kopf.handledGeneration``), and *unchanged* otherwise. The handlers reconcile
    the whole desired state anyway (level-triggered), so they need no field-level diff --
    and an essence of one integer costs neither a deep copy of every watched object nor
    a copy of its spec in every status patch. Labels, annotations and status do not bump
    the generation and do not trigger a sync.

    Other kinds never show a diff: their reconciliation is driven by daemons.
    """

    def __init__(self, tracked_kinds: Iterable[str] = (USER.kind,)) -> None:
        super().__init__()
        self.tracked_kinds = frozenset(tracked_kinds)

    def build(
        self, *, body: kopf.Body, extra_fields: Iterable[kopf.FieldSpec] | None = None
    ) -> kopf.BodyEssence:
        if body.get("kind") not in self.tracked_kinds:
            return _essence({})
        return _essence({"metadata": {"generation": body.get("metadata", {}).get("generation")}})

    def fetch(self, *, body: kopf.Body) -> kopf.BodyEssence | None:
        if body.get("kind") not in self.tracked_kinds:
            return _essence({})
        handled = _handled_generation(body)
        if handled is None:
            return None
        return _essence({"metadata": {"generation": handled}})

    def store(self, *, body: kopf.Body, patch: kopf.Patch, essence: kopf.BodyEssence) -> None:
        if body.get("kind") in self.tracked_kinds:
            generation = body.get("metadata", {}).get("generation")
            patch.setdefault("status", {}).setdefault(KOPF_FIELD, {})["handledGeneration"] = (
                generation
            )


def _essence(raw: dict[str, object]) -> kopf.BodyEssence:
    return cast(kopf.BodyEssence, raw)


def _handled_generation(body: kopf.Body) -> int | None:
    kopf_status = body.get("status", {}).get(KOPF_FIELD)
    if isinstance(kopf_status, dict):
        value = kopf_status.get("handledGeneration")
        if isinstance(value, int):
            return value
    return None


def configure_kopf(settings: kopf.OperatorSettings, config: OperatorConfig) -> None:
    """Apply ``config`` to Kopf's settings (explicitly: no default is left to chance)."""
    settings.persistence.finalizer = config.finalizer
    settings.persistence.progress_storage = kopf.StatusProgressStorage(name=KOPF_FIELD)
    settings.persistence.diffbase_storage = GenerationDiffBase()

    settings.posting.enabled = True  # our own kopf.event() calls: failures, rotations
    settings.posting.loggers = False  # never one Event per log line
    settings.posting.level = logging.INFO
    settings.posting.reporting_component = "zero-scim-operator"

    settings.watching.server_timeout = int(config.watch_server_timeout)  # an integer query
    settings.watching.client_timeout = config.watch_client_timeout
    settings.watching.connect_timeout = config.watch_connect_timeout
    settings.watching.inactivity_timeout = config.watch_inactivity_timeout
    settings.watching.reconnect_backoff = 1.0

    settings.networking.request_timeout = config.request_timeout
    settings.networking.connect_timeout = min(config.request_timeout, 10.0)
    settings.networking.error_backoffs = (1, 1, 2, 3, 5, 8, 13, 21)

    settings.peering.standalone = True  # one replica, Recreate strategy (docs/operator.md)
    settings.peering.clusterwide = config.clusterwide
