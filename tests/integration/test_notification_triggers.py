"""When notifications are written (SPEC 6.1) and what they say (SPEC 6.2), through the API on
both databases. Each row of the table in SPEC 6.1 is a test here; the events are read back from
GET /api/v1/events and from the outbox table, which is written in the change's own transaction.

Facilities: `near` is at the ship-to address, `far` about 11 km north, so routing tries `near`
first and sends what `near` declines to `far`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from reroute.services import notify
from reroute.services.context import Context
from reroute.storage.tables import deliveries, order_items, outbox_events
from tests.conftest import MFG_ID
from tests.integration.receiver import ALL_TYPES, read_feed
from tests.support import count_stock, create, new_id, order_body, put_facility, put_product, read

Headers = dict[str, str]
#: Events about items that wait where no facility holds them.
HELD_TYPES = ("backorder_item", "customer_care_item")
TOP_KEYS = [
    "eventTypeID",
    "orderID",
    "externalLocationID",
    "locationName",
    "eventTime",
    "reasonCode",
    "reasonDescription",
    "orderItemID",
    "data",
    "scope",
]
LINE_KEYS = [
    "itemID",
    "shipmentID",
    "partNumber",
    "upc",
    "quantity",
    "locationAvailability",
    "reasonCode",
    "reasonDescription",
]
SCOPE_KEYS = ["mfgID", "catalogID", "fulfillerID"]
DEFAULT_DECLINE = ("101", "Don't have enough quantity.")
EVENT_TIME = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")


# Helpers --------------------------------------------------------------------------------------


@dataclass
class World:
    """Two facilities and two products; `near` holds 4 shirts and 2 coats, `far` 9 of each."""

    near: str
    far: str
    shirt: str
    coat: str
    near_location: str
    far_location: str


@pytest.fixture
def world(client: TestClient, admin: Headers) -> World:
    near_location, far_location = new_id("loc"), new_id("loc")
    near = put_facility(
        client, admin, external_location_id=near_location, name="Near Store", fulfiller_id="70125"
    )
    far = put_facility(
        client,
        admin,
        external_location_id=far_location,
        name="Far Store",
        fulfiller_id="80001",
        latitude=41.98,
    )
    shirt = put_product(client, admin, part_number="PN-SHIRT", upc="000111222333")
    coat = put_product(client, admin, part_number="PN-COAT", upc="000444555666")
    for facility, product, quantity in (
        (near, shirt, 4),
        (near, coat, 2),
        (far, shirt, 9),
        (far, coat, 9),
    ):
        count_stock(client, admin, facility, product, quantity)
    return World(near, far, shirt, coat, near_location, far_location)


class Feed:
    """The event feed read on from where the last read stopped."""

    def __init__(self, client: TestClient, headers: Headers) -> None:
        self.client, self.headers, self.cursor = client, headers, 0

    def new(self) -> list[dict[str, Any]]:
        events = read_feed(self.client, self.headers, self.cursor)
        if events:
            self.cursor = events[-1]["cursor"]
        return [e["body"] for e in events]


@pytest.fixture
def feed(client: TestClient, admin: Headers) -> Feed:
    return Feed(client, admin)


def post(client: TestClient, admin: Headers, path: str, body: Any = None, status: int = 200) -> Any:
    response = client.post(f"/api/v1{path}", json=body, headers=admin)
    assert response.status_code == status, response.text
    return response.json()


def shipment_of(order: Any, item_id: str = "1") -> str:
    shipment: str = next(i["shipment_id"] for i in order["items"] if i["item_id"] == item_id)
    assert shipment is not None
    return shipment


def qoh(client: TestClient, admin: Headers, facility: str, product: str) -> int:
    response = client.get(f"/api/v1/facilities/{facility}/inventory/{product}", headers=admin)
    assert response.status_code == 200, response.text
    value: int = response.json()["quantity_on_hand"]
    return value


def line(
    item_id: str,
    shipment_id: str | None,
    part_upc: tuple[str, str],
    quantity: int,
    availability: int | None,
    reason: tuple[str, str] | None = None,
) -> dict[str, Any]:
    """One `data` line as SPEC 6.2 shows it."""
    return {
        "itemID": item_id,
        "shipmentID": shipment_id,
        "partNumber": part_upc[0],
        "upc": part_upc[1],
        "quantity": str(quantity),
        "locationAvailability": availability,
        "reasonCode": reason[0] if reason else None,
        "reasonDescription": reason[1] if reason else None,
    }


SHIRT = ("PN-SHIRT", "000111222333")
COAT = ("PN-COAT", "000444555666")


def kinds(events: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(e["eventTypeID"], e["orderID"]) for e in events]


def assert_shape(event: dict[str, Any]) -> None:
    """Key order and JSON types of SPEC 6.2."""
    assert list(event) == TOP_KEYS
    assert list(event["scope"]) == SCOPE_KEYS
    assert EVENT_TIME.match(event["eventTime"]), event["eventTime"]
    for key in ("eventTypeID", "orderID"):
        assert isinstance(event[key], str)
    for key in ("externalLocationID", "locationName", "reasonCode", "reasonDescription"):
        assert event[key] is None or isinstance(event[key], str)
    if event["eventTypeID"] == "cancel_item":
        assert isinstance(event["orderItemID"], str)
    else:
        assert event["orderItemID"] is None
    scope = event["scope"]
    assert isinstance(scope["mfgID"], str) and isinstance(scope["catalogID"], str), scope
    if event["eventTypeID"] in HELD_TYPES:  # no facility holds the items: no fulfiller
        assert scope["fulfillerID"] is None and event["externalLocationID"] is None, event
    else:
        assert isinstance(scope["fulfillerID"], str), scope
    assert event["data"], "every notification names the lines it is about"
    held = event["eventTypeID"] in HELD_TYPES
    for data in event["data"]:
        assert list(data) == LINE_KEYS
        for key in ("itemID", "partNumber", "upc", "quantity"):
            assert isinstance(data[key], str), (key, data)
        if held:  # in no shipment, at no facility: nothing to count there
            assert (data["shipmentID"], data["locationAvailability"]) == (None, None), data
            assert data["reasonCode"] == event["eventTypeID"].removesuffix("_item"), data
            continue
        assert isinstance(data["shipmentID"], str), data
        assert type(data["locationAvailability"]) is int, data
        for key in ("reasonCode", "reasonDescription"):
            assert data[key] is None or isinstance(data[key], str)


def outbox_rows(context: Context) -> tuple[int, int]:
    """How many events and deliveries the outbox holds."""
    with context.db.transaction(write=False) as conn:
        events = conn.execute(select(func.count()).select_from(outbox_events)).scalar_one()
        queued = conn.execute(select(func.count()).select_from(deliveries)).scalar_one()
    return int(events), int(queued)


def subscribe_nowhere(client: TestClient, admin: Headers) -> None:
    """A webhook on every event type (never delivered here): deliveries are queued too."""
    response = client.post(
        "/api/v1/webhooks",
        json={"url": "http://127.0.0.1:9/never", "event_types": ALL_TYPES},
        headers=admin,
    )
    assert response.status_code == 201, response.text


# SPEC 6.1, row 1: items rejected and sent back to routing ---------------------------------------


def test_a_rejected_item_declines_its_line_then_ready_shipment_says_where_routing_put_it(
    client: TestClient, admin: Headers, world: World, feed: Feed
) -> None:
    order = create(client, admin, [(world.shirt, 2), (world.coat, 1)])
    shipment = shipment_of(order)
    [placed] = feed.new()
    assert placed["eventTypeID"] == "ready_shipment"
    assert placed["externalLocationID"] == world.near_location
    assert placed["data"] == [
        line("1", shipment, SHIRT, 2, 4),
        line("2", shipment, COAT, 1, 2),
    ]
    post(client, admin, f"/shipments/{shipment}/items/1/reject", {"reason_id": "MISMATCH"})
    decline, ready = feed.new()
    assert_shape(decline)
    assert_shape(ready)
    # MISMATCH takes the 2 units off the shelf: QOH 4 -> 2 after the decline's effect.
    assert qoh(client, admin, world.near, world.shirt) == 2
    assert decline["eventTypeID"] == "StoreDeclineEvent"
    assert (decline["orderID"], decline["externalLocationID"], decline["locationName"]) == (
        order["order_id"],
        world.near_location,
        "Near Store",
    )
    assert (decline["reasonCode"], decline["reasonDescription"]) == (None, None)
    assert decline["data"] == [line("1", shipment, SHIRT, 2, 2, ("103", "Item does not match"))]
    assert decline["scope"] == {"mfgID": MFG_ID, "catalogID": "0", "fulfillerID": "70125"}
    moved = read(client, admin, order["order_id"])
    new_shipment = shipment_of(moved)
    assert new_shipment != shipment
    assert ready["eventTypeID"] == "ready_shipment"
    assert (ready["externalLocationID"], ready["reasonCode"], ready["reasonDescription"]) == (
        world.far_location,
        None,
        None,
    )
    assert ready["data"] == [line("1", new_shipment, SHIRT, 2, 9)]
    assert ready["scope"]["fulfillerID"] == "80001"


def test_ready_shipment_follows_when_routing_places_a_declined_item_later(
    client: TestClient, admin: Headers, world: World, feed: Feed
) -> None:
    scarce = put_product(client, admin, part_number="PN-SCARCE", upc="555")
    count_stock(client, admin, world.near, scarce, 1)
    order = create(client, admin, [(scarce, 1)])
    shipment = shipment_of(order)
    feed.new()
    post(client, admin, f"/shipments/{shipment}/items/1/reject", {"reason_id": "DAMAGED"})
    # Nowhere else has it: backordered, nothing placed yet, and subscribers hear of both.
    decline, waiting = feed.new()
    assert decline["eventTypeID"] == "StoreDeclineEvent"
    assert_shape(waiting)
    assert waiting["eventTypeID"] == "backorder_item"
    assert (waiting["externalLocationID"], waiting["scope"]["fulfillerID"]) == (None, None)
    [held] = waiting["data"]
    assert (held["itemID"], held["shipmentID"], held["reasonCode"]) == ("1", None, "backorder")
    assert "no eligible facility has stock" in held["reasonDescription"]
    assert read(client, admin, order["order_id"])["items"][0]["state"] == "backorder"
    # Stock arrives elsewhere: the count routes the backordered item at once.
    count_stock(client, admin, world.far, scarce, 2)
    placed = read(client, admin, order["order_id"])["items"][0]
    assert (placed["state"], placed["facility_id"]) == ("ready", world.far)
    [ready] = feed.new()
    assert_shape(ready)
    assert ready["eventTypeID"] == "ready_shipment"
    assert ready["externalLocationID"] == world.far_location
    assert ready["data"] == [line("1", placed["shipment_id"], ("PN-SCARCE", "555"), 1, 2)]


def test_a_cascade_into_another_order_gives_that_order_its_own_store_decline(
    client: TestClient, admin: Headers, world: World, feed: Feed
) -> None:
    first = create(client, admin, [(world.shirt, 1)])
    second = create(client, admin, [(world.shirt, 2), (world.coat, 1)])
    first_shipment, second_shipment = shipment_of(first), shipment_of(second)
    feed.new()
    post(
        client, admin, f"/shipments/{first_shipment}/items/1/reject", {"reason_id": "NOT_IN_STOCK"}
    )
    events = feed.new()
    for event in events:
        assert_shape(event)
    declines = [e for e in events if e["eventTypeID"] == "StoreDeclineEvent"]
    # One Store Decline per affected shipment, each for its own order.
    assert [d["orderID"] for d in declines] == [first["order_id"], second["order_id"]]
    mine, theirs = declines
    # NOT_IN_STOCK: the store has none left, QOH 0 after the effect.
    assert mine["data"] == [line("1", first_shipment, SHIRT, 1, 0, DEFAULT_DECLINE)]
    assert theirs["data"] == [line("1", second_shipment, SHIRT, 2, 0, DEFAULT_DECLINE)]
    assert all(d["reasonCode"] is None for d in declines)
    # The coat of the second order stays where it was; both shirts go to `far`.
    ready = [e for e in events if e["eventTypeID"] == "ready_shipment"]
    assert sorted(r["orderID"] for r in ready) == sorted([first["order_id"], second["order_id"]])
    assert all(r["externalLocationID"] == world.far_location for r in ready)
    for order_id in (first["order_id"], second["order_id"]):
        mine_in_order = [e["eventTypeID"] for e in events if e["orderID"] == order_id]
        assert mine_in_order == ["StoreDeclineEvent", "ready_shipment"]
    assert len(events) == 4


def test_lines_taken_along_with_a_rejected_item_are_in_the_same_store_decline(
    client: TestClient, admin: Headers, world: World, feed: Feed
) -> None:
    order = create(client, admin, [(world.shirt, 1), (world.coat, 1)], ship_complete=True)
    shipment = shipment_of(order)
    feed.new()
    post(client, admin, f"/shipments/{shipment}/items/2/reject", {"reason_id": "DAMAGED"})
    decline, ready = feed.new()
    assert decline["eventTypeID"] == "StoreDeclineEvent"
    assert (decline["reasonCode"], decline["reasonDescription"]) == (None, None)
    by_item = {d["itemID"]: d for d in decline["data"]}
    assert by_item == {
        "2": line("2", shipment, COAT, 1, 2, ("104", "Damaged")),
        "1": line("1", shipment, SHIRT, 1, 4, ("105", "Shipped together with a declined item")),
    }
    assert ready["eventTypeID"] == "ready_shipment"
    assert sorted(d["itemID"] for d in ready["data"]) == ["1", "2"]


def test_a_rejected_shipment_declines_all_its_lines_under_the_shipments_reason(
    client: TestClient, admin: Headers, world: World, feed: Feed
) -> None:
    for reason_id, expected in (("DAMAGED", ("104", "Damaged")), (None, DEFAULT_DECLINE)):
        order = create(client, admin, [(world.shirt, 1), (world.coat, 1)])
        shipment = shipment_of(order)
        feed.new()
        post(client, admin, f"/shipments/{shipment}/reject", {"reason_id": reason_id})
        decline, ready = feed.new()
        assert_shape(decline)
        assert (decline["reasonCode"], decline["reasonDescription"]) == expected
        # Neither reason takes units off the shelf: QOH stays 4 and 2.
        assert decline["data"] == [
            line("1", shipment, SHIRT, 1, 4, expected),
            line("2", shipment, COAT, 1, 2, expected),
        ]
        new_shipment = shipment_of(read(client, admin, order["order_id"]))
        assert ready["eventTypeID"] == "ready_shipment"
        assert ready["externalLocationID"] == world.far_location
        assert [(d["itemID"], d["shipmentID"]) for d in ready["data"]] == [
            ("1", new_shipment),
            ("2", new_shipment),
        ]


# SPEC 6.1, rows 2 and 3: canceled at a facility -----------------------------------------------


def test_canceling_a_shipment_at_a_facility_declines_all_its_lines_then_cancel_shipment(
    client: TestClient, admin: Headers, world: World, feed: Feed
) -> None:
    reason = ("104", "Damaged")
    for steps in ([], ["start"], ["start", "pack"]):  # ready, in_progress, packed
        order = create(client, admin, [(world.shirt, 1), (world.coat, 1)])
        shipment = shipment_of(order)
        for step in steps:
            response = client.post(f"/api/v1/shipments/{shipment}/{step}", headers=admin)
            assert response.status_code == 200, response.text
        feed.new()
        post(client, admin, f"/shipments/{shipment}/cancel", {"reason_id": "DAMAGED"})
        decline, canceled = feed.new()
        lines = [line("1", shipment, SHIRT, 1, 4, reason), line("2", shipment, COAT, 1, 2, reason)]
        for event, kind in ((decline, "StoreDeclineEvent"), (canceled, "cancel_shipment")):
            assert_shape(event)
            assert event["eventTypeID"] == kind, steps
            assert (event["orderID"], event["externalLocationID"]) == (
                order["order_id"],
                world.near_location,
            )
            assert (event["reasonCode"], event["reasonDescription"], event["orderItemID"]) == (
                *reason,
                None,
            )
            assert event["data"] == lines, steps
        after = read(client, admin, order["order_id"])
        assert {i["state"] for i in after["items"]} == {"canceled"}
        assert [s["state"] for s in after["shipments"]] == ["canceled"]


def test_canceling_a_shipment_without_a_reason_declines_with_the_default_reason(
    client: TestClient, admin: Headers, world: World, feed: Feed
) -> None:
    shipment = shipment_of(create(client, admin, [(world.coat, 1)]))
    feed.new()
    post(client, admin, f"/shipments/{shipment}/cancel")
    decline, canceled = feed.new()
    for event in (decline, canceled):
        assert (event["reasonCode"], event["reasonDescription"]) == DEFAULT_DECLINE
    assert [e["eventTypeID"] for e in (decline, canceled)] == [
        "StoreDeclineEvent",
        "cancel_shipment",
    ]


def test_canceling_an_item_at_a_facility_declines_that_line_then_cancel_item_names_it(
    client: TestClient, admin: Headers, world: World, feed: Feed
) -> None:
    order = create(client, admin, [(world.shirt, 1), (world.coat, 2)])
    shipment = shipment_of(order)
    feed.new()
    post(client, admin, f"/orders/{order['order_id']}/items/2/cancel", {"reason_id": "DAMAGED"})
    decline, canceled = feed.new()
    reason = ("104", "Damaged")
    assert_shape(decline)
    assert_shape(canceled)
    assert decline["eventTypeID"] == "StoreDeclineEvent"
    assert decline["orderItemID"] is None
    assert decline["data"] == [line("2", shipment, COAT, 2, 2, reason)]
    assert canceled["eventTypeID"] == "cancel_item"
    assert canceled["orderItemID"] == "2"
    assert canceled["data"] == [line("2", shipment, COAT, 2, 2, reason)]
    assert canceled["externalLocationID"] == world.near_location
    states = {i["item_id"]: i["state"] for i in read(client, admin, order["order_id"])["items"]}
    assert states == {"1": "ready", "2": "canceled"}


# SPEC 6.1, row 4: customer care --------------------------------------------------------------


def test_a_shipment_sent_to_customer_care_is_declined_and_nothing_else(
    client: TestClient, admin: Headers, world: World, feed: Feed
) -> None:
    for reason_id, expected in (("DAMAGED", ("104", "Damaged")), (None, DEFAULT_DECLINE)):
        order = create(client, admin, [(world.shirt, 1), (world.coat, 1)])
        shipment = shipment_of(order)
        feed.new()
        post(client, admin, f"/shipments/{shipment}/customer-care", {"reason_id": reason_id})
        decline, cared = feed.new()
        assert_shape(cared)
        assert cared["eventTypeID"] == "customer_care_item"
        assert [(c["itemID"], c["shipmentID"], c["reasonCode"]) for c in cared["data"]] == [
            ("1", None, "customer_care"),
            ("2", None, "customer_care"),
        ]
        assert cared["data"][0]["reasonDescription"] == f"Sent to customer care: {expected[1]}"
        assert_shape(decline)
        assert decline["eventTypeID"] == "StoreDeclineEvent"
        assert (decline["reasonCode"], decline["reasonDescription"]) == expected
        assert decline["data"] == [
            line("1", shipment, SHIRT, 1, 4, expected),
            line("2", shipment, COAT, 1, 2, expected),
        ]
        after = read(client, admin, order["order_id"])
        assert {i["state"] for i in after["items"]} == {"customer_care"}
        assert [s["state"] for s in after["shipments"]] == ["customer_care"]


def test_a_rejected_pickup_goes_to_customer_care_with_a_store_decline_and_no_ready_shipment(
    client: TestClient, admin: Headers, world: World, feed: Feed
) -> None:
    order = create(
        client,
        admin,
        [(world.coat, 1)],
        shipping_method="pickup",
        pickup_facility_id=world.near,
    )
    shipment = shipment_of(order)
    feed.new()
    post(client, admin, f"/shipments/{shipment}/items/1/reject", {"reason_id": "DAMAGED"})
    decline, cared = feed.new()
    assert decline["eventTypeID"] == "StoreDeclineEvent"
    assert decline["data"] == [line("1", shipment, COAT, 1, 2, ("104", "Damaged"))]
    assert cared["eventTypeID"] == "customer_care_item"
    [held] = cared["data"]
    assert (held["itemID"], held["reasonCode"]) == ("1", "customer_care")
    assert held["reasonDescription"] == f"The pickup store {world.near} declined it: Damaged."
    assert read(client, admin, order["order_id"])["items"][0]["state"] == "customer_care"


# SPEC 6.1, row 5: canceled while queued or backordered: no Store Decline ----------------------


def test_canceling_a_queued_order_sends_cancel_shipment_and_no_store_decline(
    client: TestClient, admin: Headers, world: World, feed: Feed
) -> None:
    response = client.patch("/api/v1/settings", json={"route_on_create": False}, headers=admin)
    assert response.status_code == 200, response.text
    order = create(client, admin, [(world.shirt, 1), (world.coat, 3)])
    assert {i["state"] for i in order["items"]} == {"queued"}
    assert feed.new() == []
    post(client, admin, f"/orders/{order['order_id']}/cancel")
    [canceled] = feed.new()
    assert canceled["eventTypeID"] == "cancel_shipment"
    assert canceled["orderItemID"] is None
    # No store held the items: no location, no shipment, no stock figure.
    assert (canceled["externalLocationID"], canceled["locationName"]) == (None, None)
    assert [
        (d["itemID"], d["shipmentID"], d["quantity"], d["locationAvailability"])
        for d in canceled["data"]
    ] == [("1", None, "1", None), ("2", None, "3", None)]


def test_canceling_a_backordered_item_sends_cancel_item_and_no_store_decline(
    client: TestClient, admin: Headers, world: World, feed: Feed
) -> None:
    nowhere = put_product(client, admin)
    order = create(client, admin, [(world.shirt, 1), (nowhere, 1)])
    states = {i["item_id"]: i["state"] for i in order["items"]}
    assert states == {"1": "ready", "2": "backorder"}
    feed.new()
    post(client, admin, f"/orders/{order['order_id']}/items/2/cancel")
    [canceled] = feed.new()
    assert canceled["eventTypeID"] == "cancel_item"
    assert canceled["orderItemID"] == "2"
    assert [d["itemID"] for d in canceled["data"]] == ["2"]


def test_canceling_an_order_declines_each_shipment_a_facility_held_and_nothing_else(
    client: TestClient, admin: Headers, world: World, feed: Feed
) -> None:
    only_near = put_product(client, admin, part_number="PN-NEAR", upc="666")
    count_stock(client, admin, world.near, only_near, 3)
    only_far = put_product(client, admin, part_number="PN-FAR", upc="777")
    count_stock(client, admin, world.far, only_far, 5)
    nowhere = put_product(client, admin, part_number="PN-NONE", upc="999")
    order = create(client, admin, [(only_near, 1), (only_far, 2), (nowhere, 3)])
    states = {i["item_id"]: (i["state"], i["facility_id"]) for i in order["items"]}
    assert states == {
        "1": ("ready", world.near),
        "2": ("ready", world.far),
        "3": ("backorder", None),
    }
    near_shipment, far_shipment = shipment_of(order, "1"), shipment_of(order, "2")
    feed.new()
    post(client, admin, f"/orders/{order['order_id']}/cancel")
    events = feed.new()
    for event in events:
        assert event["orderID"] == order["order_id"]
        assert event["orderItemID"] is None
    assert [(e["eventTypeID"], e["externalLocationID"]) for e in events] == [
        ("StoreDeclineEvent", world.near_location),
        ("cancel_shipment", world.near_location),
        ("StoreDeclineEvent", world.far_location),
        ("cancel_shipment", world.far_location),
        ("cancel_shipment", None),
    ]
    near_decline, near_cancel, far_decline, far_cancel, waiting = events
    assert near_decline["data"] == [
        line("1", near_shipment, ("PN-NEAR", "666"), 1, 3, DEFAULT_DECLINE)
    ]
    assert near_cancel["data"] == near_decline["data"]
    assert far_decline["data"] == [
        line("2", far_shipment, ("PN-FAR", "777"), 2, 5, DEFAULT_DECLINE)
    ]
    assert far_cancel["data"] == far_decline["data"]
    assert far_decline["scope"]["fulfillerID"] == "80001"
    # The backordered item was declined by no store: only its cancel, without a location.
    assert waiting["scope"]["fulfillerID"] is None
    assert [(d["itemID"], d["shipmentID"], d["locationAvailability"]) for d in waiting["data"]] == [
        ("3", None, None)
    ]


# SPEC 6.1, row 6: orders that are not inventory-based ------------------------------------------


ACTIONS = {
    "reject-item": (
        "/shipments/{shipment}/items/1/reject",
        {"reason_id": "DAMAGED"},
        ["ready_shipment"],
    ),
    "reject-shipment": ("/shipments/{shipment}/reject", {}, ["ready_shipment"]),
    "cancel-shipment": ("/shipments/{shipment}/cancel", None, ["cancel_shipment"]),
    "cancel-item": ("/orders/{order}/items/1/cancel", None, ["cancel_item"]),
    "cancel-order": ("/orders/{order}/cancel", None, ["cancel_shipment"]),
    "customer-care": ("/shipments/{shipment}/customer-care", None, ["customer_care_item"]),
}


def test_an_order_that_is_not_inventory_based_gets_no_store_decline_but_the_rest(
    client: TestClient, admin: Headers, world: World, feed: Feed
) -> None:
    for action, (path, body, expected) in ACTIONS.items():
        order = create(client, admin, [(world.shirt, 1)], inventory_based=False)
        shipment = shipment_of(order)
        assert kinds(feed.new()) == [("ready_shipment", order["order_id"])]
        post(client, admin, path.format(shipment=shipment, order=order["order_id"]), body)
        events = feed.new()
        assert [e["eventTypeID"] for e in events] == expected, action
        for event in events:
            assert_shape(event)
        if action == "cancel-item":
            assert events[0]["orderItemID"] == "1"
        if action.startswith("reject"):
            assert events[0]["externalLocationID"] == world.far_location


def test_a_cascade_declines_the_inventory_based_order_and_not_the_other(
    client: TestClient, admin: Headers, world: World, feed: Feed
) -> None:
    counted = create(client, admin, [(world.shirt, 1)])
    uncounted = create(client, admin, [(world.shirt, 1)], inventory_based=False)
    feed.new()
    post(
        client,
        admin,
        f"/shipments/{shipment_of(counted)}/items/1/reject",
        {"reason_id": "NOT_IN_STOCK"},
    )
    events = feed.new()
    assert sorted(kinds(events)) == sorted(
        [
            ("StoreDeclineEvent", counted["order_id"]),
            ("ready_shipment", counted["order_id"]),
            ("ready_shipment", uncounted["order_id"]),
        ]
    )
    assert read(client, admin, uncounted["order_id"])["items"][0]["facility_id"] == world.far


# The outbox is written in the change's transaction ---------------------------------------------


def test_refused_requests_write_no_event_and_queue_no_delivery(
    client: TestClient, admin: Headers, world: World, feed: Feed, context: Context
) -> None:
    subscribe_nowhere(client, admin)
    order = create(client, admin, [(world.shirt, 1), (world.coat, 1)])
    shipment = shipment_of(order)
    for step in ("start", "pack", "fulfill"):
        response = client.post(f"/api/v1/shipments/{shipment}/{step}", headers=admin)
        assert response.status_code == 200, response.text
    other = create(client, admin, [(world.coat, 1)])
    other_shipment = shipment_of(other)
    feed.new()
    before = outbox_rows(context)
    refusals = [
        (f"/orders/{order['order_id']}/items/1/cancel", None, 409),
        (f"/orders/{order['order_id']}/cancel", None, 409),
        (f"/shipments/{shipment}/cancel", None, 409),
        (f"/shipments/{shipment}/customer-care", None, 409),
        (f"/shipments/{shipment}/reject", {}, 409),
        (f"/shipments/{other_shipment}/reject", {"reason_id": "NO_SUCH_REASON"}, 422),
        (f"/shipments/{other_shipment}/cancel", {"reason_id": "NO_SUCH_REASON"}, 422),
        (f"/shipments/{other_shipment}/items/9/reject", {}, 404),
        ("/orders/no-such-order/cancel", None, 404),
        ("/shipments/no-such-shipment/customer-care", None, 404),
    ]
    for path, body, status in refusals:
        post(client, admin, path, body, status)
    assert feed.new() == []
    assert outbox_rows(context) == before
    # The same change, once it applies, writes its event and one delivery; sent again under
    # the same Idempotency-Key it answers the same and writes nothing more.
    keyed = {**admin, "Idempotency-Key": "care-once"}
    answers = [
        client.post(f"/api/v1/shipments/{other_shipment}/customer-care", headers=keyed)
        for _ in range(2)
    ]
    assert [a.status_code for a in answers] == [200, 200], answers[-1].text
    assert answers[0].json() == answers[1].json()
    assert kinds(feed.new()) == [
        ("StoreDeclineEvent", other["order_id"]),
        ("customer_care_item", other["order_id"]),
    ]
    # The endpoint here takes the four first types: the customer_care_item is kept, unsent.
    assert outbox_rows(context) == (before[0] + 2, before[1] + 1)


def _item_rows(context: Context) -> list[tuple[str, str, str, str | None]]:
    with context.db.transaction(write=False) as conn:
        rows = conn.execute(
            select(
                order_items.c.order_id,
                order_items.c.item_id,
                order_items.c.state,
                order_items.c.shipment_id,
            ).order_by(order_items.c.order_id, order_items.c.item_id)
        )
        return [tuple(r) for r in rows]  # type: ignore[misc]


CHANGES = {
    "create-order": None,
    "reject-item": ("/shipments/{shipment}/items/1/reject", {"reason_id": "MISMATCH"}),
    "cancel-shipment": ("/shipments/{shipment}/cancel", None),
    "cancel-item": ("/orders/{order}/items/1/cancel", None),
    "customer-care": ("/shipments/{shipment}/customer-care", None),
}


def test_a_change_that_fails_after_writing_its_events_leaves_neither_change_nor_event(
    client: TestClient,
    admin: Headers,
    world: World,
    feed: Feed,
    context: Context,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    subscribe_nowhere(client, admin)
    flush = notify.Notifier.flush
    written: list[int] = []

    def flush_then_fail(self: notify.Notifier) -> None:
        written.append(len(self.events))
        flush(self)
        raise RuntimeError("the transaction dies after the outbox rows were written")

    for change, spec in CHANGES.items():
        order = create(client, admin, [(world.shirt, 1)])
        shipment = shipment_of(order)
        feed.new()
        before = (outbox_rows(context), _item_rows(context), _levels(client, admin, world))
        written.clear()
        monkeypatch.setattr(notify.Notifier, "flush", flush_then_fail)
        if spec is None:
            path, body = "/orders", order_body([(world.coat, 1)])
        else:
            path = spec[0].format(shipment=shipment, order=order["order_id"])
            body = spec[1]
        response = client.post(f"/api/v1{path}", json=body, headers=admin)
        assert response.status_code == 500, (change, response.text)
        assert written and written[0] > 0, f"{change}: the outbox was written before the failure"
        assert feed.new() == [], change
        after = (outbox_rows(context), _item_rows(context), _levels(client, admin, world))
        assert after == before, change
        monkeypatch.undo()
        # Without the failure the same change commits, with its events.
        expected = 201 if spec is None else 200
        post(client, admin, path, body, expected)
        assert len(feed.new()) == written[0], change
        assert outbox_rows(context)[0] == before[0][0] + written[0], change


def _levels(client: TestClient, admin: Headers, world: World) -> list[Any]:
    return [
        client.get(f"/api/v1/facilities/{f}/inventory/{p}", headers=admin).json()
        for f in (world.near, world.far)
        for p in (world.shirt, world.coat)
    ]


# Payload rules (SPEC 6.2) ---------------------------------------------------------------------


def test_event_time_is_utc_to_the_second(
    client: TestClient, admin: Headers, world: World, feed: Feed
) -> None:
    started = datetime.now(UTC).replace(microsecond=0)
    order = create(client, admin, [(world.shirt, 1)])
    post(client, admin, f"/shipments/{shipment_of(order)}/cancel")
    ended = datetime.now(UTC)
    events = feed.new()
    assert len(events) == 3
    for event in events:
        assert EVENT_TIME.match(event["eventTime"]), event["eventTime"]
        moment = datetime.strptime(event["eventTime"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
        assert started <= moment <= ended + timedelta(seconds=1)


def test_scope_takes_mfg_id_from_settings_catalog_from_the_order_fulfiller_from_the_facility(
    client: TestClient, admin: Headers, world: World, feed: Feed
) -> None:
    plain = create(client, admin, [(world.shirt, 1)])
    web = create(client, admin, [(world.coat, 1)], catalog_id="web-7")
    first = feed.new()
    assert [e["scope"] for e in first] == [
        {"mfgID": MFG_ID, "catalogID": "0", "fulfillerID": "70125"},
        {"mfgID": MFG_ID, "catalogID": "web-7", "fulfillerID": "70125"},
    ]
    response = client.patch("/api/v1/settings", json={"mfg_id": "22222"}, headers=admin)
    assert response.status_code == 200, response.text
    post(client, admin, f"/shipments/{shipment_of(web)}/items/1/reject", {"reason_id": "DAMAGED"})
    decline, ready = feed.new()
    assert decline["scope"] == {"mfgID": "22222", "catalogID": "web-7", "fulfillerID": "70125"}
    assert ready["scope"] == {"mfgID": "22222", "catalogID": "web-7", "fulfillerID": "80001"}
    # What was written stays as it was written.
    again = read_feed(client, admin)
    assert [e["body"]["scope"]["mfgID"] for e in again] == [MFG_ID, MFG_ID, "22222", "22222"]
    assert plain["catalog_id"] == "0"


def test_every_event_keeps_the_documented_key_order_and_json_types(
    client: TestClient, admin: Headers, world: World, feed: Feed, context: Context
) -> None:
    first = create(client, admin, [(world.shirt, 2), (world.coat, 1)])
    post(client, admin, f"/shipments/{shipment_of(first)}/items/1/reject", {"reason_id": "DAMAGED"})
    second = create(client, admin, [(world.coat, 1), (world.shirt, 1)])
    post(client, admin, f"/orders/{second['order_id']}/items/1/cancel")
    post(client, admin, f"/shipments/{shipment_of(second, '2')}/customer-care")
    third = create(client, admin, [(world.coat, 1)])
    post(client, admin, f"/shipments/{shipment_of(third)}/cancel")
    events = feed.new()
    assert {e["eventTypeID"] for e in events} == {*ALL_TYPES, "customer_care_item"}
    for event in events:
        assert_shape(event)
    # The stored bodies themselves (what webhooks send) have that order too.
    with context.db.transaction(write=False) as conn:
        bodies = [
            r.body for r in conn.execute(select(outbox_events.c.body).order_by(outbox_events.c.id))
        ]
    assert [json.loads(b) for b in bodies] == events
    for body in bodies:
        parsed = json.loads(body)
        assert list(parsed) == TOP_KEYS
        assert all(list(d) == LINE_KEYS for d in parsed["data"])
        assert list(parsed["scope"]) == SCOPE_KEYS


# The source document's example, rebuilt from real actions -------------------------------------

SOURCE_EXAMPLE = {
    "eventTypeID": "StoreDeclineEvent",
    "orderID": "808080",
    "externalLocationID": "4400440",
    "locationName": "Test Distribution",
    "eventTime": "2015-01-10 01:01:00",
    "reasonCode": None,
    "reasonDescription": None,
    "orderItemID": None,
    "data": [
        {
            "itemID": "12121212",
            "shipmentID": "919191",
            "partNumber": "88887777",
            "upc": "88887777",
            "quantity": "1",
            "locationAvailability": 3,
            "reasonCode": "102",
            "reasonDescription": "On a mannequin or display",
        }
    ],
    "scope": {"mfgID": "11111", "catalogID": "0", "fulfillerID": "70125"},
}


def test_the_source_documents_example_rebuilt_from_real_actions(
    client: TestClient, admin: Headers, feed: Feed, context: Context
) -> None:
    facility = put_facility(
        client,
        admin,
        external_location_id="4400440",
        name="Test Distribution",
        fulfiller_id="70125",
    )
    product = put_product(client, admin, part_number="88887777", upc="88887777")
    # WORN_DISPLAY leaves QOH as it is: 3 counted, 3 after the decline.
    count_stock(client, admin, facility, product, 3)
    body = order_body([(product, 1)], order_id="808080")
    body["items"][0]["item_id"] = "12121212"
    response = client.post("/api/v1/orders", json=body, headers=admin)
    assert response.status_code == 201, response.text
    shipment = shipment_of(response.json(), "12121212")
    feed.new()
    post(
        client,
        admin,
        f"/shipments/{shipment}/items/12121212/reject",
        {"reason_id": "WORN_DISPLAY"},
    )
    decline, waiting = feed.new()  # nowhere else to go: backordered, no ready_shipment
    assert waiting["eventTypeID"] == "backorder_item"
    assert qoh(client, admin, facility, product) == 3
    assert list(decline) == list(SOURCE_EXAMPLE)
    for key, expected in SOURCE_EXAMPLE.items():
        if key == "eventTime":
            assert EVENT_TIME.match(decline[key]), decline[key]
        elif key == "data":
            [got] = decline["data"]
            [want] = expected  # type: ignore[misc]
            assert list(got) == list(want)
            for field, value in want.items():
                if field == "shipmentID":  # generated by the service
                    assert got[field] == shipment
                else:
                    assert got[field] == value, field
                    assert type(got[field]) is type(value), field
        elif key == "scope":
            assert list(decline[key]) == list(expected)  # type: ignore[arg-type]
            assert decline[key] == expected, key
        else:
            assert decline[key] == expected, key
    with context.db.transaction(write=False) as conn:
        stored = conn.execute(
            select(outbox_events.c.body).where(outbox_events.c.event_type == "StoreDeclineEvent")
        ).scalar_one()
    assert json.loads(stored) == decline
