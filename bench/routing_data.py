"""A generated retailer for the routing benchmarks: facilities over the continental US, products
with a long tail of popularity, stock, and orders queued for routing. Written straight into the
tables (with a ledger row behind every stock level), so generating is not what gets measured."""

from __future__ import annotations

import bisect
import itertools
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert

from reroute.storage.database import Database
from reroute.storage.migrate import upgrade
from reroute.storage.tables import (
    facilities,
    inventory_ledger,
    inventory_levels,
    order_items,
    orders,
    products,
)

# Rough boxes around populated parts of the continental US: (lat, lon, spread in degrees).
METROS = [
    (40.71, -74.00, 1.0),
    (34.05, -118.24, 1.2),
    (41.88, -87.63, 0.9),
    (29.76, -95.37, 0.9),
    (33.45, -112.07, 0.8),
    (39.95, -75.17, 0.7),
    (32.78, -96.80, 0.9),
    (37.77, -122.42, 0.8),
    (47.61, -122.33, 0.7),
    (25.76, -80.19, 0.6),
    (33.75, -84.39, 0.8),
    (42.36, -71.06, 0.7),
    (39.74, -104.99, 0.7),
    (44.98, -93.27, 0.7),
    (38.91, -77.04, 0.7),
    (36.17, -115.14, 0.5),
]
BATCH = 5000


@dataclass(frozen=True)
class Shape:
    facilities: int = 1000
    warehouses: int = 50
    products: int = 5000
    items: int = 100_000
    seed: int = 7
    #: Orders made day by day instead of `items` in all: this many each day, at times spread
    #: over the day, from `first_day` on (the stock counted an hour before it).
    orders_per_day: int | None = None
    days: int = 1
    first_day: datetime | None = None
    #: Shipments a store may take a day (None: no limit).
    store_capacity: int | None = None
    #: Share of the products each kind holds, and the units of each it holds (from, to).
    warehouse_share: float = 0.6
    store_share: float = 0.06
    warehouse_units: tuple[int, int] = (20, 200)
    store_units: tuple[int, int] = (1, 8)


def _point(rng: random.Random) -> tuple[float, float]:
    lat, lon, spread = rng.choice(METROS)
    return lat + rng.uniform(-spread, spread), lon + rng.uniform(-spread, spread)


def _popularity(rng: random.Random, count: int) -> list[float]:
    """Cumulative weights of a Zipf-like law: a few products sell far more than the rest."""
    weights = [1.0 / (rank + 1) ** 0.9 for rank in range(count)]
    rng.shuffle(weights)
    return list(itertools.accumulate(weights))


def _order_times(rng: random.Random, shape: Shape) -> list[datetime] | None:
    """When each order is created, in order, for a shape made day by day."""
    if shape.orders_per_day is None:
        return None
    first = shape.first_day or datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    times: list[datetime] = []
    for day in range(shape.days):
        start = first + timedelta(days=day)
        seconds = sorted(rng.uniform(0, 86_399) for _ in range(shape.orders_per_day))
        times.extend(start + timedelta(seconds=s) for s in seconds)
    return times


