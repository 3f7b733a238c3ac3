"""When notifications are written (SPEC 6.1), through the API on both databases: items rejected
and routed on, customer care, and orders that are not inventory-based. Cancellations, the
outbox's transaction and the payload rules have files of their own (test_notification_*.py).
"""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.conftest import MFG_ID
from tests.integration.notification_world import (
    COAT,
    DEFAULT_DECLINE,
    SHIRT,
    Feed,
    Headers,
    World,
    assert_shape,
    kinds,
    line,
    post,
    qoh,
    shipment_of,
)
from tests.support import count_stock, create, put_product, read

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
