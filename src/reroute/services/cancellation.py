"""Canceling orders, items and shipments, and handing a shipment to customer care (SPEC 6.1).

Reservations are released, history is written, and the notifications follow the table of
SPEC 6.1: a Store Decline only where a facility held the items, and never for an order that
is not inventory-based; cancel_item / cancel_shipment in every case.
"""

from __future__ import annotations

from collections.abc import Callable

from reroute.domain.access import LOADERS, STORE_ROLES, Principal, absent
from reroute.domain.errors import Conflict, FieldError, Invalid, NotFound
from reroute.domain.inventory import LedgerEntry
from reroute.domain.notifications import DEFAULT_DECLINE, EventType
from reroute.domain.orders import (
    AT_FACILITY,
    CANCELABLE,
    By,
    HistoryEntry,
    ItemState,
    Order,
    OrderItem,
    ShipmentState,
    shipment_state,
)
from reroute.services.context import Context
from reroute.services.notify import Line, Notifier
from reroute.services.reference import reference
from reroute.services.shipments import find_shipment
from reroute.storage.unit_of_work import UnitOfWork, transact

#: Items a shipment hands to customer care.
TO_CARE = AT_FACILITY


def _reason(
    ctx: Context, uow: UnitOfWork, reason_id: str | None
) -> tuple[str | None, tuple[str, str]]:
    if reason_id is None:
        return None, DEFAULT_DECLINE
    reason = reference(ctx, uow).reason(reason_id)
    if reason is None or not reason.active:
        raise Invalid(
            f"Reason {reason_id} is unknown or inactive.",
            [FieldError("reason_id", "Use one of the active reasons.")],
        )
    return reason.id, (reason.decline_code, reason.decline_description)


def cancel_order(
    ctx: Context,
    order_id: str,
    reason_id: str | None,
    actor: Principal,
    request_id: str | None = None,
) -> Order:
    actor.require_role(*LOADERS, action="cancel order", target=f"order {order_id}")
    return _change(
        ctx,
        actor,
        request_id,
        reason_id,
        order_id=order_id,
        pick=lambda o: [i for i in o.items if i.state in CANCELABLE],
        to=ItemState.CANCELED,
        ended=ShipmentState.CANCELED,
        what=f"order {order_id}",
        action="cancel order",
    )


def cancel_item(
    ctx: Context,
    order_id: str,
    item_id: str,
    reason_id: str | None,
    actor: Principal,
    request_id: str | None = None,
) -> Order:
    actor.require_role(*LOADERS, action="cancel item", target=f"order {order_id} item {item_id}")

    def pick(order: Order) -> list[OrderItem]:
        item = order.item(item_id)
        if item is None:
            raise NotFound(f"Order {order_id} has no item {item_id}.")
        return [item] if item.state in CANCELABLE else []

    return _change(
        ctx,
        actor,
        request_id,
        reason_id,
        order_id=order_id,
        pick=pick,
        to=ItemState.CANCELED,
        ended=ShipmentState.CANCELED,
        what=f"item {item_id} of order {order_id}",
        action="cancel item",
        item_id=item_id,
    )


def cancel_shipment(
    ctx: Context,
    shipment_id: str,
    reason_id: str | None,
    actor: Principal,
    request_id: str | None = None,
) -> Order:
    actor.require_role(*LOADERS, action="cancel shipment", target=f"shipment {shipment_id}")
    return _change(
        ctx,
        actor,
        request_id,
        reason_id,
        shipment_id=shipment_id,
        pick=_in_shipment(shipment_id, AT_FACILITY),
        to=ItemState.CANCELED,
        ended=ShipmentState.CANCELED,
        what=f"shipment {shipment_id}",
        action="cancel shipment",
    )


def to_customer_care(
    ctx: Context,
    shipment_id: str,
    reason_id: str | None,
    actor: Principal,
    request_id: str | None = None,
) -> Order:
    """A person must decide (status 125): the shipment's items leave the facility for care.

    A store action: the facility's associates and admins, not integrations."""
    actor.require_role(*STORE_ROLES, action="customer care", target=f"shipment {shipment_id}")
    return _change(
        ctx,
        actor,
        request_id,
        reason_id,
        shipment_id=shipment_id,
        pick=_in_shipment(shipment_id, TO_CARE),
        to=ItemState.CUSTOMER_CARE,
        ended=ShipmentState.CUSTOMER_CARE,
        what=f"shipment {shipment_id}",
        action="customer care",
    )


