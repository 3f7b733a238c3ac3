"""Orders: create (idempotent on the order id) and read."""

from __future__ import annotations

from fastapi import APIRouter, Response

from reroute.api.deps import ActorDep, ContextDep, OneHopRoute, RequestIdDep
from reroute.api.schemas.common import Identifier
from reroute.api.schemas.orders import OrderIn, OrderOut
from reroute.services import orders

router = APIRouter(tags=["orders"], route_class=OneHopRoute)


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


@router.get("/orders/{order_id}", response_model=OrderOut)
def get_order(order_id: Identifier, ctx: ContextDep, actor: ActorDep) -> OrderOut:
    """The order, where each item stands, its shipments and its whole history."""
    return OrderOut.of(orders.get_order(ctx, order_id, actor))
