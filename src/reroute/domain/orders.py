"""Orders, their items and shipments, and where an item stands (SPEC section 3)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from reroute.domain.errors import Conflict, ErrorCollector


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
#: States an item can still be canceled from (fulfilled and canceled ones cannot).
CANCELABLE = AT_FACILITY | ROUTABLE | {ItemState.CUSTOMER_CARE}


class HistoryEvent(StrEnum):
    """The one vocabulary of history rows: what happened to an item."""

    CREATED = "created"
    ASSIGNED = "assigned"
    BACKORDER = "backorder"
    REJECTED = "rejected"
    START = "start"
    PACK = "pack"
    FULFILL = "fulfill"
    CANCELED = "canceled"
    CUSTOMER_CARE = "customer_care"


@dataclass(frozen=True)
class By:
    """Who caused a change, and the request that carried it (written on each history row)."""

    actor: str = "system"
    request_id: str | None = None


SYSTEM = By()

#: A store's steps with a shipment it keeps: the state each needs and the one it gives, for the
#: items in the shipment and for the shipment itself.
_ITEM_STEPS = {
    HistoryEvent.START: (ItemState.READY, ItemState.IN_PROGRESS),
    HistoryEvent.PACK: (ItemState.IN_PROGRESS, ItemState.PACKED),
    HistoryEvent.FULFILL: (ItemState.PACKED, ItemState.FULFILLED),
}
_SHIPMENT_STEPS = {
    HistoryEvent.START: (ShipmentState.READY, ShipmentState.IN_PROGRESS),
    HistoryEvent.PACK: (ShipmentState.IN_PROGRESS, ShipmentState.PACKED),
    HistoryEvent.FULFILL: (ShipmentState.PACKED, ShipmentState.FULFILLED),
}
_DONE = {
    HistoryEvent.START: "started",
    HistoryEvent.PACK: "packed",
    HistoryEvent.FULFILL: "fulfilled",
}


@dataclass(frozen=True)
class Address:
    """Where a shipped order goes, as the platform sent it. The coordinates place it for
    routing; when absent, they are found from the postal code if they can be."""

    name: str = ""
    company: str = ""
    phone: str = ""
    email: str = ""
    line1: str = ""
    line2: str = ""
    city: str = ""
    region: str = ""
    postal_code: str = ""
    #: ISO 3166-1 alpha-2, or "" when not given.
    country: str = ""
    latitude: float | None = None
    longitude: float | None = None

    @property
    def located(self) -> bool:
        return self.latitude is not None and self.longitude is not None


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
    #: The price of one unit as the platform sent it, with its ISO 4217 currency; both or
    #: neither.
    unit_price: Decimal | None = None
    currency: str | None = None

    # Transitions: each refuses a state it cannot leave and answers its history row. No
    # service sets a state by hand.

    def created(self, order_id: str, by: By, note: str | None = None) -> HistoryEntry:
        """The first row of a new item's story: where it starts (queued for routing)."""
        return HistoryEntry(
            order_id,
            HistoryEvent.CREATED,
            item_id=self.item_id,
            to_state=str(self.state),
            actor=by.actor,
            request_id=by.request_id,
            note=note,
        )

    def assign(
        self,
        order_id: str,
        facility_id: str,
        shipment_id: str,
        at: datetime,
        by: By,
        note: str | None = None,
    ) -> HistoryEntry:
        """Reserve at a facility, in a ready shipment there."""
        before = self._leave(ROUTABLE, "assigned")
        self.state, self.facility_id, self.shipment_id = ItemState.READY, facility_id, shipment_id
        self.reserved_at = at
        return self._entry(order_id, HistoryEvent.ASSIGNED, before, by, note=note)

    def hold(
        self, order_id: str, state: ItemState, by: By, note: str | None = None
    ) -> HistoryEntry | None:
        """Routing found no place: wait in backorder, or go to a person (customer care).
        Answers None when the item already stood there (nothing to write)."""
        if state not in (ItemState.BACKORDER, ItemState.CUSTOMER_CARE):
            raise ValueError(f"routing cannot hold an item in {state}")
        before = self._leave(ROUTABLE, f"held in {state}")
        self.state, self.facility_id, self.shipment_id, self.reserved_at = state, None, None, None
        if before is state:
            return None
        return self._entry(order_id, HistoryEvent(str(state)), before, by, note=note)

    def reject(
        self,
        order_id: str,
        pickup: bool,
        by: By,
        reason_id: str | None = None,
        note: str | None = None,
    ) -> HistoryEntry:
        """Leave the rejecting store: back to routing, or to customer care for a pickup order
        (its pickup store said no). The row keeps the facility and shipment it left."""
        before = self._leave(REJECTABLE, "rejected")
        facility_id, shipment_id = self.facility_id, self.shipment_id
        self.state = ItemState.CUSTOMER_CARE if pickup else ItemState.QUEUED
        self.facility_id = self.shipment_id = self.reserved_at = None
        return self._entry(
            order_id,
            HistoryEvent.REJECTED,
            before,
            by,
            facility_id=facility_id,
            shipment_id=shipment_id,
            reason_id=reason_id,
            note=note,
        )

    def start(self, order_id: str, by: By) -> HistoryEntry:
        return self.step(order_id, HistoryEvent.START, by)

    def pack(self, order_id: str, by: By) -> HistoryEntry:
        return self.step(order_id, HistoryEvent.PACK, by)

    def fulfil(self, order_id: str, by: By) -> HistoryEntry:
        return self.step(order_id, HistoryEvent.FULFILL, by)

    def ready_for(self, step: HistoryEvent) -> bool:
        """Whether the item stands where a store's step (start, pack, fulfil) takes it from."""
        return self.state is _ITEM_STEPS[step][0]

    def step(self, order_id: str, step: HistoryEvent, by: By) -> HistoryEntry:
        """A store's step with the item, in its shipment at the facility."""
        before, after = _ITEM_STEPS[step]
        self._leave(frozenset({before}), _DONE[step])
        self.state = after
        return self._entry(order_id, step, before, by)

    def cancel(self, order_id: str, by: By, reason_id: str | None = None) -> HistoryEntry:
        return self._end(order_id, ItemState.CANCELED, CANCELABLE, by, reason_id)

    def to_customer_care(self, order_id: str, by: By, reason_id: str | None = None) -> HistoryEntry:
        return self._end(order_id, ItemState.CUSTOMER_CARE, AT_FACILITY, by, reason_id)

    def _end(
        self,
        order_id: str,
        to: ItemState,
        allowed: frozenset[ItemState],
        by: By,
        reason_id: str | None,
    ) -> HistoryEntry:
        """Leave for good (canceled) or for a person (customer care); the row keeps where the
        item was."""
        what = "canceled" if to is ItemState.CANCELED else "handed to customer care"
        before = self._leave(allowed, what)
        facility_id, shipment_id = self.facility_id, self.shipment_id
        self.state = to
        self.facility_id = self.shipment_id = self.reserved_at = None
        return self._entry(
            order_id,
            HistoryEvent(str(to)),
            before,
            by,
            facility_id=facility_id,
            shipment_id=shipment_id,
            reason_id=reason_id,
        )

    def _leave(self, allowed: frozenset[ItemState], what: str) -> ItemState:
        if self.state not in allowed:
            raise Conflict(f"Item {self.item_id} is {self.state}: it cannot be {what}.")
        return self.state

    def _entry(
        self,
        order_id: str,
        event: HistoryEvent,
        before: ItemState,
        by: By,
        *,
        facility_id: str | None = None,
        shipment_id: str | None = None,
        reason_id: str | None = None,
        note: str | None = None,
    ) -> HistoryEntry:
        return HistoryEntry(
            order_id,
            event,
            item_id=self.item_id,
            shipment_id=shipment_id or self.shipment_id,
            from_state=str(before),
            to_state=str(self.state),
            facility_id=facility_id or self.facility_id,
            reason_id=reason_id,
            actor=by.actor,
            request_id=by.request_id,
            note=note or None,
        )


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
    #: What the platform sent about the order, kept and shown as it came.
    external_id: str | None = None
    channel: str | None = None
    notes: str | None = None
    tags: list[str] = field(default_factory=list)
    attributes: dict[str, str] = field(default_factory=dict)

    @property
    def needs_location(self) -> bool:
        """A shipped order is routed by distance; a pickup order goes to its store."""
        return self.shipping_method is not ShippingMethod.PICKUP

    def located_at(self, latitude: float, longitude: float) -> None:
        """The ship-to's point, found from its address (the platform sent none)."""
        self.ship_to = replace(self.ship_to, latitude=latitude, longitude=longitude)

    def unlocated(self, why: str, by: By) -> list[HistoryEntry]:
        """A shipped order whose ship-to cannot be placed is still taken, but routing by
        distance would choose blindly: its items go to customer care, the reason on each row."""
        note = f"Ship-to could not be located: {why}. A person must check the address."
        held = [i.hold(self.id, ItemState.CUSTOMER_CARE, by, note) for i in self.items]
        return [h for h in held if h is not None]

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
        if (self.ship_to.latitude is None) != (self.ship_to.longitude is None):
            problems.add("ship_to", "Give both ship-to latitude and longitude, or neither.")
        for index, item in enumerate(self.items):
            if (item.unit_price is None) != (item.currency is None):
                message = "A unit price needs its currency, and a currency its price."
                problems.add(f"items.{index}.currency", message)
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
    carrier: str | None = None
    tracking_number: str | None = None
    tracking_url: str | None = None

    def step(self, step: HistoryEvent) -> None:
        """Start, pack or fulfil the whole shipment: only from the state before that step."""
        before, after = _SHIPMENT_STEPS[step]
        if self.state is not before:
            raise Conflict(f"Shipment {self.id} is {self.state}; '{step}' needs it {before}.")
        self.state = after

    def follow(self, items: Iterable[OrderItem], ended: ShipmentState) -> ShipmentState:
        """After items left: the state the items still in it give (see `shipment_state`)."""
        self.state = shipment_state([i.state for i in items if i.shipment_id == self.id], ended)
        return self.state


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
    event: HistoryEvent
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
