"""Builders for test data: random ids, sensible defaults, one line per thing a test cares about."""

from __future__ import annotations

import asyncio
import math
import threading
import uuid
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from fastapi.testclient import TestClient

from reroute.domain.routing.geo import EARTH_RADIUS_KM

T = TypeVar("T")


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


# Stores placed by distance, and orders through the API ----------------------------------------

#: Where `order_body` ships to.
HOME = (41.88, -87.63)
KM_PER_DEGREE = EARTH_RADIUS_KM * math.pi / 180
Headers = dict[str, str]


def place(client: TestClient, admin: Headers, km: float, **overrides: Any) -> str:
    """A facility `km` due north of the ship-to address."""
    return put_facility(
        client, admin, latitude=HOME[0] + km / KM_PER_DEGREE, longitude=HOME[1], **overrides
    )


def stocked(client: TestClient, admin: Headers, km: float, held: dict[str, int], **kw: Any) -> str:
    """A facility `km` north holding `held` (product id to quantity)."""
    facility_id = place(client, admin, km, **kw)
    for product_id, quantity in held.items():
        count_stock(client, admin, facility_id, product_id, quantity)
    return facility_id


def create(client: TestClient, headers: Headers, items: list[tuple[str, int]], **kw: Any) -> Any:
    """A new order of (product id, quantity) lines; answers the created order."""
    response = client.post("/api/v1/orders", json=order_body(items, **kw), headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def read(client: TestClient, admin: Headers, order_id: str) -> Any:
    response = client.get(f"/api/v1/orders/{order_id}", headers=admin)
    assert response.status_code == 200, response.text
    return response.json()


def run_coroutine_alone(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine to completion on a fresh thread with its own event loop: the calling
    thread may already have a loop running (left by an earlier test's browser or client)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(make())).result()


def all_at_once(count: int, work: Callable[[int], T]) -> list[T]:
    """Run `work(n)` for n in range(count) on `count` threads released together."""
    start = threading.Barrier(count)

    def released(n: int) -> T:
        start.wait(timeout=30)
        return work(n)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(released, range(count)))
