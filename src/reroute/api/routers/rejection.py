"""Rejecting items and shipments, the reasons, and the rejection log."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response

from reroute.api.deps import ActorDep, ContextDep, OneHopRoute, RequestIdDep
from reroute.api.schemas.common import Identifier
from reroute.api.schemas.rejection import (
    ReasonIn,
    ReasonOut,
    RejectIn,
    RejectionCountsOut,
    RejectionOut,
    RejectionRowOut,
    RejectionsOut,
)
from reroute.services import reasons, rejection, rejection_log

router = APIRouter(tags=["rejection"], route_class=OneHopRoute)
ShipmentId = Annotated[Identifier, Path(description="The shipment's id")]
CONFLICTS: dict[int | str, dict[str, Any]] = {
    404: {},
    409: {"description": "Packed, fulfilled, or no longer in this shipment"},
}


@router.post(
    "/shipments/{shipment_id}/items/{item_id}/reject",
    response_model=RejectionOut,
    responses=CONFLICTS,
)
def reject_item(
    shipment_id: ShipmentId,
    item_id: Identifier,
    body: RejectIn,
    ctx: ContextDep,
    actor: ActorDep,
    request_id: RequestIdDep,
) -> RejectionOut:
    """The store cannot fulfil this item: release it, correct inventory by the reason's rule,
    take back the same product where it can no longer be honoured, and route it at once."""
    result = rejection.reject_item(
        ctx, shipment_id, item_id, body.reason_id, body.comment, actor, request_id
    )
    return RejectionOut.of(result)


@router.post("/shipments/{shipment_id}/reject", response_model=RejectionOut, responses=CONFLICTS)
def reject_shipment(
    shipment_id: ShipmentId,
    body: RejectIn,
    ctx: ContextDep,
    actor: ActorDep,
    request_id: RequestIdDep,
) -> RejectionOut:
    """Reject every item of the shipment still ready or in progress, with one reason."""
    result = rejection.reject_shipment(
        ctx, shipment_id, body.reason_id, body.comment, actor, request_id
    )
    return RejectionOut.of(result)


@router.get("/rejection-reasons", response_model=list[ReasonOut])
def list_reasons(
    ctx: ContextDep,
    actor: ActorDep,
    active: Annotated[bool, Query(description="Only the reasons in use")] = False,
) -> list[ReasonOut]:
    """Reasons in their sequence."""
    return [ReasonOut.of(r) for r in reasons.list_reasons(ctx, actor, active_only=active)]


@router.put("/rejection-reasons/{reason_id}", response_model=ReasonOut)
def put_reason(
    reason_id: Identifier, body: ReasonIn, ctx: ContextDep, actor: ActorDep, response: Response
) -> ReasonOut:
    """Add or change a reason; deactivate with `active: false` (reasons are never deleted,
    so old rejections keep their meaning)."""
    reason, created = reasons.put_reason(ctx, body.to_domain(reason_id), actor)
    response.status_code = 201 if created else 200
    return ReasonOut.of(reason)


@router.get("/rejections", response_model=RejectionsOut)
def list_rejections(
    ctx: ContextDep,
    actor: ActorDep,
    facility_id: Identifier | None = None,
    reason_id: Identifier | None = None,
    product_id: Identifier | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    before_id: Annotated[int | None, Query(ge=1, le=2**62)] = None,
) -> RejectionsOut:
    """Rejections newest first (filter by facility, reason, product, time), with counts by
    facility, reason and product over the last 24 hours and 7 days."""
    rows, counts = rejection_log.search_rejections(
        ctx,
        actor,
        facility_id=facility_id,
        reason_id=reason_id,
        product_id=product_id,
        since=since,
        until=until,
        limit=limit,
        before_id=before_id,
    )

    def counted(window: str) -> RejectionCountsOut:
        c = counts[window]
        return RejectionCountsOut(
            by_facility=c["facility"], by_reason=c["reason"], by_product=c["product"]
        )

    return RejectionsOut(
        rejections=[RejectionRowOut(**r) for r in rows],
        last_24_hours=counted("last_24_hours"),
        last_7_days=counted("last_7_days"),
    )
