"""Rejecting an item, marked items or a whole shipment at a store (SPEC section 4), in one
transaction: load what the rejection's plan asks for, apply the plan in a few statements, and
route at once.

The rejecting facility's inventory rows are locked before anything is decided, so two
rejections, or a rejection and an order creation, on one product at one store serialise there.
Another order's item is only taken once its order row is locked, deciding on what the lock
shows (`plan_loaded`): an item packed or canceled meanwhile stays where it is.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field

from reroute.domain.access import STORE_ROLES, Principal
from reroute.domain.errors import FieldError, Invalid
from reroute.domain.inventory import InventoryLevel
from reroute.domain.orders import By, ItemState, Order, OrderItem, Shipment
from reroute.domain.reasons import AVOID_SPLIT, CASCADE, NO_REASON, Reason, system_reason
from reroute.domain.rejection import (
    MAX_COMMENT,
    Choice,
    RejectionPlan,
    Reservation,
    holds_left,
    marked_ids,
    plan_rejection,
)
from reroute.services.context import Context
from reroute.services.notify import Line as NotifiedLine
from reroute.services.notify import Notifier
from reroute.services.reference import reference
from reroute.services.routing import Routed, route_orders
from reroute.services.shipments import find_shipment_and_order
from reroute.storage.unit_of_work import UnitOfWork, transact


@dataclass(frozen=True)
class Rejected:
    order_id: str
    item_id: str
    shipment_id: str
    facility_id: str
    reason_id: str | None
    cascaded: bool
    state: ItemState


@dataclass
class RejectionResult:
    rejected: list[Rejected]
    routed: list[Routed]
    #: The rejecting facility's levels of every product rejected there, first product first.
    levels: list[InventoryLevel]
    #: Orders left for the caller to route (a rejection told not to route them itself).
    to_route: list[Order] = field(default_factory=list)


def reject_item(
    ctx: Context,
    shipment_id: str,
    item_id: str,
    reason_id: str | None,
    comment: str | None,
    actor: Principal,
    request_id: str | None = None,
) -> RejectionResult:
    return _reject(ctx, shipment_id, item_id, reason_id, comment, actor, request_id)


def reject_shipment(
    ctx: Context,
    shipment_id: str,
    reason_id: str | None,
    comment: str | None,
    actor: Principal,
    request_id: str | None = None,
) -> RejectionResult:
    return _reject(ctx, shipment_id, None, reason_id, comment, actor, request_id)


def reject_items(
    ctx: Context,
    shipment_id: str,
    item_ids: Collection[str],
    reason_id: str | None,
    comment: str | None,
    actor: Principal,
    request_id: str | None = None,
) -> RejectionResult:
    """The items an associate marked on a shipment, with one reason, in one transaction: all
    of them leave or, when any one is no longer open there, none. Marking every open item is
    the whole shipment's rejection."""
    return _reject(ctx, shipment_id, tuple(item_ids), reason_id, comment, actor, request_id)


def _reject(
    ctx: Context,
    shipment_id: str,
    item_id: Choice,
    reason_id: str | None,
    comment: str | None,
    actor: Principal,
    request_id: str | None,
) -> RejectionResult:
    if item_id is None:
        action = "reject shipment"
    else:
        action = "reject item" if isinstance(item_id, str) else "reject items"
    actor.require_role(*STORE_ROLES, action=action, target=f"shipment {shipment_id}")
    marked_ids(item_id)  # none marked: refused before anything is read
    check_comment(comment)
    by = By(actor.id, request_id)

    def work(uow: UnitOfWork) -> RejectionResult:
        result = reject_in(ctx, uow, shipment_id, item_id, reason_id, comment, actor, by)
        assert result is not None
        return result

    return transact(ctx.db, work)


def reject_in(
    ctx: Context,
    uow: UnitOfWork,
    shipment_id: str,
    item_id: Choice,
    reason_id: str | None,
    comment: str | None,
    actor: Principal,
    by: By,
    still: Callable[[Shipment, Order], bool] | None = None,
    *,
    route: bool = True,
    notifier: Notifier | None = None,
) -> RejectionResult | None:
    """One rejection within the caller's transaction (the API's own, or the idle sweep's,
    which takes back many at once). `still`, checked once the rows are locked, may decide
    that nothing is to be done after all (None is answered)."""
    if item_id is None:
        action = "reject shipment"
    else:
        action = "reject item" if isinstance(item_id, str) else "reject items"
    levels = _lock_levels_first(uow, shipment_id, actor)
    shipment, order = find_shipment_and_order(uow, shipment_id, actor, action, lock=True)
    if still is not None and not still(shipment, order):
        return None
    reasons = reference(ctx, uow).reasons_by_id
    reason = _reason(reasons, reason_id)
    plan = plan_loaded(
        ctx, uow, shipment, order, item_id, reason, reasons, levels, by, comment, lock=True
    )
    return _apply(ctx, uow, plan, by, route=route, notifier=notifier)


def check_comment(comment: str | None) -> None:
    """One limit for every comment, whoever sends it (pages and API alike)."""
    if comment is not None and len(comment) > MAX_COMMENT:
        raise Invalid(
            f"Keep the comment under {MAX_COMMENT:,} characters.",
            [FieldError("comment", f"At most {MAX_COMMENT:,} characters ({len(comment):,}).")],
        )


def _lock_levels_first(
    uow: UnitOfWork, shipment_id: str, actor: Principal
) -> dict[str, InventoryLevel]:
    """Lock the rejecting facility's levels of the shipment's products before the shipment and
    order rows. A rejection holding a level cascades into other shipments there; were their
    own rejections to hold those shipments while waiting for the level, each would wait for
    the other (a PostgreSQL deadlock, again on every retry under load). So every rejection at
    a facility queues on the level first, holding nothing else. (SQLite has one writer: the
    plan asks for the levels it needs.) Answers the levels by product."""
    scope = actor.facilities if actor.is_associate else None
    locked = uow.inventory.lock_for_shipment(shipment_id, scope)
    return {p: level for (_, p), level in locked.items()}


