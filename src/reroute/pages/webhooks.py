"""Webhook endpoints for admins: subscribe one (its secret shown once), switch it off and on,
and read its deliveries with every attempt; a failed delivery can be sent again."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import Response

from reroute.api.schemas.common import MAX_ROW_ID
from reroute.domain.access import Principal
from reroute.domain.errors import Conflict, Invalid
from reroute.domain.notifications import DeliveryStatus, EventType
from reroute.pages.web import AdminDep, ContextDep, PageRoute, check_csrf, notify, redirect, render
from reroute.services import webhooks
from reroute.services.context import Context

router = APIRouter(
    prefix="/admin",
    route_class=PageRoute,
    dependencies=[Depends(check_csrf)],
    include_in_schema=False,
)
DELIVERIES_PAGE = 25
EVENTS = {
    EventType.STORE_DECLINE: "Store Decline (a store rejected items)",
    EventType.READY_SHIPMENT: "Ready shipment (routing placed items)",
    EventType.CANCEL_SHIPMENT: "Shipment canceled",
    EventType.CANCEL_ITEM: "Item canceled",
    EventType.FULFILLED_SHIPMENT: "Shipment fulfilled (with its tracking)",
    EventType.BACKORDER_ITEM: "Items backordered (no facility can take them now)",
    EventType.CUSTOMER_CARE_ITEM: "Items sent to customer care",
}
#: A delivery's badge borrows the look of an item state (still being tried: in progress).
BADGES = {DeliveryStatus.DELIVERED: "fulfilled", DeliveryStatus.FAILED: "declined"}


def _page(
    request: Request,
    ctx: Context,
    actor: Principal,
    status_code: int = 200,
    **values: object,
) -> Response:
    values.setdefault("problems", {})
    values.setdefault("draft", {"url": "", "event_types": [str(EventType.STORE_DECLINE)]})
    return render(
        request,
        "admin/webhooks.html",
        status_code,
        webhooks=webhooks.list_webhooks(ctx, actor),
        events=EVENTS,
        **values,
    )


@router.get("/webhooks")
def webhook_list(request: Request, ctx: ContextDep, actor: AdminDep) -> Response:
    return _page(request, ctx, actor)


@router.post("/webhooks")
def create_webhook(
    request: Request,
    ctx: ContextDep,
    actor: AdminDep,
    url: Annotated[str, Form(max_length=2000)] = "",
    event_types: Annotated[list[str] | None, Form()] = None,
) -> Response:
    chosen = event_types or []
    try:
        created = webhooks.create_webhook(ctx, url.strip(), chosen, actor)
    except Invalid as exc:
        problems = {e.path.split(".")[0]: e.message for e in exc.errors}
        draft = {"url": url, "event_types": chosen}
        return _page(request, ctx, actor, 422, problems=problems, draft=draft)
    # The secret is in this answer only: it is never kept in the session or shown again.
    return _page(request, ctx, actor, created=created)


@router.post("/webhooks/{webhook_id}/active")
def switch_webhook(
    request: Request,
    ctx: ContextDep,
    actor: AdminDep,
    webhook_id: str,
    active: Annotated[str, Form(pattern="^(on|off)$")],
) -> Response:
    found = webhooks.set_active(ctx, webhook_id, active == "on", actor)
    notify(request, f"{found.url} is {'on' if found.active else 'off'}.")
    return redirect("/admin/webhooks")


@router.get("/webhooks/{webhook_id}")
def webhook_deliveries(
    request: Request,
    ctx: ContextDep,
    actor: AdminDep,
    webhook_id: str,
    before: Annotated[int | None, Query(ge=1, le=MAX_ROW_ID)] = None,
) -> Response:
    found = webhooks.deliveries(ctx, webhook_id, actor, limit=DELIVERIES_PAGE + 1, before_id=before)
    webhook = webhooks.get_webhook(ctx, webhook_id, actor)
    shown = found[:DELIVERIES_PAGE]
    older = shown[-1]["id"] if len(found) > DELIVERIES_PAGE else None
    return render(
        request,
        "admin/webhook.html",
        webhook=webhook,
        deliveries=shown,
        older=older,
        events=EVENTS,
        badges=BADGES,
        pending=DeliveryStatus.PENDING,
    )


@router.post("/deliveries/{delivery_id}/retry")
def retry_delivery(
    request: Request,
    ctx: ContextDep,
    actor: AdminDep,
    delivery_id: int,
    webhook_id: Annotated[str, Form(max_length=64)],
) -> Response:
    try:
        webhooks.retry_delivery(ctx, delivery_id, actor)
    except Conflict as exc:
        notify(request, "Not sent again", [exc.detail], kind="error")
    else:
        notify(request, f"Delivery {delivery_id} will be sent again now, with the same webhook-id.")
    return redirect(f"/admin/webhooks/{quote(webhook_id, safe='')}")
