"""A store's shipment lists and single shipments."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Body, Query

from reroute.api import cursor as cursors
from reroute.api.cursor import CursorParam, Limit
from reroute.api.deps import ActorDep, ContextDep, OneHopRoute, RequestIdDep
from reroute.api.routers.catalog import FacilityId
from reroute.api.schemas.common import NO_NUL, Identifier
from reroute.api.schemas.shipments import FulfillIn, ShipmentListOut, ShipmentOut
from reroute.domain.orders import ShipmentState
from reroute.services import fulfilment, shipments

router = APIRouter(tags=["shipments"], route_class=OneHopRoute)
LISTED = [ShipmentState.READY, ShipmentState.IN_PROGRESS, ShipmentState.PACKED]
#: The cursor kind of a store's shipment list.
SHIPMENTS = "shipments"


@router.get("/facilities/{facility_id}/shipments", response_model=ShipmentListOut)
def store_list(
    facility_id: FacilityId,
    ctx: ContextDep,
    actor: ActorDep,
    state: Annotated[
        ShipmentState | None, Query(description="One list; all open ones if absent")
    ] = None,
    q: Annotated[
        str | None,
        Query(
            max_length=100,
            pattern=NO_NUL,
            description="Order id, customer name, SKU, UPC or product name",
        ),
    ] = None,
    limit: Limit = 50,
    cursor: CursorParam = None,
) -> ShipmentListOut:
    """The store's shipments by state, newest first."""
    states = [state] if state else LISTED
    after = cursors.decode(SHIPMENTS, cursor, int)
    page = shipments.store_list(
        ctx,
        facility_id,
        states,
        actor,
        text=q,
        limit=limit + 1,
        below=after[0] if after else None,
    )
    kept, next_cursor = cursors.page_of(
        SHIPMENTS, page.shipments, limit, lambda v: (int(v.shipment.id),)
    )
    return ShipmentListOut(
        items=[ShipmentOut.of(v) for v in kept], next_cursor=next_cursor, total=page.total
    )


@router.get("/shipments/{shipment_id}", response_model=ShipmentOut)
def get_shipment(shipment_id: Identifier, ctx: ContextDep, actor: ActorDep) -> ShipmentOut:
    return ShipmentOut.of(shipments.get_shipment(ctx, shipment_id, actor))


def _advance(action: str) -> Callable[..., ShipmentOut]:
    def endpoint(
        shipment_id: Identifier, ctx: ContextDep, actor: ActorDep, request_id: RequestIdDep
    ) -> ShipmentOut:
        fulfilment.advance(ctx, shipment_id, action, actor, request_id)
        return ShipmentOut.of(shipments.get_shipment(ctx, shipment_id, actor))

    return endpoint


for _action, _summary in (
    ("start", "Start picking: ready to in progress."),
    ("pack", "Packed: in progress to packed."),
):
    router.add_api_route(
        f"/shipments/{{shipment_id}}/{_action}",
        _advance(_action),
        methods=["POST"],
        response_model=ShipmentOut,
        summary=_summary,
        responses={404: {}, 409: {"description": "Not in the state this step starts from"}},
        name=f"{_action}_shipment",
    )


@router.post(
    "/shipments/{shipment_id}/fulfill",
    response_model=ShipmentOut,
    summary="Shipped or picked up: packed to fulfilled; QOH falls by what left.",
    responses={
        404: {},
        409: {"description": "Not packed"},
        422: {"description": "Bad tracking, or tracking given for a pickup"},
    },
    name="fulfill_shipment",
)
def fulfill_shipment(
    shipment_id: Identifier,
    ctx: ContextDep,
    actor: ActorDep,
    request_id: RequestIdDep,
    body: Annotated[FulfillIn | None, Body()] = None,
) -> ShipmentOut:
    """Confirm the shipment left, with its carrier and tracking for a shipped order (none
    for a pickup). Subscribers receive `fulfilled_shipment` with the tracking."""
    tracking = body.tracking() if body is not None else None
    fulfilment.advance(ctx, shipment_id, "fulfill", actor, request_id, tracking)
    return ShipmentOut.of(shipments.get_shipment(ctx, shipment_id, actor))
