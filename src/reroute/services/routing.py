"""Routing use cases: route some orders inside the caller's transaction, run a batch, and
read or replace the rules document.

Planning happens in memory against a snapshot (domain.routing.engine); then the chosen inventory
rows are locked in one fixed order and checked again, so concurrent writers on PostgreSQL can never
oversell: an order whose facility was emptied meanwhile is planned again on the fresh numbers.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from reroute.domain.access import Principal, Role
from reroute.domain.inventory import InventoryLevel, LedgerEntry
from reroute.domain.notifications import EventType
from reroute.domain.orders import ROUTABLE, HistoryEntry, ItemState, Order, OrderItem
from reroute.domain.routing.engine import Line, OrderPlan, OrderToRoute, plan_order
from reroute.domain.routing.geo import unit_vector
from reroute.domain.routing.rules import (
    RulesDocument,
    SortKey,
    default_rules,
    parse_rules,
    rules_to_json,
)
from reroute.domain.routing.snapshot import Snapshot
from reroute.services.context import Context
from reroute.services.facility_cache import facilities
from reroute.services.notify import Line as NotifiedLine
from reroute.services.notify import Notifier
from reroute.storage.unit_of_work import UnitOfWork, transact, unit_of_work

#: Plans re-made after a concurrent writer took the stock they counted on, before giving up.
MAX_REPLANS = 5
ACCEPTANCE_TTL_S = 60.0


@dataclass(frozen=True)
class Routed:
    order_id: str
    item_id: str
    state: ItemState
    facility_id: str | None
    shipment_id: str | None


@dataclass
class BatchResult:
    orders: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0


# Rules --------------------------------------------------------------------------------------


def current_rules(uow: UnitOfWork) -> RulesDocument:
    saved = uow.routing.rules()
    return parse_rules(saved) if saved is not None else default_rules()


def get_rules(ctx: Context, actor: Principal) -> tuple[dict[str, Any], bool]:
    """The document in force, and whether it is the default (nothing saved)."""
    actor.require_role(Role.ADMIN, Role.INTEGRATION)
    with unit_of_work(ctx.db, write=False) as uow:
        saved = uow.routing.rules()
    if saved is None:
        return rules_to_json(default_rules()), True
    return rules_to_json(parse_rules(saved)), False


def put_rules(ctx: Context, document: Any, actor: Principal) -> dict[str, Any]:
    actor.require_role(Role.ADMIN)
    with unit_of_work(ctx.db) as uow:
        known = {f.id for f in uow.facilities.list()}
        parsed = parse_rules(document, known)
        normal = rules_to_json(parsed)
        uow.routing.save_rules(normal, actor.id, uow.now)
    return normal


def reset_rules(ctx: Context, actor: Principal) -> dict[str, Any]:
    actor.require_role(Role.ADMIN)
    with unit_of_work(ctx.db) as uow:
        uow.routing.forget_rules()
    return rules_to_json(default_rules())


# Routing inside a transaction ---------------------------------------------------------------


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
) -> list[Routed]:
    """Give every queued or backordered item of these orders a facility, or a state that says
    why not, within the caller's transaction. A batch passes its `stock` view from chunk to
    chunk; a single request loads what its orders need.

    The orders must be claimed by this transaction: created by it, or read with their rows
    locked (`claim_orders`, `OrderRepository.get_many(lock=True)`), so that no other
    transaction routes, rejects or cancels the same items meanwhile."""
    pending = {o.id: o for o in orders}
    wanted = [r for r in (_to_route(o) for o in pending.values()) if r.lines]
    if not wanted:
        return []
    rules = rules or current_rules(uow)
    stock = stock or StockView(facilities(ctx, uow).sites)
    snapshot = stock.refresh(uow, wanted, _acceptance(ctx, uow, rules))
    plans, levels = _plan_and_lock(uow, wanted, rules, snapshot)
    own = notifier is None
    notifier = notifier or Notifier(ctx, uow)
    routed = _write(
        uow, [(pending[p.order_id], p) for p in plans], levels, actor, request_id, notifier
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


class StockView:
    """The snapshot a run of routing keeps: stock loaded once per product, then only the rows
    other writers changed are read again before each chunk."""

    #: Read rows written this long before the last look too, for clocks a little apart.
    MARGIN = timedelta(seconds=5)

    def __init__(self, sites: Snapshot) -> None:
        self.snapshot = sites.fresh()
        self.products: set[str] = set()
        self.since: datetime | None = None

    def refresh(
        self, uow: UnitOfWork, wanted: list[OrderToRoute], acceptance: dict[str, float]
    ) -> Snapshot:
        snapshot = self.snapshot
        if self.since is not None:
            snapshot.add_stock(uow.routing.stock_changed_since(self.since, self.products))
        self.since = uow.now - self.MARGIN
        new = {line.product_id for o in wanted for line in o.lines} - self.products
        snapshot.add_stock(uow.routing.promisable_stock(new))
        self.products |= new
        limited = [s.id for s in snapshot.sites.values() if s.daily_capacity is not None]
        snapshot.load = uow.routing.load_on(uow.now.date(), limited)
        snapshot.acceptance = acceptance
        snapshot.exclusions = uow.routing.exclusions([o.order_id for o in wanted])
        return snapshot


def _to_route(order: Order) -> OrderToRoute:
    lines = [Line(i.item_id, i.product_id, i.quantity) for i in order.items if i.state in ROUTABLE]
    address = order.ship_to
    vector = (
        unit_vector(address.latitude, address.longitude)
        if address.latitude is not None and address.longitude is not None
        else None
    )
    return OrderToRoute(
        order_id=order.id,
        method=order.shipping_method,
        lines=lines,
        vector=vector,
        latitude=address.latitude or 0.0,
        longitude=address.longitude or 0.0,
        catalog_id=order.catalog_id,
        priority=order.priority,
        ship_complete=order.ship_complete,
        pickup_facility_id=order.pickup_facility_id,
        open_shipments=frozenset(_ready_shipments(order)),
    )


def _ready_shipments(order: Order) -> dict[str, str]:
    """Facility to shipment id, for this order's shipments still waiting to be started."""
    return {
        i.facility_id: i.shipment_id
        for i in order.items
        if i.state is ItemState.READY and i.facility_id and i.shipment_id
    }


