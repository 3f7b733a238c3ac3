"""Report an issue with an item: a reason and a comment, a confirmation that says what will
happen (counted by the server), then the rejection, and a notice of where each item went."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import Response

from reroute.api import paths  # noqa: F401  (the {name:key} path convertor)
from reroute.domain.access import STORE_ROLES, Principal, absent
from reroute.domain.errors import Conflict, Invalid, NotFound
from reroute.domain.orders import REJECTABLE
from reroute.domain.reasons import InventoryEffect
from reroute.pages.store import safe_back
from reroute.pages.web import (
    ContextDep,
    PageRoute,
    PersonDep,
    check_csrf,
    notify,
    redirect,
    render,
)
from reroute.services import reasons, rejection, shipments
from reroute.services.rejection_preview import SYSTEM_REASONS, preview_rejection
from reroute.services.whereabouts import where_they_went

router = APIRouter(
    prefix="/store/{facility_id}/shipments/{shipment_id}/items/{item_id:key}/report",
    route_class=PageRoute,
    dependencies=[Depends(check_csrf)],
    include_in_schema=False,
)
Back = Annotated[str, Form(max_length=2000)]
ReasonId = Annotated[str, Form(min_length=1, max_length=64)]
Comment = Annotated[str, Form(max_length=500)]
#: Items named in the notice after a rejection; a long cascade is summed up after these.
SHOWN = 8
#: What each inventory effect does to the store's stock, said plainly.
EFFECTS = {
    InventoryEffect.ZERO: "This store's stock of it is set to 0.",
    InventoryEffect.DECREASE_QOH_AND_ATP: "This store's stock of it is lowered by {q}.",
    InventoryEffect.DECREASE_ATP: "{q} of it here will not be sold online any more.",
    InventoryEffect.NONE: "This store's stock of it is not changed.",
}


@router.get("")
def report_form(
    request: Request,
    ctx: ContextDep,
    actor: PersonDep,
    facility_id: str,
    shipment_id: str,
    item_id: str,
    back: Annotated[str, Query(max_length=2000)] = "",
) -> Response:
    _may_report(actor, facility_id, shipment_id)
    view = shipments.get_shipment(ctx, shipment_id, actor)
    item = next((i for i in view.items if i.item_id == item_id), None)
    if view.shipment.facility_id != facility_id or item is None or item.state not in REJECTABLE:
        notify(request, "This item is no longer open at this store.", kind="error")
        return redirect(safe_back(facility_id, back))
    choices = [
        r for r in reasons.list_reasons(ctx, actor, active_only=True) if r.id not in SYSTEM_REASONS
    ]
    return render(
        request,
        "store/report.html",
        view=view,
        item=item,
        product=view.products.get(item.product_id),
        reasons=choices,
        back=safe_back(facility_id, back),
    )


@router.post("/confirm")
def confirm(
    request: Request,
    ctx: ContextDep,
    actor: PersonDep,
    facility_id: str,
    shipment_id: str,
    item_id: str,
    reason_id: ReasonId,
    comment: Comment = "",
    back: Back = "",
) -> Response:
    _may_report(actor, facility_id, shipment_id)
    back = safe_back(facility_id, back)
    try:
        shipments.get_shipment(ctx, shipment_id, actor)  # another store's: as absent
        preview = preview_rejection(ctx, shipment_id, item_id, reason_id, actor)
    except (Conflict, NotFound) as exc:
        notify(request, "Nothing was changed", [exc.detail], kind="error")
        return redirect(back)
    if preview.facility.id != facility_id:
        raise NotFound(absent("shipment", shipment_id))
    effect = EFFECTS[preview.reason.inventory_effect].format(q=preview.item.quantity)
    return render(
        request,
        "store/confirm.html",
        preview=preview,
        effect=effect,
        comment=comment.strip(),
        back=back,
        shipment_id=shipment_id,
    )


@router.post("")
def report(
    request: Request,
    ctx: ContextDep,
    actor: PersonDep,
    facility_id: str,
    shipment_id: str,
    item_id: str,
    reason_id: ReasonId,
    comment: Comment = "",
    back: Back = "",
) -> Response:
    _may_report(actor, facility_id, shipment_id)
    back = safe_back(facility_id, back)
    if reason_id in SYSTEM_REASONS:
        raise Invalid("Choose one of the reasons listed.")
    view = shipments.get_shipment(ctx, shipment_id, actor)
    if view.shipment.facility_id != facility_id:
        raise NotFound(absent("shipment", shipment_id))
    try:
        result = rejection.reject_item(
            ctx,
            shipment_id,
            item_id,
            reason_id,
            comment.strip() or None,
            actor,
            uuid.uuid4().hex,
        )
    except Conflict as exc:
        notify(request, "Nothing was changed", [exc.detail], kind="error")
        return redirect(back)
    went = where_they_went(ctx, result)
    first = went[0] if went else None
    title = f"Reported {first.product_name}" if first else "Reported"
    lines = [w.sentence() for w in went]
    if len(lines) > SHOWN:  # the notice rides in the session cookie: keep it small
        lines = [*lines[:SHOWN], f"… and {len(lines) - SHOWN} more taken back from this store."]
    notify(request, title + ": it has left this store.", lines)
    return redirect(back)


def _may_report(actor: Principal, facility_id: str, shipment_id: str) -> None:
    """Reporting is a store action (associates of the facility and admins), checked before
    the rejection's own checks and before anything is written."""
    actor.require_role(*STORE_ROLES, action="report an issue", target=f"shipment {shipment_id}")
    actor.require_facility(facility_id, "report an issue")
