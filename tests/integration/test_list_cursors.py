"""The one cursor shape (`limit`, `cursor`, the answer's `items` and `next_cursor`) on the
facilities, products, a facility's stock and shipments, the ledger and the rejection log: every
row once, in order, across pages; a cursor of another list, or a made-up one, is a 422 problem."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from reroute.domain.access import Role
from reroute.services.context import Context
from tests.conftest import make_token
from tests.integration.test_rejection_api import rejected_ok
from tests.support import Headers, count_stock, create, new_id, put_facility, put_product, stocked


def walk(client: TestClient, headers: Headers, path: str, limit: int) -> list[list[Any]]:
    """Every page of `path`, `limit` rows each, following `next_cursor` (bounded)."""
    pages: list[list[Any]] = []
    cursor = None
    for _ in range(100):
        params: dict[str, Any] = {"limit": limit, **({"cursor": cursor} if cursor else {})}
        answer = client.get(path, params=params, headers=headers)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert len(body["items"]) <= limit
        pages.append(body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages
    raise AssertionError("the cursor never ended")


def rows(pages: list[list[Any]], key: str) -> list[Any]:
    return [row[key] for page in pages for row in page]


def test_facilities_page_by_id(client: TestClient, admin: Headers, context: Context) -> None:
    ids = sorted(put_facility(client, admin) for _ in range(5))
    pages = walk(client, admin, "/api/v1/facilities", 2)
    assert [len(p) for p in pages] == [2, 2, 1]
    assert rows(pages, "facility_id") == ids
    associate = make_token(context, Role.ASSOCIATE, [ids[1], ids[3]])
    assert rows(walk(client, associate, "/api/v1/facilities", 1), "facility_id") == [
        ids[1],
        ids[3],
    ]


def test_products_page_by_id(client: TestClient, admin: Headers, context: Context) -> None:
    ids = sorted(put_product(client, admin) for _ in range(4))
    pages = walk(client, admin, "/api/v1/products", 3)
    assert [len(p) for p in pages] == [3, 1]
    assert rows(pages, "product_id") == ids
    assert rows(walk(client, admin, "/api/v1/products", 4), "product_id") == ids
    # Anyone signed in reads the catalog, as one product.
    associate = make_token(context, Role.ASSOCIATE, [put_facility(client, admin)])
    assert rows(walk(client, associate, "/api/v1/products", 10), "product_id") == ids


def test_a_facilitys_stock_pages_by_product(
    client: TestClient, admin: Headers, context: Context
) -> None:
    facility, other = put_facility(client, admin), put_facility(client, admin)
    products = sorted(put_product(client, admin) for _ in range(5))
    for n, product in enumerate(products):
        count_stock(client, admin, facility, product, n + 1)
    count_stock(client, admin, other, products[0], 9)
    path = f"/api/v1/facilities/{facility}/inventory"
    pages = walk(client, admin, path, 2)
    assert [len(p) for p in pages] == [2, 2, 1]
    assert rows(pages, "product_id") == products
    assert rows(pages, "quantity_on_hand") == [1, 2, 3, 4, 5]
    assert {r["facility_id"] for p in pages for r in p} == {facility}
    mine = make_token(context, Role.ASSOCIATE, [facility])
    assert rows(walk(client, mine, path, 10), "product_id") == products
    refused = client.get(f"/api/v1/facilities/{other}/inventory", headers=mine)
    assert refused.status_code == 403
    unknown = client.get(f"/api/v1/facilities/{new_id('F')}/inventory", headers=admin)
    assert unknown.status_code == 404
    assert unknown.headers["content-type"].startswith("application/problem+json")
    empty = client.get(f"/api/v1/facilities/{put_facility(client, admin)}/inventory", headers=admin)
    assert empty.json() == {"items": [], "next_cursor": None}


def test_the_ledger_pages_newest_first(client: TestClient, admin: Headers) -> None:
    facility, product = put_facility(client, admin), put_product(client, admin)
    for quantity in range(1, 6):
        count_stock(client, admin, facility, product, quantity)
    pages = walk(client, admin, f"/api/v1/facilities/{facility}/inventory/{product}/ledger", 2)
    assert [len(p) for p in pages] == [2, 2, 1]
    ids = rows(pages, "id")
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == 5


def test_the_rejection_log_pages_newest_first_with_the_counts_on_every_page(
    client: TestClient, admin: Headers
) -> None:
    product = put_product(client, admin)
    stocked(client, admin, 1, {product: 10})
    stocked(client, admin, 2, {product: 10})
    for _ in range(3):
        rejected_ok(client, admin, create(client, admin, [(product, 1)]), reason_id="DAMAGED")
    pages = []
    cursor = None
    for _ in range(10):
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        body = client.get("/api/v1/rejections", params=params, headers=admin).json()
        pages.append(body)
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert [len(p["items"]) for p in pages] == [2, 1]
    ids = [r["id"] for p in pages for r in p["items"]]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == 3
    assert pages[0]["last_24_hours"] == pages[1]["last_24_hours"]
    assert sum(pages[0]["last_24_hours"]["by_reason"].values()) == 3


def test_a_store_s_shipments_page_newest_first_with_the_search_kept(
    client: TestClient, admin: Headers
) -> None:
    product = put_product(client, admin)
    store = stocked(client, admin, 1, {product: 20})
    made = [create(client, admin, [(product, 1)])["items"][0]["shipment_id"] for _ in range(5)]
    path = f"/api/v1/facilities/{store}/shipments"
    pages = walk(client, admin, path, 2)
    assert [len(p) for p in pages] == [2, 2, 1]
    assert rows(pages, "shipment_id") == sorted(made, key=int, reverse=True)
    first = client.get(path, params={"limit": 2}, headers=admin).json()
    assert first["total"] == 5
    # A shipment made between two pages is newer: it moves no row of the pages after.
    create(client, admin, [(product, 1)])
    rest = client.get(path, params={"limit": 10, "cursor": first["next_cursor"]}, headers=admin)
    assert [s["shipment_id"] for s in rest.json()["items"]] == rows(pages, "shipment_id")[2:]
    assert rest.json()["total"] == 6


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/facilities",
        "/api/v1/products",
        "/api/v1/facilities/{facility}/inventory",
        "/api/v1/facilities/{facility}/inventory/{product}/ledger",
        "/api/v1/rejections",
        "/api/v1/orders",
        "/api/v1/facilities/{facility}/shipments",
    ],
)
def test_a_cursor_of_another_list_or_a_made_up_one_is_refused(
    client: TestClient, admin: Headers, path: str
) -> None:
    facility, product = put_facility(client, admin), put_product(client, admin)
    put_facility(client, admin)
    put_product(client, admin)
    count_stock(client, admin, facility, product, 3)
    count_stock(client, admin, facility, product, 4)
    count_stock(client, admin, facility, put_product(client, admin), 4)
    url = path.format(facility=facility, product=product)
    foreign = "/api/v1/products" if "facilities" in path else "/api/v1/facilities"
    other = client.get(foreign, params={"limit": 1}, headers=admin).json()["next_cursor"]
    assert other is not None
    for cursor in (other, "nope", "x" * 3000, "\u00e9t\u00e9", "eyJ"):
        answer = client.get(url, params={"cursor": cursor}, headers=admin)
        assert answer.status_code == 422, (cursor, answer.text)
        assert answer.headers["content-type"].startswith("application/problem+json")
    for limit in (0, 1001, "x"):
        assert client.get(url, params={"limit": limit}, headers=admin).status_code == 422