def _reason(reasons: Mapping[str, Reason], reason_id: str | None) -> Reason:
    if reason_id is None:
        return NO_REASON
    reason = reasons.get(reason_id)
    if reason is None or not reason.active:
        state = "unknown" if reason is None else "inactive"
        raise Invalid(
            f"Rejection reason {reason_id} is {state}.",
            [FieldError("reason_id", f"Use one of the active reasons ({state}: {reason_id}).")],
        )
    return reason


def plan_loaded(
    ctx: Context,
    uow: UnitOfWork,
    shipment: Shipment,
    order: Order,
    item_id: Choice,
    reason: Reason,
    reasons: Mapping[str, Reason],
    levels: dict[str, InventoryLevel],
    by: By,
    comment: str | None,
    *,
    lock: bool,
) -> RejectionPlan:
    """Plan the rejection, loading what the plan asks for until nothing is missing: levels and
    orders locked when `lock` (each order's items read after its row's lock), reservations
    read as they stand. `levels` (by product) gains what is loaded: one object per row."""
    facility_id = shipment.facility_id
    settings = ctx.settings(uow)
    reservations: dict[str, list[Reservation]] = {}
    orders: dict[str, Order] = {}
    while True:
        plan = plan_rejection(
            shipment,
            order,
            item_id,
            reason,
            cascade=system_reason(CASCADE, reasons.get(CASCADE)),
            avoid_split=system_reason(AVOID_SPLIT, reasons.get(AVOID_SPLIT)),
            partial_rejection=settings.partial_rejection,
            levels=levels,
            reservations=reservations,
            orders=orders,
            by=by,
            comment=comment,
        )
        if plan.complete:
            return plan
        if plan.missing_levels:
            keys = [(facility_id, p) for p in plan.missing_levels]
            found = uow.inventory.get_many(keys, lock=lock)
            levels.update({p: level for (_, p), level in found.items()})
        if plan.missing_reservations:
            reservations.update(uow.rejections.reservations(facility_id, plan.missing_reservations))
        if plan.missing_orders:
            orders.update(uow.orders.get_many(plan.missing_orders, lock=lock))
            gone = set(plan.missing_orders) - orders.keys()
            if gone:  # an order no longer there holds nothing to take
                for product_id, listed in reservations.items():
                    reservations[product_id] = [r for r in listed if r.order_id not in gone]


def _apply(
    ctx: Context,
    uow: UnitOfWork,
    plan: RejectionPlan,
    by: By,
    *,
    route: bool = True,
    notifier: Notifier | None = None,
) -> RejectionResult:
    """Write the plan, notify each shipment that lost items, and route what left at once
    (unless `route` is off: then the caller routes `to_route` itself, with others')."""
    now = uow.now
    uow.orders.save_items_of_many(plan.items, now)
    uow.rejections.save_shipment_states(plan.shipments, now)
    uow.inventory.save_many(plan.levels, plan.entries, now)
    uow.rejections.exclude_many(plan.exclusions, now)
    uow.rejections.record(plan.records, now)
    uow.blocks.put_many(holds_left(plan, reference(ctx, uow).reasons_by_id, now, by.actor), now)
    uow.orders.record(plan.history, now)
    uow.routing.count_day(now.date(), {plan.facility_id: (0, 0, len(plan.records))})
    # Where each item stands before routing moves it on.
    rejected = [
        Rejected(
            g.order_id,
            g.item.item_id,
            g.shipment_id,
            plan.facility_id,
            g.reason_id,
            g.cascaded,
            g.item.state,
        )
        for g in plan.leaving
    ]
    own = notifier is None
    notifier = notifier or Notifier(ctx, uow)
    for decline in plan.declines:
        notifier.decline(
            decline.order,
            decline.facility_id,
            [NotifiedLine(line.item, line.shipment_id, line.reason) for line in decline.lines],
            whole_shipment=decline.whole_shipment,
            whole_shipment_reason=decline.whole_shipment_reason,
            availability=decline.availability,
        )
    routed = (
        route_orders(
            ctx, uow, plan.to_route, actor=by.actor, request_id=by.request_id, notifier=notifier
        )
        if route
        else []
    )
    _tell_cared_for(notifier, plan)
    if own:  # a caller that lent its notifier writes the events once, with others'
        notifier.flush()
    routed_keys = {(r.order_id, r.item_id) for r in routed}
    for r in rejected:  # items that did not go back to routing (customer care) say so too
        if (r.order_id, r.item_id) not in routed_keys:
            routed.append(Routed(r.order_id, r.item_id, r.state, None, None))
    # The levels as the rejection left them: routing never comes back to this facility.
    levels = [plan.level(p) for p in plan.products]
    return RejectionResult(rejected, routed, levels, [] if route else list(plan.to_route))


def _tell_cared_for(notifier: Notifier, plan: RejectionPlan) -> None:
    """Items that went to customer care instead of routing (their pickup store said no)."""
    orders = {d.order.id: d.order for d in plan.declines}
    cared: dict[str, list[tuple[OrderItem, str | None]]] = {}
    for gone in plan.leaving:
        if gone.item.state is ItemState.CUSTOMER_CARE:
            said = gone.reason.decline_description
            why = f"The pickup store {plan.facility_id} declined it: {said}."
            cared.setdefault(gone.order_id, []).append((gone.item, why))
    for order_id, items in cared.items():
        notifier.held(orders[order_id], items)
