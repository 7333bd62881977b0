"""An httpx transport over aiohttp, for the downstream client.

:class:`~zero_scim_operator.downstream.ZeroAccountsClient` is written against httpx and
takes a ``transport``. httpx's own transport (httpcore on anyio) costs about as much CPU
per request as the whole rest of a user's sync (async-library sniffing, per-request
lock objects, pool bookkeeping; measured with bench/operator_lag.py); on the machine
that also runs the API server, etcd and the SCIM API, that decides the throughput. This
transport hands the request to one pooled ``aiohttp.ClientSession`` instead and maps
aiohttp's failures onto httpx's exceptions, so the client (and its error mapping) is
unchanged.
"""

from __future__ import annotations

import aiohttp
import httpx

#: Headers aiohttp computes itself (sending httpx's copies would duplicate them).
_SKIP = frozenset({"host", "content-length", "transfer-encoding", "connection"})


class AiohttpTransport(httpx.AsyncBaseTransport):
    def __init__(self, *, limit: int = 32, keepalive: float = 30.0) -> None:
        self._limit = limit
        self._keepalive = keepalive
        self._session: aiohttp.ClientSession | None = None

    def _ensure(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(
                    limit=self._limit, keepalive_timeout=self._keepalive, ttl_dns_cache=300
                ),
                auto_decompress=True,
                skip_auto_headers=("User-Agent",),
            )
        return self._session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        session = self._ensure()
        timeouts: dict[str, float | None] = request.extensions.get("timeout", {})
        timeout = aiohttp.ClientTimeout(
            sock_connect=timeouts.get("connect"),
            sock_read=timeouts.get("read"),
            total=None,
        )
        headers = [(k, v) for k, v in request.headers.items() if k.lower() not in _SKIP]
        body = await request.aread()
        try:
            async with session.request(
                request.method,
                str(request.url),
                headers=headers,
                data=body or None,
                timeout=timeout,
                allow_redirects=False,
            ) as response:
                content = await response.read()
                return httpx.Response(
                    status_code=response.status,
                    headers=[
                        (k.decode("latin-1"), v.decode("latin-1")) for k, v in response.raw_headers
                    ],
                    content=content,
                    request=request,
                )
        except TimeoutError as exc:
            raise httpx.ReadTimeout(f"timed out: {exc}", request=request) from exc
        except aiohttp.ClientConnectorError as exc:
            raise httpx.ConnectError(str(exc), request=request) from exc
        except aiohttp.ClientError as exc:
            raise httpx.NetworkError(f"{type(exc).__name__}: {exc}", request=request) from exc

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
