"""The plan of one rejection: which items leave the store and why, and everything that follows
from it (SPEC section 4). What each reason does to the counters is `domain.reasons`.

Pure decisions. The rejection service (and the confirmation page's preview) loads what the plan
asks for, calls `plan_rejection` again until nothing is missing, then applies the plan.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum

from reroute.domain.blocks import Block, hold_after
from reroute.domain.errors import Conflict, Invalid, NotFound
from reroute.domain.inventory import InventoryLevel, LedgerEntry
from reroute.domain.orders import (
    REJECTABLE,
    By,
    HistoryEntry,
    ItemState,
    Order,
    OrderItem,
    Shipment,
    ShipmentState,
    ShippingMethod,
)
from reroute.domain.reasons import (
    Reason,
    apply_effect,
)


@dataclass(frozen=True)
class Reservation:
    """An open item holding stock at the rejecting facility, as listed before its order was
    read: the order, once loaded, has the last word."""

    order_id: str
    item_id: str
    quantity: int
    reserved_at: datetime


def shortage_victims(reservations: Sequence[Reservation], shortfall: int) -> list[Reservation]:
    """The newest reservations whose release brings ATP back to 0 or more."""
    taken: list[Reservation] = []
    freed = 0
    for reservation in sorted(
        reservations, key=lambda r: (r.reserved_at, r.order_id, r.item_id), reverse=True
    ):
        if freed >= shortfall:
            break
        taken.append(reservation)
        freed += reservation.quantity
    return taken


#: The longest comment a rejection keeps, on the pages and in the API alike.
MAX_COMMENT = 1_000

#: What the associate rejects: one item id, several (the items marked on a shipment), or
#: None for the whole shipment.
Choice = str | Collection[str] | None


def marked_ids(choice: Choice) -> tuple[str, ...] | None:
    """The chosen item ids in the order given, each once; None for the whole shipment."""
    if choice is None:
        return None
    ids = (choice,) if isinstance(choice, str) else tuple(dict.fromkeys(choice))
    if not ids:
        raise Invalid("Mark at least one item to reject.")
    return ids


def chosen_items(order: Order, shipment: Shipment, item_ids: Choice) -> list[OrderItem]:
    """What the associate rejects: the items named, or every open item of the shipment (None).
    Any one named item not open in this shipment refuses the whole choice."""
    ids = marked_ids(item_ids)
    if ids is None:
        items = [i for i in order.items if i.shipment_id == shipment.id and i.state in REJECTABLE]
        if not items:
            raise Conflict(
                f"Shipment {shipment.id} has nothing left to reject (it is {shipment.state})."
            )
        return items
    return [_chosen_item(order, shipment, item_id) for item_id in ids]


def is_whole_shipment(order: Order, shipment: Shipment, item_ids: Choice) -> bool:
    """A rejection of the whole shipment: None, or several marked items that are every open
    item of it (one item named alone is always an item's rejection)."""
    if item_ids is None:
        return True
    if isinstance(item_ids, str):
        return False
    open_ids = {i.item_id for i in order.items if i.shipment_id == shipment.id}
    open_ids &= {i.item_id for i in order.items if i.state in REJECTABLE}
    return bool(open_ids) and set(item_ids) == open_ids


def _chosen_item(order: Order, shipment: Shipment, item_id: str) -> OrderItem:
    item = order.item(item_id)
    if item is None:
        raise NotFound(f"Order {order.id} has no item {item_id}.")
    if item.shipment_id != shipment.id:
        raise Conflict(
            f"Item {item_id} is no longer in shipment {shipment.id} (it is {item.state}); "
            "nothing was changed."
        )
    if item.state not in REJECTABLE:
        raise Conflict(
            f"Item {item_id} is {item.state}: only ready or in-progress items can be rejected."
        )
    return item


# The plan -------------------------------------------------------------------------------------


class Cause(StrEnum):
    """Why an item leaves the store."""

    CHOSEN = "chosen"  # the associate rejected it (or its whole shipment)
    REST_OF_SHIPMENT = "rest_of_shipment"  # its shipment never splits (AVOID_SPLIT)
    CASCADE = "cascade"  # a cascading reason on its product here (CASCADE)
    SHORTAGE = "shortage"  # among the newest reservations while ATP is below 0 (CASCADE)


@dataclass(frozen=True)
class Leaving:
    """One item that leaves the rejecting store."""

    order_id: str
    #: The item as the plan leaves it (queued, or customer care for a pickup order).
    item: OrderItem
    #: The shipment it left.
    shipment_id: str
    reason: Reason
    cause: Cause

    @property
    def cascaded(self) -> bool:
        return self.cause is not Cause.CHOSEN

    @property
    def reason_id(self) -> str | None:
        return self.reason.id or None


@dataclass(frozen=True)
class RejectionRecord:
    order_id: str
    item_id: str
    shipment_id: str
    facility_id: str
    product_id: str
    quantity: int
    reason_id: str | None
    comment: str | None
    cascaded: bool
    actor: str
    request_id: str | None


@dataclass(frozen=True)
class Exclusion:
    """Routing never sends this item back to this facility."""

    order_id: str
    item_id: str
    facility_id: str


@dataclass(frozen=True)
class DeclineLine:
    item: OrderItem
    shipment_id: str
    #: The line's own decline code and description.
    reason: tuple[str, str]


@dataclass(frozen=True)
class Decline:
    """One Store Decline: a shipment that lost items, with the lines it lost."""

    order: Order
    facility_id: str
    shipment_id: str
    lines: list[DeclineLine]
    #: The one decline of a whole-shipment rejection (None when one item was rejected).
    whole_shipment_reason: tuple[str, str] | None
    #: The rejecting facility's QOH of each product after the rejection.
    availability: dict[str, int]

    @property
    def whole_shipment(self) -> bool:
        return self.whole_shipment_reason is not None


@dataclass
class RejectionPlan:
    """Everything one rejection does, or what must be loaded before it can be decided."""

    facility_id: str
    #: Orders whose items the plan must judge, to be read (locked) and planned again.
    missing_orders: list[str] = field(default_factory=list)
    #: Products whose level at the facility the plan needs.
    missing_levels: list[str] = field(default_factory=list)
    #: Products whose other open reservations at the facility the plan needs.
    missing_reservations: list[str] = field(default_factory=list)
    leaving: list[Leaving] = field(default_factory=list)
    #: The levels the rejection moved, as it leaves them (new objects), in key order.
    levels: list[InventoryLevel] = field(default_factory=list)
    entries: list[LedgerEntry] = field(default_factory=list)
    records: list[RejectionRecord] = field(default_factory=list)
    exclusions: list[Exclusion] = field(default_factory=list)
    history: list[HistoryEntry] = field(default_factory=list)
    #: The items that left, as (order id, item), to be saved.
    items: list[tuple[str, OrderItem]] = field(default_factory=list)
    #: Each shipment items left, in its new state.
    shipments: list[Shipment] = field(default_factory=list)
    declines: list[Decline] = field(default_factory=list)
    #: Orders with items waiting for routing now, as the plan leaves them.
    to_route: list[Order] = field(default_factory=list)
    #: The chosen items' products, first first.
    products: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not (self.missing_orders or self.missing_levels or self.missing_reservations)

    def level(self, product_id: str) -> InventoryLevel:
        return next(lv for lv in self.levels if lv.product_id == product_id)


def plan_rejection(
    shipment: Shipment,
    order: Order,
    item_id: Choice,
    reason: Reason,
    *,
    cascade: Reason,
    avoid_split: Reason,
    partial_rejection: bool,
    levels: Mapping[str, InventoryLevel],
    reservations: Mapping[str, Sequence[Reservation]],
    orders: Mapping[str, Order],
    by: By,
    comment: str | None = None,
) -> RejectionPlan:
    """Reject one item (`item_id`), several marked items (a collection of ids: all of them or
    none), or the whole shipment (None) at the shipment's facility.

    `levels` are the facility's levels by product, `reservations` the open items of a product
    there by product, `orders` the orders read for those reservations (with `order` itself).
    None of them is changed. A plan that names what is missing is to be asked again once that
    is loaded; reservations whose order is loaded are judged by that order's item.
    """
    planner = _Planner(
        shipment, order, cascade, avoid_split, partial_rejection, levels, reservations, orders
    )
    try:
        chosen = planner.run(item_id, reason)
    except _Missing as missing:
        return RejectionPlan(
            shipment.facility_id,
            missing_orders=sorted(missing.orders),
            missing_levels=sorted(missing.levels),
            missing_reservations=sorted(missing.reservations),
        )
    whole = is_whole_shipment(order, shipment, item_id)
    return planner.plan(chosen, whole_shipment=reason if whole else None, by=by, comment=comment)


class _Missing(Exception):
    """What the planner found not loaded: a signal inside it, never seen outside."""

    def __init__(
        self,
        *,
        orders: Iterable[str] = (),
        levels: Iterable[str] = (),
        reservations: Iterable[str] = (),
    ) -> None:
        super().__init__()
        self.orders, self.levels, self.reservations = set(orders), set(levels), set(reservations)


@dataclass
class _Target:
    order: Order
    item: OrderItem
    reason: Reason
    cause: Cause
    #: The shipment the item leaves.
    shipment_id: str


class _Planner:
    """One rejection worked out on copies of the levels: the same steps as the SPEC, in order,
    stopping at the first thing not loaded."""

    def __init__(
        self,
        shipment: Shipment,
        order: Order,
        cascade: Reason,
        avoid_split: Reason,
        partial_rejection: bool,
        levels: Mapping[str, InventoryLevel],
        reservations: Mapping[str, Sequence[Reservation]],
        orders: Mapping[str, Order],
    ) -> None:
        self.shipment = shipment
        self.facility_id = shipment.facility_id
        self.order = order
        self.cascade = cascade
        self.avoid_split = avoid_split
        self.partial_rejection = partial_rejection
        self.loaded_levels = levels
        self.levels: dict[str, InventoryLevel] = {}
        self.reservations = reservations
        # Read only: those loaded with the rejecting order, copied only when it is not among
        # them (a replay holds every order already).
        self.orders: Mapping[str, Order] = (
            orders if orders.get(order.id) is order else {**orders, order.id: order}
        )
        #: Orders consulted, in the order they were: the rejecting one first.
        self.consulted: dict[str, Order] = {order.id: order}
        self.targets: dict[tuple[str, str], _Target] = {}
        self.entries: list[LedgerEntry] = []

    # Steps ----------------------------------------------------------------------------------

    def run(self, item_id: Choice, reason: Reason) -> list[OrderItem]:
        chosen = chosen_items(self.order, self.shipment, item_id)
        touched = {i.product_id for i in chosen}
        if item_id is not None:
            touched |= self._rest_of_shipment_products(self.order, self.shipment.id)
        self._require_levels(touched)
        for item in chosen:
            self._take(self.order, item, reason, Cause.CHOSEN)
        if item_id is not None:
            self._take_rest_of_shipment(self.order, self.shipment.id)
        self._effects_and_cascades(self.order.id, reason, chosen)
        return chosen

    def _effects_and_cascades(self, order_id: str, reason: Reason, chosen: list[OrderItem]) -> None:
        """The reason's effect on each product, then the same product's other open items:
        all of them for a cascading reason, else the newest while ATP is below 0."""
        quantities: dict[str, int] = defaultdict(int)
        for item in chosen:
            quantities[item.product_id] += item.quantity
        reference = f"{order_id}/{chosen[0].item_id}"
        for product_id, quantity in quantities.items():
            level = self._level(product_id)
            if reason.cascade:
                self._take_open(self._open(product_id), Cause.CASCADE)
            entry = apply_effect(level, reason.inventory_effect, quantity, reference)
            if entry is not None:
                self.entries.append(entry)
            # Again while a victim turned out no longer open (its order showed it), until ATP
            # is back to 0 or nothing more is there to take.
            while level.available_to_promise < 0:
                victims = shortage_victims(self._open(product_id), -level.available_to_promise)
                if not self._take_open(victims, Cause.SHORTAGE):
                    break

    def _open(self, product_id: str) -> list[Reservation]:
        """The product's other open items at the facility, not yet taken, each judged by its
        order where that is loaded."""
        listed = self.reservations.get(product_id)
        if listed is None:
            raise _Missing(reservations=[product_id])
        found: list[Reservation] = []
        for r in listed:
            if (r.order_id, r.item_id) in self.targets:
                continue
            order = self.orders.get(r.order_id)
            if order is None:
                found.append(r)
                continue
            item = order.item(r.item_id)
            if item is not None and self._rejectable(item) and item.product_id == product_id:
                found.append(replace(r, quantity=item.quantity))
        return found

    def _take_open(self, reservations: list[Reservation], cause: Cause) -> int:
        """Take these items along, each with the rest of its shipment where that never
        splits; an item no longer open in its order is left where it is."""
        unread = {r.order_id for r in reservations if r.order_id not in self.orders}
        if unread:
            raise _Missing(orders=unread)
        for order_id in sorted({r.order_id for r in reservations}):
            self.consulted.setdefault(order_id, self.orders[order_id])
        pairs = [
            (self.orders[r.order_id], self.orders[r.order_id].item(r.item_id)) for r in reservations
        ]
        touched: set[str] = set()
        for order, item in pairs:
            if item is not None and self._rejectable(item):
                assert item.shipment_id is not None
                touched.add(item.product_id)
                touched |= self._rest_of_shipment_products(order, item.shipment_id)
        self._require_levels(touched)
        taken = 0
        for order, item in pairs:
            if item is not None and self._take(order, item, self.cascade, cause):
                assert item.shipment_id is not None
                self._take_rest_of_shipment(order, item.shipment_id)
                taken += 1
        return taken

    def _leaves_whole(self, order: Order) -> bool:
        """Ship-complete orders, and every order while partial rejection is off, never split."""
        return order.ship_complete or not self.partial_rejection

    def _rest_of_shipment(self, order: Order, shipment_id: str) -> list[OrderItem]:
        if not self._leaves_whole(order):
            return []
        return [i for i in order.items if i.shipment_id == shipment_id and self._rejectable(i)]

    def _rest_of_shipment_products(self, order: Order, shipment_id: str) -> set[str]:
        return {i.product_id for i in self._rest_of_shipment(order, shipment_id)}

    def _take_rest_of_shipment(self, order: Order, shipment_id: str) -> None:
        for other in self._rest_of_shipment(order, shipment_id):
            self._take(order, other, self.avoid_split, Cause.REST_OF_SHIPMENT)

    def _rejectable(self, item: OrderItem) -> bool:
        return item.state in REJECTABLE and item.facility_id == self.facility_id

    def _take(self, order: Order, item: OrderItem, reason: Reason, cause: Cause) -> bool:
        key = (order.id, item.item_id)
        if key in self.targets or not self._rejectable(item):
            return False
        assert item.shipment_id is not None
        level = self._level(item.product_id)
        self.targets[key] = _Target(order, item, reason, cause, item.shipment_id)
        self.entries.append(level.release(item.quantity, "/".join(key)))
        return True

    # Levels: copies of what was loaded, so that planning again starts from the same counters.

    def _require_levels(self, products: Iterable[str]) -> None:
        absent = {p for p in products if p not in self.loaded_levels}
        if absent:
            raise _Missing(levels=absent)

    def _level(self, product_id: str) -> InventoryLevel:
        if product_id not in self.levels:
            self._require_levels([product_id])
            self.levels[product_id] = replace(self.loaded_levels[product_id])
        return self.levels[product_id]

    # The plan -------------------------------------------------------------------------------

    def plan(
        self,
        chosen: list[OrderItem],
        *,
        whole_shipment: Reason | None,
        by: By,
        comment: str | None,
    ) -> RejectionPlan:
        plan = RejectionPlan(
            self.facility_id,
            levels=[self.levels[p] for p in sorted(self.levels)],
            entries=self.entries,
            products=list(dict.fromkeys(i.product_id for i in chosen)),
        )
        after: dict[str, Order] = {}
        by_shipment: dict[str, list[Leaving]] = {}
        for (order_id, item_id), target in self.targets.items():
            if order_id not in after:
                after[order_id] = _copy(target.order)
            order = after[order_id]
            item = order.item(item_id)
            assert item is not None
            pickup = order.shipping_method is ShippingMethod.PICKUP
            plan.history.append(
                item.reject(order_id, pickup, by, target.reason.id or None, comment)
            )
            gone = Leaving(order_id, item, target.shipment_id, target.reason, target.cause)
            plan.leaving.append(gone)
            plan.items.append((order_id, item))
            plan.exclusions.append(Exclusion(order_id, item_id, self.facility_id))
            plan.records.append(
                RejectionRecord(
                    order_id,
                    item_id,
                    target.shipment_id,
                    self.facility_id,
                    item.product_id,
                    item.quantity,
                    gone.reason_id,
                    comment if not gone.cascaded else None,
                    gone.cascaded,
                    by.actor,
                    by.request_id,
                )
            )
            by_shipment.setdefault(target.shipment_id, []).append(gone)
        for shipment_id, gone_items in by_shipment.items():
            order = after[gone_items[0].order_id]
            shipment = (
                replace(self.shipment)
                if shipment_id == self.shipment.id
                else Shipment(shipment_id, order.id, self.facility_id)
            )
            shipment.follow(order.items, ShipmentState.DECLINED)
            plan.shipments.append(shipment)
            whole = whole_shipment if shipment_id == self.shipment.id else None
            plan.declines.append(
                Decline(
                    order,
                    self.facility_id,
                    shipment_id,
                    [DeclineLine(g.item, shipment_id, g.reason.decline) for g in gone_items],
                    whole.decline if whole is not None else None,
                    {
                        g.item.product_id: self.levels[g.item.product_id].quantity_on_hand
                        for g in gone_items
                    },
                )
            )
        plan.to_route = [
            o
            for o in (after.get(order_id, order) for order_id, order in self.consulted.items())
            if any(i.state is ItemState.QUEUED for i in o.items)
        ]
        return plan


def _copy(order: Order) -> Order:
    """The order with its own items, for the plan to move."""
    return replace(order, items=[replace(i) for i in order.items])


def holds_left(
    plan: RejectionPlan, reasons: Mapping[str, Reason], now: datetime, actor: str
) -> list[Block]:
    """The holds a rejection leaves: its reason's `hold_hours` on each product it rejected
    (not on those a cascade took along: the reason was not said of them)."""
    found: dict[str, Block] = {}
    for record in plan.records:
        reason = reasons.get(record.reason_id or "")
        if record.cascaded or reason is None or not reason.hold_hours:
            continue
        found[record.product_id] = hold_after(
            record.facility_id, record.product_id, reason.id, reason.hold_hours, now, actor
        )
    return list(found.values())
