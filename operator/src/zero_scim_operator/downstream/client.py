"""An async client for the Zero accounts API (docs/zero-accounts-api.md).

One :class:`ZeroAccountsClient` talks to one org with one API key over a pooled
``httpx.AsyncClient``. It maps every outcome onto typed results or the exceptions of
:mod:`zero_scim_operator.downstream.errors` (``DownstreamError`` and its tree: transient,
rate-limited, permanent, conflict) and never retries: backoff is the caller's policy.

All operations are idempotent, so after an ambiguous failure (a timeout, a 5xx after the
write was committed) sending the same call again is always safe.
"""

from __future__ import annotations

import email.utils
import math
from collections.abc import AsyncGenerator, Iterable
from datetime import UTC, datetime
from types import TracebackType
from typing import TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ValidationError

from zero_scim.jsondata import JsonObject, JsonValue
from zero_scim_operator.downstream.errors import (
    ConflictError,
    DownstreamError,
    ErrorContext,
    PermanentError,
    RateLimited,
    TransientError,
)
from zero_scim_operator.downstream.models import (
    MAX_BATCH,
    MAX_PAGE,
    Account,
    AccountInput,
    Group,
    GroupInput,
    Member,
    MembershipChange,
    SsoConfig,
    SsoInput,
    Upserted,
    check_external_key,
)

M = TypeVar("M", bound=BaseModel)

DEFAULT_RETRY_AFTER = 1.0
USER_AGENT = "zero-scim-operator"


