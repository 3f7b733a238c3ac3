"""Orders to sync: the list an integration polls by update time, page by page.

Every transaction that changes an order stamps its `updated_at` last, from a clock it holds
until COMMIT (`storage.repositories.order_list.SyncClock`), so update times are unique per
transaction and grow in commit order. A poll that reads on from the last time it saw (and the
cursor within a poll) therefore never misses a change nor sees one twice."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from reroute.domain.access import Principal
from reroute.domain.clock import as_utc
from reroute.domain.orders import ItemState, ShippingMethod
from reroute.services.context import Context
from reroute.storage.repositories.order_list import ListedOrder, OrderFilter
from reroute.storage.unit_of_work import unit_of_work

__all__ = ["OrderFilter", "SyncedItem", "SyncedOrder", "list_orders"]


@dataclass(frozen=True)
class SyncedItem:
    item_id: str
    product_id: str
    quantity: int
    state: ItemState
    facility_id: str | None
    shipment_id: str | None


@dataclass(frozen=True)
class SyncedOrder:
    id: str
    customer_name: str
    customer_email: str
    shipping_method: ShippingMethod
    pickup_facility_id: str | None
    created_at: datetime
    updated_at: datetime
    items: list[SyncedItem]


def list_orders(
    ctx: Context,
    actor: Principal,
    where: OrderFilter,
    *,
    after: tuple[datetime, str] | None,
    limit: int,
) -> list[SyncedOrder]:
    """Up to `limit` orders by (update time, id) after `after`. Admins and integrations see
    every order; an associate those with a shipment at its facilities (as reading one order),
    with only the items held there."""
    if actor.is_associate:
        where = replace(where, within=actor.facilities)
    with unit_of_work(ctx.db, write=False) as uow:
        listed = uow.order_list.page(where, after, limit)
    return [_synced(o, actor) for o in listed]


def _synced(listed: ListedOrder, actor: Principal) -> SyncedOrder:
    row = listed.row
    items = [
        SyncedItem(
            item_id=i.item_id,
            product_id=i.product_id,
            quantity=i.quantity,
            state=ItemState(i.state),
            facility_id=i.facility_id,
            shipment_id=str(i.shipment_id) if i.shipment_id is not None else None,
        )
        for i in listed.items
        if actor.can_see_facility(i.facility_id)
    ]
    return SyncedOrder(
        id=row.id,
        customer_name=row.customer_name,
        customer_email=row.customer_email,
        shipping_method=ShippingMethod(row.shipping_method),
        pickup_facility_id=row.pickup_facility_id,
        created_at=as_utc(row.created_at),
        updated_at=as_utc(row.updated_at),
        items=items,
    )
