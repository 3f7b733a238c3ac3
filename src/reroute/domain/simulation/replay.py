"""One rule set's replay: orders routed in time order on an in-memory copy of the stock, stores
answering by a model, every rejection handled as live handles it.

The pieces are live routing's own: the order as routing sees it (`to_route`), the engine
(`plan_order`) on a `Snapshot`, the rejection's plan (`plan_rejection`) with the reason's
effect, its cascade and the rest of a shipment that never splits, and the hold a reason leaves.
What the replay adds is time: a day's shipments leave the stores when the next day begins (so a
later cascade cannot take them back), daily capacity starts again, holds end.
"""

from __future__ import annotations

import heapq
from collections import Counter, deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime

from reroute.domain.blocks import Block
from reroute.domain.facilities import Facility
from reroute.domain.inventory import InventoryLevel
from reroute.domain.orders import REJECTABLE, By, ItemState, Order, Shipment
from reroute.domain.reasons import AVOID_SPLIT, CASCADE, Reason, system_reason
from reroute.domain.rejection import (
    Cause,
    RejectionPlan,
    Reservation,
    holds_left,
    plan_rejection,
)
from reroute.domain.routing.acceptance import AcceptanceCounts, AcceptanceModel
from reroute.domain.routing.costs import CostModel
from reroute.domain.routing.engine import plan_order
from reroute.domain.routing.order_view import to_route
from reroute.domain.routing.rules import RulesDocument
from reroute.domain.routing.snapshot import Snapshot
from reroute.domain.simulation.draws import Draws

Key = tuple[str, str]  # (facility id, product id)
BY = By("simulation")
#: Routings of one order (first and after each rejection) before the rest is left queued:
#: every rejection excludes a facility, so this only bounds a pathological world.
MAX_ROUTINGS_PER_ORDER = 200


@dataclass(frozen=True)
class World:
    """Where a replay starts: the facilities, the stock and blocks of one moment, the day's
    shipments given so far, and the orders to replay (items queued, in time order)."""

    facilities: Sequence[Facility]
    levels: Mapping[Key, InventoryLevel]
    blocks: Mapping[Key, Sequence[Block]]
    load: Mapping[str, int]
    orders: Sequence[Order]
    reasons: Mapping[str, Reason]
    partial_rejection: bool = True


@dataclass(frozen=True)
class Stores:
    """How the stores answer: each one's chance of rejecting each product, and the reasons it
    gives, weighted by how often (by facility; "" for the chain's mix)."""

    rates: AcceptanceModel
    reasons: Mapping[str, Sequence[tuple[str, float]]]

    def reasons_at(self, facility_id: str) -> Sequence[tuple[str, float]]:
        return self.reasons.get(facility_id) or self.reasons.get("", ())


@dataclass
class Outcome:
    """What happened to every item, and what the stores did on the way."""

    orders: dict[str, Order]
    #: Items given to a facility (each attempt counts).
    placements: int = 0
    #: Items the stores rejected themselves, and items that left with them (cascade, shortage,
    #: the rest of a shipment that never splits).
    rejections: int = 0
    taken_along: int = 0
    #: Shipments opened, by facility and day.
    shipments_given: Counter[tuple[str, date]] = field(default_factory=Counter)
    items_given: Counter[str] = field(default_factory=Counter)
    rejected_at: Counter[str] = field(default_factory=Counter)
    #: The distance of each shipment from its facility to the ship-to, by (order, facility).
    distance_km: dict[Key, float] = field(default_factory=dict)
    #: Where each item was placed first, by (order, item).
    first_placement: dict[Key, str] = field(default_factory=dict)
    #: What was given and rejected where, as a model learns it.
    counts: AcceptanceCounts = field(default_factory=AcceptanceCounts)


def _fresh(order: Order) -> Order:
    """The order as it came, every item waiting for routing (the replay's own copy)."""
    items = [
        replace(i, state=ItemState.QUEUED, facility_id=None, shipment_id=None, reserved_at=None)
        for i in order.items
    ]
    return replace(order, items=items)


