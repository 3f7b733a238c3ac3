"""What reporting an issue would do, counted before the associate confirms: read only.

It mirrors the rejection's rules (services.rejection): a cascading reason takes back every other
open item of the product at the store; another reason only the newest reservations while its
effect leaves ATP below 0; a ship-complete order (or partial rejection off) leaves whole.
"""

from __future__ import annotations

from dataclasses import dataclass

from reroute.domain.access import Principal
from reroute.domain.errors import Conflict, FieldError, Invalid, NotFound
from reroute.domain.facilities import Facility, Product
from reroute.domain.orders import REJECTABLE, OrderItem, ShippingMethod
from reroute.domain.rejection import (
    AVOID_SPLIT,
    CASCADE,
    Reason,
    Reservation,
    apply_effect,
    shortage_victims,
)
from reroute.services.context import Context
from reroute.storage.repositories.rejections import OpenItem
from reroute.storage.unit_of_work import UnitOfWork, unit_of_work

#: Reasons the system gives on its own; a person never picks them.
SYSTEM_REASONS = frozenset({CASCADE, AVOID_SPLIT})


@dataclass(frozen=True)
class Preview:
    order_id: str
    item: OrderItem
    product: Product
    facility: Facility
    reason: Reason
    #: A pickup item is not moved to another store: it goes to customer care.
    to_customer_care: bool
    #: Other items of this shipment that leave with it (ship-complete, or partial rejection off).
    leaving_with_it: int
    #: Other orders (and their items of this product) the cascade takes back from this store.
    cascade_orders: int
    cascade_items: int


def preview_rejection(
    ctx: Context, shipment_id: str, item_id: str, reason_id: str, actor: Principal
) -> Preview:
    with unit_of_work(ctx.db, write=False) as uow:
        shipment = uow.orders.shipment(shipment_id)
        if shipment is None:
            raise NotFound(f"No shipment {shipment_id}.")
        actor.require_facility(shipment.facility_id)
        order = uow.orders.get(shipment.order_id)
        item = order.item(item_id) if order else None
        if order is None or item is None:
            raise NotFound(f"Shipment {shipment_id} has no item {item_id}.")
        if item.shipment_id != shipment.id or item.state not in REJECTABLE:
            raise Conflict(f"Item {item_id} of order {order.id} is no longer open at this store.")
        reason = person_reason(uow, reason_id)
        product = uow.products.get(item.product_id)
        facility = uow.facilities.get(shipment.facility_id)
        assert product is not None and facility is not None
        whole = order.ship_complete or not ctx.settings(uow).partial_rejection
        leaving = [item] + [
            other
            for other in order.items
            if whole
            and other is not item
            and other.shipment_id == shipment.id
            and other.state in REJECTABLE
        ]
        victims = _cascade(uow, facility.id, order.id, item, reason, leaving)
        return Preview(
            order_id=order.id,
            item=item,
            product=product,
            facility=facility,
            reason=reason,
            to_customer_care=order.shipping_method is ShippingMethod.PICKUP,
            leaving_with_it=len(leaving) - 1,
            cascade_orders=len({v.order_id for v in victims} - {order.id}),
            cascade_items=len(victims),
        )


def person_reason(uow: UnitOfWork, reason_id: str) -> Reason:
    reason = uow.rejections.reason(reason_id)
    if reason is None or not reason.active or reason.id in SYSTEM_REASONS:
        raise Invalid(
            "Choose one of the reasons listed.",
            [FieldError("reason_id", f"{reason_id!r} is not a reason an associate can give.")],
        )
    return reason


def _cascade(
    uow: UnitOfWork,
    facility_id: str,
    order_id: str,
    item: OrderItem,
    reason: Reason,
    leaving: list[OrderItem],
) -> list[OpenItem]:
    """The other open items of the product the rejection would take back from the store."""
    leaving_keys = {(order_id, i.item_id) for i in leaving}
    others = [
        o
        for o in uow.rejections.open_items(facility_id, item.product_id, lock=False)
        if (o.order_id, o.item_id) not in leaving_keys
    ]
    if reason.cascade:
        return others
    level = uow.inventory.get(facility_id, item.product_id)
    for gone in leaving:
        if gone.product_id == item.product_id:
            released = min(gone.quantity, level.reserved)
            if released > 0:
                level.release(released, "preview")
    apply_effect(level, reason.inventory_effect, item.quantity, "preview")
    if level.available_to_promise >= 0:
        return []
    by_key = {(o.order_id, o.item_id): o for o in others}
    victims = shortage_victims(
        [Reservation(o.order_id, o.item_id, o.quantity, o.reserved_at) for o in others],
        -level.available_to_promise,
    )
    return [by_key[(v.order_id, v.item_id)] for v in victims]
