"""Facilities at known distances from a ship-to address, orders, snapshots and rules: what the
routing engine's tests build their cases from."""

from __future__ import annotations

import math
import uuid
from typing import Any

from reroute.domain.facilities import Capability, Facility, FacilityKind
from reroute.domain.orders import ShippingMethod
from reroute.domain.routing.engine import Line, OrderPlan, OrderToRoute
from reroute.domain.routing.geo import EARTH_RADIUS_KM, unit_vector
from reroute.domain.routing.rules import (
    InventoryRule,
    OrderFilter,
    Routing,
    RulesDocument,
    default_rules,
)
from reroute.domain.routing.snapshot import Snapshot

HOME = (41.88, -87.63)  # the ship-to address
KM_PER_DEGREE = EARTH_RADIUS_KM * math.pi / 180
DEFAULTS = default_rules()


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


class Place(Facility):
    """A facility that can key the stock table of a test (ids are random, so never equal)."""

    __hash__ = object.__hash__


def facility(
    km: float = 1.0,
    *,
    kind: FacilityKind = FacilityKind.STORE,
    capabilities: tuple[Capability, ...] = (Capability.SHIP, Capability.PICKUP),
    **overrides: Any,
) -> Place:
    """A facility `km` due north of the ship-to address (a meridian arc: exactly `km` away)."""
    values: dict[str, Any] = {
        "id": new_id("F"),
        "name": "Store",
        "kind": kind,
        "external_location_id": new_id("loc"),
        "fulfiller_id": "70125",
        "latitude": HOME[0] + km / KM_PER_DEGREE,
        "longitude": HOME[1],
        "capabilities": list(capabilities),
    }
    values.update(overrides)
    return Place(**values)


def order(
    *lines: tuple[str, int],
    method: ShippingMethod = ShippingMethod.STANDARD,
    at: tuple[float, float] | None = HOME,
    **overrides: Any,
) -> OrderToRoute:
    """An order of (product id, quantity) lines, items numbered from 1."""
    return OrderToRoute(
        order_id=overrides.pop("order_id", None) or new_id("O"),
        method=method,
        lines=[Line(str(n + 1), product, quantity) for n, (product, quantity) in enumerate(lines)],
        vector=unit_vector(*at) if at is not None else None,
        latitude=at[0] if at is not None else 0.0,
        longitude=at[1] if at is not None else 0.0,
        **overrides,
    )


def snapshot(stock: dict[Place, dict[str, int]], **kwargs: Any) -> Snapshot:
    """Stock as {facility: {product: ATP}}; facilities without stock are listed with {}."""
    atp = {(f.id, p): n for f, held in stock.items() for p, n in held.items()}
    return Snapshot.build(list(stock), atp, **kwargs)


def where(plan: OrderPlan) -> dict[str, str]:
    """Item id to the facility that got it."""
    return {p.line.item_id: p.facility_id for p in plan.placements}


def unplaced(plan: OrderPlan) -> list[str]:
    return [line.item_id for line in plan.unplaced]


def rules(
    *inventory_rules: InventoryRule, methods: tuple[ShippingMethod, ...] = ()
) -> RulesDocument:
    return RulesDocument((Routing("Only", OrderFilter(shipping_methods=methods), inventory_rules),))


def product() -> str:
    return new_id("P")
