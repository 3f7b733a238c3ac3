"""Orders, their items and shipments, and where an item stands (SPEC section 3)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from reroute.domain.errors import ErrorCollector


class ShippingMethod(StrEnum):
    STANDARD = "standard"
    EXPRESS = "express"
    SAME_DAY = "same_day"
    PICKUP = "pickup"


class ItemState(StrEnum):
    QUEUED = "queued"
    READY = "ready"
    IN_PROGRESS = "in_progress"
    PACKED = "packed"
    FULFILLED = "fulfilled"
    BACKORDER = "backorder"
    CUSTOMER_CARE = "customer_care"
    CANCELED = "canceled"


class ShipmentState(StrEnum):
    READY = "ready"
    IN_PROGRESS = "in_progress"
    PACKED = "packed"
    FULFILLED = "fulfilled"
    DECLINED = "declined"
    CANCELED = "canceled"
    CUSTOMER_CARE = "customer_care"


#: States in which an item holds a reservation at a facility.
AT_FACILITY = frozenset({ItemState.READY, ItemState.IN_PROGRESS, ItemState.PACKED})
#: States a store can still reject from.
REJECTABLE = frozenset({ItemState.READY, ItemState.IN_PROGRESS})
#: States that wait for routing.
ROUTABLE = frozenset({ItemState.QUEUED, ItemState.BACKORDER})


@dataclass(frozen=True)
class Address:
    line1: str = ""
    line2: str = ""
    city: str = ""
    region: str = ""
    postal_code: str = ""
    country: str = ""
    latitude: float | None = None
    longitude: float | None = None


@dataclass
class OrderItem:
    item_id: str
    product_id: str
    quantity: int
    state: ItemState = ItemState.QUEUED
    facility_id: str | None = None
    shipment_id: str | None = None
    #: When the current reservation was made (a shortage takes back the newest first).
    reserved_at: datetime | None = None


@dataclass
class Order:
    id: str
    customer_name: str
    customer_email: str
    shipping_method: ShippingMethod
    ship_to: Address
    items: list[OrderItem]
    catalog_id: str = "0"
    pickup_facility_id: str | None = None
    ship_complete: bool = False
    inventory_based: bool = True
    priority: int = 0
    created_at: datetime | None = None

    def validate(self) -> None:
        """Rules that span fields; per-field checks are the schema's."""
        problems = ErrorCollector()
        if not self.items:
            problems.add("items", "An order needs at least one item.")
        seen: set[str] = set()
        for index, item in enumerate(self.items):
            if item.item_id in seen:
                problems.add(f"items.{index}.item_id", f"Item id {item.item_id!r} is repeated.")
            seen.add(item.item_id)
            if item.quantity <= 0:
                problems.add(f"items.{index}.quantity", "Quantity must be at least 1.")
        if self.shipping_method is ShippingMethod.PICKUP and not self.pickup_facility_id:
            problems.add("pickup_facility_id", "A pickup order needs its pickup facility.")
        if self.shipping_method is not ShippingMethod.PICKUP and (
            self.ship_to.latitude is None or self.ship_to.longitude is None
        ):
            problems.add("ship_to", "A shipped order needs ship-to latitude and longitude.")
        problems.raise_if_any(f"Order {self.id} cannot be accepted.")

    def item(self, item_id: str) -> OrderItem | None:
        return next((i for i in self.items if i.item_id == item_id), None)


@dataclass
class Shipment:
    id: str
    order_id: str
    facility_id: str
    state: ShipmentState = ShipmentState.READY
    created_at: datetime | None = None


def shipment_state(item_states: Iterable[ItemState], ended: ShipmentState) -> ShipmentState:
    """A shipment's state follows the items still in it.

    `ended` is what the shipment becomes when no item is left at the facility (declined after a
    rejection, canceled after a cancellation, customer_care after a hand-over to a person).
    """
    states = set(item_states) & (AT_FACILITY | {ItemState.FULFILLED})
    if not states:
        return ended
    for state, shipment in (
        (ItemState.READY, ShipmentState.READY),
        (ItemState.IN_PROGRESS, ShipmentState.IN_PROGRESS),
        (ItemState.PACKED, ShipmentState.PACKED),
    ):
        if state in states:
            return shipment
    return ShipmentState.FULFILLED


@dataclass(frozen=True)
class HistoryEntry:
    """One change of state of an order, an item or a shipment: who, when, from, to, why."""

    order_id: str
    event: str
    item_id: str | None = None
    shipment_id: str | None = None
    from_state: str | None = None
    to_state: str | None = None
    facility_id: str | None = None
    reason_id: str | None = None
    actor: str = "system"
    request_id: str | None = None
    note: str | None = None
    extra: dict[str, object] = field(default_factory=dict)
