"""Webhook subscriptions, their deliveries, and the pull-based event feed."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from reroute.api import cursor as cursors
from reroute.api.cursor import CursorParam, Limit
from reroute.api.deps import ActorDep, ContextDep, OneHopRoute
from reroute.api.schemas.common import MAX_ROW_ID, Identifier
from reroute.api.schemas.notifications import (
    DeliveryOut,
    DeliveryPage,
    EventOut,
    EventPage,
    WebhookCreatedOut,
    WebhookIn,
    WebhookOut,
    WebhookPatch,
)
from reroute.domain.errors import FieldError, Invalid
from reroute.domain.notifications import DeliveryStatus
from reroute.services import webhooks

router = APIRouter(tags=["notifications"], route_class=OneHopRoute)
BigId = Annotated[int, Path(ge=1, le=MAX_ROW_ID)]
#: The cursor kinds of the two lists here: a cursor of one is refused by the other.
DELIVERIES = "deliveries"
EVENTS = "events"


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
    """Every endpoint not deleted, oldest first; never a secret."""
    return [WebhookOut.of(w) for w in webhooks.list_webhooks(ctx, actor)]


@router.get("/webhooks/{webhook_id}", response_model=WebhookOut)
def get_webhook(webhook_id: Identifier, ctx: ContextDep, actor: ActorDep) -> WebhookOut:
    """One endpoint: its URL, event types, whether it is paused and why; never its secret."""
    return WebhookOut.of(webhooks.get_webhook(ctx, webhook_id, actor))


@router.patch("/webhooks/{webhook_id}", response_model=WebhookOut)
def patch_webhook(
    webhook_id: Identifier, body: WebhookPatch, ctx: ContextDep, actor: ActorDep
) -> WebhookOut:
    """Change the URL or event types (checked as at creation), pause (`active: false`, with an
    optional `reason`: deliveries wait, unsent) or resume (`active: true`: they go out)."""
    given = body.model_fields_set
    return WebhookOut.of(
        webhooks.update_webhook(
            ctx,
            webhook_id,
            actor,
            url=body.url if "url" in given else None,
            event_types=[str(t) for t in body.event_types]
            if "event_types" in given and body.event_types is not None
            else None,
            active=body.active if "active" in given else None,
            reason=body.reason if "reason" in given else None,
        )
    )


@router.delete("/webhooks/{webhook_id}", status_code=204)
def delete_webhook(webhook_id: Identifier, ctx: ContextDep, actor: ActorDep) -> Response:
    """Stop for good; pending deliveries are dropped, the log of what was sent stays."""
    webhooks.delete_webhook(ctx, webhook_id, actor)
    return Response(status_code=204)


@router.post("/webhooks/{webhook_id}/rotate-secret", response_model=WebhookCreatedOut)
def rotate_secret(
    webhook_id: Identifier, ctx: ContextDep, actor: ActorDep, response: Response
) -> WebhookCreatedOut:
    """A new `whsec_` secret, in this answer only (no-store). For 24 hours the previous secret
    signs beside it: each request carries both signatures in `webhook-signature`, so a
    receiver verifies with either; after that only the new one signs. Rotating again within
    the 24 hours drops the oldest secret at once."""
    rotated = webhooks.rotate_secret(ctx, webhook_id, actor)
    response.headers["Cache-Control"] = "no-store"
    return WebhookCreatedOut(**WebhookOut.of(rotated).model_dump(), secret=rotated.secret)


@router.post("/webhooks/{webhook_id}/ping", response_model=DeliveryOut, status_code=202)
def ping_webhook(webhook_id: Identifier, ctx: ContextDep, actor: ActorDep) -> DeliveryOut:
    """Send this endpoint one `ping` event, signed and delivered like any other (retried,
    listed in its deliveries), to it alone and not in the event feed. Answers the queued
    delivery; a ping still waiting for the endpoint is replaced."""
    return DeliveryOut.of(webhooks.ping(ctx, webhook_id, actor))


@router.get("/webhooks/{webhook_id}/deliveries", response_model=DeliveryPage)
def list_deliveries(
    webhook_id: Identifier,
    ctx: ContextDep,
    actor: ActorDep,
    status: Annotated[
        list[DeliveryStatus] | None,
        Query(description="Only deliveries in this status (repeat for several)"),
    ] = None,
    limit: Limit = 50,
    cursor: CursorParam = None,
) -> DeliveryPage:
    """Newest first, each with every attempt (status code, time, error)."""
    after = cursors.decode(DELIVERIES, cursor, int)
    rows = webhooks.deliveries(
        ctx,
        webhook_id,
        actor,
        limit=limit + 1,
        before_id=after[0] if after else None,
        statuses=status or (),
    )
    kept, next_cursor = cursors.page_of(DELIVERIES, rows, limit, lambda r: (r["id"],))
    return DeliveryPage(items=[DeliveryOut.of(r) for r in kept], next_cursor=next_cursor)


@router.post("/deliveries/{delivery_id}/retry", response_model=DeliveryOut)
def retry_delivery(delivery_id: BigId, ctx: ContextDep, actor: ActorDep) -> DeliveryOut:
    """Replay a delivered or failed delivery: the same body under the same webhook-id, from
    the start of the retry schedule."""
    return DeliveryOut.of(webhooks.retry_delivery(ctx, delivery_id, actor))


@router.post("/deliveries/{delivery_id}/send-now", response_model=DeliveryOut)
def send_delivery_now(delivery_id: BigId, ctx: ContextDep, actor: ActorDep) -> DeliveryOut:
    """Make a pending or failed delivery due at once instead of at its next retry (its tries
    so far still count). 409 for a delivered one (replay it with `retry`), a canceled one, or
    one of a paused endpoint."""
    return DeliveryOut.of(webhooks.send_now(ctx, delivery_id, actor))


@router.get("/events", response_model=EventPage)
def events(
    ctx: ContextDep,
    actor: ActorDep,
    cursor: CursorParam = None,
    after: Annotated[
        int | None,
        Query(
            ge=0,
            le=MAX_ROW_ID,
            description="Read on after the event with this `cursor` number (the older way; "
            "give `cursor` or `after`, not both)",
        ),
    ] = None,
    limit: Limit = 100,
) -> EventPage:
    """Every notification in the order it was written, with the same body webhooks get."""
    if cursor and after is not None:
        raise Invalid(
            "Give `cursor` or `after`, not both.",
            [FieldError("after", "Leave it out when you pass `cursor`.")],
        )
    decoded = cursors.decode(EVENTS, cursor, int)
    start = decoded[0] if decoded else (after or 0)
    if start < 0 or start > MAX_ROW_ID:
        raise Invalid(
            "The cursor is not one this list gave.",
            [FieldError("cursor", "Pass back the next_cursor of the page before, unchanged.")],
        )
    found = webhooks.feed(ctx, actor, start, limit)
    last = found[-1][0].id if found else start
    return EventPage(
        items=[
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
        next_cursor=cursors.encode(EVENTS, [last]),
    )
