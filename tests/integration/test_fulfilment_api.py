"""What a store does with a shipment it keeps, on both databases: start (ready to in progress),
pack, fulfil (QOH and reserved fall by what leaves, with 'ship' rows in the ledger), each
refused with 409 and a clear message from a state where it does not apply."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from reroute.domain.access import Role
from reroute.services.context import Context
from tests.conftest import make_token
from tests.integration.test_rejection_api import (
    assert_counters_equal_ledger,
    footprint,
    item,
    ledger,
    level,
    rejected_ok,
    shipment_state,
    where,
)
from tests.support import Headers, create, put_product, read, stocked


def act(client: TestClient, headers: Headers, shipment_id: str, action: str) -> Any:
    response = client.post(f"/api/v1/shipments/{shipment_id}/{action}", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def counters(
    client: TestClient, admin: Headers, facility_id: str, product_id: str
) -> tuple[int, ...]:
    shown = level(client, admin, facility_id, product_id)
    return shown["quantity_on_hand"], shown["available_to_promise"], shown["reserved"]


def test_start_pack_and_fulfill_move_the_shipment_and_fulfilling_ships_the_stock(
    client: TestClient, admin: Headers, context: Context
) -> None:
    shirt, hat = put_product(client, admin), put_product(client, admin)
    store = stocked(client, admin, 1, {shirt: 10, hat: 4})
    order = create(client, admin, [(shirt, 3), (hat, 1)])
    other = create(client, admin, [(shirt, 2)])
    shipment_id = item(order)["shipment_id"]
    assert item(order, "2")["shipment_id"] == shipment_id
    assert counters(client, admin, store, shirt) == (10, 5, 5)

    started = act(client, admin, shipment_id, "start")
    assert started["state"] == "in_progress"
    assert started["shipment_id"] == shipment_id and started["facility_id"] == store
    assert {i["item_id"]: i["state"] for i in started["items"]} == {
        "1": "in_progress",
        "2": "in_progress",
    }
    assert counters(client, admin, store, shirt) == (10, 5, 5)  # nothing moves yet

    packed = act(client, admin, shipment_id, "pack")
    assert packed["state"] == "packed"
    assert where(read(client, admin, order["order_id"])) == {
        "1": ("packed", store),
        "2": ("packed", store),
    }
    assert counters(client, admin, store, shirt) == (10, 5, 5)

    fulfilled = act(client, admin, shipment_id, "fulfill")
    assert fulfilled["state"] == "fulfilled"
    # QOH falls by what shipped, the reservation ends, ATP (already lowered) stays.
    assert counters(client, admin, store, shirt) == (7, 5, 2)
    assert counters(client, admin, store, hat) == (3, 3, 0)
    ships = [r for r in ledger(client, admin, store, shirt) if r["cause"] == "ship"]
    assert [(r["qoh_diff"], r["atp_diff"], r["reserved_diff"]) for r in ships] == [(-3, 0, -3)]
    assert ships[0]["reference"] == f"{order['order_id']}/1"
    assert [r["cause"] for r in ledger(client, admin, store, hat)][-1] == "ship"

    final = read(client, admin, order["order_id"])
    assert where(final) == {"1": ("fulfilled", store), "2": ("fulfilled", store)}
    events = [(h["event"], h["item_id"], h["from_state"], h["to_state"]) for h in final["history"]]
    for item_id in ("1", "2"):
        assert ("start", item_id, "ready", "in_progress") in events
        assert ("pack", item_id, "in_progress", "packed") in events
        assert ("fulfill", item_id, "packed", "fulfilled") in events
    assert where(read(client, admin, other["order_id"])) == {"1": ("ready", store)}
    listed = client.get(f"/api/v1/facilities/{store}/shipments", headers=admin).json()
    assert shipment_id not in {s["shipment_id"] for s in listed["items"]}
    assert_counters_equal_ledger(context)


def test_each_step_from_a_state_where_it_does_not_apply_is_409_and_changes_nothing(
    client: TestClient, admin: Headers, context: Context
) -> None:
    p = put_product(client, admin)
    stocked(client, admin, 1, {p: 10})
    shipment_id = item(create(client, admin, [(p, 1)]))["shipment_id"]
    refused = {
        "ready": ("pack", "fulfill"),
        "in_progress": ("start", "fulfill"),
        "packed": ("start", "pack"),
        "fulfilled": ("start", "pack", "fulfill"),
    }
    forward = {"ready": "start", "in_progress": "pack", "packed": "fulfill"}
    for state, actions in refused.items():
        assert shipment_state(client, admin, shipment_id) == state
        before = footprint(context)
        for action in actions:
            response = client.post(f"/api/v1/shipments/{shipment_id}/{action}", headers=admin)
            assert response.status_code == 409, (state, action, response.text)
            assert response.headers["content-type"].startswith("application/problem+json")
            detail = response.json()["detail"]
            assert f"is {state}" in detail and f"'{action}' needs it" in detail, detail
        assert footprint(context) == before
        if state in forward:
            act(client, admin, shipment_id, forward[state])


def test_a_declined_shipment_cannot_be_started_packed_or_fulfilled(
    client: TestClient, admin: Headers, context: Context
) -> None:
    p = put_product(client, admin)
    stocked(client, admin, 1, {p: 5})
    order = create(client, admin, [(p, 1)])
    shipment_id = item(order)["shipment_id"]
    stocked(client, admin, 50, {p: 5})
    rejected_ok(client, admin, order, reason_id="DAMAGED")
    assert shipment_state(client, admin, shipment_id) == "declined"
    before = footprint(context)
    for action in ("start", "pack", "fulfill"):
        response = client.post(f"/api/v1/shipments/{shipment_id}/{action}", headers=admin)
        assert response.status_code == 409, response.text
        assert "declined" in response.json()["detail"]
    assert footprint(context) == before


def test_only_what_is_left_in_a_shipment_is_fulfilled_after_one_item_was_rejected(
    client: TestClient, admin: Headers, context: Context
) -> None:
    shirt, hat = put_product(client, admin), put_product(client, admin)
    store = stocked(client, admin, 1, {shirt: 5, hat: 5})
    order = create(client, admin, [(shirt, 1), (hat, 2)])
    shipment_id = item(order)["shipment_id"]
    elsewhere = stocked(client, admin, 50, {shirt: 5})
    rejected_ok(client, admin, order, "1", "DAMAGED")
    for action in ("start", "pack", "fulfill"):
        act(client, admin, shipment_id, action)
    assert where(read(client, admin, order["order_id"])) == {
        "1": ("ready", elsewhere),
        "2": ("fulfilled", store),
    }
    assert counters(client, admin, store, hat) == (3, 3, 0)
    assert counters(client, admin, store, shirt) == (5, 4, 0)  # DAMAGED, nothing shipped
    assert_counters_equal_ledger(context)


def test_an_unknown_shipment_is_404_and_another_facility_associate_cannot_see_it(
    client: TestClient, admin: Headers, context: Context
) -> None:
    p = put_product(client, admin)
    store = stocked(client, admin, 1, {p: 5})
    other = stocked(client, admin, 50, {p: 5})
    shipment_id = item(create(client, admin, [(p, 1)]))["shipment_id"]
    for unknown in ("987654321", "nope"):
        for action in ("start", "pack", "fulfill"):
            response = client.post(f"/api/v1/shipments/{unknown}/{action}", headers=admin)
            assert response.status_code == 404, response.text
            assert unknown in response.json()["detail"]
    before = footprint(context)
    outsider = make_token(context, Role.ASSOCIATE, [other])
    response = client.post(f"/api/v1/shipments/{shipment_id}/start", headers=outsider)
    assert response.status_code == 404, response.text
    assert footprint(context) == before
    associate = make_token(context, Role.ASSOCIATE, [store])
    assert act(client, associate, shipment_id, "start")["state"] == "in_progress"
