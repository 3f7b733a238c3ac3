"""Trying a rules document on an existing order before saving it: where each of the order's
items waiting for routing would go now, read only.

It plans with live routing's own pieces (the order as routing sees it, the stock view, the
engine's `plan_order`), on what the database holds now, but takes no lock and reserves nothing:
one read-only transaction, nothing written.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from reroute.domain.access import Principal, Role
from reroute.domain.errors import NotFound
from reroute.domain.orders import ROUTABLE, ItemState, OrderItem
from reroute.domain.routing.engine import plan_order
from reroute.domain.routing.order_view import to_route
from reroute.domain.routing.rules import parse_rules
from reroute.services.context import Context
from reroute.services.facility_cache import facilities
from reroute.services.reference import reference
from reroute.services.stock_view import StockView, acceptance, costs_of
from reroute.storage.unit_of_work import unit_of_work


@dataclass(frozen=True)
class TriedItem:
    item_id: str
    product_id: str
    product_name: str
    quantity: int
    #: Where it would go; None when no facility would take it (then `state` says what then).
    facility_id: str | None
    facility_name: str | None
    distance_km: float | None
    rule: str | None
    state: ItemState


@dataclass(frozen=True)
class DryRun:
    order_id: str
    #: The routing whose order filter matched the order (None: none did).
    routing: str | None
    items: list[TriedItem]
    #: Items not waiting for routing (already at a facility, fulfilled, canceled...): untouched.
    others: list[OrderItem]
    note: str


def try_rules(ctx: Context, document: Any, order_id: str, actor: Principal) -> DryRun:
    """Plan `order_id`'s queued and backordered items with `document` (checked as a save
    would check it: raises `Invalid` listing every bad path). Writes nothing."""
    actor.require_role(Role.ADMIN)
    with unit_of_work(ctx.db, write=False) as uow:
        rules = parse_rules(document, {f.id for f in uow.facilities.list()})
        order = uow.orders.get(order_id)
        if order is None:
            raise NotFound(f"No order {order_id}.")
        others = [i for i in order.items if i.state not in ROUTABLE]
        wanted = to_route(order)
        routing = rules.routing_for(order.shipping_method, order.catalog_id, order.priority)
        if not wanted.lines:
            return DryRun(order.id, routing.name if routing else None, [], others, "")
        known = facilities(ctx, uow)
        view = StockView(known.sites)
        snapshot = view.refresh(
            uow,
            [wanted],
            acceptance(ctx, uow, rules),
            costs=costs_of(reference(ctx, uow).settings),
        )
        plan = plan_order(wanted, rules, snapshot)
        products = uow.products.get_many([line.product_id for line in wanted.lines])
    items = []
    for placement in plan.placements:
        line, facility = placement.line, known.by_id.get(placement.facility_id)
        product = products.get(line.product_id)
        items.append(
            TriedItem(
                line.item_id,
                line.product_id,
                product.name if product else line.product_id,
                line.quantity,
                placement.facility_id,
                facility.name if facility else placement.facility_id,
                placement.distance_km,
                placement.rule,
                ItemState.READY,
            )
        )
    for line in plan.unplaced:
        product = products.get(line.product_id)
        name = product.name if product else line.product_id
        items.append(
            TriedItem(
                line.item_id,
                line.product_id,
                name,
                line.quantity,
                None,
                None,
                None,
                None,
                plan.unplaced_state,
            )
        )
    return DryRun(order.id, routing.name if routing else None, items, others, plan.note)
