"""What an order left behind outside its own rows: the ledger rows its rejections wrote, with
the counters as each row left them, and the notifications sent for it with each delivery."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select

from reroute.domain.clock import as_utc
from reroute.storage.tables import (
    deliveries,
    inventory_ledger,
    inventory_levels,
    outbox_events,
    rejections,
    webhooks,
)


@dataclass(frozen=True)
class LedgerMove:
    """One ledger row and the counters right after it (the level now, less every later row)."""

    facility_id: str
    product_id: str
    reference: str
    cause: str
    qoh_diff: int
    atp_diff: int
    qoh_after: int
    atp_after: int
    created_at: datetime

    @property
    def qoh_before(self) -> int:
        return self.qoh_after - self.qoh_diff

    @property
    def atp_before(self) -> int:
        return self.atp_after - self.atp_diff


@dataclass(frozen=True)
class SentDelivery:
    webhook_id: str
    url: str
    status: str
    attempts: int
    last_status_code: int | None
    delivered_at: datetime | None


@dataclass(frozen=True)
class SentEvent:
    event_id: str
    type: str
    created_at: datetime
    deliveries: list[SentDelivery]


class OrderTrailRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def rejections_of(self, order_id: str) -> list[dict[str, Any]]:
        """The order's rejection records, oldest first."""
        t = rejections
        query = select(t).where(t.c.order_id == order_id).order_by(t.c.id)
        found = []
        for row in self.conn.execute(query):
            entry = dict(row._mapping)
            entry["created_at"] = as_utc(entry["created_at"])
            found.append(entry)
        return found

    def moves(self, references: Iterable[str]) -> list[LedgerMove]:
        """Ledger rows whose reference is one of `references` (`order/item`), oldest first."""
        wanted = sorted(set(references))
        if not wanted:
            return []
        ledger, later, level = (
            inventory_ledger,
            inventory_ledger.alias("later"),
            inventory_levels,
        )
        after_it = (
            select(
                func.coalesce(func.sum(later.c.qoh_diff), 0),
            )
            .where(
                later.c.facility_id == ledger.c.facility_id,
                later.c.product_id == ledger.c.product_id,
                later.c.id > ledger.c.id,
            )
            .scalar_subquery()
        )
        atp_after_it = (
            select(func.coalesce(func.sum(later.c.atp_diff), 0))
            .where(
                later.c.facility_id == ledger.c.facility_id,
                later.c.product_id == ledger.c.product_id,
                later.c.id > ledger.c.id,
            )
            .scalar_subquery()
        )
        query = (
            select(
                ledger,
                (level.c.quantity_on_hand - after_it).label("qoh_after"),
                (level.c.available_to_promise - atp_after_it).label("atp_after"),
            )
            .join(
                level,
                (level.c.facility_id == ledger.c.facility_id)
                & (level.c.product_id == ledger.c.product_id),
            )
            .where(ledger.c.reference.in_(wanted))
            .order_by(ledger.c.id)
        )
        return [
            LedgerMove(
                r.facility_id,
                r.product_id,
                r.reference,
                r.cause,
                int(r.qoh_diff),
                int(r.atp_diff),
                int(r.qoh_after),
                int(r.atp_after),
                as_utc(r.created_at),
            )
            for r in self.conn.execute(query)
        ]

    def events_of(self, order_id: str) -> list[SentEvent]:
        """The order's outbox events, oldest first, each with its delivery per endpoint."""
        e, d, w = outbox_events, deliveries, webhooks
        events = list(self.conn.execute(select(e).where(e.c.order_id == order_id).order_by(e.c.id)))
        if not events:
            return []
        sent: dict[int, list[SentDelivery]] = {row.id: [] for row in events}
        rows = self.conn.execute(
            select(
                d.c.event_id,
                d.c.webhook_id,
                w.c.url,
                d.c.status,
                d.c.attempts,
                d.c.last_status_code,
                d.c.delivered_at,
            )
            .join(w, w.c.id == d.c.webhook_id)
            .where(d.c.event_id.in_(list(sent)))
            .order_by(d.c.event_id, d.c.webhook_id)
        )
        for r in rows:
            delivered = as_utc(r.delivered_at) if r.delivered_at is not None else None
            sent[r.event_id].append(
                SentDelivery(
                    r.webhook_id, r.url, r.status, int(r.attempts), r.last_status_code, delivered
                )
            )
        return [
            SentEvent(row.event_id, row.event_type, as_utc(row.created_at), sent[row.id])
            for row in events
        ]
