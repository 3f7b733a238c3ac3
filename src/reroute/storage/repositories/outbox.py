"""The outbox: events written in the business transaction, one delivery per subscriber, and
the event feed read in the order events were written."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, insert, select

from reroute.domain.clock import as_utc
from reroute.domain.notifications import DeliveryStatus, Event
from reroute.storage.tables import deliveries, outbox_events, webhooks


@dataclass(frozen=True)
class StoredEvent:
    id: int
    event_id: str
    type: str
    order_id: str
    body: str
    created_at: datetime


class OutboxRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def subscribers(self) -> list[tuple[str, list[str]]]:
        """Webhooks not deleted and the event types each wants. A disabled one gets its
        deliveries too: they wait, unsent, until it is enabled again."""
        t = webhooks
        rows = self.conn.execute(select(t.c.id, t.c.event_types).where(t.c.deleted_at.is_(None)))
        return [(r.id, list(r.event_types)) for r in rows]

    def append(
        self, events: Sequence[Event], subscribers: list[tuple[str, list[str]]], now: datetime
    ) -> int:
        """Write events and their deliveries; answers how many deliveries were queued."""
        if not events:
            return 0
        rows = [
            {
                "event_id": f"msg_{uuid.uuid4().hex}",
                "event_type": str(e.type),
                "order_id": e.order_id,
                "body": e.body,
                "created_at": now,
            }
            for e in events
        ]
        result = self.conn.execute(
            insert(outbox_events).returning(outbox_events.c.id, sort_by_parameter_order=True),
            rows,
        )
        ids = [r.id for r in result]
        queued = [
            {
                "event_id": event_id,
                "webhook_id": webhook_id,
                "order_id": event.order_id,
                "status": str(DeliveryStatus.PENDING),
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            }
            for event_id, event in zip(ids, events, strict=True)
            for webhook_id, wanted in subscribers
            if str(event.type) in wanted
        ]
        if queued:
            self.conn.execute(insert(deliveries), queued)
        return len(queued)

    def feed(self, after: int, limit: int) -> list[StoredEvent]:
        t = outbox_events
        rows = self.conn.execute(select(t).where(t.c.id > after).order_by(t.c.id).limit(limit))
        return [
            StoredEvent(r.id, r.event_id, r.event_type, r.order_id, r.body, as_utc(r.created_at))
            for r in rows
        ]

    def of_order(self, order_id: str) -> list[StoredEvent]:
        t = outbox_events
        rows = self.conn.execute(select(t).where(t.c.order_id == order_id).order_by(t.c.id))
        return [
            StoredEvent(r.id, r.event_id, r.event_type, r.order_id, r.body, as_utc(r.created_at))
            for r in rows
        ]
