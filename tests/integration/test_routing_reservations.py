"""Routing reserves where it assigns and records each assignment in the ledger and the history."""

from __future__ import annotations

from fastapi.testclient import TestClient

from reroute.services.context import Context
from tests.integration.test_routing_api import assert_counters_equal_ledger, counters, level
from tests.support import (
    Headers,
    create,
    put_product,
    read,
    stocked,
)

# Reservations and records --------------------------------------------------------------------


def test_routing_reserves_at_the_chosen_facility_with_reserve_rows_in_the_ledger(
    client: TestClient, admin: Headers, context: Context
) -> None:
    a, b = put_product(client, admin), put_product(client, admin)
    chosen = stocked(client, admin, 1, {a: 5, b: 3})
    order = create(client, admin, [(a, 2), (b, 1), (a, 1)])
    assert counters(level(client, admin, chosen, a)) == (5, 2, 3)
    assert counters(level(client, admin, chosen, b)) == (3, 2, 1)
    ledger = client.get(f"/api/v1/facilities/{chosen}/inventory/{a}/ledger", headers=admin).json()[
        "items"
    ]
    reserves = sorted(
        (r["reference"], r["qoh_diff"], r["atp_diff"]) for r in ledger if r["cause"] == "reserve"
    )
    oid = order["order_id"]
    assert reserves == [(f"{oid}/1", 0, -2), (f"{oid}/3", 0, -1)]
    assert_counters_equal_ledger(context)


def test_every_assignment_is_an_order_history_row_with_facility_and_shipment(
    client: TestClient, admin: Headers
) -> None:
    a, b = put_product(client, admin), put_product(client, admin)
    has_a = stocked(client, admin, 1, {a: 5})
    has_b = stocked(client, admin, 2, {b: 5})
    order = create(client, admin, [(a, 1), (b, 1)])
    shipment_of = {i["item_id"]: i["shipment_id"] for i in order["items"]}
    assigned = sorted(
        (h["item_id"], h["facility_id"], h["shipment_id"], h["from_state"], h["to_state"])
        for h in read(client, admin, order["order_id"])["history"]
        if h["event"] == "assigned"
    )
    assert assigned == [
        ("1", has_a, shipment_of["1"], "queued", "ready"),
        ("2", has_b, shipment_of["2"], "queued", "ready"),
    ]


def test_the_order_shows_each_item_facility_shipment_and_state(
    client: TestClient, admin: Headers
) -> None:
    a, b = put_product(client, admin), put_product(client, admin)
    has_a = stocked(client, admin, 1, {a: 5})
    order_id = create(client, admin, [(a, 1), (b, 1)])["order_id"]
    shown = read(client, admin, order_id)
    items = {i["item_id"]: i for i in shown["items"]}
    assert (items["1"]["state"], items["1"]["facility_id"]) == ("ready", has_a)
    assert items["1"]["shipment_id"] == shown["shipments"][0]["shipment_id"]
    assert (items["2"]["state"], items["2"]["facility_id"], items["2"]["shipment_id"]) == (
        "backorder",
        None,
        None,
    )
    assert [(s["facility_id"], s["state"]) for s in shown["shipments"]] == [(has_a, "ready")]


def test_every_shipment_id_is_unique(client: TestClient, admin: Headers) -> None:
    a, b = put_product(client, admin), put_product(client, admin)
    stocked(client, admin, 1, {a: 50})
    stocked(client, admin, 2, {b: 50})
    ids = [
        s["shipment_id"]
        for _ in range(4)
        for s in create(client, admin, [(a, 1), (b, 1)])["shipments"]
    ]
    assert len(ids) == len(set(ids)) == 8
