"""Shipment confirmation on both databases: `fulfill` takes carrier, tracking number and tracking
URL (none for a pickup), keeps them on the shipment for the API and the pages, and tells a real
receiver on 127.0.0.1 (verifying with `standardwebhooks`) with `fulfilled_shipment`; items that
reach backorder or customer care are told as `backorder_item` and `customer_care_item`; every
body has the shape the OpenAPI document's event models give."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from reroute.api.schemas.events import EVENT_MODELS
from reroute.services.context import Context
from tests.integration.conftest import MakeWorker
from tests.integration.receiver import Receiver, deliver_until, subscribe
from tests.integration.test_rejection_api import footprint as snapshot
from tests.support import Headers, count_stock, order_body, put_facility, put_product, read

UPS = {
    "carrier": "UPS",
    "tracking_number": "1Z999AA10123456784",
    "tracking_url": "https://www.ups.com/track?tracknum=1Z999AA10123456784",
}
NEW_TYPES = ["fulfilled_shipment", "backorder_item", "customer_care_item"]


def packed(client: TestClient, admin: Headers, product: str, **fields: Any) -> tuple[str, str]:
    """A new order's shipment, started and packed: (order id, shipment id)."""
    body = order_body([(product, 1)], **fields)
    response = client.post("/api/v1/orders", json=body, headers=admin)
    assert response.status_code == 201, response.text
    order = response.json()
    shipment = order["items"][0]["shipment_id"]
    assert shipment, order
    for step in ("start", "pack"):
        done = client.post(f"/api/v1/shipments/{shipment}/{step}", headers=admin)
        assert done.status_code == 200, done.text
    return order["order_id"], shipment


@pytest.fixture
def stocked(client: TestClient, admin: Headers) -> tuple[str, str]:
    """(store, product): one store with plenty of one product."""
    store, product = put_facility(client, admin), put_product(client, admin)
    count_stock(client, admin, store, product, 50)
    return store, product


def received(receiver: Receiver) -> list[dict[str, Any]]:
    return [json.loads(body) for body in receiver.unique.values()]


def test_fulfill_keeps_the_tracking_and_a_subscriber_hears_it_signed(
    client: TestClient,
    admin: Headers,
    stocked: tuple[str, str],
    receiver: Receiver,
    make_worker: MakeWorker,
) -> None:
    _, product = stocked
    subscribe(client, admin, receiver, ["fulfilled_shipment"])
    order_id, shipment = packed(client, admin, product)
    response = client.post(f"/api/v1/shipments/{shipment}/fulfill", json=UPS, headers=admin)
    assert response.status_code == 200, response.text
    assert response.json()["state"] == "fulfilled"
    assert response.json()["tracking"] == UPS
    assert client.get(f"/api/v1/shipments/{shipment}", headers=admin).json()["tracking"] == UPS
    [summary] = read(client, admin, order_id)["shipments"]
    assert (summary["state"], summary["tracking"]) == ("fulfilled", UPS)

    assert deliver_until(make_worker(), lambda: len(receiver.unique) == 1, 10)
    assert receiver.invalid == []
    [event] = received(receiver)
    EVENT_MODELS["fulfilled_shipment"].model_validate(event)
    assert (event["eventTypeID"], event["orderID"]) == ("fulfilled_shipment", order_id)
    assert (event["carrier"], event["trackingNumber"], event["trackingURL"]) == (
        UPS["carrier"],
        UPS["tracking_number"],
        UPS["tracking_url"],
    )
    [line] = event["data"]
    assert (line["itemID"], line["shipmentID"], line["quantity"]) == ("1", shipment, "1")
    assert line["locationAvailability"] == 49  # QOH after the unit left
    # The Store Decline's keys first, in its order, the tracking after them.
    assert list(event)[-4:] == ["scope", "carrier", "trackingNumber", "trackingURL"]


def test_fulfill_without_a_body_or_with_an_empty_one_has_no_tracking(
    client: TestClient, admin: Headers, stocked: tuple[str, str]
) -> None:
    _, product = stocked
    for body in (None, {}):
        order_id, shipment = packed(client, admin, product)
        response = client.post(f"/api/v1/shipments/{shipment}/fulfill", json=body, headers=admin)
        assert response.status_code == 200, response.text
        assert response.json()["tracking"] is None
        assert read(client, admin, order_id)["shipments"][0]["tracking"] is None


