"""What the notification tests share (SPEC 6.1 and 6.2): two facilities and two products, the
event feed read on from where it stopped, and the documented shape of every event.

Facilities: `near` is at the ship-to address, `far` about 11 km north, so routing tries `near`
first and sends what `near` declines to `far`. The fixtures `world` and `feed` (in conftest)
build them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from reroute.services.context import Context
from reroute.storage.tables import deliveries, outbox_events
from tests.integration.receiver import ALL_TYPES, read_feed
from tests.support import count_stock, new_id, put_facility, put_product

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


# Shared --------------------------------------------------------------------------------------


@dataclass
class World:
    """Two facilities and two products; `near` holds 4 shirts and 2 coats, `far` 9 of each."""

    near: str
    far: str
    shirt: str
    coat: str
    near_location: str
    far_location: str


def build_world(client: TestClient, admin: Headers) -> World:
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
