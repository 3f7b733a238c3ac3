"""What a store sees: its shipments by state, searchable."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from reroute.domain.access import Principal
from reroute.domain.errors import NotFound
from reroute.domain.facilities import Product
from reroute.domain.orders import Order, OrderItem, Shipment, ShipmentState
from reroute.services.context import Context
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
) -> ShipmentPage:
    """`since` keeps shipments changed from then on (a store's Completed list shows today's)."""
    actor.require_facility(facility_id)
    with unit_of_work(ctx.db, write=False) as uow:
        if uow.facilities.get(facility_id) is None:
            raise NotFound(f"No facility {facility_id}.")
        found, total = uow.orders.facility_shipments(
            facility_id, states, text=text, limit=limit, offset=offset, since=since
        )
        return ShipmentPage(_views(uow, found), total)


def get_shipment(ctx: Context, shipment_id: str, actor: Principal) -> ShipmentView:
    with unit_of_work(ctx.db, write=False) as uow:
        shipment = uow.orders.shipment(shipment_id)
        if shipment is None or not actor.can_see_facility(shipment.facility_id):
            raise NotFound(f"No shipment {shipment_id}.")
        return _views(uow, [shipment])[0]


def _views(uow: UnitOfWork, found: list[Shipment]) -> list[ShipmentView]:
    items = uow.orders.items_of_shipments([s.id for s in found])
    orders = uow.orders.get_many([s.order_id for s in found])
    product_ids = [item.product_id for lines in items.values() for _, item in lines]
    products = uow.products.get_many(product_ids)
    return [
        ShipmentView(s, orders[s.order_id], [item for _, item in items[s.id]], products)
        for s in found
    ]
