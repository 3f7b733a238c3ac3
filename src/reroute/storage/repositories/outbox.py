"""The outbox: events written in the business transaction, one delivery per subscriber, and
the event feed read in the order events were written."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Integer, bindparam, insert, select

from reroute.domain.clock import as_utc
from reroute.domain.notifications import DeliveryStatus, Event
from reroute.storage.bulk import Bulk, values_of
from reroute.storage.tables import deliveries, outbox_events, webhooks

#: The test event an admin sends to one endpoint: written and delivered like any event, but it
#: belongs to no order (its `order_id` is "") and the event feed leaves it out.
PING = "ping"
# Statements built once: a statement object used again keeps its cache key, so each call only
# binds its values.

_SUBSCRIBERS = select(webhooks.c.id, webhooks.c.event_types).where(webhooks.c.deleted_at.is_(None))
_NEW_EVENTS = insert(outbox_events).returning(outbox_events.c.id, sort_by_parameter_order=True)
_NEW_DELIVERIES = Bulk(
    insert(deliveries).values(
        values_of(
            "event_id",
            "webhook_id",
            "order_id",
            "status",
            "attempts",
            "next_attempt_at",
            "created_at",
        )
    )
)
_FEED = (
    select(outbox_events)
    .where(outbox_events.c.id > bindparam("after"), outbox_events.c.event_type != PING)
    .order_by(outbox_events.c.id)
    .limit(bindparam("limit", type_=Integer))
)
_OF_ORDER = (
    select(outbox_events)
    .where(outbox_events.c.order_id == bindparam("order_id"))
    .order_by(outbox_events.c.id)
)


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
        rows = self.conn.execute(_SUBSCRIBERS)
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
        result = self.conn.execute(_NEW_EVENTS, rows)
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
        _NEW_DELIVERIES.run(self.conn, queued)
        return len(queued)

    def append_for(
        self, event_type: str, order_id: str, body: str, webhook_id: str, now: datetime
    ) -> int:
        """Write one event for one endpoint only (a ping): answers its delivery's id."""
        event_row = self.conn.execute(
            insert(outbox_events)
            .values(
                event_id=f"msg_{uuid.uuid4().hex}",
                event_type=event_type,
                order_id=order_id,
                body=body,
                created_at=now,
            )
            .returning(outbox_events.c.id)
        ).scalar_one()
        delivery_id = self.conn.execute(
            insert(deliveries)
            .values(
                event_id=event_row,
                webhook_id=webhook_id,
                order_id=order_id,
                status=str(DeliveryStatus.PENDING),
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
            .returning(deliveries.c.id)
        ).scalar_one()
        return int(delivery_id)

    def feed(self, after: int, limit: int) -> list[StoredEvent]:
        """Events after the cursor (an event's id), in the order written; pings left out."""
        rows = self.conn.execute(_FEED, {"after": after, "limit": limit})
        return [
            StoredEvent(r.id, r.event_id, r.event_type, r.order_id, r.body, as_utc(r.created_at))
            for r in rows
        ]

    def of_order(self, order_id: str) -> list[StoredEvent]:
        rows = self.conn.execute(_OF_ORDER, {"order_id": order_id})
        return [
            StoredEvent(r.id, r.event_id, r.event_type, r.order_id, r.body, as_utc(r.created_at))
            for r in rows
        ]
