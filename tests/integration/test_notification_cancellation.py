"""Notifications of cancellations (SPEC 6.1, rows 2, 3 and 5), on both databases: canceled at a
facility (a Store Decline, then cancel_shipment or cancel_item) or while queued or backordered
(no Store Decline)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.integration.notification_world import (
    COAT,
    DEFAULT_DECLINE,
    SHIRT,
    Feed,
    Headers,
    World,
    assert_shape,
    line,
    post,
    shipment_of,
)
from tests.support import count_stock, create, put_product, read

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