def _acceptance(ctx: Context, uow: UnitOfWork, rules: RulesDocument) -> dict[str, float]:
    uses = any(
        SortKey.ACCEPTANCE in rule.sort for r in rules.routings for rule in r.inventory_rules
    )
    if not uses:
        return {}
    cached = ctx.cache.get("acceptance")
    if cached is not None and time.monotonic() - cached[0] < ACCEPTANCE_TTL_S:
        rates: dict[str, float] = cached[1]
        return rates
    rates = uow.routing.acceptance(uow.now.date())
    ctx.cache["acceptance"] = (time.monotonic(), rates)
    return rates


Levels = dict[tuple[str, str], InventoryLevel]


def _needs(plans: Iterable[OrderPlan]) -> dict[tuple[str, str], int]:
    needs: dict[tuple[str, str], int] = defaultdict(int)
    for plan in plans:
        for p in plan.placements:
            needs[(p.facility_id, p.line.product_id)] += p.line.quantity
    return needs


def _plan_and_lock(
    uow: UnitOfWork, wanted: list[OrderToRoute], rules: RulesDocument, snapshot: Snapshot
) -> tuple[list[OrderPlan], Levels]:
    """Plan every order, then lock what the plans need and check it is still there.

    What the plans need is the stock of each (facility, product) they reserve, and a slot of
    daily capacity at each capacity-limited facility where they open a shipment. A plan that
    counted on stock or a slot a concurrent transaction took meanwhile is undone and made again
    on the locked, current numbers.
    """
    plans = {o.order_id: plan_order(o, rules, snapshot) for o in wanted}
    by_id = {o.order_id: o for o in wanted}
    locked: Levels = {}
    capacity = _Capacity(uow, snapshot)
    for _attempt in range(MAX_REPLANS + 1):
        needs = _needs(plans.values())
        # A re-plan may need rows that sort before rows this transaction already holds: the
        # repository takes those only if free, and if one is busy the transaction starts over
        # (see `transact`) on fresh numbers, rather than wait and risk a deadlock.
        fresh = [k for k in needs if k not in locked]
        locked.update(uow.inventory.get_many(fresh, lock=True))
        short = {
            key
            for key, quantity in needs.items()
            if not locked[key].can_reserve(quantity, snapshot.sites[key[0]].safety_stock)
        }
        full = capacity.full(_new_shipments(plans.values(), by_id))
        if not short and not full:
            return list(plans.values()), locked
        redo = [
            order_id
            for order_id, plan in plans.items()
            if any((p.facility_id, p.line.product_id) in short for p in plan.placements)
            or any(f in full and f not in by_id[order_id].open_shipments for f in plan.facilities)
        ]
        for order_id in redo:
            _give_back(snapshot, by_id[order_id], plans.pop(order_id))
        kept = _needs(plans.values())
        for key in short:  # the truth, less what the plans still standing hold
            snapshot.atp[key] = locked[key].available_to_promise - kept.get(key, 0)
        capacity.settle(full, _new_shipments(plans.values(), by_id))
        for order_id in redo:
            plans[order_id] = plan_order(by_id[order_id], rules, snapshot)
    # Still short after every re-plan: those orders stay queued for the next run.
    needs = _needs(plans.values())
    short = {
        key
        for key, quantity in needs.items()
        if key not in locked
        or not locked[key].can_reserve(quantity, snapshot.sites[key[0]].safety_stock)
    }
    full = capacity.full(_new_shipments(plans.values(), by_id), lock=False)
    return [
        plan
        for plan in plans.values()
        if not any((p.facility_id, p.line.product_id) in short for p in plan.placements)
        and not any(
            f in full and f not in by_id[plan.order_id].open_shipments for f in plan.facilities
        )
    ], locked


