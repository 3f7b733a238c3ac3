"""A store's list: the ready shipments routed there, searched by any word, seen by its
associates."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient

from reroute.domain.access import Role
from reroute.services.context import Context
from tests.conftest import make_token
from tests.support import (
    Headers,
    create,
    new_id,
    put_product,
    stocked,
)

# The store list -------------------------------------------------------------------------------


@pytest.fixture
def two_orders_at_one_store(client: TestClient, admin: Headers) -> dict[str, Any]:
    tag = uuid.uuid4().hex[:6]
    raincoat = put_product(
        client, admin, name=f"Harbour Raincoat {tag}", sku=new_id("RAIN"), upc=f"0{tag}777"
    )
    scarf = put_product(client, admin, name=f"Wool scarf {tag}")
    store = stocked(client, admin, 1, {raincoat: 5, scarf: 5})
    wanted = create(
        client,
        admin,
        [(raincoat, 1)],
        order_id=new_id("WEB"),
        customer={"name": f"Grace Hopper {tag}", "email": "grace@example.com"},
    )
    other = create(client, admin, [(scarf, 1)])
    shown = client.get(f"/api/v1/products/{raincoat}", headers=admin).json()
    return {"store": store, "tag": tag, "wanted": wanted, "other": other, "raincoat": shown}


def store_list(client: TestClient, headers: Headers, store: str, **query: str) -> Any:
    response = client.get(f"/api/v1/facilities/{store}/shipments", params=query, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def test_the_store_list_shows_the_ready_shipments_routed_there(
    client: TestClient, admin: Headers, two_orders_at_one_store: dict[str, Any]
) -> None:
    case = two_orders_at_one_store
    listed = store_list(client, admin, case["store"], state="ready")
    assert listed["total"] == 2
    orders = {s["order_id"]: s for s in listed["items"]}
    assert set(orders) == {case["wanted"]["order_id"], case["other"]["order_id"]}
    shipment = orders[case["wanted"]["order_id"]]
    assert shipment["shipment_id"] == case["wanted"]["items"][0]["shipment_id"]
    assert (shipment["state"], shipment["facility_id"]) == ("ready", case["store"])
    assert shipment["customer_name"] == f"Grace Hopper {case['tag']}"
    (item,) = shipment["items"]
    raincoat = case["raincoat"]
    assert (item["sku"], item["upc"], item["name"]) == (
        raincoat["sku"],
        raincoat["upc"],
        raincoat["name"],
    )
    assert (item["quantity"], item["state"]) == (1, "ready")
    assert store_list(client, admin, case["store"], state="in_progress")["total"] == 0
    assert store_list(client, admin, case["store"])["total"] == 2


def test_the_store_list_search_finds_a_shipment_by_any_of_its_words_in_any_case(
    client: TestClient, admin: Headers, two_orders_at_one_store: dict[str, Any]
) -> None:
    case = two_orders_at_one_store
    raincoat = case["raincoat"]
    queries = {
        "order id": case["wanted"]["order_id"].lower(),
        "customer name": f"HOPPER {case['tag'].upper()}",
        "sku": raincoat["sku"].lower(),
        "upc": raincoat["upc"],
        "product name": f"harbour RAINCOAT {case['tag']}",
    }
    for field, query in queries.items():
        found = store_list(client, admin, case["store"], state="ready", q=query)
        assert [s["order_id"] for s in found["items"]] == [case["wanted"]["order_id"]], field
        assert found["total"] == 1, field


def test_the_store_list_search_finds_nothing_for_an_unrelated_word(
    client: TestClient, admin: Headers, two_orders_at_one_store: dict[str, Any]
) -> None:
    found = store_list(client, admin, two_orders_at_one_store["store"], q="zeppelin")
    assert found == {"total": 0, "items": [], "next_cursor": None}


@pytest.mark.parametrize("typed", ["_", "%", "%%", "\\"])
def test_the_store_list_search_takes_wildcard_characters_literally(
    client: TestClient, admin: Headers, two_orders_at_one_store: dict[str, Any], typed: str
) -> None:
    found = store_list(client, admin, two_orders_at_one_store["store"], q=typed)
    assert found == {"total": 0, "items": [], "next_cursor": None}


def test_an_associate_sees_their_store_list_and_not_another_stores(
    client: TestClient, admin: Headers, context: Context
) -> None:
    p = put_product(client, admin)
    mine = stocked(client, admin, 1, {p: 5})
    theirs = stocked(client, admin, 2, {p: 5})
    create(client, admin, [(p, 1)])
    associate = make_token(context, Role.ASSOCIATE, [mine])
    assert store_list(client, associate, mine, state="ready")["total"] == 1
    response = client.get(f"/api/v1/facilities/{theirs}/shipments", headers=associate)
    assert response.status_code == 403
