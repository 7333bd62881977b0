"""The API's request type: a typed context, and the client's connection.

:class:`ScimRequest` is Falcon's ASGI request with ``context_type`` set to
:class:`RequestState`, so ``req.context.tenant`` is a typed attribute that the
middleware fills in and the handlers read — nothing is looked up with ``getattr``.

It also watches the connection (:class:`ClientConnection`): once the request body has
been read, a service that waits (for a member created a moment ago through another
replica) can learn that the client has disconnected and stop.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

import falcon.asgi

from zero_scim.kube.tenants import Tenant
from zero_scim_api.logging import RequestContext

#: An ASGI event (a message from the server), as Falcon types it.
Event = Mapping[str, object]
Receive = Callable[[], Awaitable[Event]]


class ClientConnection:
    """The client's side of one request, as seen through ASGI ``receive``.

    The app reads the body through :meth:`receive`; afterwards the only message left is
    ``http.disconnect``. :meth:`closed_within` listens for it (the server also sends it
    once the response is complete, when nobody is waiting any more).
    """

    __slots__ = ("_body_read", "_closed", "_listener", "_receive")

    def __init__(self, receive: Receive, first_event: Event | None) -> None:
        self._receive = receive
        self._body_read = first_event is not None and not first_event.get("more_body", False)
        self._closed: asyncio.Event | None = None  # made when someone listens
        self._listener: asyncio.Task[None] | None = None

    @property
    def closed(self) -> bool:
        return self._closed is not None and self._closed.is_set()

    async def receive(self) -> Event:
        event = await self._receive()
        if event.get("type") == "http.disconnect":
            self._closed = self._closed or asyncio.Event()
            self._closed.set()
        elif not event.get("more_body", False):
            self._body_read = True
        return event

    async def closed_within(self, seconds: float) -> bool:
        """Wait up to ``seconds``; True as soon as the client has disconnected."""
        if self.closed:
            return True
        if not self._body_read:  # the app still reads the body: the server tells it
            await asyncio.sleep(seconds)
            return self.closed
        self._closed = self._closed or asyncio.Event()
        if self._listener is None:
            self._listener = asyncio.create_task(self._listen())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._closed.wait(), seconds)
        return self.closed

    async def _listen(self) -> None:
        while not self.closed:
            await self.receive()

    def close(self) -> None:
        """Stop listening (the request is over)."""
        if self._listener is not None and not self._listener.done():
            self._listener.cancel()


@dataclass(slots=True)
class RequestState:
    """Everything the middleware learns about a request (``req.context``)."""

    request_id: str = ""
    started: float = 0.0
    #: The logging context (request id, the token to redact).
    log: RequestContext = field(default_factory=lambda: RequestContext(""))
    #: Whether the path is under the SCIM base path (else an operations endpoint).
    scim: bool = True
    token_presented: bool = False
    #: The tenant the bearer token selected (every SCIM route past authentication).
    tenant: Tenant | None = None
    #: The raw request body (POST, PUT, PATCH), read and bounded by the middleware.
    body: bytes = b""
    connection: ClientConnection | None = None


class ScimRequest(falcon.asgi.Request):
    """Falcon's ASGI request with the API's typed context and a watched connection."""

    __slots__ = ()
    context_type = RequestState
    context: RequestState  # type: ignore[assignment]  # Falcon declares its generic Context

    def __init__(
        self,
        scope: dict[str, object],
        receive: Receive,
        first_event: Event | None = None,
        options: falcon.request.RequestOptions | None = None,
    ) -> None:
        connection = ClientConnection(receive, first_event)
        super().__init__(scope, connection.receive, first_event=first_event, options=options)
        self.context.connection = connection