@pytest.mark.parametrize(
    "body",
    [
        {"tracking_url": "javascript:alert(1)"},
        {"tracking_url": "ftp://example.com/1"},
        {"tracking_url": "https://"},
        {"tracking_url": "https://ex ample.com/"},
        {"carrier": "x" * 101},
        {"tracking_number": "1" * 201},
        {"tracking_url": "https://example.com/" + "a" * 2000},
        {"carrier": "UP\x00S"},
        {"carrier": ""},
        {"weight": 3},
        {"carrier": 7},
    ],
)
def test_bad_tracking_is_422_and_changes_nothing(
    client: TestClient,
    admin: Headers,
    stocked: tuple[str, str],
    context: Context,
    body: dict[str, Any],
) -> None:
    _, product = stocked
    _, shipment = packed(client, admin, product)
    before = snapshot(context)
    response = client.post(f"/api/v1/shipments/{shipment}/fulfill", json=body, headers=admin)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert snapshot(context) == before
    assert client.get(f"/api/v1/shipments/{shipment}", headers=admin).json()["state"] == "packed"


def test_a_pickup_takes_no_tracking_but_is_fulfilled_without(
    client: TestClient, admin: Headers, stocked: tuple[str, str], context: Context
) -> None:
    store, product = stocked
    _, shipment = packed(client, admin, product, shipping_method="pickup", pickup_facility_id=store)
    before = snapshot(context)
    response = client.post(
        f"/api/v1/shipments/{shipment}/fulfill", json={"carrier": "UPS"}, headers=admin
    )
    assert response.status_code == 422, response.text
    assert "pickup" in response.json()["detail"]
    assert [e["path"] for e in response.json()["errors"]] == ["carrier"]
    assert snapshot(context) == before
    done = client.post(f"/api/v1/shipments/{shipment}/fulfill", headers=admin)
    assert done.status_code == 200, done.text
    assert (done.json()["state"], done.json()["tracking"]) == ("fulfilled", None)


def test_backorder_and_customer_care_reach_a_subscriber_in_the_documented_shape(
    client: TestClient,
    admin: Headers,
    receiver: Receiver,
    make_worker: MakeWorker,
) -> None:
    put_facility(client, admin)
    product = put_product(client, admin)  # no stock anywhere
    subscribe(client, admin, receiver, NEW_TYPES)
    waiting = client.post("/api/v1/orders", json=order_body([(product, 2)]), headers=admin)
    assert waiting.status_code == 201, waiting.text
    assert waiting.json()["items"][0]["state"] == "backorder"
    lost = order_body([(product, 1)])
    lost["ship_to"] = {"line1": "1 Nowhere Rd", "postal_code": "00000", "country": "US"}
    cared = client.post("/api/v1/orders", json=lost, headers=admin)
    assert cared.status_code == 201, cared.text
    assert cared.json()["items"][0]["state"] == "customer_care"

    assert deliver_until(make_worker(), lambda: len(receiver.unique) == 2, 10)
    assert receiver.invalid == []
    events = {e["eventTypeID"]: e for e in received(receiver)}
    assert sorted(events) == ["backorder_item", "customer_care_item"]
    for kind, event in events.items():
        EVENT_MODELS[kind].model_validate(event)
        assert (event["externalLocationID"], event["scope"]["fulfillerID"]) == (None, None)
    [backordered] = events["backorder_item"]["data"]
    assert events["backorder_item"]["orderID"] == waiting.json()["order_id"]
    assert (backordered["quantity"], backordered["reasonCode"]) == ("2", "backorder")
    [care] = events["customer_care_item"]["data"]
    assert events["customer_care_item"]["orderID"] == cared.json()["order_id"]
    assert care["reasonCode"] == "customer_care"
    assert "could not be located" in care["reasonDescription"]


def test_a_repeat_of_a_held_order_tells_nobody_twice(
    client: TestClient, admin: Headers, context: Context
) -> None:
    put_facility(client, admin)
    product = put_product(client, admin)
    body = order_body([(product, 1)])
    first = client.post("/api/v1/orders", json=body, headers=admin)
    assert first.status_code == 201, first.text
    before = snapshot(context)
    again = client.post("/api/v1/orders", json=body, headers=admin)
    assert again.status_code == 200, again.text
    assert snapshot(context) == before
