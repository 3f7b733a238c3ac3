"""The demo retailer, drawn from a seeded random generator: the same seed, the same retailer.

Facilities come from `reroute.demo.metro`; products, stock counts and orders are drawn here.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from typing import Any

from reroute.api.schemas.orders import OrderIn
from reroute.demo import images, metro
from reroute.domain.facilities import Capability, Facility, FacilityKind, Product
from reroute.domain.orders import ShippingMethod

SEED = 60614
ORDER_COUNT = 300


@dataclass(frozen=True)
class StockCount:
    facility_id: str
    product_id: str
    quantity_on_hand: int


@dataclass
class DemoPlan:
    facilities: list[Facility]
    products: list[Product]
    stock: list[StockCount]
    orders: list[OrderIn]


def plan_demo(seed: int = SEED) -> DemoPlan:
    rng = random.Random(seed)
    facilities = _facilities()
    products = _products(rng)
    stock = _stock(rng, facilities, products)
    return DemoPlan(facilities, products, stock, _orders(rng, facilities, products, stock))


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def _facility(site: metro.Site, kind: FacilityKind, sequence: int) -> Facility:
    if kind is FacilityKind.WAREHOUSE:
        facility_id = "dc-" + _slug(site.place.name)
        name = f"{site.place.name} Distribution Center"
        capabilities = [Capability.SHIP]
    else:
        facility_id = _slug(site.place.name)
        name = site.place.name
        capabilities = [Capability.SHIP, Capability.PICKUP]
        if site.same_day:
            capabilities.append(Capability.SAME_DAY)
    return Facility(
        id=facility_id,
        name=name,
        kind=kind,
        external_location_id=site.code,
        fulfiller_id=metro.FULFILLER_ID,
        latitude=site.place.latitude,
        longitude=site.place.longitude,
        capabilities=capabilities,
        daily_capacity=site.daily_capacity,
        safety_stock=site.safety_stock,
        sequence=sequence,
    )


def _facilities() -> list[Facility]:
    """Warehouses first in `sequence`, then stores in the order they are listed."""
    sites = [(s, FacilityKind.WAREHOUSE) for s in metro.WAREHOUSES]
    sites += [(s, FacilityKind.STORE) for s in metro.STORES]
    return [_facility(site, kind, n) for n, (site, kind) in enumerate(sites, start=1)]


def _upc(number: int) -> str:
    """A 12-digit UPC-A with its check digit."""
    digits = f"084512{number:05d}"
    odd = sum(int(d) for d in digits[0::2])
    even = sum(int(d) for d in digits[1::2])
    return digits + str((10 - (odd * 3 + even) % 10) % 10)


def _products(rng: random.Random) -> list[Product]:
    products: list[Product] = []
    for line in metro.LINES:
        for colour in rng.sample(sorted(metro.COLOURS), metro.COLOURS_PER_LINE):
            n = len(products) + 1
            products.append(
                Product(
                    id=f"P{1000 + n}",
                    sku=f"{line.code}-{colour}",
                    upc=_upc(n),
                    part_number=f"{31_400_000 + n * 7}",
                    name=f"{line.name}, {metro.COLOURS[colour]}",
                    image_url=images.image_url(f"{line.code}-{colour}"),
                )
            )
    return products


def _stock(
    rng: random.Random, facilities: list[Facility], products: list[Product]
) -> list[StockCount]:
    """Warehouses hold most products deeply; stores hold about 70% of them, a few units each."""
    counts: list[StockCount] = []
    for facility in facilities:
        for product in products:
            if facility.kind is FacilityKind.WAREHOUSE:
                if rng.random() < 0.96:
                    counts.append(StockCount(facility.id, product.id, rng.randint(40, 400)))
                continue
            if rng.random() >= 0.7:
                continue
            draw = rng.random()
            quantity = 0 if draw < 0.12 else rng.randint(1, 3) if draw < 0.62 else rng.randint(4, 8)
            counts.append(StockCount(facility.id, product.id, quantity))
    return counts


_METHODS = [
    ShippingMethod.STANDARD,
    ShippingMethod.EXPRESS,
    ShippingMethod.SAME_DAY,
    ShippingMethod.PICKUP,
]
_METHOD_WEIGHTS = [70, 14, 8, 8]


def _address(rng: random.Random, place: metro.Place) -> dict[str, Any]:
    """A street address near `place` (within about 1.5 km)."""
    if place.city == "Chicago":
        street = f"{rng.randint(100, 4999)} {rng.choice(metro.CITY_STREETS)}"
    else:
        street = f"{rng.randint(100, 1999)} {rng.choice(metro.SUBURB_STREETS)}"
    return {
        "line1": street,
        "line2": rng.choice(["", "", "", f"Apt {rng.randint(1, 4)}{rng.choice('ABCD')}"]),
        "city": place.city,
        "region": "IL",
        "postal_code": place.postal_code,
        "country": "US",
        "latitude": round(place.latitude + rng.uniform(-0.012, 0.012), 5),
        "longitude": round(place.longitude + rng.uniform(-0.016, 0.016), 5),
    }


def _orders(
    rng: random.Random,
    facilities: list[Facility],
    products: list[Product],
    stock: list[StockCount],
) -> list[OrderIn]:
    """Orders as a web shop takes them; pickup orders only for what their store shows in stock."""
    stores = [f for f in facilities if Capability.PICKUP in f.capabilities]
    safety = {f.id: f.safety_stock for f in facilities}
    shown: dict[str, list[Product]] = {f.id: [] for f in stores}
    by_id = {p.id: p for p in products}
    for entry in stock:
        if entry.facility_id in shown and entry.quantity_on_hand > safety[entry.facility_id]:
            shown[entry.facility_id].append(by_id[entry.product_id])
    place_of = {_slug(s.place.name): s.place for s in metro.STORES}
    same_day_places = [place_of[f.id] for f in stores if Capability.SAME_DAY in f.capabilities]
    homes = [s.place for s in metro.STORES] + metro.HOMES
    bodies: list[OrderIn] = []
    for n in range(ORDER_COUNT):
        method = rng.choices(_METHODS, _METHOD_WEIGHTS)[0]
        pickup: str | None = None
        choices = products
        if method is ShippingMethod.PICKUP:
            store = rng.choice(stores)
            pickup, home, choices = store.id, place_of[store.id], shown[store.id]
        elif method is ShippingMethod.SAME_DAY:
            home = rng.choice(same_day_places)
        else:
            home = rng.choice(homes)
        first, last = rng.choice(metro.FIRST_NAMES), rng.choice(metro.LAST_NAMES)
        count = rng.choices([1, 2, 3, 4], [50, 28, 14, 8])[0]
        ship_complete = (
            count > 1
            and method in (ShippingMethod.STANDARD, ShippingMethod.EXPRESS)
            and rng.random() < 0.1
        )
        body = {
            "order_id": str(5_100_001 + n),
            "customer": {
                "name": f"{first} {last}",
                "email": re.sub(r"[^a-z.]", "", f"{first}.{last}".lower()) + "@example.com",
            },
            "shipping_method": str(method),
            "pickup_facility_id": pickup,
            "ship_complete": ship_complete,
            "ship_to": _address(rng, home),
            "items": [
                {
                    "item_id": str(line),
                    "product_id": product.id,
                    "quantity": 2 if rng.random() < 0.12 else 1,
                }
                for line, product in enumerate(rng.sample(choices, count), start=1)
            ],
        }
        bodies.append(OrderIn.model_validate(body))
    return bodies
