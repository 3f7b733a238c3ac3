"""Builders that go through the services directly (no HTTP): for tests that race threads
against the same use cases an API request would run."""

from __future__ import annotations

import uuid
from typing import Any

from reroute.domain.access import SYSTEM
from reroute.domain.facilities import Capability, Facility, FacilityKind, Product
from reroute.domain.orders import Address, Order, OrderItem, ShippingMethod
from reroute.services import catalog, inventory
from reroute.services.context import Context
from tests.support import new_id

HOME = (41.88, -87.63)
CHICAGO = Address(city="Chicago", latitude=HOME[0], longitude=HOME[1])


def facility(ctx: Context, km_north: float, held: dict[str, int], **overrides: Any) -> str:
    """A store `km_north` of downtown Chicago holding `held` (product id to quantity)."""
    facility_id = overrides.pop("facility_id", None) or new_id("F")
    catalog.put_facility(
        ctx,
        Facility(
            id=facility_id,
            name="Store",
            kind=FacilityKind.STORE,
            external_location_id=new_id("loc"),
            fulfiller_id="70125",
            latitude=HOME[0] + km_north / 111.2,
            longitude=HOME[1],
            capabilities=[Capability.SHIP],
            **overrides,
        ),
        SYSTEM,
    )
    for product_id, quantity in held.items():
        inventory.count_stock(ctx, facility_id, product_id, quantity, SYSTEM)
    return facility_id


def product(ctx: Context) -> str:
    product_id = new_id("P")
    catalog.put_product(
        ctx, Product(product_id, new_id("SKU"), uuid.uuid4().hex[:12], "part", "Shirt"), SYSTEM
    )
    return product_id


def new_order(*lines: tuple[str, int]) -> Order:
    """A standard order to downtown Chicago of (product id, quantity) lines."""
    return Order(
        id=new_id("O"),
        customer_name="Ada Lovelace",
        customer_email="ada@example.com",
        shipping_method=ShippingMethod.STANDARD,
        ship_to=CHICAGO,
        items=[OrderItem(str(n + 1), p, q) for n, (p, q) in enumerate(lines)],
    )
