"""Orders over the API: create (idempotent on the order id), read with history; the store list."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from reroute.services.context import Context
from reroute.storage.tables import order_history, order_items, orders
from tests.support import new_id, order_body, put_facility, put_product


@pytest.fixture(autouse=True)
def no_routing_on_create(client: TestClient, admin: dict[str, str]) -> None:
    """These tests look at orders as created: items stay queued whatever routing would do."""
    response = client.patch("/api/v1/settings", json={"route_on_create": False}, headers=admin)
    assert response.status_code == 200, response.text


def rows(context: Context) -> tuple[int, int, int]:
    """How many orders, items and history rows the database holds."""
    with context.db.transaction(write=False) as conn:
        return tuple(  # type: ignore[return-value]
            int(conn.execute(select(func.count()).select_from(t)).scalar_one())
            for t in (orders, order_items, order_history)
        )


def create(client: TestClient, headers: dict[str, str], body: dict[str, Any]) -> Any:
    return client.post("/api/v1/orders", json=body, headers=headers)


def test_a_new_order_answers_201_with_its_items_queued_and_a_history_row_each(
    client: TestClient, admin: dict[str, str]
) -> None:
    shirt, coat = put_product(client, admin), put_product(client, admin)
    body = order_body([(shirt, 2), (coat, 1)], catalog_id="7", priority=3)
    response = create(client, admin, body)
    assert response.status_code == 201, response.text
    order = response.json()
    assert order["order_id"] == body["order_id"]
    assert order["catalog_id"] == "7"
    assert order["customer"] == body["customer"]
    assert (order["shipping_method"], order["ship_complete"], order["inventory_based"]) == (
        "standard",
        False,
        True,
    )
    assert order["ship_to"]["latitude"] == 41.88
    assert order["items"] == [
        {
            "item_id": "1",
            "product_id": shirt,
            "quantity": 2,
            "state": "queued",
            "facility_id": None,
            "shipment_id": None,
            "unit_price": None,
            "currency": None,
        },
        {
            "item_id": "2",
            "product_id": coat,
            "quantity": 1,
            "state": "queued",
            "facility_id": None,
            "shipment_id": None,
            "unit_price": None,
            "currency": None,
        },
    ]
    assert order["shipments"] == []
    history = order["history"]
    assert [(h["event"], h["item_id"], h["from_state"], h["to_state"]) for h in history] == [
        ("created", "1", None, "queued"),
        ("created", "2", None, "queued"),
    ]
    assert all(h["actor"].startswith("token:") for h in history)


def test_a_created_order_reads_back_as_it_was_answered(
    client: TestClient, admin: dict[str, str]
) -> None:
    product = put_product(client, admin)
    created = create(client, admin, order_body([(product, 1)])).json()
    response = client.get(f"/api/v1/orders/{created['order_id']}", headers=admin)
    assert response.status_code == 200
    assert response.json() == created


def test_a_repeated_order_body_answers_200_and_writes_nothing(
    client: TestClient, admin: dict[str, str], context: Context
) -> None:
    product = put_product(client, admin)
    body = order_body([(product, 1), (product, 2)])
    first = create(client, admin, body)
    assert first.status_code == 201
    written = rows(context)
    again = create(client, admin, body)
    assert again.status_code == 200, again.text
    assert again.json() == first.json()
    assert rows(context) == written


def test_the_same_order_with_other_key_order_and_explicit_defaults_is_a_repeat(
    client: TestClient, admin: dict[str, str], context: Context
) -> None:
    product = put_product(client, admin)
    body = order_body([(product, 1)])
    assert create(client, admin, body).status_code == 201
    written = rows(context)
    same = dict(reversed(list(body.items())))
    same.update(catalog_id="0", ship_complete=False, inventory_based=True, priority=0)
    assert create(client, admin, same).status_code == 200
    assert rows(context) == written


def test_another_body_under_a_known_order_id_answers_409_and_changes_nothing(
    client: TestClient, admin: dict[str, str], context: Context
) -> None:
    product = put_product(client, admin)
    body = order_body([(product, 1)])
    first = create(client, admin, body).json()
    written = rows(context)
    changed = {**body, "items": [{"item_id": "1", "product_id": product, "quantity": 5}]}
    response = create(client, admin, changed)
    assert response.status_code == 409, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert body["order_id"] in response.json()["detail"]
    assert rows(context) == written
    assert client.get(f"/api/v1/orders/{body['order_id']}", headers=admin).json() == first


def test_an_order_of_an_unknown_product_answers_422_at_that_item_and_writes_nothing(
    client: TestClient, admin: dict[str, str], context: Context
) -> None:
    known = put_product(client, admin)
    body = order_body([(known, 1), (new_id("P"), 1), (known, 2), (new_id("P"), 3)])
    response = create(client, admin, body)
    assert response.status_code == 422, response.text
    paths = [e["path"] for e in response.json()["errors"]]
    assert paths == ["items.1.product_id", "items.3.product_id"]
    assert rows(context) == (0, 0, 0)
    assert client.get(f"/api/v1/orders/{body['order_id']}", headers=admin).status_code == 404


def test_a_pickup_order_without_its_pickup_facility_answers_422_and_writes_nothing(
    client: TestClient, admin: dict[str, str], context: Context
) -> None:
    product = put_product(client, admin)
    response = create(client, admin, order_body([(product, 1)], shipping_method="pickup"))
    assert response.status_code == 422, response.text
    assert [e["path"] for e in response.json()["errors"]] == ["pickup_facility_id"]
    assert rows(context) == (0, 0, 0)


def test_a_pickup_order_at_an_unknown_facility_answers_422(
    client: TestClient, admin: dict[str, str], context: Context
) -> None:
    product = put_product(client, admin)
    body = order_body([(product, 1)], shipping_method="pickup", pickup_facility_id=new_id("F"))
    response = create(client, admin, body)
    assert response.status_code == 422
    assert [e["path"] for e in response.json()["errors"]] == ["pickup_facility_id"]
    assert rows(context) == (0, 0, 0)


def test_a_pickup_order_at_a_known_facility_needs_no_coordinates(
    client: TestClient, admin: dict[str, str]
) -> None:
    product, store = put_product(client, admin), put_facility(client, admin)
    body = order_body(
        [(product, 1)], shipping_method="pickup", pickup_facility_id=store, ship_to={}
    )
    response = create(client, admin, body)
    assert response.status_code == 201, response.text
    assert response.json()["pickup_facility_id"] == store


def test_a_shipped_order_without_coordinates_answers_422_at_ship_to(
    client: TestClient, admin: dict[str, str], context: Context
) -> None:
    product = put_product(client, admin)
    body = order_body([(product, 1)], ship_to={"city": "Chicago", "latitude": 41.88})
    response = create(client, admin, body)
    assert response.status_code == 422
    assert [e["path"] for e in response.json()["errors"]] == ["ship_to"]
    assert rows(context) == (0, 0, 0)


def test_a_repeated_item_id_answers_422_at_the_repeat(
    client: TestClient, admin: dict[str, str], context: Context
) -> None:
    product = put_product(client, admin)
    body = order_body([(product, 1), (product, 1)])
    body["items"][1]["item_id"] = body["items"][0]["item_id"]
    response = create(client, admin, body)
    assert response.status_code == 422
    assert [e["path"] for e in response.json()["errors"]] == ["items.1.item_id"]
    assert rows(context) == (0, 0, 0)


BAD_ORDER_FIELDS: list[tuple[dict[str, Any], str]] = [
    ({"items": []}, "items"),
    ({"shipping_method": "drone"}, "shipping_method"),
    ({"customer": {"name": "Ada", "email": "not-an-email"}}, "customer.email"),
    ({"ship_to": {"latitude": 95, "longitude": 0}}, "ship_to.latitude"),
    ({"order_id": "with space"}, "order_id"),
    ({"gift_wrap": True}, "gift_wrap"),
]


def test_a_bad_order_field_answers_422_at_its_path_and_writes_nothing(
    client: TestClient, admin: dict[str, str], context: Context, subtests: pytest.Subtests
) -> None:
    product = put_product(client, admin)
    for change, path in BAD_ORDER_FIELDS:
        with subtests.test(path=path):
            response = create(client, admin, {**order_body([(product, 1)]), **change})
            assert response.status_code == 422, response.text
            assert [e["path"] for e in response.json()["errors"]] == [path]
            assert rows(context) == (0, 0, 0)


def test_a_zero_quantity_answers_422_at_that_item(
    client: TestClient, admin: dict[str, str], context: Context
) -> None:
    product = put_product(client, admin)
    response = create(client, admin, order_body([(product, 1), (product, 0)]))
    assert response.status_code == 422
    assert [e["path"] for e in response.json()["errors"]] == ["items.1.quantity"]
    assert rows(context) == (0, 0, 0)


def test_an_unknown_order_answers_404(client: TestClient, admin: dict[str, str]) -> None:
    response = client.get(f"/api/v1/orders/{new_id('O')}", headers=admin)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


def test_an_integration_token_creates_and_reads_orders(
    client: TestClient, admin: dict[str, str], integration: dict[str, str]
) -> None:
    product = put_product(client, admin)
    body = order_body([(product, 1)])
    assert create(client, integration, body).status_code == 201
    assert client.get(f"/api/v1/orders/{body['order_id']}", headers=integration).status_code == 200


# The store list ---------------------------------------------------------------------------


def test_a_store_list_is_empty_until_something_is_routed_there(
    client: TestClient, admin: dict[str, str]
) -> None:
    store, product = put_facility(client, admin), put_product(client, admin)
    assert create(client, admin, order_body([(product, 1)])).status_code == 201
    for params in (
        {},
        {"state": "ready"},
        {"state": "in_progress"},
        {"state": "packed"},
        {"q": "x"},
    ):
        response = client.get(f"/api/v1/facilities/{store}/shipments", params=params, headers=admin)
        assert response.status_code == 200, params
        assert response.json() == {"total": 0, "items": [], "next_cursor": None}


def test_the_store_list_of_an_unknown_facility_answers_404(
    client: TestClient, admin: dict[str, str]
) -> None:
    response = client.get(f"/api/v1/facilities/{new_id('F')}/shipments", headers=admin)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


def test_the_store_list_refuses_an_unknown_state_or_paging_out_of_range(
    client: TestClient, admin: dict[str, str]
) -> None:
    store = put_facility(client, admin)
    for params in ({"state": "lost"}, {"limit": 0}, {"limit": 1001}, {"cursor": "x"}):
        response = client.get(f"/api/v1/facilities/{store}/shipments", params=params, headers=admin)
        assert response.status_code == 422, params
        assert response.headers["content-type"] == "application/problem+json"


def test_an_unknown_shipment_answers_404(client: TestClient, admin: dict[str, str]) -> None:
    for shipment_id in ("987654321", "not-a-number"):
        response = client.get(f"/api/v1/shipments/{shipment_id}", headers=admin)
        assert response.status_code == 404, shipment_id
