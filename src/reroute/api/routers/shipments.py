"""A store's shipment lists and single shipments."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Query

from reroute.api.deps import ActorDep, ContextDep, OneHopRoute, RequestIdDep
from reroute.api.routers.catalog import FacilityId
from reroute.api.schemas.common import NO_NUL, Identifier
from reroute.api.schemas.shipments import ShipmentListOut, ShipmentOut
from reroute.domain.orders import ShipmentState
from reroute.services import fulfilment, shipments

router = APIRouter(tags=["shipments"], route_class=OneHopRoute)
LISTED = [ShipmentState.READY, ShipmentState.IN_PROGRESS, ShipmentState.PACKED]


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
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> ShipmentListOut:
    """The store's shipments by state, newest first."""
    states = [state] if state else LISTED
    page = shipments.store_list(ctx, facility_id, states, actor, text=q, limit=limit, offset=offset)
    return ShipmentListOut.of(page)


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
    ("fulfill", "Shipped or picked up: packed to fulfilled; QOH falls by what left."),
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
