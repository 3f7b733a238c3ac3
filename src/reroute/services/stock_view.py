"""The stock as routing sees it: a snapshot kept fresh from chunk to chunk, then the rows the
plans need locked in one fixed order and checked again.

Planning happens in memory against the snapshot (domain.routing.engine), so concurrent writers
on PostgreSQL can never oversell: an order whose facility was emptied meanwhile, or whose
facility's daily capacity was used up, is planned again on the fresh numbers.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta

from reroute.domain.inventory import InventoryLevel
from reroute.domain.routing.acceptance import NO_HISTORY, AcceptanceModel
from reroute.domain.routing.costs import CostModel
from reroute.domain.routing.engine import OrderPlan, OrderToRoute, plan_order
from reroute.domain.routing.rules import RulesDocument, SortKey
from reroute.domain.routing.snapshot import Snapshot
from reroute.domain.settings import RuntimeSettings
from reroute.services.context import Context
from reroute.storage.unit_of_work import UnitOfWork

#: Plans re-made after a concurrent writer took the stock they counted on, before giving up.
MAX_REPLANS = 5
ACCEPTANCE_TTL_S = 60.0
#: The history the learned acceptance looks back over.
ACCEPTANCE_WINDOW = timedelta(days=30)

Levels = dict[tuple[str, str], InventoryLevel]


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
        self,
        uow: UnitOfWork,
        wanted: list[OrderToRoute],
        acceptance: AcceptanceModel,
        *,
        costs: CostModel | None = None,
        new_orders: bool = False,
    ) -> Snapshot:
        """The snapshot made current for `wanted`. Orders created by this very transaction
        (`new_orders`) have been rejected nowhere: there are no exclusions to read."""
        snapshot = self.snapshot
        if self.since is not None:
            changed = uow.routing.stock_changed_since(self.since, self.products, uow.now)
            snapshot.add_stock(changed.atp, changed.blocks)
        self.since = uow.now - self.MARGIN
        new = {line.product_id for o in wanted for line in o.lines} - self.products
        loaded = uow.routing.promisable_stock(new, uow.now)
        snapshot.add_stock(loaded.atp, loaded.blocks)
        self.products |= new
        limited = [s.id for s in snapshot.sites.values() if s.daily_capacity is not None]
        snapshot.load = uow.routing.load_on(uow.now.date(), limited)
        snapshot.acceptance = acceptance
        if costs is not None:
            snapshot.costs = costs
        snapshot.exclusions = (
            {} if new_orders else uow.routing.exclusions([o.order_id for o in wanted])
        )
        return snapshot


def acceptance(ctx: Context, uow: UnitOfWork, rules: RulesDocument) -> AcceptanceModel:
    """The learned acceptance by facility and product, when the rules sort by it (or by
    expected cost); cached a while per process."""
    wanted = {SortKey.ACCEPTANCE, SortKey.COST}
    uses = any(wanted & set(rule.sort) for r in rules.routings for rule in r.inventory_rules)
    if not uses:
        return NO_HISTORY
    cached = ctx.cache.get("acceptance")
    if cached is not None and time.monotonic() - cached[0] < ACCEPTANCE_TTL_S:
        model: AcceptanceModel = cached[1]
        return model
    counts = uow.routing.acceptance_counts(uow.now - ACCEPTANCE_WINDOW, uow.now)
    model = AcceptanceModel.learned(counts)
    ctx.cache["acceptance"] = (time.monotonic(), model)
    return model


def costs_of(settings: RuntimeSettings) -> CostModel:
    return CostModel(
        settings.routing_cost_per_shipment,
        settings.routing_cost_per_km,
        settings.routing_reroute_penalty,
    )


def _needs(plans: Iterable[OrderPlan]) -> dict[tuple[str, str], int]:
    needs: dict[tuple[str, str], int] = defaultdict(int)
    for plan in plans:
        for p in plan.placements:
            needs[(p.facility_id, p.line.product_id)] += p.line.quantity
    return needs


def plan_and_lock(
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