def _in_shipment(
    shipment_id: str, states: frozenset[ItemState]
) -> Callable[[Order], list[OrderItem]]:
    def pick(order: Order) -> list[OrderItem]:
        return [i for i in order.items if i.shipment_id == shipment_id and i.state in states]

    return pick


def _change(
    ctx: Context,
    actor: Principal,
    request_id: str | None,
    reason_id: str | None,
    *,
    pick: Callable[[Order], list[OrderItem]],
    to: ItemState,
    ended: ShipmentState,
    what: str,
    action: str,
    order_id: str | None = None,
    shipment_id: str | None = None,
    item_id: str | None = None,
) -> Order:
    def work(uow: UnitOfWork) -> Order:
        # Who may act, and on what, is settled before anything is locked or written.
        if shipment_id is not None:
            found_id = find_shipment(uow, shipment_id, actor, action).order_id
        else:
            assert order_id is not None
            found_id = order_id
        _lock_levels_first(uow, found_id)
        if shipment_id is not None:
            uow.orders.shipment(shipment_id, lock=True)
        order = uow.orders.get(found_id, lock=True)
        if order is None:
            raise NotFound(absent("order", found_id))
        reason, decline = _reason(ctx, uow, reason_id)
        items = pick(order)
        if not items:
            raise Conflict(f"Nothing in {what} can change now: it is fulfilled, canceled or gone.")
        _apply(ctx, uow, order, items, to, ended, reason, decline, actor, request_id, item_id)
        return order

    return transact(ctx.db, work)


def _lock_levels_first(uow: UnitOfWork, order_id: str) -> None:
    """Lock the levels the order's items hold before its shipment and order rows, as a
    rejection does: one at that facility may hold the level and cascade into this order's
    shipment, which must not be held here while waiting for the level (a deadlock)."""
    if not uow.postgres:
        return
    order = uow.orders.get(order_id)
    if order is not None:
        held = [i for i in order.items if i.state in AT_FACILITY and i.facility_id]
        uow.inventory.get_many({(i.facility_id or "", i.product_id) for i in held}, lock=True)


def _apply(
    ctx: Context,
    uow: UnitOfWork,
    order: Order,
    items: list[OrderItem],
    to: ItemState,
    ended: ShipmentState,
    reason_id: str | None,
    decline: tuple[str, str],
    actor: Principal,
    request_id: str | None,
    item_id: str | None,
) -> None:
    now = uow.now
    at_facility = [i for i in items if i.state in AT_FACILITY and i.facility_id]
    levels = uow.inventory.get_many(
        {(i.facility_id or "", i.product_id) for i in at_facility}, lock=True
    )
    entries: list[LedgerEntry] = []
    by_shipment: dict[tuple[str | None, str | None], list[OrderItem]] = {}
    history: list[HistoryEntry] = []
    by = By(actor.id, request_id)
    for item in items:
        held = item.state in AT_FACILITY
        key = (item.facility_id if held else None, item.shipment_id if held else None)
        by_shipment.setdefault(key, []).append(item)
        if held and item.facility_id:
            level = levels[(item.facility_id, item.product_id)]
            entries.append(level.release(item.quantity, f"{order.id}/{item.item_id}"))
        if to is ItemState.CANCELED:
            history.append(item.cancel(order.id, by, reason_id))
        else:
            history.append(item.to_customer_care(order.id, by, reason_id))
    uow.orders.save_items(order.id, items, now)
    uow.inventory.save_many([levels[k] for k in sorted(levels)], entries, now)
    uow.orders.record(history, now)
    notifier = Notifier(ctx, uow)
    follow = EventType.CANCEL_ITEM if item_id is not None else EventType.CANCEL_SHIPMENT
    for (facility_id, shipment_id), moved in by_shipment.items():
        lines = [Line(i, shipment_id, decline) for i in moved]
        if shipment_id is not None and facility_id is not None:
            left = [i.state for i in order.items if i.shipment_id == shipment_id]
            uow.orders.set_shipment_state(shipment_id, shipment_state(left, ended), now)
            availability = {
                i.product_id: levels[(facility_id, i.product_id)].quantity_on_hand for i in moved
            }
            notifier.decline(
                order,
                facility_id,
                lines,
                whole_shipment=True,
                whole_shipment_reason=decline,
                availability=availability,
            )
        if to is ItemState.CANCELED:
            notifier.add(follow, order, facility_id, lines, reason=decline, order_item_id=item_id)
    if to is ItemState.CUSTOMER_CARE:
        notifier.held(order, [(i, f"Sent to customer care: {decline[1]}") for i in items])
    notifier.flush()