class ZeroAccountsClient:
    """Typed access to one org of the Zero accounts API.

    Use as ``async with ZeroAccountsClient(url, org, key) as zero: ...`` or call
    :meth:`aclose`. Keys (``externalKey``) are validated locally: an invalid key raises
    ``ValueError`` before any request. Every other failure raises a ``DownstreamError``.
    """

    def __init__(
        self,
        base_url: str,
        org_id: str,
        api_key: str,
        *,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.org_id = org_id
        self._org = f"/v1/orgs/{quote(org_id, safe='')}"
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            headers={
                "Authorization": f"Bearer {api_key}",
                "Accept": "application/json",
                "User-Agent": USER_AGENT,
            },
            timeout=timeout,
            transport=transport,
            follow_redirects=False,
        )

    async def __aenter__(self) -> ZeroAccountsClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # -- accounts --------------------------------------------------------------------------

    async def upsert_account(
        self, key: str, account: AccountInput, *, if_match: int | None = None
    ) -> Upserted[Account]:
        """Create or replace the account ``key``; ``if_match`` guards against lost updates."""
        response = await self._send(
            "PUT",
            self._path("accounts", key),
            json=account.model_dump(mode="json", by_alias=True),
            headers=_if_match(if_match),
        )
        return Upserted(_parse(response, Account), created=response.status_code == 201)

    async def get_account(self, key: str) -> Account | None:
        """The account ``key``, or ``None`` if it does not exist."""
        response = await self._send_unless_absent("GET", self._path("accounts", key))
        return None if response is None else _parse(response, Account)

    async def delete_account(self, key: str, *, if_match: int | None = None) -> bool:
        """Delete the account ``key``: True if deleted, False if it did not exist."""
        response = await self._send_unless_absent(
            "DELETE", self._path("accounts", key), headers=_if_match(if_match)
        )
        return response is not None

    async def enable_account(self, key: str) -> Account:
        """Enable the account (``POST .../{key}:enable``); a no-op if already enabled."""
        response = await self._send("POST", self._path("accounts", key) + ":enable")
        return _parse(response, Account)

    async def disable_account(self, key: str) -> Account:
        """Disable the account (``POST .../{key}:disable``); a no-op if already disabled."""
        response = await self._send("POST", self._path("accounts", key) + ":disable")
        return _parse(response, Account)

    async def iter_accounts(self, *, page_size: int = MAX_PAGE) -> AsyncGenerator[Account, None]:
        """Every account of the org, ordered by externalKey, following cursors."""
        async for item in self._pages(f"{self._org}/accounts", page_size):
            yield _validate(item, Account)

    # -- groups ----------------------------------------------------------------------------

    async def upsert_group(
        self, key: str, group: GroupInput, *, if_match: int | None = None
    ) -> Upserted[Group]:
        response = await self._send(
            "PUT",
            self._path("groups", key),
            json=group.model_dump(mode="json", by_alias=True),
            headers=_if_match(if_match),
        )
        return Upserted(_parse(response, Group), created=response.status_code == 201)

    async def get_group(self, key: str) -> Group | None:
        response = await self._send_unless_absent("GET", self._path("groups", key))
        return None if response is None else _parse(response, Group)

    async def delete_group(self, key: str, *, if_match: int | None = None) -> bool:
        """Delete the group ``key``: True if deleted, False if it did not exist."""
        response = await self._send_unless_absent(
            "DELETE", self._path("groups", key), headers=_if_match(if_match)
        )
        return response is not None

    async def iter_groups(self, *, page_size: int = MAX_PAGE) -> AsyncGenerator[Group, None]:
        async for item in self._pages(f"{self._org}/groups", page_size):
            yield _validate(item, Group)

    async def change_members(
        self, group_key: str, add: Iterable[str] = (), remove: Iterable[str] = ()
    ) -> MembershipChange:
        """Add and remove members, in batches of at most 1,000 keys; results are summed.

        Idempotent: adding a member or removing a non-member changes nothing. Unknown
        account keys are returned in ``missing``. If a batch fails, earlier batches stay
        applied; calling again with the same arguments is safe. A key may not be both
        added and removed (``ValueError``).
        """
        path = self._path("groups", group_key) + "/members:batch"
        adds = list(dict.fromkeys(add))
        removes = list(dict.fromkeys(remove))
        both = set(adds) & set(removes)
        if both:
            raise ValueError(f"keys both added and removed: {sorted(both)}")
        ops = [(True, k) for k in adds] + [(False, k) for k in removes]
        added = removed = 0
        missing: list[str] = []
        for start in range(0, len(ops), MAX_BATCH):
            chunk = ops[start : start + MAX_BATCH]
            body: JsonObject = {
                "add": [k for is_add, k in chunk if is_add],
                "remove": [k for is_add, k in chunk if not is_add],
            }
            result = _parse(await self._send("POST", path, json=body), MembershipChange)
            added += result.added
            removed += result.removed
            missing += result.missing
        return MembershipChange(added=added, removed=removed, missing=missing)

    async def iter_members(
        self, group_key: str, *, page_size: int = MAX_PAGE
    ) -> AsyncGenerator[str, None]:
        """The account keys of the group's members, in order, following cursors."""
        async for item in self._pages(self._path("groups", group_key) + "/members", page_size):
            yield _validate(item, Member).account_key

    # -- single sign-on --------------------------------------------------------------------

    async def put_sso(self, config: SsoInput | None) -> SsoConfig | None:
        """Make the org's sign-in link ``config`` (``None``: no single sign-on at all).

        Idempotent: the same input again changes nothing (the version stays). Removing a
        link that does not exist is no error.
        """
        path = f"{self._org}/sso"
        if config is None:
            await self._send_unless_absent("DELETE", path)
            return None
        body = config.model_dump(mode="json", by_alias=True)
        return _parse(await self._send("PUT", path, json=body), SsoConfig)

    # -- service ---------------------------------------------------------------------------

    async def check_health(self) -> None:
        """Raise a ``DownstreamError`` unless ``GET /healthz`` answers 200."""
        await self._send("GET", "/healthz")

    # -- plumbing --------------------------------------------------------------------------

    def _path(self, collection: str, key: str) -> str:
        return f"{self._org}/{collection}/{quote(check_external_key(key), safe='')}"

    async def _pages(self, path: str, page_size: int) -> AsyncGenerator[dict[str, object], None]:
        if not 1 <= page_size <= MAX_PAGE:
            raise ValueError(f"page_size must be from 1 to {MAX_PAGE}")
        cursor: str | None = None
        while True:
            params = {"limit": str(page_size)}
            if cursor is not None:
                params["cursor"] = cursor
            page = _parse(await self._send("GET", path, params=params), _Page)
            for item in page.items:
                yield item
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    async def _send(
        self,
        method: str,
        path: str,
        *,
        json: JsonObject | None = None,
        params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        """Send one request; any non-2xx answer raises a ``DownstreamError``."""
        response = await self._request(method, path, json, params, headers)
        if not response.is_success:
            raise _error(response)
        return response

    async def _send_unless_absent(
        self, method: str, path: str, *, headers: dict[str, str] | None = None
    ) -> httpx.Response | None:
        """Like :meth:`_send`, but a 404 answer is ``None``."""
        response = await self._request(method, path, None, None, headers)
        if response.status_code == 404:
            return None
        if not response.is_success:
            raise _error(response)
        return response

    async def _request(
        self,
        method: str,
        path: str,
        json: JsonObject | None,
        params: dict[str, str] | None,
        headers: dict[str, str] | None,
    ) -> httpx.Response:
        url = self.base_url + path
        try:
            return await self._http.request(method, path, json=json, params=params, headers=headers)
        except httpx.TimeoutException as exc:
            raise TransientError(
                f"timed out ({type(exc).__name__})", method=method, url=url, code="timeout"
            ) from exc
        except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
            raise PermanentError(
                f"invalid URL: {exc}", method=method, url=url, code="invalid_url"
            ) from exc
        except httpx.HTTPError as exc:
            raise TransientError(
                f"request failed ({type(exc).__name__}): {exc}",
                method=method,
                url=url,
                code="connection_error",
            ) from exc


def _if_match(version: int | None) -> dict[str, str] | None:
    return None if version is None else {"If-Match": f'"{version}"'}


class _Page(BaseModel):
    items: list[dict[str, object]]  # each validated by the caller's model
    next_cursor: str | None


def _parse(response: httpx.Response, model: type[M]) -> M:
    try:
        return model.model_validate_json(response.content)
    except ValidationError as exc:
        raise _invalid_response(response, exc) from exc


def _validate(item: dict[str, object], model: type[M]) -> M:
    try:
        return model.model_validate(item)
    except ValidationError as exc:
        raise TransientError(
            f"unexpected item in list response: {exc.error_count()} errors",
            code="invalid_response",
        ) from exc


def _invalid_response(response: httpx.Response, exc: ValidationError) -> TransientError:
    context = _context(response)
    context["code"] = "invalid_response"
    return TransientError(f"unexpected response body: {exc.error_count()} errors", **context)


def _context(response: httpx.Response) -> ErrorContext:
    return {
        "method": response.request.method,
        "url": str(response.request.url),
        "status": response.status_code,
        "request_id": response.headers.get("X-Request-Id"),
    }


def _error(response: httpx.Response) -> DownstreamError:
    """The exception for a non-2xx response (see the tree in ``errors``)."""
    status = response.status_code
    context = _context(response)
    message = response.reason_phrase or f"HTTP {status}"
    error = _error_document(response)  # absent: a proxy's HTML page, an empty body
    if error is not None:
        code = error.get("code")
        text = error.get("message")
        context["code"] = code if isinstance(code, str) else None
        context["details"] = error.get("details")
        message = text if isinstance(text, str) and text else message
    if status == 429:
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        return RateLimited(message, retry_after=retry_after, **context)
    if status == 409:
        return ConflictError(message, **context)
    if status == 408 or status >= 500:
        return TransientError(message, **context)
    return PermanentError(message, **context)


def _error_document(response: httpx.Response) -> dict[str, JsonValue] | None:
    """The service's ``{"error": {...}}``, if the body is one."""
    try:
        body: JsonValue = response.json()
    except ValueError:
        return None
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, dict) else None


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float:
    """Seconds to wait from a ``Retry-After`` value (delay-seconds or HTTP-date)."""
    if not value:
        return DEFAULT_RETRY_AFTER
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return DEFAULT_RETRY_AFTER
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if math.isnan(seconds) or math.isinf(seconds):
        return DEFAULT_RETRY_AFTER
    return max(0.0, seconds)
