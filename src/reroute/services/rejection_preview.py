"""What reporting an issue would do, counted before the associate confirms: read only.

It asks the rejection's own plan (`domain.rejection.plan_rejection`) on what is there now,
without locks or writes, so the confirmation counts exactly what the rejection takes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from reroute.domain.access import Principal
from reroute.domain.errors import Conflict, FieldError, Invalid, NotFound
from reroute.domain.facilities import Facility, Product
from reroute.domain.orders import REJECTABLE, By, OrderItem, ShippingMethod
from reroute.domain.reasons import SYSTEM_REASONS, Reason
from reroute.domain.rejection import Cause
from reroute.services.context import Context
from reroute.services.reference import reference
from reroute.services.rejection import plan_loaded
from reroute.storage.unit_of_work import unit_of_work

__all__ = ["SYSTEM_REASONS", "Preview", "person_reason", "preview_rejection"]


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
    #: Other orders, and every item of theirs or of this order's other shipments, that the
    #: cascade or a shortage takes back from this store (with the rest of their shipments).
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
        reasons = reference(ctx, uow).reasons_by_id
        reason = person_reason(reasons, reason_id)
        product = uow.products.get(item.product_id)
        facility = uow.facilities.get(shipment.facility_id)
        assert product is not None and facility is not None
        plan = plan_loaded(
            ctx, uow, shipment, order, item_id, reason, reasons, {}, By(actor.id), None, lock=False
        )
        with_it, beyond = 0, []
        for gone in plan.leaving:
            if gone.cause is Cause.CHOSEN:
                continue
            if gone.cause is Cause.REST_OF_SHIPMENT and gone.shipment_id == shipment.id:
                with_it += 1
            else:
                beyond.append(gone.order_id)
        return Preview(
            order_id=order.id,
            item=item,
            product=product,
            facility=facility,
            reason=reason,
            to_customer_care=order.shipping_method is ShippingMethod.PICKUP,
            leaving_with_it=with_it,
            cascade_orders=len(set(beyond) - {order.id}),
            cascade_items=len(beyond),
        )


def person_reason(reasons: Mapping[str, Reason], reason_id: str) -> Reason:
    reason = reasons.get(reason_id)
    if reason is None or not reason.active or reason.id in SYSTEM_REASONS:
        raise Invalid(
            "Choose one of the reasons listed.",
            [FieldError("reason_id", f"{reason_id!r} is not a reason an associate can give.")],
        )
    return reason