def _new_shipments(plans: Iterable[OrderPlan], by_id: dict[str, OrderToRoute]) -> Counter[str]:
    """Shipments the plans open, by facility (extending a ready shipment opens none)."""
    opened: Counter[str] = Counter()
    for plan in plans:
        for facility_id in plan.facilities:
            if facility_id not in by_id[plan.order_id].open_shipments:
                opened[facility_id] += 1
    return opened


class _Capacity:
    """Daily capacity as the locks show it: a facility's row is held before its load is read
    again, so the load seen is final until this transaction ends."""

    def __init__(self, uow: UnitOfWork, snapshot: Snapshot) -> None:
        self.uow = uow
        self.snapshot = snapshot
        #: Shipments given today by other transactions, read under the facility's lock.
        self.base: dict[str, int] = {}

    def full(self, opened: Counter[str], *, lock: bool = True) -> set[str]:
        """Limited facilities where the plans open more shipments than the day has left."""
        sites = self.snapshot.sites
        limited = [f for f in opened if sites[f].daily_capacity is not None]
        fresh = sorted(f for f in limited if f not in self.base)
        if fresh and lock:
            out_of_order = bool(self.base) and min(fresh) < max(self.base)
            self.uow.facilities.lock(fresh, nowait=out_of_order)
            load = self.uow.routing.load_on(self.uow.now.date(), fresh)
            self.base.update({f: load.get(f, 0) for f in fresh})
        return {
            f
            for f in limited
            if f not in self.base or self.base[f] + opened[f] > (sites[f].daily_capacity or 0)
        }

    def settle(self, full: set[str], kept: Counter[str]) -> None:
        """After the plans that overfilled `full` were undone: the snapshot's load becomes
        the locked truth plus what the plans still standing open there."""
        for facility_id in full:
            self.snapshot.load[facility_id] = self.base.get(facility_id, 0) + kept[facility_id]


def _give_back(snapshot: Snapshot, order: OrderToRoute, plan: OrderPlan) -> None:
    """Undo what a plan took off the snapshot (stock and daily load), so that planning the
    order again counts on everything its first plan held."""
    for p in plan.placements:
        snapshot.take(p.facility_id, p.line.product_id, -p.line.quantity)
    for facility_id in plan.facilities:
        if facility_id not in order.open_shipments:
            snapshot.load[facility_id] = snapshot.load.get(facility_id, 0) - 1


