"""The walk-through of docs/api.md ("A whole integration"), step by step on both databases, with
the roles a retailer would give each part: an integration token loads the catalog, creates
orders from postal addresses and syncs them; the admin subscribes a real receiver on 127.0.0.1
that verifies every request with `standardwebhooks`; an associate's token rejects and confirms
a shipment with tracking."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from fastapi.testclient import TestClient

from reroute.domain.access import Role
from reroute.services.context import Context
from tests.conftest import make_token
from tests.integration.conftest import MakeWorker
from tests.integration.receiver import Receiver, deliver_until
from tests.support import Headers, new_id

#: Two stores in Chicago: the Loop (nearest to ZIP 60606) and Lincoln Park.
STORES = {
    "loop": ("State Street", 41.8837, -87.6278),
    "lincoln-park": ("Lincoln Park", 41.9214, -87.6513),
}


def ok(response: Any, *status: int) -> Any:
    assert response.status_code in (status or (200,)), response.text
    return response.json() if response.content else None


def sync(client: TestClient, integration: Headers, since: str | None) -> tuple[list[Any], str]:
    """One poll as the docs write it: every order changed after `since`, page by page."""
    seen: list[Any] = []
    cursor = None
    params: dict[str, Any] = {"limit": 2} | ({"updated_after": since} if since else {})
    for _ in range(100):
        page = ok(
            client.get(
                "/api/v1/orders",
                params=params | ({"cursor": cursor} if cursor else {}),
                headers=integration,
            )
        )
        for order in page["items"]:
            seen.append(order)
            since = order["updated_at"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert since is not None
    return seen, since


def test_the_documented_integration_from_catalog_to_tracking(
    client: TestClient,
    context: Context,
    admin: Headers,
    receiver: Receiver,
    make_worker: MakeWorker,
) -> None:
    integration = make_token(context, Role.INTEGRATION)
    suffix = new_id("x")
    # 1. The catalog: stores, products, stock.
    stores = {key: f"{key}-{suffix}" for key in STORES}
    for key, (name, latitude, longitude) in STORES.items():
        body = {
            "name": name,
            "kind": "store",
            "external_location_id": f"LOC-{key}-{suffix}",
            "fulfiller_id": "70125",
            "latitude": latitude,
            "longitude": longitude,
            "capabilities": ["ship", "pickup"],
        }
        ok(client.put(f"/api/v1/facilities/{stores[key]}", json=body, headers=integration), 201)
    product = f"P-ROSE-{suffix}"
    rose = {"sku": f"ROSE-{suffix}", "upc": "012345678905", "part_number": "PN-ROSE-12"}
    ok(
        client.put(
            f"/api/v1/products/{product}", json=rose | {"name": "Rose"}, headers=integration
        ),
        201,
    )
    for key in STORES:
        path = f"/api/v1/facilities/{stores[key]}/inventory/{product}"
        ok(client.put(path, json={"quantity_on_hand": 3}, headers=integration))

    # 2. Subscribe (the admin's), and hand the secret to the receiver.
    types = ["StoreDeclineEvent", "ready_shipment", "fulfilled_shipment"]
    created = ok(
        client.post(
            "/api/v1/webhooks", json={"url": receiver.url, "event_types": types}, headers=admin
        ),
        201,
    )
    receiver.secret = created["secret"]

    # 3. An order as a platform sends it: a postal address, no coordinates.
    order_id = f"#1001-{suffix}"
    order = {
        "order_id": order_id,
        "external_id": f"gid://shopify/Order/{suffix}",
        "channel": "web",
        "customer": {"name": "Ada Lovelace", "email": "ada@example.com"},
        "shipping_method": "standard",
        "ship_to": {
            "name": "Ada Lovelace",
            "line1": "233 S Wacker Dr",
            "city": "Chicago",
            "region": "IL",
            "postal_code": "60606",
            "country": "US",
        },
        "items": [
            {
                "item_id": "gid://shopify/LineItem/1",
                "product_id": product,
                "quantity": 1,
                "unit_price": "19.90",
                "currency": "USD",
            }
        ],
    }
    placed = ok(client.post("/api/v1/orders", json=order, headers=integration), 201)
    [item] = placed["items"]
    assert (item["state"], item["facility_id"]) == ("ready", stores["loop"])
    assert placed["ship_to"]["latitude"] is not None  # placed at ZIP 60606's centre

    _, since = sync(client, integration, None)

    # 4. The store cannot find it: its associate rejects it; a Store Decline arrives, signed.
    loop_associate = make_token(context, Role.ASSOCIATE, [stores["loop"]])
    item_path = "gid%3A%2F%2Fshopify%2FLineItem%2F1"
    ok(
        client.post(
            f"/api/v1/shipments/{item['shipment_id']}/items/{item_path}/reject",
            json={"reason_id": "NOT_IN_STOCK"},
            headers=loop_associate,
        )
    )
    assert deliver_until(make_worker(), lambda: len(receiver.unique) == 3, 10)
    assert receiver.invalid == []
    bodies = [json.loads(b) for b in receiver.unique.values()]
    assert [b["eventTypeID"] for b in bodies] == [
        "ready_shipment",
        "StoreDeclineEvent",
        "ready_shipment",
    ]
    decline = bodies[1]
    assert decline["orderID"] == order_id
    assert decline["data"][0]["reasonCode"] == "101"
    assert decline["data"][0]["locationAvailability"] == 0  # NOT_IN_STOCK: QOH to 0
    assert bodies[2]["externalLocationID"] == f"LOC-lincoln-park-{suffix}"

    # 5. The next poll sees the order once, where it went.
    changed, since = sync(client, integration, since)
    assert [o["order_id"] for o in changed] == [order_id]
    [moved] = changed[0]["items"]
    assert (moved["state"], moved["facility_id"]) == ("ready", stores["lincoln-park"])
    assert (
        ok(client.get("/api/v1/orders", params={"updated_after": since}, headers=integration))[
            "items"
        ]
        == []
    )

    # 6. The other store ships it with tracking; the subscriber hears it.
    park_associate = make_token(context, Role.ASSOCIATE, [stores["lincoln-park"]])
    shipment = moved["shipment_id"]
    for step in ("start", "pack"):
        ok(client.post(f"/api/v1/shipments/{shipment}/{step}", headers=park_associate))
    tracking = {
        "carrier": "UPS",
        "tracking_number": "1Z999AA10123456784",
        "tracking_url": "https://www.ups.com/track?tracknum=1Z999AA10123456784",
    }
    fulfilled = ok(
        client.post(f"/api/v1/shipments/{shipment}/fulfill", json=tracking, headers=park_associate)
    )
    assert fulfilled["tracking"] == tracking
    assert deliver_until(make_worker(), lambda: len(receiver.unique) == 4, 10)
    last = json.loads(list(receiver.unique.values())[-1])
    assert (last["eventTypeID"], last["trackingNumber"]) == (
        "fulfilled_shipment",
        "1Z999AA10123456784",
    )
    changed, latest = sync(client, integration, since)
    assert [o["order_id"] for o in changed] == [order_id]
    assert changed[0]["items"][0]["state"] == "fulfilled"
    assert datetime.fromisoformat(latest) > datetime.fromisoformat(since)
