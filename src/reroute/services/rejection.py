"""Rejecting an item or a whole shipment at a store (SPEC section 4), in one transaction:
release, the reason's inventory effect, the cascade, the records, and the re-route at once.

The rejecting facility's inventory rows are locked before anything is decided, so two
rejections, or a rejection and an order creation, on one product at one store serialise there.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from dataclasses import dataclass, field

from reroute.domain.access import STORE_ROLES, Principal
from reroute.domain.errors import Conflict, FieldError, Invalid, NotFound
from reroute.domain.inventory import InventoryLevel, LedgerEntry
from reroute.domain.orders import (
    REJECTABLE,
    HistoryEntry,
    ItemState,
    Order,
    OrderItem,
    Shipment,
    ShipmentState,
    ShippingMethod,
    shipment_state,
)
from reroute.domain.rejection import (
    AVOID_SPLIT,
    CASCADE,
    NO_REASON,
    Reason,
    Reservation,
    apply_effect,
    shortage_victims,
)
from reroute.services.context import Context
from reroute.services.notify import Line as NotifiedLine
from reroute.services.notify import Notifier
from reroute.services.routing import Routed, route_orders
from reroute.services.shipments import find_shipment
from reroute.storage.repositories.rejections import OpenItem, RejectionRecord
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


@dataclass
class _Target:
    order: Order
    item: OrderItem
    reason: Reason
    cascaded: bool
    #: The shipment the item was rejected from (the item itself no longer names it).
    shipment_id: str = ""


@dataclass
class _Rejection:
    """One rejection being worked out inside its transaction."""

    uow: UnitOfWork
    ctx: Context
    actor: Principal
    request_id: str | None
    comment: str | None
    shipment: Shipment
    targets: dict[tuple[str, str], _Target] = field(default_factory=dict)
    orders: dict[str, Order] = field(default_factory=dict)
    levels: dict[tuple[str, str], InventoryLevel] = field(default_factory=dict)
    entries: list[LedgerEntry] = field(default_factory=list)
    #: The reason of a whole-shipment rejection (None when one item was rejected).
    whole_shipment_reason: Reason | None = None

    @property
    def facility_id(self) -> str:
        return self.shipment.facility_id

    def level(self, product_id: str) -> InventoryLevel:
        key = (self.facility_id, product_id)
        if key not in self.levels:
            self.levels.update(self.uow.inventory.get_many([key], lock=True))
        return self.levels[key]

    def take(self, order: Order, item: OrderItem, reason: Reason, cascaded: bool) -> bool:
        key = (order.id, item.item_id)
        if (
            key in self.targets
            or item.state not in REJECTABLE
            or item.facility_id != self.facility_id
        ):
            return False
        self.targets[key] = _Target(order, item, reason, cascaded)
        self.orders[order.id] = order
        self.entries.append(self.level(item.product_id).release(item.quantity, "/".join(key)))
        return True

    def take_rest_of_shipment(self, order: Order, shipment_id: str) -> None:
        """Ship-complete orders, and every order while partial rejection is off, leave whole."""
        if not (order.ship_complete or not self.partial_rejection):
            return
        for other in order.items:
            if other.shipment_id == shipment_id and other.facility_id == self.facility_id:
                self.take(order, other, self.avoid_split, cascaded=True)

    @functools.cached_property
    def partial_rejection(self) -> bool:
        return self.ctx.settings(self.uow).partial_rejection

    @functools.cached_property
    def avoid_split(self) -> Reason:
        return _system_reason(self.uow, AVOID_SPLIT)


def _system_reason(uow: UnitOfWork, reason_id: str) -> Reason:
    reason = uow.rejections.reason(reason_id)
    return reason or Reason(
        reason_id,
        reason_id,
        NO_REASON.inventory_effect,
        False,
        "101",
        NO_REASON.decline_description,
    )


def _reason(uow: UnitOfWork, reason_id: str | None) -> Reason:
    if reason_id is None:
        return NO_REASON
    reason = uow.rejections.reason(reason_id)
    if reason is None or not reason.active:
        state = "unknown" if reason is None else "inactive"
        raise Invalid(
            f"Rejection reason {reason_id} is {state}.",
            [FieldError("reason_id", f"Use one of the active reasons ({state}: {reason_id}).")],
        )
    return reason


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


def _reject(
    ctx: Context,
    shipment_id: str,
    item_id: str | None,
    reason_id: str | None,
    comment: str | None,
    actor: Principal,
    request_id: str | None,
) -> RejectionResult:
    action = "reject item" if item_id is not None else "reject shipment"
    actor.require_role(*STORE_ROLES, action=action, target=f"shipment {shipment_id}")

    def work(uow: UnitOfWork) -> RejectionResult:
        _lock_levels_first(uow, find_shipment(uow, shipment_id, actor, action))
        shipment = find_shipment(uow, shipment_id, actor, action, lock=True)
        order = uow.orders.get(shipment.order_id, lock=True)
        assert order is not None
        reason = _reason(uow, reason_id)
        chosen = _chosen_items(order, shipment, item_id)
        job = _Rejection(uow, ctx, actor, request_id, comment, shipment)
        if item_id is None:
            job.whole_shipment_reason = reason
        for item in chosen:
            job.take(order, item, reason, cascaded=False)
        if item_id is not None:
            job.take_rest_of_shipment(order, shipment.id)
        _effects_and_cascades(job, reason, chosen)
        return _finish(job, [i.product_id for i in chosen])

    return transact(ctx.db, work)


def _lock_levels_first(uow: UnitOfWork, shipment: Shipment) -> None:
    """Lock the rejecting facility's levels of the shipment's products before the shipment and
    order rows. A rejection holding a level cascades into other shipments there; were their
    own rejections to hold those shipments while waiting for the level, each would wait for
    the other (a PostgreSQL deadlock, again on every retry under load). So every rejection at
    a facility queues on the level first, holding nothing else. (SQLite has one writer.)"""
    if not uow.postgres:
        return
    items = uow.orders.items_of_shipments([shipment.id])[shipment.id]
    keys = {(shipment.facility_id, item.product_id) for _, item in items}
    uow.inventory.get_many(keys, lock=True)


def _chosen_items(order: Order, shipment: Shipment, item_id: str | None) -> list[OrderItem]:
    if item_id is None:
        items = [i for i in order.items if i.shipment_id == shipment.id and i.state in REJECTABLE]
        if not items:
            raise Conflict(
                f"Shipment {shipment.id} has nothing left to reject (it is {shipment.state})."
            )
        return items
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
    return [item]


def _effects_and_cascades(job: _Rejection, reason: Reason, chosen: list[OrderItem]) -> None:
    """The reason's effect on each product, then the same product's other open items:
    all of them for a cascading reason, else the newest while ATP is below 0."""
    quantities: dict[str, int] = defaultdict(int)
    for item in chosen:
        quantities[item.product_id] += item.quantity
    cascade = _system_reason(job.uow, CASCADE)
    for product_id, quantity in quantities.items():
        level = job.level(product_id)
        if reason.cascade:
            _take_open(job, [(o.order_id, o.item_id) for o in _open(job, product_id)], cascade)
        reference = f"{job.shipment.order_id}/{chosen[0].item_id}"
        entry = apply_effect(level, reason.inventory_effect, quantity, reference)
        if entry is not None:
            job.entries.append(entry)
        # Only a shortage needs the other reservations; again while an item the victims were
        # chosen from turned out packed meanwhile (its lock showed it), until ATP is back.
        while level.available_to_promise < 0:
            open_items = _open(job, product_id)
            victims = shortage_victims(
                [Reservation(o.order_id, o.item_id, o.quantity, o.reserved_at) for o in open_items],
                -level.available_to_promise,
            )
            if not _take_open(job, [(v.order_id, v.item_id) for v in victims], cascade):
                break


def _open(job: _Rejection, product_id: str) -> list[OpenItem]:
    """The product's other open items at the rejecting facility, not yet taken."""
    return [
        o
        for o in job.uow.rejections.open_items(job.facility_id, product_id, lock=False)
        if (o.order_id, o.item_id) not in job.targets
    ]


