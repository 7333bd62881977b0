"""Operations endpoints (no authentication): ``/healthz``, ``/readyz``, ``/metrics``.

``/healthz`` answers as long as the event loop does; ``/readyz`` is 503 until every watch
has synced (Kubernetes keeps the pod out of the Service until then). Failures carry a
SCIM error body like everything else.
"""

from __future__ import annotations

import falcon
import falcon.asgi
import orjson

from zero_scim.scim import ServiceUnavailable
from zero_scim_api.metrics import CONTENT_TYPE, Metrics
from zero_scim_api.request import ScimRequest
from zero_scim_api.storage.store import Storage


class Health:
    async def on_get(self, req: ScimRequest, resp: falcon.asgi.Response) -> None:
        resp.content_type = falcon.MEDIA_JSON
        resp.data = orjson.dumps({"status": "ok"})


class Ready:
    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    async def on_get(self, req: ScimRequest, resp: falcon.asgi.Response) -> None:
        if not self.storage.ready:
            raise ServiceUnavailable("the index is not synced yet", retry_after=1)
        resp.content_type = falcon.MEDIA_JSON
        resp.data = orjson.dumps({"status": "ready"})


class MetricsEndpoint:
    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    async def on_get(self, req: ScimRequest, resp: falcon.asgi.Response) -> None:
        resp.content_type = CONTENT_TYPE
        resp.data = self.metrics.render()
