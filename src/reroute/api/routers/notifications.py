"""Webhook subscriptions, their deliveries, and the pull-based event feed."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from reroute.api.deps import ActorDep, ContextDep, OneHopRoute
from reroute.api.schemas.common import MAX_ROW_ID, Identifier
from reroute.api.schemas.notifications import (
    DeliveryOut,
    EventOut,
    EventPage,
    WebhookCreatedOut,
    WebhookIn,
    WebhookOut,
    WebhookPatch,
)
from reroute.services import webhooks

router = APIRouter(tags=["notifications"], route_class=OneHopRoute)
BigId = Annotated[int, Path(ge=1, le=MAX_ROW_ID)]


@router.post("/webhooks", response_model=WebhookCreatedOut, status_code=201)
def create_webhook(
    body: WebhookIn, ctx: ContextDep, actor: ActorDep, response: Response
) -> WebhookCreatedOut:
    """Subscribe an endpoint to event types. The `whsec_` secret is in this answer only
    (no-store: not cached, nor replayed)."""
    made = webhooks.create_webhook(ctx, body.url, [str(t) for t in body.event_types], actor)
    response.headers["Cache-Control"] = "no-store"
    return WebhookCreatedOut(**WebhookOut.of(made).model_dump(), secret=made.secret)


@router.get("/webhooks", response_model=list[WebhookOut])
def list_webhooks(ctx: ContextDep, actor: ActorDep) -> list[WebhookOut]:
    return [WebhookOut.of(w) for w in webhooks.list_webhooks(ctx, actor)]


@router.patch("/webhooks/{webhook_id}", response_model=WebhookOut)
def patch_webhook(
    webhook_id: Identifier, body: WebhookPatch, ctx: ContextDep, actor: ActorDep
) -> WebhookOut:
    """Disable (deliveries wait) or enable again."""
    return WebhookOut.of(webhooks.set_active(ctx, webhook_id, body.active, actor))


@router.delete("/webhooks/{webhook_id}", status_code=204)
def delete_webhook(webhook_id: Identifier, ctx: ContextDep, actor: ActorDep) -> Response:
    """Stop for good; pending deliveries are dropped, the log of what was sent stays."""
    webhooks.delete_webhook(ctx, webhook_id, actor)
    return Response(status_code=204)


@router.get("/webhooks/{webhook_id}/deliveries", response_model=list[DeliveryOut])
def list_deliveries(
    webhook_id: Identifier,
    ctx: ContextDep,
    actor: ActorDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    before_id: Annotated[int | None, Query(ge=1, le=MAX_ROW_ID)] = None,
) -> list[DeliveryOut]:
    """Newest first, each with every attempt (status code, time, error)."""
    rows = webhooks.deliveries(ctx, webhook_id, actor, limit=limit, before_id=before_id)
    return [DeliveryOut.of(r) for r in rows]


@router.post("/deliveries/{delivery_id}/retry", response_model=DeliveryOut)
def retry_delivery(delivery_id: BigId, ctx: ContextDep, actor: ActorDep) -> DeliveryOut:
    """Replay a delivered or failed delivery: the same body under the same webhook-id."""
    return DeliveryOut.of(webhooks.retry_delivery(ctx, delivery_id, actor))


@router.get("/events", response_model=EventPage)
def events(
    ctx: ContextDep,
    actor: ActorDep,
    after: Annotated[
        int, Query(ge=0, le=MAX_ROW_ID, description="The cursor of the last event read")
    ] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> EventPage:
    """Every notification in the order it was written, with the same body webhooks get."""
    found = webhooks.feed(ctx, actor, after, limit)
    return EventPage(
        events=[
            EventOut(
                cursor=e.id,
                event_id=e.event_id,
                type=e.type,
                order_id=e.order_id,
                created_at=e.created_at,
                body=body,
            )
            for e, body in found
        ],
        next_cursor=found[-1][0].id if found else after,
    )
