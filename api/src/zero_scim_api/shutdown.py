"""Graceful shutdown behind a Service: drain first, then stop.

When a Pod is deleted, Kubernetes sends SIGTERM and, at the same time, removes the Pod
from the Service's endpoints; every node's kube-proxy (or load balancer) takes a moment to
follow. A server that stopped accepting at SIGTERM would refuse the connections that
still arrive in that moment. So on SIGTERM the API first *drains* for
``--shutdown-delay`` seconds: it keeps serving, answers ``/readyz`` with 503 (so the Pod
also leaves the endpoints by its probe), and asks every client to close its keep-alive
connection after the response (``Connection: close``), so that their next requests open
new connections — which the Service routes to the other replicas. Then uvicorn stops
accepting, finishes in-flight requests and exits.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import orjson

# Falcon's own ASGI signature: scope and sent messages as dicts, received as mappings.
Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Mapping[str, Any]]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"


class Drain:
    """ASGI wrapper: normal service until :meth:`start`, then draining as described."""

    def __init__(self, app: ASGIApp, ready_path: str = "/readyz") -> None:
        self.app = app
        self.ready_path = ready_path
        self.draining = False

    def start(self) -> None:
        self.draining = True

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.draining:
            await self.app(scope, receive, send)
            return
        if scope.get("path") == self.ready_path:
            body = orjson.dumps(
                {"schemas": [ERROR_SCHEMA], "status": "503", "detail": "shutting down"}
            )
            await send(
                {
                    "type": "http.response.start",
                    "status": 503,
                    "headers": [
                        (b"content-type", b"application/scim+json"),
                        (b"retry-after", b"1"),
                        (b"connection", b"close"),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return

        async def closing(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (k, v) for k, v in message.get("headers", []) if k.lower() != b"connection"
                ]
                message["headers"] = [*headers, (b"connection", b"close")]
            await send(message)

        await self.app(scope, receive, closing)
