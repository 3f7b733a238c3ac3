"""Orders: create (idempotent on the order id), read, and list for sync."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Response

from reroute.api import cursor as cursors
from reroute.api import etag
from reroute.api.cursor import CursorParam, Limit
from reroute.api.deps import ActorDep, ContextDep, OneHopRoute, RequestIdDep
from reroute.api.paths import OrderIdPath
from reroute.api.schemas.order_list import OrderPage, SyncedOrderOut, sync_filter
from reroute.api.schemas.orders import OrderIn, OrderOut
from reroute.services import order_sync, orders
from reroute.services.order_sync import OrderFilter

router = APIRouter(tags=["orders"], route_class=OneHopRoute)
#: The cursor kind of the order list.
ORDERS = "orders"


@router.post(
    "/orders",
    response_model=OrderOut,
    status_code=201,
    responses={200: {"description": "The same order was already created"}, 409: {}},
)
def create_order(
    body: OrderIn, ctx: ContextDep, actor: ActorDep, request_id: RequestIdDep, response: Response
) -> OrderOut:
    """Create an order. The same body again answers 200; another body under the same id, 409."""
    order, created = orders.create_order(ctx, body.to_domain(), body.body_hash(), actor, request_id)
    response.status_code = 201 if created else 200
    return OrderOut.of(orders.get_order(ctx, order.id, actor))


@router.get("/orders", response_model=OrderPage)
def list_orders(
    ctx: ContextDep,
    actor: ActorDep,
    where: Annotated[OrderFilter, Depends(sync_filter)],
    limit: Limit = 100,
    cursor: CursorParam = None,
) -> OrderPage:
    """Orders by update time, then id: poll with `updated_after` (the last `updated_at` seen)
    and follow `next_cursor` to the end; no change is missed or seen twice."""
    after = cursors.decode(ORDERS, cursor, datetime, str)
    rows = order_sync.list_orders(ctx, actor, where, after=after, limit=limit + 1)
    kept, next_cursor = cursors.page_of(ORDERS, rows, limit, lambda o: (o.updated_at, o.id))
    return OrderPage(items=[SyncedOrderOut.of(o) for o in kept], next_cursor=next_cursor)


@router.get("/orders/{order_id:key}", response_model=OrderOut, responses=etag.NOT_MODIFIED)
def get_order(
    order_id: OrderIdPath, ctx: ContextDep, actor: ActorDep, if_none_match: etag.IfNoneMatch = None
) -> Response:
    """The order, where each item stands, its shipments and its whole history. Its `ETag`
    sent back as `If-None-Match` answers 304, with no body, while nothing changed."""
    return etag.answer(OrderOut.of(orders.get_order(ctx, order_id, actor)), if_none_match)