def generate(url: str, shape: Shape) -> dict[str, int]:
    """Fill an empty database; answers what it wrote."""
    rng = random.Random(shape.seed)
    db = Database(url)
    upgrade(db)
    now = datetime.now(UTC)
    if shape.first_day is not None:
        now = shape.first_day - timedelta(hours=1)
    times = _order_times(rng, shape)
    product_ids = [f"P{n:05d}" for n in range(shape.products)]
    cumulative = _popularity(rng, shape.products)
    total = cumulative[-1]

    def popular() -> str:
        return product_ids[bisect.bisect(cumulative, rng.random() * total)]

    facility_rows = []
    for n in range(shape.facilities):
        warehouse = n < shape.warehouses
        lat, lon = _point(rng)
        capabilities = ["ship"] if warehouse else ["ship", "pickup"]
        if not warehouse and rng.random() < 0.3:
            capabilities.append("same_day")
        facility_rows.append(
            {
                "id": f"F{n:04d}",
                "name": f"{'Warehouse' if warehouse else 'Store'} {n}",
                "kind": "warehouse" if warehouse else "store",
                "external_location_id": f"L{n:04d}",
                "fulfiller_id": "70125",
                "latitude": lat,
                "longitude": lon,
                "capabilities": capabilities,
                "daily_capacity": None if warehouse else shape.store_capacity,
                "safety_stock": 0,
                "sequence": n,
                "active": True,
                "created_at": now,
                "updated_at": now,
            }
        )
    product_rows = [
        {
            "id": p,
            "sku": f"SKU{p}",
            "upc": f"{n:012d}",
            "part_number": f"PN{n:06d}",
            "name": f"Product {n}",
            "image_url": None,
            "created_at": now,
            "updated_at": now,
        }
        for n, p in enumerate(product_ids)
    ]
    level_rows = []
    for n, facility in enumerate(facility_rows):
        warehouse = n < shape.warehouses
        share = shape.warehouse_share if warehouse else shape.store_share
        stocked = {popular() for _ in range(int(shape.products * share))}
        for product_id in stocked:
            quantity = rng.randint(*(shape.warehouse_units if warehouse else shape.store_units))
            level_rows.append((facility["id"], product_id, quantity))
    order_rows, item_rows = [], []
    made = 0
    number = 0
    while (made < shape.items) if times is None else (number < len(times)):
        number += 1
        lat, lon = _point(rng)
        method = rng.choices(["standard", "express", "same_day"], [80, 15, 5])[0]
        order_id = f"O{number:07d}"
        order_rows.append(
            {
                "id": order_id,
                "catalog_id": "0",
                "customer_name": f"Customer {number}",
                "customer_email": f"c{number}@example.com",
                "shipping_method": method,
                "pickup_facility_id": None,
                "ship_complete": rng.random() < 0.1,
                "inventory_based": True,
                "priority": 0,
                "ship_to": {"latitude": lat, "longitude": lon},
                "ship_to_latitude": lat,
                "ship_to_longitude": lon,
                "body_hash": order_id,
                "created_at": now if times is None else times[number - 1],
                "updated_at": now if times is None else times[number - 1],
            }
        )
        lines = rng.choices([1, 2, 3, 4, 5], [35, 25, 20, 12, 8])[0]
        if times is None:
            lines = min(lines, shape.items - made)
        for line in range(lines):
            item_rows.append(
                {
                    "order_id": order_id,
                    "item_id": str(line + 1),
                    "line": line,
                    "product_id": popular(),
                    "quantity": 1,
                    "state": "queued",
                    "facility_id": None,
                    "shipment_id": None,
                    "updated_at": now,
                }
            )
        made += lines
    with db.transaction(write=True) as conn:
        conn.execute(insert(facilities), facility_rows)
        for start in range(0, len(product_rows), BATCH):
            conn.execute(insert(products), product_rows[start : start + BATCH])
        for start in range(0, len(level_rows), BATCH):
            chunk = level_rows[start : start + BATCH]
            conn.execute(
                insert(inventory_levels),
                [
                    {
                        "facility_id": f,
                        "product_id": p,
                        "quantity_on_hand": q,
                        "available_to_promise": q,
                        "reserved": 0,
                        "updated_at": now,
                    }
                    for f, p, q in chunk
                ],
            )
            conn.execute(
                insert(inventory_ledger),
                [
                    {
                        "facility_id": f,
                        "product_id": p,
                        "qoh_diff": q,
                        "atp_diff": q,
                        "reserved_diff": 0,
                        "cause": "stock_count",
                        "reference": "bench",
                        "created_at": now,
                    }
                    for f, p, q in chunk
                ],
            )
        for start in range(0, len(order_rows), BATCH):
            conn.execute(insert(orders), order_rows[start : start + BATCH])
        for start in range(0, len(item_rows), BATCH):
            conn.execute(insert(order_items), item_rows[start : start + BATCH])
    db.dispose()
    return {
        "facilities": len(facility_rows),
        "products": len(product_rows),
        "levels": len(level_rows),
        "orders": len(order_rows),
        "items": len(item_rows),
    }