class Replay:
    def __init__(
        self,
        world: World,
        rules: RulesDocument,
        *,
        routing_model: AcceptanceModel,
        stores: Stores,
        costs: CostModel,
        seed: int,
    ) -> None:
        self.world = world
        self.rules = rules
        self.stores = stores
        self.draws = Draws(seed)
        self.levels = {k: replace(v) for k, v in world.levels.items()}
        self.blocks = {k: list(v) for k, v in world.blocks.items() if v}
        self._ends = [(min(b.until for b in v), k) for k, v in self.blocks.items()]
        heapq.heapify(self._ends)
        self.snapshot = Snapshot.build(
            world.facilities,
            {k: v.available_to_promise for k, v in self.levels.items()},
            acceptance=routing_model,
            costs=costs,
        )
        self.snapshot.add_stock(
            {k: self.levels[k].available_to_promise for k in self.blocks if k in self.levels},
            self.blocks,
        )
        self.snapshot.load = dict(world.load)
        self.cascade = system_reason(CASCADE, world.reasons.get(CASCADE))
        self.avoid_split = system_reason(AVOID_SPLIT, world.reasons.get(AVOID_SPLIT))
        #: Open items holding stock at each (facility, product), by (order, item).
        self.open: dict[Key, dict[Key, Reservation]] = {}
        self.outcome = Outcome({})
        self.day: date | None = None
        self._shipments = 0

    def run(self) -> Outcome:
        for order in self.world.orders:
            fresh = _fresh(order)
            self.outcome.orders[fresh.id] = fresh
            moment = order.created_at
            assert moment is not None, "a replayed order has its time"
            self._advance(moment)
            if fresh.needs_location and not fresh.ship_to.located:
                fresh.unlocated("no ship-to point", BY)  # as at creation: a person decides
                continue
            self._handle(fresh.id, moment)
        self._close_day()
        return self.outcome

    # Time ---------------------------------------------------------------------------------

    def _advance(self, moment: datetime) -> None:
        today = moment.date()
        if self.day is not None and today != self.day:
            self._close_day()
            self.snapshot.load = {}
        self.day = today
        while self._ends and self._ends[0][0] <= moment:
            _, key = heapq.heappop(self._ends)
            left = [b for b in self.blocks.get(key, ()) if b.until > moment]
            if left:
                self.blocks[key] = left
                heapq.heappush(self._ends, (min(b.until for b in left), key))
            else:
                self.blocks.pop(key, None)
            self._show(key)

    def _close_day(self) -> None:
        """The day's items leave their stores: no later rejection can take them back."""
        orders = self.outcome.orders
        for key, held in self.open.items():
            level = self.levels[key]
            for reservation in held.values():
                item = orders[reservation.order_id].item(reservation.item_id)
                if item is not None and item.state in REJECTABLE:
                    level.ship(item.quantity, f"{reservation.order_id}/{reservation.item_id}")
                    item.state = ItemState.FULFILLED  # the replay's copy: no history to keep
        self.open = {}

    def _show(self, key: Key) -> None:
        """The snapshot made to show a level's ATP and the blocks now on it."""
        level = self.levels.get(key)
        atp = level.available_to_promise if level is not None else 0
        blocks = {key: self.blocks[key]} if key in self.blocks else None
        self.snapshot.add_stock({key: atp}, blocks)

    # Routing and the stores' answers ------------------------------------------------------

    def _handle(self, order_id: str, moment: datetime) -> None:
        waiting = deque([order_id])
        routings = 0
        while waiting and routings < MAX_ROUTINGS_PER_ORDER:
            routings += 1
            current = waiting.popleft()
            for item_id, facility_id in self._route(self.outcome.orders[current], moment):
                order = self.outcome.orders[current]
                item = order.item(item_id)
                if item is None or item.facility_id != facility_id or item.state not in REJECTABLE:
                    continue  # taken along by an earlier rejection of this very routing
                rate = self.stores.rates.rejection_rate(facility_id, item.product_id)
                if self.draws.rejects(rate, current, item_id, facility_id):
                    waiting.extend(self._reject(order, item_id, facility_id, moment))

    def _route(self, order: Order, moment: datetime) -> list[Key]:
        """Place the order's waiting items; answers (item, facility) for each placed."""
        wanted = to_route(order)
        if not wanted.lines:
            return []
        plan = plan_order(wanted, self.rules, self.snapshot)
        ready = {
            i.facility_id: i.shipment_id
            for i in order.items
            if i.state is ItemState.READY and i.facility_id and i.shipment_id
        }
        placed: list[Key] = []
        outcome = self.outcome
        for p in plan.placements:
            item = order.item(p.line.item_id)
            assert item is not None
            facility_id = p.facility_id
            shipment_id = ready.get(facility_id)
            if shipment_id is None:
                self._shipments += 1
                shipment_id = ready[facility_id] = str(self._shipments)
                outcome.shipments_given[(facility_id, moment.date())] += 1
                outcome.distance_km[(order.id, facility_id)] = p.distance_km or 0.0
            key = (facility_id, item.product_id)
            reference = f"{order.id}/{item.item_id}"
            self._level(key).reserve(item.quantity, reference)
            item.assign(order.id, facility_id, shipment_id, moment, BY)
            self.open.setdefault(key, {})[(order.id, item.item_id)] = Reservation(
                order.id, item.item_id, item.quantity, moment
            )
            outcome.placements += 1
            outcome.items_given[facility_id] += 1
            outcome.counts.add(facility_id, item.product_id, 1, 0)
            outcome.first_placement.setdefault((order.id, item.item_id), facility_id)
            placed.append((item.item_id, facility_id))
        for line in plan.unplaced:
            item = order.item(line.item_id)
            assert item is not None
            item.hold(order.id, plan.unplaced_state, BY, plan.note)
        return placed

    def _reject(self, order: Order, item_id: str, facility_id: str, moment: datetime) -> list[str]:
        """The store rejects the item with a reason drawn from its mix; answers the orders
        with items to route again."""
        reasons = self.stores.reasons_at(facility_id)
        reason_id = self.draws.choose(reasons, order.id, item_id, facility_id) if reasons else ""
        reason = self.world.reasons.get(reason_id) or system_reason(reason_id, None)
        item = order.item(item_id)
        assert item is not None and item.shipment_id is not None
        shipment = Shipment(item.shipment_id, order.id, facility_id)
        levels: dict[str, InventoryLevel] = {}
        reservations: dict[str, list[Reservation]] = {}
        while True:
            plan = plan_rejection(
                shipment,
                order,
                item_id,
                reason,
                cascade=self.cascade,
                avoid_split=self.avoid_split,
                partial_rejection=self.world.partial_rejection,
                levels=levels,
                reservations=reservations,
                orders=self.outcome.orders,
                by=BY,
            )
            if plan.complete:
                break
            for product_id in plan.missing_levels:
                levels[product_id] = self._level((facility_id, product_id))
            for product_id in plan.missing_reservations:
                held = self.open.get((facility_id, product_id), {})
                reservations[product_id] = list(held.values())
            if plan.missing_orders:  # every order is in memory: nothing else can be missing
                raise AssertionError(f"orders not replayed: {plan.missing_orders}")
        return self._apply(plan, facility_id, moment)

    def _apply(self, plan: RejectionPlan, facility_id: str, moment: datetime) -> list[str]:
        """What the rejection moved, into the replay's copies and the routing snapshot."""
        outcome = self.outcome
        for level in plan.levels:
            key = (facility_id, level.product_id)
            self.levels[key] = level
        for decline in plan.declines:
            outcome.orders[decline.order.id] = decline.order
        for order in plan.to_route:
            outcome.orders[order.id] = order
        for gone in plan.leaving:
            key = (facility_id, gone.item.product_id)
            self.open.get(key, {}).pop((gone.order_id, gone.item.item_id), None)
            self.snapshot.exclusions.setdefault((gone.order_id, gone.item.item_id), set()).add(
                facility_id
            )
            outcome.counts.add(facility_id, gone.item.product_id, 0, 1)
            if gone.cause is Cause.CHOSEN:
                outcome.rejections += 1
                outcome.rejected_at[facility_id] += 1
            else:
                outcome.taken_along += 1
        for hold in holds_left(plan, self.world.reasons, moment, BY.actor):
            key = (hold.facility_id, hold.product_id)
            self.blocks[key] = [*(b for b in self.blocks.get(key, ()) if b.kind != hold.kind), hold]
            heapq.heappush(self._ends, (hold.until, key))
        for key in {(facility_id, lv.product_id) for lv in plan.levels} | {
            (facility_id, g.item.product_id) for g in plan.leaving
        }:
            self._show(key)
        return [o.id for o in plan.to_route]

    def _level(self, key: Key) -> InventoryLevel:
        level = self.levels.get(key)
        if level is None:
            level = self.levels[key] = InventoryLevel(*key)
        return level
