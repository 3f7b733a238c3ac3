"""Builders for test data: random ids, sensible defaults, one line per thing a test cares about."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def facility_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "Store " + uuid.uuid4().hex[:4],
        "kind": "store",
        "external_location_id": new_id("loc"),
        "fulfiller_id": "70125",
        "latitude": 41.88,
        "longitude": -87.63,
        "capabilities": ["ship", "pickup"],
    }
    body.update(overrides)
    return body


def product_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "sku": new_id("SKU"),
        "upc": uuid.uuid4().hex[:12],
        "part_number": uuid.uuid4().hex[:8],
        "name": "Linen shirt",
    }
    body.update(overrides)
    return body


def order_body(items: list[tuple[str, int]], **overrides: Any) -> dict[str, Any]:
    """An order of (product id, quantity) lines shipped to central Chicago."""
    body: dict[str, Any] = {
        "order_id": new_id("O"),
        "customer": {"name": "Ada Lovelace", "email": "ada@example.com"},
        "shipping_method": "standard",
        "ship_to": {"city": "Chicago", "latitude": 41.88, "longitude": -87.63},
        "items": [
            {"item_id": str(n + 1), "product_id": product_id, "quantity": quantity}
            for n, (product_id, quantity) in enumerate(items)
        ],
    }
    body.update(overrides)
    return body


def put_facility(client: TestClient, headers: dict[str, str], **overrides: Any) -> str:
    facility_id = overrides.pop("facility_id", None) or new_id("F")
    response = client.put(
        f"/api/v1/facilities/{facility_id}", json=facility_body(**overrides), headers=headers
    )
    assert response.status_code in (200, 201), response.text
    return facility_id


def put_product(client: TestClient, headers: dict[str, str], **overrides: Any) -> str:
    product_id = overrides.pop("product_id", None) or new_id("P")
    response = client.put(
        f"/api/v1/products/{product_id}", json=product_body(**overrides), headers=headers
    )
    assert response.status_code in (200, 201), response.text
    return product_id


def count_stock(
    client: TestClient, headers: dict[str, str], facility_id: str, product_id: str, quantity: int
) -> dict[str, Any]:
    response = client.put(
        f"/api/v1/facilities/{facility_id}/inventory/{product_id}",
        json={"quantity_on_hand": quantity},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result
