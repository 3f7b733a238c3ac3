"""What reporting an issue would do, counted before the associate confirms: read only.

It asks the rejection's own plan (`domain.rejection.plan_rejection`) on what is there now,
without locks or writes, so the confirmation counts exactly what the rejection takes: the
items that leave, the other orders a cascade takes back, and the store's stock before and
after. `reportable` reads what the report form shows: the shipment's open items and the
store's stock of each product.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from reroute.domain.access import Principal, absent
from reroute.domain.errors import Conflict, FieldError, Invalid, NotFound
from reroute.domain.facilities import Facility, Product
from reroute.domain.inventory import InventoryLevel
from reroute.domain.orders import REJECTABLE, By, Order, OrderItem, Shipment, ShippingMethod
from reroute.domain.reasons import SYSTEM_REASONS, Reason
from reroute.domain.rejection import Cause, Choice, is_whole_shipment, marked_ids
from reroute.services.context import Context
from reroute.services.reference import reference
from reroute.services.rejection import plan_loaded
from reroute.storage.unit_of_work import UnitOfWork, unit_of_work

__all__ = [
    "SYSTEM_REASONS",
    "Line",
    "Preview",
    "Reportable",
    "StockChange",
    "person_reason",
    "preview_rejection",
    "reportable",
]


@dataclass(frozen=True)
class Line:
    """An open item of the shipment with its product and the store's level of it."""

    item: OrderItem
    product: Product
    level: InventoryLevel


@dataclass(frozen=True)
class Reportable:
    """What the report form shows: the shipment, its order and its open items."""

    shipment: Shipment
    order: Order
    facility: Facility
    lines: list[Line]

    def line(self, item_id: str) -> Line | None:
        return next((line for line in self.lines if line.item.item_id == item_id), None)


@dataclass(frozen=True)
class StockChange:
    """The store's counters of one chosen product, now and as the rejection leaves them."""

    product: Product
    on_hand_before: int
    on_hand_after: int
    available_before: int
    available_after: int


@dataclass(frozen=True)
class Preview:
    order_id: str
    #: The items the associate chose, with their products, in the order chosen.
    chosen: list[tuple[OrderItem, Product]]
    facility: Facility
    reason: Reason
    #: Every open item of the shipment is chosen: one decline for the shipment.
    whole_shipment: bool
    #: A pickup item is not moved to another store: it goes to customer care.
    to_customer_care: bool
    #: Other items of this shipment that leave with it (ship-complete, or partial rejection off).
    leaving_with_it: int
    #: Other orders, and every item of theirs or of this order's other shipments, that the
    #: cascade or a shortage takes back from this store (with the rest of their shipments).
    cascade_orders: int
    cascade_items: int
    #: Each chosen product's stock here, before and after, first chosen first.
    stock: list[StockChange]

    @property
    def item(self) -> OrderItem:
        return self.chosen[0][0]

    @property
    def product(self) -> Product:
        return self.chosen[0][1]


def reportable(ctx: Context, shipment_id: str, actor: Principal) -> Reportable:
    """The shipment's open items and this store's stock of them; another store's shipment is
    as absent (404)."""
    with unit_of_work(ctx.db, write=False) as uow:
        shipment, order = _shipment_and_order(uow, shipment_id, actor)
        items = [i for i in order.items if i.shipment_id == shipment.id and i.state in REJECTABLE]
        products = uow.products.get_many([i.product_id for i in items])
        keys = [(shipment.facility_id, i.product_id) for i in items]
        found = uow.inventory.get_many(keys) if keys else {}
        facility = uow.facilities.get(shipment.facility_id)
        assert facility is not None
        lines = [
            Line(
                i,
                products[i.product_id],
                found.get(
                    (shipment.facility_id, i.product_id),
                    InventoryLevel(shipment.facility_id, i.product_id),
                ),
            )
            for i in items
            if i.product_id in products
        ]
        return Reportable(shipment, order, facility, lines)


def preview_rejection(
    ctx: Context, shipment_id: str, item_id: Choice, reason_id: str, actor: Principal
) -> Preview:
    """The plan of rejecting `item_id` (one id, the marked ids, or None for the whole
    shipment) with this reason, made on what is there now and written nowhere."""
    with unit_of_work(ctx.db, write=False) as uow:
        shipment, order = _shipment_and_order(uow, shipment_id, actor)
        ids = marked_ids(item_id)
        for one in ids or ():
            item = order.item(one)
            if item is None:
                raise NotFound(f"Shipment {shipment_id} has no item {one}.")
            if item.shipment_id != shipment.id or item.state not in REJECTABLE:
                raise Conflict(f"Item {one} of order {order.id} is no longer open at this store.")
        reasons = reference(ctx, uow).reasons_by_id
        reason = person_reason(reasons, reason_id)
        facility = uow.facilities.get(shipment.facility_id)
        assert facility is not None
        before: dict[str, InventoryLevel] = {}
        plan = plan_loaded(
            ctx,
            uow,
            shipment,
            order,
            item_id,
            reason,
            reasons,
            before,
            By(actor.id),
            None,
            lock=False,
        )
        # `before` now holds the levels as read; the plan's own are copies it moved.
        chosen_items = [g.item for g in plan.leaving if g.cause is Cause.CHOSEN]
        products = uow.products.get_many([i.product_id for i in chosen_items])
        with_it, beyond = 0, []
        for gone in plan.leaving:
            if gone.cause is Cause.CHOSEN:
                continue
            if gone.cause is Cause.REST_OF_SHIPMENT and gone.shipment_id == shipment.id:
                with_it += 1
            else:
                beyond.append(gone.order_id)
        stock = [
            StockChange(
                products[p],
                before[p].quantity_on_hand,
                plan.level(p).quantity_on_hand,
                before[p].available_to_promise,
                plan.level(p).available_to_promise,
            )
            for p in plan.products
        ]
        return Preview(
            order_id=order.id,
            chosen=[(i, products[i.product_id]) for i in chosen_items],
            facility=facility,
            reason=reason,
            whole_shipment=is_whole_shipment(order, shipment, item_id),
            to_customer_care=order.shipping_method is ShippingMethod.PICKUP,
            leaving_with_it=with_it,
            cascade_orders=len(set(beyond) - {order.id}),
            cascade_items=len(beyond),
            stock=stock,
        )


def person_reason(reasons: Mapping[str, Reason], reason_id: str) -> Reason:
    reason = reasons.get(reason_id)
    if reason is None or not reason.active or reason.id in SYSTEM_REASONS:
        raise Invalid(
            "Choose one of the reasons listed.",
            [FieldError("reason_id", f"{reason_id!r} is not a reason an associate can give.")],
        )
    return reason


def _shipment_and_order(
    uow: UnitOfWork, shipment_id: str, actor: Principal
) -> tuple[Shipment, Order]:
    shipment = uow.orders.shipment(shipment_id)
    if shipment is None:
        raise NotFound(absent("shipment", shipment_id))
    actor.require_in_scope([shipment.facility_id], "shipment", shipment_id, "report an issue")
    order = uow.orders.get(shipment.order_id)
    if order is None:
        raise NotFound(absent("shipment", shipment_id))
    return shipment, order
