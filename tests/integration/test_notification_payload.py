"""What notifications say (SPEC 6.2), on both databases: UTC event time, the scope's ids, the
documented key order and JSON types of every event, and the source document's example rebuilt
from real actions."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from reroute.services.context import Context
from reroute.storage.tables import outbox_events
from tests.conftest import MFG_ID
from tests.integration.notification_world import (
    EVENT_TIME,
    LINE_KEYS,
    SCOPE_KEYS,
    TOP_KEYS,
    Feed,
    Headers,
    World,
    assert_shape,
    post,
    qoh,
    shipment_of,
)
from tests.integration.receiver import ALL_TYPES, read_feed
from tests.support import count_stock, create, order_body, put_facility, put_product

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
