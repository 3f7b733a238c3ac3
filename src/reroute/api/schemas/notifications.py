"""Webhooks, deliveries and the event feed."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field, StringConstraints

from reroute.api.schemas.common import Strict
from reroute.domain.notifications import DeliveryStatus, EventType
from reroute.storage.repositories.webhooks import Webhook

Url = Annotated[str, StringConstraints(min_length=8, max_length=2000, strip_whitespace=True)]


class WebhookIn(Strict):
    url: Url
    event_types: Annotated[list[EventType], Field(min_length=1, max_length=10)]


class WebhookPatch(Strict):
    active: bool


class WebhookOut(BaseModel):
    webhook_id: str
    url: str
    event_types: list[str]
    active: bool
    disabled_reason: str | None
    created_at: datetime | None

    @classmethod
    def of(cls, w: Webhook) -> WebhookOut:
        return cls(
            webhook_id=w.id,
            url=w.url,
            event_types=w.event_types,
            active=w.active,
            disabled_reason=w.disabled_reason,
            created_at=w.created_at,
        )


class WebhookCreatedOut(WebhookOut):
    secret: str = Field(
        description="whsec_…: shown in this answer only; verify signatures with it."
    )


class AttemptOut(BaseModel):
    attempted_at: datetime
    status_code: int | None
    duration_ms: int
    error: str | None
    response_excerpt: str | None


class DeliveryOut(BaseModel):
    delivery_id: int
    message_id: str = Field(description="The webhook-id header: the same on every try.")
    event_type: str
    order_id: str
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    delivered_at: datetime | None
    attempt_log: list[AttemptOut]

    @classmethod
    def of(cls, row: dict[str, Any]) -> DeliveryOut:
        return cls(
            delivery_id=row["id"],
            message_id=row["message_id"],
            event_type=row["event_type"],
            order_id=row["order_id"],
            status=row["status"],
            attempts=row["attempts"],
            next_attempt_at=row["next_attempt_at"],
            last_status_code=row["last_status_code"],
            last_error=row["last_error"],
            delivered_at=row["delivered_at"],
            attempt_log=[AttemptOut(**a) for a in row.get("attempt_log", [])],
        )


class EventOut(BaseModel):
    cursor: int = Field(description="Pass as `after` to read on from here.")
    event_id: str = Field(description="The same id as the webhook-id header of its deliveries.")
    type: str
    order_id: str
    created_at: datetime
    body: dict[str, Any]


class EventPage(BaseModel):
    events: list[EventOut]
    next_cursor: int
