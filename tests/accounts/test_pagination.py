"""Listing for drift detection: keyset cursors, stable order, concurrent writes."""

from __future__ import annotations

import httpx
import pytest


async def test_accounts_across_pages_with_concurrent_inserts(api: httpx.AsyncClient) -> None:
    keys = [f"k{i:03d}" for i in range(0, 70, 2)]  # 35 accounts: 4 pages of 10
    for key in keys:
        await api.put(f"/accounts/{key}", json={"userName": key})

    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, str | int] = {"limit": 10}
        if cursor:
            params["cursor"] = cursor
        page = (await api.get("/accounts", params=params)).json()
        pages += 1
        seen += [a["externalKey"] for a in page["items"]]
        if pages == 1:
            # Between pages, one account lands behind the cursor and one ahead of it,
            # and one ahead of it is deleted.
            await api.put("/accounts/k000a", json={"userName": "behind"})
            await api.put("/accounts/k051", json={"userName": "ahead"})
            await api.delete("/accounts/k060")
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert pages == 4
    expected = sorted([k for k in keys if k != "k060"] + ["k051"])
    assert seen == expected  # each once, in order; "behind" was never due on a later page
    everything = (await api.get("/accounts", params={"limit": 1000})).json()
    assert everything["next_cursor"] is None
    assert len(everything["items"]) == len(keys) + 1


async def test_exact_page_boundary_ends_with_null_cursor(api: httpx.AsyncClient) -> None:
    for key in ("a", "b", "c", "d"):
        await api.put(f"/groups/{key}", json={"displayName": key})
    first = (await api.get("/groups", params={"limit": 2})).json()
    assert [g["externalKey"] for g in first["items"]] == ["a", "b"]
    second = (await api.get("/groups", params={"limit": 2, "cursor": first["next_cursor"]})).json()
    assert [g["externalKey"] for g in second["items"]] == ["c", "d"]
    assert second["next_cursor"] is None  # no empty trailing page


async def test_empty_collection(api: httpx.AsyncClient) -> None:
    assert (await api.get("/accounts")).json() == {"items": [], "next_cursor": None}
    assert (await api.get("/groups")).json() == {"items": [], "next_cursor": None}


async def test_default_limit_is_100(api: httpx.AsyncClient) -> None:
    for i in range(101):
        await api.put(f"/groups/g{i:03d}", json={"displayName": "g"})
    page = (await api.get("/groups")).json()
    assert len(page["items"]) == 100
    assert page["next_cursor"] is not None


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 1001}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"cursor": "!!!"}, "cursor"),
        ({"cursor": "e30"}, "cursor"),  # base64 of {}
    ],
)
async def test_invalid_parameters(api: httpx.AsyncClient, params, field) -> None:
    response = await api.get("/accounts", params=params)
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == field


async def test_cursor_is_bound_to_its_collection(api: httpx.AsyncClient) -> None:
    for key in ("a", "b"):
        await api.put(f"/accounts/{key}", json={"userName": key})
    cursor = (await api.get("/accounts", params={"limit": 1})).json()["next_cursor"]
    assert (await api.get("/groups", params={"cursor": cursor})).status_code == 422
