"""What a store sees: its shipments by state, searchable."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from reroute.domain.access import STORE_ROLES, Principal, absent
from reroute.domain.errors import NotFound
from reroute.domain.facilities import Product
from reroute.domain.orders import Order, OrderItem, Shipment, ShipmentState
from reroute.services.context import Context
from reroute.services.orders import order_seen_by
from reroute.storage.unit_of_work import UnitOfWork, unit_of_work


@dataclass
class ShipmentView:
    shipment: Shipment
    order: Order
    items: list[OrderItem]
    products: dict[str, Product]


@dataclass
class ShipmentPage:
    shipments: list[ShipmentView]
    total: int


def store_list(
    ctx: Context,
    facility_id: str,
    states: list[ShipmentState],
    actor: Principal,
    *,
    text: str | None = None,
    limit: int = 50,
    offset: int = 0,
    since: datetime | None = None,
    below: int | None = None,
) -> ShipmentPage:
    """`since` keeps shipments changed from then on (a store's Completed list shows today's);
    `below`, those older than a shipment id (a cursor's key)."""
    actor.require_facility(facility_id, "list shipments")
    with unit_of_work(ctx.db, write=False) as uow:
        if uow.facilities.get(facility_id) is None:
            raise NotFound(f"No facility {facility_id}.")
        found, total = uow.orders.facility_shipments(
            facility_id, states, text=text, limit=limit, offset=offset, since=since, below=below
        )
        return ShipmentPage(_views(uow, found, actor), total)


def get_shipment(ctx: Context, shipment_id: str, actor: Principal) -> ShipmentView:
    with unit_of_work(ctx.db, write=False) as uow:
        shipment = find_shipment(uow, shipment_id, actor, "read shipment")
        return _views(uow, [shipment], actor)[0]


def find_shipment(
    uow: UnitOfWork, shipment_id: str, actor: Principal, action: str, *, lock: bool = False
) -> Shipment:
    """The shipment, if the caller may see it: one at another facility is as absent (404)."""
    shipment = uow.orders.shipment(shipment_id, lock=lock)
    if shipment is None:
        raise NotFound(absent("shipment", shipment_id))
    actor.require_in_scope([shipment.facility_id], "shipment", shipment_id, action)
    return shipment


def find_shipment_and_order(
    uow: UnitOfWork, shipment_id: str, actor: Principal, action: str, *, lock: bool = False
) -> tuple[Shipment, Order]:
    """`find_shipment` and the shipment's order, read (and locked) together."""
    found = uow.orders.shipment_and_order(shipment_id, lock=lock)
    if found is None:
        raise NotFound(absent("shipment", shipment_id))
    actor.require_in_scope([found[0].facility_id], "shipment", shipment_id, action)
    return found


def require_store_action(ctx: Context, shipment_id: str, actor: Principal, action: str) -> None:
    """Role, then scope, read before a store action whose own checks come later (a rejection):
    nothing is locked or written for a caller who may not act on this shipment."""
    actor.require_role(*STORE_ROLES, action=action, target=f"shipment {shipment_id}")
    with unit_of_work(ctx.db, write=False) as uow:
        find_shipment(uow, shipment_id, actor, action)


def _views(uow: UnitOfWork, found: list[Shipment], actor: Principal) -> list[ShipmentView]:
    items = uow.orders.items_of_shipments([s.id for s in found])
    orders = uow.orders.get_many([s.order_id for s in found])
    product_ids = [item.product_id for lines in items.values() for _, item in lines]
    products = uow.products.get_many(product_ids)
    return [
        ShipmentView(
            s,
            order_seen_by(orders[s.order_id], actor),
            [item for _, item in items[s.id]],
            products,
        )
        for s in found
    ]
