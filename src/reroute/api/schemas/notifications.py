"""Webhooks, deliveries and the event feed."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from reroute.api.cursor import Page
from reroute.api.schemas.common import Strict, Text
from reroute.domain.notifications import DeliveryStatus, EventType
from reroute.storage.repositories.webhooks import Webhook

Url = Annotated[str, StringConstraints(min_length=8, max_length=2000, strip_whitespace=True)]


EventTypes = Annotated[list[EventType], Field(min_length=1, max_length=20)]


class WebhookIn(Strict):
    url: Url
    event_types: EventTypes

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "url": "https://hooks.example.com/reroute",
                    "event_types": ["StoreDeclineEvent", "ready_shipment"],
                }
            ]
        }
    )


class WebhookPatch(Strict):
    """What to change; what is left out stays. `active: false` pauses the endpoint (its
    deliveries wait, unsent, and `disabled_reason` shows `reason`); `active: true` resumes it."""

    url: Url | None = None
    event_types: EventTypes | None = None
    active: bool | None = None
    reason: Text | None = Field(
        default=None, description="Why it is paused (with `active: false` only); shown."
    )

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"active": False, "reason": "Receiver down for maintenance until 06:00 UTC"},
                {"url": "https://hooks.example.com/v2", "event_types": ["StoreDeclineEvent"]},
            ]
        }
    )

    @model_validator(mode="after")
    def _something(self) -> WebhookPatch:
        given = self.model_fields_set
        if not given:
            raise ValueError("Name at least one of url, event_types, active.")
        for name in ("url", "event_types", "active"):
            if name in given and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null; leave it out to keep it.")
        return self


class WebhookOut(BaseModel):
    webhook_id: str
    url: str
    event_types: list[str]
    active: bool = Field(description="False: paused; deliveries wait until it is resumed.")
    disabled_reason: str | None = Field(
        description="Why it is paused: an admin's reason, or the endpoint answered 410 Gone."
    )
    created_at: datetime | None
    previous_secret_expires_at: datetime | None = Field(
        default=None,
        description="After a rotation: until when the previous secret still signs beside "
        "the current one (each request carries both signatures); null when only one signs.",
    )

    @classmethod
    def of(cls, w: Webhook) -> WebhookOut:
        return cls(
            webhook_id=w.id,
            url=w.url,
            event_types=w.event_types,
            active=w.active,
            disabled_reason=w.disabled_reason,
            created_at=w.created_at,
            previous_secret_expires_at=w.previous_until,
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
    order_id: str | None = Field(description="The order the event is about; null for a ping.")
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
            order_id=row["order_id"] or None,
            status=row["status"],
            attempts=row["attempts"],
            next_attempt_at=row["next_attempt_at"],
            last_status_code=row["last_status_code"],
            last_error=row["last_error"],
            delivered_at=row["delivered_at"],
            attempt_log=[AttemptOut(**a) for a in row.get("attempt_log", [])],
        )


class DeliveryPage(Page[DeliveryOut]):
    """Deliveries newest first; `next_cursor` reads on to older ones (null at the oldest)."""


class EventOut(BaseModel):
    cursor: int = Field(
        description="The event's place in the feed: `after` this number reads on from here "
        "(the older way to page; `cursor` with the page's `next_cursor` is the other)."
    )
    event_id: str = Field(description="The same id as the webhook-id header of its deliveries.")
    type: str
    order_id: str
    created_at: datetime
    body: dict[str, Any]


class EventPage(Page[EventOut]):
    """Events in the order written. Unlike other lists, `next_cursor` is never null: the feed
    has no last page, so pass it back to read on, now or later (a page shorter than `limit`
    means you have read everything written so far)."""

    next_cursor: str = Field(
        description="Pass as `cursor` to read on from the last event of this page (or from "
        "where you were, on an empty page); never null.",
    )
