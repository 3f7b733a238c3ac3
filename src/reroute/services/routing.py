"""Routing inside the caller's transaction: give the queued and backordered items of some
orders a facility (or a state that says why not), reserve their stock, and tell subscribers.

What to reserve is planned on the stock view (`stock_view`) and checked under lock there; this
module writes the plan: shipments, reservations, item moves, history, notifications.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from reroute.domain.inventory import LedgerEntry
from reroute.domain.notifications import EventType
from reroute.domain.orders import By, HistoryEntry, ItemState, Order, OrderItem
from reroute.domain.routing.engine import OrderPlan
from reroute.domain.routing.order_view import ready_shipments, to_route
from reroute.domain.routing.rules import RulesDocument
from reroute.services.context import Context
from reroute.services.facility_cache import facilities
from reroute.services.notify import Line as NotifiedLine
from reroute.services.notify import Notifier
from reroute.services.reference import reference
from reroute.services.stock_view import (
    Levels,
    StockView,
    acceptance,
    costs_of,
    plan_and_lock,
)
from reroute.storage.unit_of_work import UnitOfWork

__all__ = ["Routed", "StockView", "claim_orders", "route_orders"]
#: Blocked or held facilities a history row names; more are counted.
SAID_BLOCKS = 3


@dataclass(frozen=True)
class Routed:
    order_id: str
    item_id: str
    state: ItemState
    facility_id: str | None
    shipment_id: str | None


def route_orders(
    ctx: Context,
    uow: UnitOfWork,
    orders: Iterable[Order],
    *,
    actor: str = "routing",
    request_id: str | None = None,
    rules: RulesDocument | None = None,
    stock: StockView | None = None,
    notifier: Notifier | None = None,
    new_orders: bool = False,
) -> list[Routed]:
    """Give every queued or backordered item of these orders a facility, or a state that says
    why not, within the caller's transaction. A batch passes its `stock` view from chunk to
    chunk; a single request loads what its orders need.

    `new_orders` says every one of them was created by this transaction: none was rejected
    anywhere yet, so there are no exclusions to read.

    The orders must be claimed by this transaction: created by it, or read with their rows
    locked (`claim_orders`, `OrderRepository.get_many(lock=True)`), so that no other
    transaction routes, rejects or cancels the same items meanwhile."""
    pending = {o.id: o for o in orders}
    wanted = [r for r in (to_route(o) for o in pending.values()) if r.lines]
    if not wanted:
        return []
    rules = rules or reference(ctx, uow).rules
    stock = stock or StockView(facilities(ctx, uow).sites)
    snapshot = stock.refresh(
        uow,
        wanted,
        acceptance(ctx, uow, rules),
        costs=costs_of(reference(ctx, uow).settings),
        new_orders=new_orders,
    )
    plans, levels = plan_and_lock(uow, wanted, rules, snapshot)
    own = notifier is None
    notifier = notifier or Notifier(ctx, uow)
    names = reference(ctx, uow).facilities.by_id

    def kept_away(product_id: str) -> str:
        """Why routing did not send the product where it is blocked or held (for the history)."""
        found = sorted(snapshot.blocked_for(product_id), key=lambda b: (b.facility_id, b.kind))
        said = [
            b.why(names[b.facility_id].name if b.facility_id in names else b.facility_id)
            for b in found[:SAID_BLOCKS]
        ]
        if len(found) > SAID_BLOCKS:
            said.append(f"and {len(found) - SAID_BLOCKS} more")
        return "; ".join(said)

    routed = _write(
        uow,
        [(pending[p.order_id], p) for p in plans],
        levels,
        actor,
        request_id,
        notifier,
        kept_away,
    )
    if own:
        notifier.flush()
    return routed


def claim_orders(uow: UnitOfWork, order_ids: Iterable[str]) -> list[Order]:
    """The orders, locked for this transaction and read after the lock, in id order.

    Orders another transaction holds are skipped rather than waited for: that transaction is
    deciding about their items, and waiting could close a cycle with the inventory rows it
    holds. What is skipped stays queued (or backordered) for the next run.
    """
    ids = list(order_ids)
    claimed = uow.orders.get_many(ids, lock=True, skip_locked=True)
    return [claimed[i] for i in sorted(claimed)]


def _write(
    uow: UnitOfWork,
    planned: list[tuple[Order, OrderPlan]],
    levels: Levels,
    actor: str,
    request_id: str | None,
    notifier: Notifier,
    kept_away: Callable[[str], str],
) -> list[Routed]:
    """Reserve, create or extend shipments, move the items, write their history, and tell
    subscribers where they went (`ready_shipment`, one per shipment placed). Each history row
    also names the facilities a block or hold kept the item from (`kept_away`)."""
    now = uow.now
    by = By(actor, request_id)
    ready = {order.id: ready_shipments(order) for order, _ in planned}
    new_pairs = [
        (order.id, facility_id)
        for order, plan in planned
        for facility_id in plan.facilities
        if facility_id not in ready[order.id]
    ]
    for (order_id, facility_id), shipment_id in zip(
        new_pairs, uow.orders.add_shipments(new_pairs, now), strict=True
    ):
        ready[order_id][facility_id] = shipment_id
    day_counts: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for _order_id, facility_id in new_pairs:
        day_counts[facility_id][0] += 1
    notifier.products(p.line.product_id for _, plan in planned for p in plan.placements)
    entries: list[LedgerEntry] = []
    history: list[HistoryEntry] = []
    routed: list[Routed] = []
    changed: list[tuple[str, OrderItem]] = []
    for order, plan in planned:
        items = {i.item_id: i for i in order.items}
        for p in plan.placements:
            item = items[p.line.item_id]
            note = p.rule if p.distance_km is None else f"{p.rule} ({p.distance_km:.1f} km)"
            away = kept_away(item.product_id)
            note = f"{note}; {away}" if away else note
            shipment_id = ready[order.id][p.facility_id]
            history.append(item.assign(order.id, p.facility_id, shipment_id, now, by, note))
            reference = f"{order.id}/{item.item_id}"
            entries.append(
                levels[(p.facility_id, item.product_id)].reserve(item.quantity, reference)
            )
            day_counts[p.facility_id][1] += 1
            changed.append((order.id, item))
        newly_held: list[tuple[OrderItem, str | None]] = []
        for line in plan.unplaced:
            item = items[line.item_id]
            away = kept_away(item.product_id)
            why = f"{plan.note} ({away})" if away else plan.note
            held = item.hold(order.id, plan.unplaced_state, by, why)
            if held is not None:
                history.append(held)
                changed.append((order.id, item))
                newly_held.append((item, why))
        notifier.held(order, newly_held)
        for item in (items[p.line.item_id] for p in plan.placements):
            routed.append(_routed(order.id, item))
        for facility_id in plan.facilities:
            placed = [
                items[p.line.item_id] for p in plan.placements if p.facility_id == facility_id
            ]
            notifier.add(
                EventType.READY_SHIPMENT,
                order,
                facility_id,
                [NotifiedLine(i, i.shipment_id) for i in placed],
                availability={
                    i.product_id: levels[(facility_id, i.product_id)].quantity_on_hand
                    for i in placed
                },
            )
        for line in plan.unplaced:
            routed.append(_routed(order.id, items[line.item_id]))
    uow.orders.save_items_of_many(changed, now)
    touched = sorted({(e.facility_id, e.product_id) for e in entries})
    uow.inventory.save_many([levels[k] for k in touched], entries, now)
    uow.orders.record(history, now)
    uow.routing.count_day(now.date(), {f: (c[0], c[1], c[2]) for f, c in day_counts.items()})
    return routed


def _routed(order_id: str, item: OrderItem) -> Routed:
    return Routed(order_id, item.item_id, item.state, item.facility_id, item.shipment_id)
