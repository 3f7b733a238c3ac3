"""Rejecting items and shipments, the reasons, and the rejection log."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response

from reroute.api import cursor as cursors
from reroute.api import etag
from reroute.api.cursor import CursorParam, Limit
from reroute.api.deps import ActorDep, ContextDep, OneHopRoute, RequestIdDep
from reroute.api.paths import ItemIdPath
from reroute.api.schemas.common import Identifier
from reroute.api.schemas.rejection import (
    ReasonIn,
    ReasonOut,
    RejectIn,
    RejectionCountsOut,
    RejectionOut,
    RejectionRowOut,
    RejectionsOut,
    RejectShipmentIn,
)
from reroute.domain.reasons import Reason
from reroute.services import reasons, rejection, rejection_log

router = APIRouter(tags=["rejection"], route_class=OneHopRoute)
ShipmentId = Annotated[Identifier, Path(description="The shipment's id")]
CONFLICTS: dict[int | str, dict[str, Any]] = {
    404: {},
    409: {"description": "Packed, fulfilled, or no longer in this shipment"},
}


@router.post(
    "/shipments/{shipment_id}/items/{item_id:key}/reject",
    response_model=RejectionOut,
    responses=CONFLICTS,
)
def reject_item(
    shipment_id: ShipmentId,
    item_id: ItemIdPath,
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
    body: RejectShipmentIn,
    ctx: ContextDep,
    actor: ActorDep,
    request_id: RequestIdDep,
) -> RejectionOut:
    """Reject every item of the shipment still ready or in progress, or only the `item_ids`
    given, with one reason, in one transaction."""
    if body.item_ids is None:
        result = rejection.reject_shipment(
            ctx, shipment_id, body.reason_id, body.comment, actor, request_id
        )
    else:
        result = rejection.reject_items(
            ctx, shipment_id, body.item_ids, body.reason_id, body.comment, actor, request_id
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
    reason_id: Identifier,
    body: ReasonIn,
    ctx: ContextDep,
    actor: ActorDep,
    response: Response,
    if_match: etag.IfMatch = None,
) -> ReasonOut:
    """Add or change a reason; deactivate with `active: false` (reasons are never deleted,
    so old rejections keep their meaning). With `If-Match` (the reason's `etag` as listed),
    refused with 412 if another admin saved it first, or if there is no such reason."""

    def still_current(current: Reason | None) -> bool:
        return current is not None and etag.match(if_match, ReasonOut.of(current).etag)

    precondition = still_current if if_match is not None else None
    reason, created = reasons.put_reason(ctx, body.to_domain(reason_id), actor, precondition)
    response.status_code = 201 if created else 200
    saved = ReasonOut.of(reason)
    response.headers["ETag"] = saved.etag
    return saved


#: The cursor kind of the rejection log.
REJECTIONS = "rejections"


@router.get("/rejections", response_model=RejectionsOut)
def list_rejections(
    ctx: ContextDep,
    actor: ActorDep,
    facility_id: Identifier | None = None,
    reason_id: Identifier | None = None,
    product_id: Identifier | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: Limit = 100,
    cursor: CursorParam = None,
) -> RejectionsOut:
    """Rejections newest first (filter by facility, reason, product, time), with counts by
    facility, reason and product over the last 24 hours and 7 days."""
    before = cursors.decode(REJECTIONS, cursor, int)
    rows, counts = rejection_log.search_rejections(
        ctx,
        actor,
        facility_id=facility_id,
        reason_id=reason_id,
        product_id=product_id,
        since=since,
        until=until,
        limit=limit + 1,
        before_id=before[0] if before else None,
    )
    kept, next_cursor = cursors.page_of(REJECTIONS, rows, limit, lambda r: (r["id"],))

    def counted(window: str) -> RejectionCountsOut:
        c = counts[window]
        return RejectionCountsOut(
            by_facility=c["facility"], by_reason=c["reason"], by_product=c["product"]
        )

    return RejectionsOut(
        items=[RejectionRowOut(**r) for r in kept],
        next_cursor=next_cursor,
        last_24_hours=counted("last_24_hours"),
        last_7_days=counted("last_7_days"),
    )
