"""Webhook endpoints for admins: subscribe one (its secret shown once), switch it off (after a
confirmation) and on, rotate its secret (the new one shown once), ping it, and read its
deliveries with every attempt; a waiting or failed delivery can be sent now, a finished one
sent again."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Path, Query, Request
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


@router.get("/webhooks/{webhook_id}/pause")
def confirm_pause(request: Request, ctx: ContextDep, actor: AdminDep, webhook_id: str) -> Response:
    """Switching an endpoint off asks first: its deliveries stop until it is switched on."""
    webhook = webhooks.get_webhook(ctx, webhook_id, actor)
    return render(
        request,
        "admin/webhook_confirm.html",
        webhook=webhook,
        action="pause",
        disabled_by_admin=webhooks.DISABLED_BY_ADMIN,
    )


@router.post("/webhooks/{webhook_id}/active")
def switch_webhook(
    request: Request,
    ctx: ContextDep,
    actor: AdminDep,
    webhook_id: str,
    active: Annotated[str, Form(pattern="^(on|off)$")],
    reason: Annotated[str, Form(max_length=300)] = "",
) -> Response:
    on = active == "on"
    why = reason.strip() or None
    found = webhooks.set_active(ctx, webhook_id, on, actor, reason=None if on else why)
    notify(request, f"{found.url} is {'on' if found.active else 'off'}.")
    return redirect("/admin/webhooks")


@router.get("/webhooks/{webhook_id}/rotate")
def confirm_rotate(request: Request, ctx: ContextDep, actor: AdminDep, webhook_id: str) -> Response:
    """A new secret asks first: the receiver must take it up within the overlap."""
    webhook = webhooks.get_webhook(ctx, webhook_id, actor)
    hours = int(webhooks.ROTATION_OVERLAP.total_seconds() // 3600)
    return render(
        request, "admin/webhook_confirm.html", webhook=webhook, action="rotate", hours=hours
    )


@router.post("/webhooks/{webhook_id}/rotate")
def rotate_secret(request: Request, ctx: ContextDep, actor: AdminDep, webhook_id: str) -> Response:
    # The new secret is in this answer only, as at subscribing: never kept in the session.
    rotated = webhooks.rotate_secret(ctx, webhook_id, actor)
    hours = int(webhooks.ROTATION_OVERLAP.total_seconds() // 3600)
    return _page(request, ctx, actor, rotated=rotated, hours=hours)


@router.post("/webhooks/{webhook_id}/ping")
def ping_webhook(request: Request, ctx: ContextDep, actor: AdminDep, webhook_id: str) -> Response:
    try:
        sent = webhooks.ping(ctx, webhook_id, actor)
    except Conflict as exc:
        notify(request, "Not pinged", [exc.detail], kind="error")
    else:
        notify(request, f"A ping is on its way to this endpoint (delivery {sent['id']}).")
    return redirect(f"/admin/webhooks/{quote(webhook_id, safe='')}")


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
    for delivery in shown:
        # One count of attempts: the tries recorded. The row's own counter restarts at zero
        # when a delivery is sent again (it counts tries of the current schedule), so it
        # cannot be shown beside the full log.
        delivery["tries"] = len(delivery["attempt_log"])
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
        can_send_now={DeliveryStatus.PENDING, DeliveryStatus.FAILED},
        can_retry={DeliveryStatus.DELIVERED, DeliveryStatus.FAILED, DeliveryStatus.CANCELED},
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


@router.post("/deliveries/{delivery_id}/send-now")
def send_delivery_now(
    request: Request,
    ctx: ContextDep,
    actor: AdminDep,
    delivery_id: Annotated[int, Path(ge=1, le=MAX_ROW_ID)],
    webhook_id: Annotated[str, Form(max_length=64)],
) -> Response:
    """A waiting or failed delivery goes at once instead of at its next retry."""
    try:
        webhooks.send_now(ctx, delivery_id, actor)
    except Conflict as exc:
        notify(request, "Not sent now", [exc.detail], kind="error")
    else:
        notify(request, f"Delivery {delivery_id} is being sent now, with the same webhook-id.")
    return redirect(f"/admin/webhooks/{quote(webhook_id, safe='')}#delivery-{delivery_id}")
