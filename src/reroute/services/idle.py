"""Taking back what a store leaves waiting: an item ready longer than the idle limit without
being started (or started and not packed within `idle_pack_after_minutes`) is rejected with the
system reason IDLE_TIMEOUT, as a store's own rejection would be: its Store Decline sent, the item
routed on at once, never back to that facility. No inventory effect.

The sweep reads candidates without locks, then takes them back a shipment at a time, each
checked again under its row locks: an item started meanwhile, or taken back by another sweep,
is left alone, so an item is taken back once however many sweeps run."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial

from reroute.domain.access import SYSTEM
from reroute.domain.errors import DomainError
from reroute.domain.orders import REJECTABLE, By, ItemState, Order, Shipment
from reroute.domain.reasons import IDLE_TIMEOUT
from reroute.domain.settings import RuntimeSettings
from reroute.services.context import Context
from reroute.services.facility_cache import facilities
from reroute.services.notify import Notifier
from reroute.services.reference import reference
from reroute.services.rejection import reject_in
from reroute.services.routing import StockView, route_orders
from reroute.storage.repositories.idle import WaitingItem
from reroute.storage.unit_of_work import UnitOfWork, transact, unit_of_work

log = logging.getLogger("reroute.idle")
#: Shipments taken back per transaction: few enough to keep locks short, enough to be quick.
CHUNK = 500
#: Items one sweep looks at, at most; the rest wait for the next sweep (a minute later).
MOST_PER_SWEEP = 200_000
ACTOR = "idle sweep"
Still = Callable[[Shipment, Order], bool]


@dataclass
class SweepResult:
    #: Items found waiting past their limit.
    found: int = 0
    #: Items taken back (rejected and routed on).
    taken_back: int = 0
    shipments: int = 0
    #: Shipments left alone because they changed meanwhile, or their rejection was refused.
    skipped: int = 0
    orders: set[str] = field(default_factory=set)


@dataclass
class _Idle:
    """One shipment's items past their limit, as the sweep found them."""

    shipment_id: str
    facility_id: str
    items: dict[str, WaitingItem]


def sweep(ctx: Context, *, most: int = MOST_PER_SWEEP, chunk: int = CHUNK) -> SweepResult:
    """Take back every item waiting past its limit now; answers what was done."""
    result = SweepResult()
    with unit_of_work(ctx.db, write=False) as uow:
        reasons = reference(ctx, uow).reasons_by_id
        idle_reason = reasons.get(IDLE_TIMEOUT)
        if idle_reason is None or not idle_reason.active:
            log.error("the idle sweep needs the active reason %s; nothing taken back", IDLE_TIMEOUT)
            return result
        found = _waiting(ctx, uow, most)
    result.found = sum(len(s.items) for s in found)
    view = _View(ctx)
    for start in range(0, len(found), chunk):
        batch = found[start : start + chunk]
        try:
            transact(ctx.db, partial(_take_back, ctx, batch=batch, result=result, view=view))
        except DomainError:
            # One shipment's refusal rolled the chunk back: take each back on its own.
            for one in batch:
                try:
                    transact(
                        ctx.db, partial(_take_back, ctx, batch=[one], result=result, view=view)
                    )
                except DomainError as exc:
                    result.skipped += 1
                    log.warning("idle shipment %s left: %s", one.shipment_id, exc)
    return result


def limits(ctx: Context, uow: UnitOfWork) -> tuple[dict[str, timedelta], timedelta | None]:
    """Each facility's idle limit for ready items (absent: none there), and the one for
    items in progress (None: off)."""
    settings: RuntimeSettings = ctx.settings(uow)
    ready: dict[str, timedelta] = {}
    for facility in reference(ctx, uow).facilities.by_id.values():
        minutes = facility.idle_reject_after_minutes
        if minutes is None:
            minutes = settings.idle_reject_after_minutes
        if minutes > 0:
            ready[facility.id] = timedelta(minutes=minutes)
    pack = settings.idle_pack_after_minutes
    return ready, (timedelta(minutes=pack) if pack > 0 else None)


def _waiting(ctx: Context, uow: UnitOfWork, most: int) -> list[_Idle]:
    ready_limits, pack_limit = limits(ctx, uow)
    waiting: list[WaitingItem] = []
    if ready_limits:
        shortest = min(ready_limits.values())
        for item in uow.idle.waiting_since_before(ItemState.READY, uow.now - shortest, most):
            limit = ready_limits.get(item.facility_id)
            if limit is not None and item.since < uow.now - limit:
                waiting.append(item)
    if pack_limit is not None:
        waiting.extend(
            uow.idle.waiting_since_before(ItemState.IN_PROGRESS, uow.now - pack_limit, most)
        )
    by_shipment: dict[str, _Idle] = {}
    for item in waiting:
        idle = by_shipment.setdefault(
            item.shipment_id, _Idle(item.shipment_id, item.facility_id, {})
        )
        idle.items[item.item_id] = item
    return sorted(by_shipment.values(), key=lambda s: int(s.shipment_id))


