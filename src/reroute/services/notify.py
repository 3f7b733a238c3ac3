"""Turning what happened into notifications, written to the outbox in the same transaction
(SPEC section 6.1). Callers say what happened; this module knows the payload's words."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from reroute.domain.facilities import Facility, Product
from reroute.domain.notifications import (
    DEFAULT_DECLINE,
    Event,
    EventType,
    Location,
    PayloadLine,
    Tracking,
    build,
)
from reroute.domain.orders import ItemState, Order, OrderItem
from reroute.services.context import Context
from reroute.services.reference import reference
from reroute.storage.unit_of_work import UnitOfWork

#: The event that tells subscribers an item now waits in each of these states.
HELD_EVENTS = {
    ItemState.BACKORDER: EventType.BACKORDER_ITEM,
    ItemState.CUSTOMER_CARE: EventType.CUSTOMER_CARE_ITEM,
}


@dataclass(frozen=True)
class Line:
    """One item in a notification: the item, the shipment it was in, and its own reason."""

    item: OrderItem
    shipment_id: str | None
    reason: tuple[str, str] | None = None


def location(facility: Facility) -> Location:
    return Location(facility.external_location_id, facility.name, facility.fulfiller_id)


class Notifier:
    """Collects the events of one transaction, then writes them and their deliveries."""

    def __init__(self, ctx: Context, uow: UnitOfWork) -> None:
        self.ctx = ctx
        self.uow = uow
        self.events: list[Event] = []
        self._products: dict[str, Product] = {}

    @property
    def mfg_id(self) -> str:
        return reference(self.ctx, self.uow).settings.mfg_id

    def products(self, ids: Iterable[str]) -> dict[str, Product]:
        missing = [i for i in set(ids) if i not in self._products]
        if missing:
            self._products.update(reference(self.ctx, self.uow).products_of(self.uow, missing))
        return self._products

    def add(
        self,
        event_type: EventType,
        order: Order,
        facility_id: str | None,
        lines: Sequence[Line],
        *,
        reason: tuple[str, str] | None = None,
        order_item_id: str | None = None,
        availability: dict[str, int] | None = None,
        tracking: Tracking | None = None,
    ) -> None:
        """One event. Store Decline only for inventory-based orders (SPEC 6.1).

        `availability` is the facility's QOH by product where the caller holds it already.
        """
        if event_type is EventType.STORE_DECLINE and not order.inventory_based:
            return
        facility = reference(self.ctx, self.uow).facilities.by_id.get(facility_id or "")
        products = self.products(line.item.product_id for line in lines)
        if availability is None:
            availability = self._availability(facility_id, [line.item.product_id for line in lines])
        payload_lines = [
            PayloadLine(
                item_id=line.item.item_id,
                shipment_id=line.shipment_id,
                part_number=products[line.item.product_id].part_number,
                upc=products[line.item.product_id].upc,
                quantity=line.item.quantity,
                location_availability=availability.get(line.item.product_id),
                reason_code=line.reason[0] if line.reason else None,
                reason_description=line.reason[1] if line.reason else None,
            )
            for line in lines
        ]
        self.events.append(
            build(
                event_type,
                order_id=order.id,
                location=location(facility) if facility else None,
                moment=self.uow.now,
                lines=payload_lines,
                mfg_id=self.mfg_id,
                catalog_id=order.catalog_id,
                reason=reason,
                order_item_id=order_item_id,
                tracking=tracking,
            )
        )

    def decline(
        self,
        order: Order,
        facility_id: str,
        lines: Sequence[Line],
        *,
        whole_shipment_reason: tuple[str, str] | None = None,
        whole_shipment: bool = False,
        availability: dict[str, int] | None = None,
    ) -> None:
        """A Store Decline: lines carry their reasons, or the whole shipment carries one
        (the default decline when none was given)."""
        reason = (whole_shipment_reason or DEFAULT_DECLINE) if whole_shipment else None
        self.add(
            EventType.STORE_DECLINE,
            order,
            facility_id,
            lines,
            reason=reason,
            availability=availability,
        )

    def held(self, order: Order, items: Sequence[tuple[OrderItem, str | None]]) -> None:
        """Items that reached backorder or customer care: one event per state, each line
        carrying the state as its code and why as its description (facility none: no
        facility holds them)."""
        for state, event_type in HELD_EVENTS.items():
            lines = [
                Line(item, None, (str(state), why or ""))
                for item, why in items
                if item.state is state
            ]
            if lines:
                self.add(event_type, order, None, lines, availability={})

    def _availability(self, facility_id: str | None, product_ids: list[str]) -> dict[str, int]:
        """The facility's QOH of each product as this transaction leaves it."""
        if facility_id is None:
            return {}
        levels = self.uow.inventory.get_many([(facility_id, p) for p in set(product_ids)])
        return {p: level.quantity_on_hand for (_, p), level in levels.items()}

    def flush(self) -> None:
        if not self.events:
            return
        subscribers = reference(self.ctx, self.uow).subscribers
        queued = self.uow.outbox.append(self.events, subscribers, self.uow.now)
        self.events = []
        if queued:  # only a delivery to make is worth waking the worker for
            self.uow.after_commit.append(self.ctx.wake)
