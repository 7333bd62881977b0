"""Prometheus metrics of one API app, in a registry of its own (no global state).

* ``zero_scim_http_requests_total{route,method,status}`` and
  ``zero_scim_http_request_duration_seconds{route,method}``: ``route`` is the route
  template (``/scim/v2/Users/{id}``) or ``unmatched``; ``method`` is one of the methods
  the API knows or ``OTHER`` — labels never carry raw client input, so their number stays
  bounded whatever clients send.
* ``zero_scim_tenant_users{tenant}``, ``zero_scim_tenant_groups{tenant}``: read from the
  in-memory index at scrape time.
* ``zero_scim_watch_restarts_total{watch,reason}``: every relist or resume of a watch
  (``watch`` without its namespace: ``secrets``, ``users``, ...).
* ``zero_scim_ready``: 1 once every watch has synced.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from zero_scim_api.storage.store import Storage

KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
CONTENT_TYPE = CONTENT_TYPE_LATEST


class _StorageCollector(Collector):
    """Per-tenant object counts and readiness, computed when Prometheus scrapes."""

    def __init__(self, storage: Storage) -> None:
        self._storage = storage

    def collect(self) -> Iterator[Metric]:
        users = GaugeMetricFamily(
            "zero_scim_tenant_users", "SCIM users per tenant (in-memory index)", labels=["tenant"]
        )
        groups = GaugeMetricFamily(
            "zero_scim_tenant_groups", "SCIM groups per tenant (in-memory index)", labels=["tenant"]
        )
        for tenant in sorted(self._storage.tenants.tenants(), key=lambda t: t.name):
            index = self._storage.index.tenant(tenant.namespace)
            users.add_metric([tenant.name], index.user_count)
            groups.add_metric([tenant.name], index.group_count)
        yield users
        yield groups
        ready = GaugeMetricFamily("zero_scim_ready", "1 once every watch has synced")
        ready.add_metric([], 1.0 if self._storage.ready else 0.0)
        yield ready


class Metrics:
    """The app's metrics; ``watch_restarted`` is the storage's ``on_watch_restart``."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._requests = Counter(
            "zero_scim_http_requests",
            "HTTP requests by route template, method and status",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self._latency = Histogram(
            "zero_scim_http_request_duration_seconds",
            "HTTP request latency by route template and method",
            ["route", "method"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self._watch_restarts = Counter(
            "zero_scim_watch_restarts",
            "Watch relists and resumes by watch and reason",
            ["watch", "reason"],
            registry=self.registry,
        )
        self._storage_collector: _StorageCollector | None = None

    def bind(self, storage: Storage) -> None:
        """Start reporting per-tenant counts and readiness from ``storage`` (once)."""
        if self._storage_collector is None:
            self._storage_collector = _StorageCollector(storage)
            self.registry.register(self._storage_collector)

    def watch_restarted(self, watch: str, reason: str) -> None:
        self._watch_restarts.labels(watch.split(":", 1)[0], reason).inc()

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        method = method if method in KNOWN_METHODS else "OTHER"
        self._requests.labels(route, method, str(status)).inc()
        self._latency.labels(route, method).observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)
