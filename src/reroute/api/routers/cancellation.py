"""Cancel orders, items and shipments; hand a shipment to customer care."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from reroute.api.deps import ActorDep, ContextDep, OneHopRoute, RequestIdDep
from reroute.api.paths import ItemIdPath, OrderIdPath
from reroute.api.schemas.common import Identifier, Strict
from reroute.api.schemas.orders import OrderOut
from reroute.api.schemas.rejection import Comment
from reroute.services import cancellation, orders

router = APIRouter(tags=["cancellation"], route_class=OneHopRoute)
REFUSALS: dict[int | str, dict[str, Any]] = {
    404: {},
    409: {"description": "Fulfilled, already canceled, or nothing left to change"},
    422: {},
}


class ReasonBody(Strict):
    reason_id: Identifier | None = None
    comment: Comment | None = None


@router.post("/orders/{order_id:key}/cancel", response_model=OrderOut, responses=REFUSALS)
def cancel_order(
    order_id: OrderIdPath,
    ctx: ContextDep,
    actor: ActorDep,
    request_id: RequestIdDep,
    body: ReasonBody | None = None,
) -> OrderOut:
    """Cancel every item not yet fulfilled; reservations are released."""
    reason = body.reason_id if body else None
    cancellation.cancel_order(ctx, order_id, reason, actor, request_id)
    return OrderOut.of(orders.get_order(ctx, order_id, actor))


@router.post(
    "/orders/{order_id:key}/items/{item_id:key}/cancel",
    response_model=OrderOut,
    responses=REFUSALS,
)
def cancel_item(
    order_id: OrderIdPath,
    item_id: ItemIdPath,
    ctx: ContextDep,
    actor: ActorDep,
    request_id: RequestIdDep,
    body: ReasonBody | None = None,
) -> OrderOut:
    reason = body.reason_id if body else None
    cancellation.cancel_item(ctx, order_id, item_id, reason, actor, request_id)
    return OrderOut.of(orders.get_order(ctx, order_id, actor))


@router.post("/shipments/{shipment_id}/cancel", response_model=OrderOut, responses=REFUSALS)
def cancel_shipment(
    shipment_id: Identifier,
    ctx: ContextDep,
    actor: ActorDep,
    request_id: RequestIdDep,
    body: ReasonBody | None = None,
) -> OrderOut:
    reason = body.reason_id if body else None
    order = cancellation.cancel_shipment(ctx, shipment_id, reason, actor, request_id)
    return OrderOut.of(orders.get_order(ctx, order.id, actor))


@router.post("/shipments/{shipment_id}/customer-care", response_model=OrderOut, responses=REFUSALS)
def customer_care(
    shipment_id: Identifier,
    ctx: ContextDep,
    actor: ActorDep,
    request_id: RequestIdDep,
    body: ReasonBody | None = None,
) -> OrderOut:
    """A person must decide (status 125): the items leave the facility for customer care."""
    reason = body.reason_id if body else None
    order = cancellation.to_customer_care(ctx, shipment_id, reason, actor, request_id)
    return OrderOut.of(orders.get_order(ctx, order.id, actor))