def _write(
    uow: UnitOfWork,
    planned: list[tuple[Order, OrderPlan]],
    levels: Levels,
    actor: str,
    request_id: str | None,
    notifier: Notifier,
) -> list[Routed]:
    """Reserve, create or extend shipments, move the items, write their history, and tell
    subscribers where they went (`ready_shipment`, one per shipment placed)."""
    now = uow.now
    ready = {order.id: _ready_shipments(order) for order, _ in planned}
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
            before = item.state
            item.state, item.facility_id = ItemState.READY, p.facility_id
            item.shipment_id = ready[order.id][p.facility_id]
            item.reserved_at = now
            reference = f"{order.id}/{item.item_id}"
            entries.append(
                levels[(p.facility_id, item.product_id)].reserve(item.quantity, reference)
            )
            day_counts[p.facility_id][1] += 1
            note = p.rule if p.distance_km is None else f"{p.rule} ({p.distance_km:.1f} km)"
            history.append(_entry(order.id, "assigned", item, before, actor, request_id, note))
            changed.append((order.id, item))
        for line in plan.unplaced:
            item = items[line.item_id]
            before = item.state
            item.state, item.facility_id, item.shipment_id = plan.unplaced_state, None, None
            item.reserved_at = None
            if before is not item.state:
                history.append(
                    _entry(order.id, str(item.state), item, before, actor, request_id, plan.note)
                )
                changed.append((order.id, item))
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


def _entry(
    order_id: str,
    event: str,
    item: OrderItem,
    before: ItemState,
    actor: str,
    request_id: str | None,
    note: str,
) -> HistoryEntry:
    return HistoryEntry(
        order_id,
        event,
        item_id=item.item_id,
        shipment_id=item.shipment_id,
        from_state=str(before),
        to_state=str(item.state),
        facility_id=item.facility_id,
        actor=actor,
        request_id=request_id,
        note=note or None,
    )


def _routed(order_id: str, item: OrderItem) -> Routed:
    return Routed(order_id, item.item_id, item.state, item.facility_id, item.shipment_id)


# Batches ------------------------------------------------------------------------------------


def run_batch(
    ctx: Context,
    actor: Principal,
    *,
    chunk: int = 1000,
    progress: Callable[[int, int], None] | None = None,
) -> BatchResult:
    """Route every queued and backordered item, a chunk of orders per transaction.

    Memory stays bounded by the chunk, however long the queue. `progress(done, total)` counts
    items. Orders whose stock a concurrent writer took stay queued for the next run.
    """
    actor.require_role(Role.ADMIN, Role.INTEGRATION)
    started = time.perf_counter()
    result = BatchResult()
    with unit_of_work(ctx.db, write=False) as uow:
        total = uow.routing.count_queued()
        rules = current_rules(uow)
        sites = facilities(ctx, uow).sites
    stock = StockView(sites)
    attempts = 0

    def route_chunk(uow: UnitOfWork, after: str | None) -> tuple[list[str], list[Routed]]:
        # Run again from the start when PostgreSQL chose this chunk as a deadlock victim
        # (concurrent writers lock rows too); what the rolled-back attempt took off the
        # snapshot never happened, so the retry starts from a fresh view.
        nonlocal attempts, stock
        attempts += 1
        if attempts > 1:
            stock = StockView(sites)
        ids = uow.routing.queued_orders(after, chunk)
        if not ids:
            return ids, []
        orders = claim_orders(uow, ids)
        routed = route_orders(ctx, uow, orders, actor=actor.id, rules=rules, stock=stock)
        return ids, routed

    done = 0
    after: str | None = None
    while True:
        attempts = 0
        ids, routed = transact(ctx.db, partial(route_chunk, after=after))
        if not ids:
            break
        after = ids[-1]
        result.orders += len(ids)
        result.outcomes.update(str(r.state) for r in routed)
        done += len(routed)
        if progress is not None:
            progress(done, total)
    result.seconds = time.perf_counter() - started
    return result