def _take_open(job: _Rejection, keys: list[tuple[str, str]], cascade: Reason) -> int:
    """Take these items along, deciding on what their orders' locks show: an item packed,
    canceled or moved meanwhile is left where it is."""
    missing = sorted({order_id for order_id, _ in keys} - job.orders.keys())
    job.orders.update(job.uow.orders.get_many(missing, lock=True))
    taken = 0
    for order_id, item_id in keys:
        order = job.orders.get(order_id)
        item = order.item(item_id) if order is not None else None
        if order is not None and item is not None and job.take(order, item, cascade, True):
            assert item.shipment_id is not None
            job.take_rest_of_shipment(order, item.shipment_id)
            taken += 1
    return taken


def _finish(job: _Rejection, products: list[str]) -> RejectionResult:
    uow, now = job.uow, job.uow.now
    history: list[HistoryEntry] = []
    records: list[RejectionRecord] = []
    rejected: list[Rejected] = []
    touched_shipments: dict[str, str] = {}
    changed: list[tuple[str, OrderItem]] = []
    for (order_id, item_id), target in job.targets.items():
        item, order = target.item, target.order
        shipment_id, before = item.shipment_id, item.state
        assert shipment_id is not None
        pickup = order.shipping_method is ShippingMethod.PICKUP
        item.state = ItemState.CUSTOMER_CARE if pickup else ItemState.QUEUED
        item.facility_id = item.shipment_id = item.reserved_at = None
        changed.append((order_id, item))
        touched_shipments[shipment_id] = order_id
        uow.routing.exclude(order_id, item_id, job.facility_id, now)
        target.shipment_id = shipment_id
        reason_id = target.reason.id or None
        records.append(
            RejectionRecord(
                order_id,
                item_id,
                shipment_id,
                job.facility_id,
                item.product_id,
                item.quantity,
                reason_id,
                job.comment if not target.cascaded else None,
                target.cascaded,
                job.actor.id,
                job.request_id,
            )
        )
        history.append(
            HistoryEntry(
                order_id,
                "rejected",
                item_id=item_id,
                shipment_id=shipment_id,
                from_state=str(before),
                to_state=str(item.state),
                facility_id=job.facility_id,
                reason_id=reason_id,
                actor=job.actor.id,
                request_id=job.request_id,
                note=job.comment,
            )
        )
        rejected.append(
            Rejected(
                order_id,
                item_id,
                shipment_id,
                job.facility_id,
                reason_id,
                target.cascaded,
                item.state,
            )
        )
    uow.orders.save_items_of_many(changed, now)
    for shipment_id, order_id in touched_shipments.items():
        order = job.orders[order_id]
        left = [i.state for i in order.items if i.shipment_id == shipment_id]
        state = shipment_state(left, ShipmentState.DECLINED)
        uow.orders.set_shipment_state(shipment_id, state, now)
    touched = sorted(job.levels)
    uow.inventory.save_many([job.levels[k] for k in touched], job.entries, now)
    uow.rejections.record(records, now)
    uow.orders.record(history, now)
    uow.routing.count_day(now.date(), {job.facility_id: (0, 0, len(records))})
    notifier = Notifier(job.ctx, uow)
    _declines(job, notifier, touched_shipments)
    waiting = [o for o in job.orders.values() if any(i.state is ItemState.QUEUED for i in o.items)]
    routed = route_orders(
        job.ctx, uow, waiting, actor=job.actor.id, request_id=job.request_id, notifier=notifier
    )
    notifier.flush()
    routed_keys = {(r.order_id, r.item_id) for r in routed}
    for r in rejected:  # items that did not go back to routing (customer care) say so too
        if (r.order_id, r.item_id) not in routed_keys:
            routed.append(Routed(r.order_id, r.item_id, r.state, None, None))
    order_of_products = list(dict.fromkeys(products))
    levels = [job.level(p) for p in order_of_products]  # final: routing never comes back here
    return RejectionResult(rejected, routed, levels)


def _declines(job: _Rejection, notifier: Notifier, shipments: dict[str, str]) -> None:
    """One Store Decline per shipment that lost items, with the lines it lost."""
    by_shipment: dict[str, list[_Target]] = defaultdict(list)
    for target in job.targets.values():
        by_shipment[target.shipment_id].append(target)
    for shipment_id, order_id in shipments.items():
        targets = by_shipment[shipment_id]
        whole = job.whole_shipment_reason if shipment_id == job.shipment.id else None
        notifier.decline(
            job.orders[order_id],
            job.facility_id,
            [
                NotifiedLine(
                    t.item, shipment_id, (t.reason.decline_code, t.reason.decline_description)
                )
                for t in targets
            ],
            whole_shipment=whole is not None,
            whole_shipment_reason=(whole.decline_code, whole.decline_description)
            if whole
            else None,
            availability={
                t.item.product_id: job.levels[(job.facility_id, t.item.product_id)].quantity_on_hand
                for t in targets
            },
        )