class _View:
    """One stock view for the whole sweep, as a batch run keeps one: each product's stock is
    read once, then only what changed. An attempt that did not commit leaves numbers that
    never happened in it: the next one starts from a fresh view."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.stock: StockView | None = None
        self.settled = True

    def take(self, uow: UnitOfWork) -> StockView:
        if self.stock is None or not self.settled:
            self.stock = StockView(facilities(self.ctx, uow).sites)
        self.settled = False
        uow.after_commit.append(self._settle)
        return self.stock

    def _settle(self) -> None:
        self.settled = True


def _take_back(
    ctx: Context,
    uow: UnitOfWork,
    *,
    batch: Iterable[_Idle],
    result: SweepResult,
    view: _View,
) -> None:
    """Reject each shipment's idle items, checked again under the locks the rejection takes,
    then route everything that left, together."""
    taken = shipments = skipped = 0
    orders: set[str] = set()
    to_route: dict[str, Order] = {}
    notifier = Notifier(ctx, uow)  # the chunk's events, written together
    for idle in batch:
        whole = _still(idle)
        outcome = reject_in(
            ctx,
            uow,
            idle.shipment_id,
            None,
            IDLE_TIMEOUT,
            _comment(idle),
            SYSTEM,
            By(ACTOR),
            still=whole,
            route=False,
            notifier=notifier,
        )
        if outcome is not None:
            taken, shipments = taken + len(outcome.rejected), shipments + 1
            orders.update(r.order_id for r in outcome.rejected)
            to_route.update((o.id, o) for o in outcome.to_route)
            continue
        # Not the whole shipment (a newer item in it, or one was started): item by item.
        done_here = False
        for item_id in sorted(idle.items):
            one = reject_in(
                ctx,
                uow,
                idle.shipment_id,
                item_id,
                IDLE_TIMEOUT,
                _comment(idle),
                SYSTEM,
                By(ACTOR),
                still=_still_item(idle, item_id),
                route=False,
                notifier=notifier,
            )
            if one is not None:
                taken, done_here = taken + len(one.rejected), True
                orders.update(r.order_id for r in one.rejected)
                to_route.update((o.id, o) for o in one.to_route)
        if done_here:
            shipments += 1
        else:
            skipped += 1
    if to_route:
        # A later plan of the chunk read the order again: the last object is the current one.
        orders_now = list(to_route.values())
        route_orders(ctx, uow, orders_now, actor=ACTOR, stock=view.take(uow), notifier=notifier)
    notifier.flush()
    # Counted only once the transaction is sure to commit (a retry runs this again).
    uow.after_commit.append(lambda: _count(result, taken, shipments, skipped, orders))


def _count(result: SweepResult, taken: int, shipments: int, skipped: int, orders: set[str]) -> None:
    result.taken_back += taken
    result.shipments += shipments
    result.skipped += skipped
    result.orders |= orders


def _matches(item_state: ItemState, waiting: WaitingItem, reserved_at: object) -> bool:
    if item_state is not waiting.state:
        return False
    # A ready item placed again since (another reservation) waits afresh.
    return waiting.state is not ItemState.READY or reserved_at == waiting.since


def _still(idle: _Idle) -> Still:
    """Whether every open item of the shipment is still one the sweep found idle."""

    def check(shipment: Shipment, order: Order) -> bool:
        held = [i for i in order.items if i.shipment_id == shipment.id and i.state in REJECTABLE]
        return bool(held) and all(
            i.item_id in idle.items and _matches(i.state, idle.items[i.item_id], i.reserved_at)
            for i in held
        )

    return check


def _still_item(idle: _Idle, item_id: str) -> Still:
    def check(shipment: Shipment, order: Order) -> bool:
        item = next((i for i in order.items if i.item_id == item_id), None)
        return (
            item is not None
            and item.shipment_id == shipment.id
            and _matches(item.state, idle.items[item_id], item.reserved_at)
        )

    return check


def _comment(idle: _Idle) -> str:
    states = {i.state for i in idle.items.values()}
    if states == {ItemState.IN_PROGRESS}:
        return "Not packed within the idle limit: taken back and routed elsewhere."
    return "Not started within the idle limit: taken back and routed elsewhere."
