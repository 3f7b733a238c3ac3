"""Webhook endpoints, their deliveries (claimed with a lease) and every attempt."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    and_,
    bindparam,
    exists,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.orm import aliased

from reroute.domain.clock import as_utc
from reroute.domain.notifications import DeliveryStatus
from reroute.storage.tables import deliveries, delivery_attempts, outbox_events, webhooks


@dataclass(frozen=True)
class Webhook:
    id: str
    url: str
    event_types: list[str]
    secret: str
    active: bool
    disabled_reason: str | None
    created_at: datetime | None
    #: After a rotation: the secret before it, which signs beside `secret` until `previous_until`.
    previous_secret: str | None = None
    previous_until: datetime | None = None


@dataclass(frozen=True)
class Attempt:
    """One try of a delivery and its verdict."""

    delivery_id: int
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime
    status_code: int | None
    duration_ms: int
    error: str | None
    excerpt: str | None


@dataclass(frozen=True)
class Claimed:
    """A delivery taken for one attempt: everything needed to send it."""

    id: int
    attempts: int
    webhook_id: str
    url: str
    secret: str
    message_id: str
    body: str
    #: The secret before a rotation and until when it signs too (None: only `secret` signs).
    previous_secret: str | None = None
    previous_until: datetime | None = None


# Statements of the delivery worker's loop, built once: a statement object used again keeps its
# cache key, so each call only binds its values.

_ANYTHING_DUE = (
    select(deliveries.c.id)
    .where(
        deliveries.c.status == str(DeliveryStatus.PENDING),
        deliveries.c.next_attempt_at <= bindparam("now"),
    )
    .limit(1)
)
_ENABLED = select(webhooks.c.id).where(webhooks.c.active.is_(True))
_LEASE = (
    update(deliveries)
    .where(deliveries.c.id.in_(bindparam("ids", expanding=True)))
    .values(locked_until=bindparam("lease_until"))
)
_LEASE_RETURNING = _LEASE.returning(deliveries.c.id)
_CLAIMED = (
    select(
        deliveries.c.id,
        deliveries.c.attempts,
        deliveries.c.webhook_id,
        webhooks.c.url,
        webhooks.c.secret,
        outbox_events.c.event_id,
        outbox_events.c.body,
        webhooks.c.previous_secret,
        webhooks.c.previous_secret_until,
    )
    .join(webhooks, webhooks.c.id == deliveries.c.webhook_id)
    .join(outbox_events, outbox_events.c.id == deliveries.c.event_id)
    .where(deliveries.c.id.in_(bindparam("ids", expanding=True)))
    .order_by(deliveries.c.id)
)
_NEW_ATTEMPTS = insert(delivery_attempts)
_AFTER_ATTEMPT = (
    update(deliveries)
    .where(deliveries.c.id == bindparam("b_id"))
    .values(
        status=bindparam("b_status"),
        attempts=bindparam("b_attempts"),
        next_attempt_at=bindparam("b_next"),
        locked_until=None,
        last_status_code=bindparam("b_code"),
        last_error=bindparam("b_error"),
        delivered_at=bindparam("b_delivered"),
    )
)


def _webhook(row: Any) -> Webhook:
    return Webhook(
        row.id,
        row.url,
        list(row.event_types),
        row.secret,
        row.active,
        row.disabled_reason,
        as_utc(row.created_at),
        row.previous_secret,
        as_utc(row.previous_secret_until) if row.previous_secret_until is not None else None,
    )


class WebhookRepository:
    def __init__(self, conn: Connection, *, postgres: bool) -> None:
        self.conn = conn
        self.postgres = postgres

    # Endpoints ----------------------------------------------------------------------------

    def add(self, webhook: Webhook, now: datetime) -> None:
        self.conn.execute(
            insert(webhooks).values(
                id=webhook.id,
                url=webhook.url,
                event_types=webhook.event_types,
                secret=webhook.secret,
                active=webhook.active,
                created_at=now,
                updated_at=now,
            )
        )

    def get(self, webhook_id: str) -> Webhook | None:
        t = webhooks
        row = self.conn.execute(
            select(t).where(t.c.id == webhook_id, t.c.deleted_at.is_(None))
        ).first()
        return _webhook(row) if row else None

    def all(self) -> list[Webhook]:
        t = webhooks
        rows = self.conn.execute(select(t).where(t.c.deleted_at.is_(None)).order_by(t.c.created_at))
        return [_webhook(r) for r in rows]

    def set_active(self, webhook_id: str, active: bool, reason: str | None, now: datetime) -> None:
        self.conn.execute(
            update(webhooks)
            .where(webhooks.c.id == webhook_id)
            .values(active=active, disabled_reason=reason, updated_at=now)
        )

    def change(
        self, webhook_id: str, now: datetime, *, url: str | None, event_types: list[str] | None
    ) -> None:
        """A new URL or event types (what is left out stays): pending deliveries go to the new
        URL; the event types decide only for events written from now on."""
        values: dict[str, Any] = {"updated_at": now}
        if url is not None:
            values["url"] = url
        if event_types is not None:
            values["event_types"] = event_types
        self.conn.execute(update(webhooks).where(webhooks.c.id == webhook_id).values(**values))

    def rotate(
        self, webhook_id: str, secret: str, previous: str, until: datetime, now: datetime
    ) -> None:
        """`secret` signs from now on; `previous` (the secret it replaces) signs beside it until
        `until`. A secret older than `previous` stops signing at once."""
        self.conn.execute(
            update(webhooks)
            .where(webhooks.c.id == webhook_id)
            .values(
                secret=secret,
                previous_secret=previous,
                previous_secret_until=until,
                updated_at=now,
            )
        )

    def remove(self, webhook_id: str, now: datetime) -> None:
        """Stop for good: pending deliveries are dropped; the log of what was sent stays."""
        self.conn.execute(
            update(webhooks)
            .where(webhooks.c.id == webhook_id)
            .values(active=False, deleted_at=now, updated_at=now)
        )
        self.conn.execute(
            update(deliveries)
            .where(
                deliveries.c.webhook_id == webhook_id,
                deliveries.c.status == str(DeliveryStatus.PENDING),
            )
            .values(status=str(DeliveryStatus.CANCELED), locked_until=None)
        )

    # Deliveries ---------------------------------------------------------------------------

    def anything_due(self, now: datetime) -> bool:
        """A cheap read before claiming: on SQLite a claim takes the one write lock."""
        row = self.conn.execute(_ANYTHING_DUE, {"now": now}).first()
        return row is not None

    def claim(
        self,
        now: datetime,
        lease_until: datetime,
        limit: int,
        *,
        lane_depth: int | None = None,
        room: Mapping[str, int] | None = None,
        skip: Collection[int] = (),
    ) -> list[Claimed]:
        """Take due deliveries of enabled endpoints that head their (endpoint, order) line,
        for one attempt each, oldest first.

        Each endpoint is a lane: at most `room[w]` of endpoint `w`'s deliveries are taken
        (`lane_depth` for an endpoint not in `room`), so a slow endpoint's backlog cannot
        crowd out the others. Only enabled endpoints' are taken (a disabled endpoint's
        deliveries wait). `skip`: deliveries the caller holds (their lease may have run out;
        they are not taken twice).

        The lease (`locked_until`) is committed before anything is sent: a worker that dies
        mid-send leaves rows that become claimable again when the lease runs out.
        """
        d = deliveries
        earlier = aliased(deliveries)
        due = and_(
            d.c.status == str(DeliveryStatus.PENDING),
            d.c.next_attempt_at <= now,
            or_(d.c.locked_until.is_(None), d.c.locked_until < now),
            ~exists().where(
                earlier.c.webhook_id == d.c.webhook_id,
                earlier.c.order_id == d.c.order_id,
                earlier.c.status == str(DeliveryStatus.PENDING),
                earlier.c.id < d.c.id,
            ),
        )
        ids = self._heads(due, limit, lane_depth, room or {}, set(skip))
        if not ids:
            return []
        lease = {"ids": ids, "lease_until": lease_until}
        if self.postgres:
            self.conn.execute(_LEASE, lease)
        else:
            # One writer at a time: nothing changed since the heads were read.
            ids = [r.id for r in self.conn.execute(_LEASE_RETURNING, lease)]
        rows = self.conn.execute(_CLAIMED, {"ids": ids})
        return [
            Claimed(
                r[0],
                r[1],
                r[2],
                r[3],
                r[4],
                r[5],
                r[6],
                r[7],
                as_utc(r[8]) if r[8] is not None else None,
            )
            for r in rows
        ]

    def _heads(
        self,
        due: Any,
        limit: int,
        lane_depth: int | None,
        room: Mapping[str, int],
        skip: set[int],
    ) -> list[int]:
        """The oldest due deliveries, at most `limit`, of enabled endpoints with room in
        their lane.

        Each pass reads the oldest due rows of the endpoints with room, no more rows than
        there is room (a read that stops early, however long the backlog); a row whose
        endpoint filled up during the pass is passed over, and the next pass leaves that
        endpoint out. A pass that does not end the loop fills a lane, so there are at most as
        many passes as endpoints.
        """
        d = deliveries
        enabled = _ENABLED
        active = list(self.conn.execute(enabled).scalars())
        depth = lane_depth if lane_depth is not None else limit
        rooms = {w: room.get(w, depth) for w in active}
        chosen: list[int] = []
        for _ in range(len(rooms) + 1):
            open_lanes = [w for w, room in rooms.items() if room > 0]
            asked = min(limit - len(chosen), sum(rooms[w] for w in open_lanes))
            if asked <= 0:
                break
            query = (
                select(d.c.id, d.c.webhook_id)
                .where(due, d.c.webhook_id.in_(enabled))
                .order_by(d.c.id)
                .limit(asked)
            )
            # Full lanes left out (not open ones named): a name the planner could take for a
            # constant makes PostgreSQL, without statistics, check each row's line by a scan.
            full = [w for w, room in rooms.items() if room <= 0]
            if full:
                query = query.where(d.c.webhook_id.not_in(full))
            if skip:
                query = query.where(d.c.id.not_in(list(skip)))
            if self.postgres:
                # Rows other workers are claiming are skipped; those read here stay locked
                # until this transaction ends, so no other worker takes them meanwhile.
                query = query.with_for_update(skip_locked=True, of=d)
            rows = list(self.conn.execute(query))
            for row in rows:
                skip.add(row.id)
                if rooms[row.webhook_id] > 0:
                    rooms[row.webhook_id] -= 1
                    chosen.append(row.id)
            if len(rows) < asked:
                break
        return chosen

    def record_attempts(self, attempts: list[Attempt], at: datetime) -> None:
        """Each try of a round, and where each delivery stands after it: two statements for
        the whole round, whatever its size."""
        if not attempts:
            return
        self.conn.execute(
            _NEW_ATTEMPTS,
            [
                {
                    "delivery_id": a.delivery_id,
                    "attempted_at": at,
                    "status_code": a.status_code,
                    "duration_ms": a.duration_ms,
                    "error": a.error,
                    "response_excerpt": a.excerpt,
                }
                for a in attempts
            ],
        )
        self.conn.execute(
            _AFTER_ATTEMPT,
            [
                {
                    "b_id": a.delivery_id,
                    "b_status": str(a.status),
                    "b_attempts": a.attempts,
                    "b_next": a.next_attempt_at,
                    "b_code": a.status_code,
                    "b_error": a.error,
                    "b_delivered": at if a.status is DeliveryStatus.DELIVERED else None,
                }
                for a in attempts
            ],
        )

    def fail_pending_of(self, webhook_id: str, reason: str) -> None:
        self.conn.execute(
            update(deliveries)
            .where(
                deliveries.c.webhook_id == webhook_id,
                deliveries.c.status == str(DeliveryStatus.PENDING),
            )
            .values(status=str(DeliveryStatus.FAILED), last_error=reason, locked_until=None)
        )

    def deliveries_of(
        self,
        webhook_id: str,
        limit: int,
        before_id: int | None,
        statuses: Collection[DeliveryStatus] = (),
    ) -> list[dict[str, Any]]:
        """Newest first, older than `before_id` if given, of these statuses if any named."""
        d = deliveries
        query = self._with_event().where(d.c.webhook_id == webhook_id).order_by(d.c.id.desc())
        if before_id is not None:
            query = query.where(d.c.id < before_id)
        if statuses:
            query = query.where(d.c.status.in_(sorted(str(s) for s in statuses)))
        return self._with_attempts(
            [dict(r._mapping) for r in self.conn.execute(query.limit(limit))]
        )

    def delivery(self, delivery_id: int) -> dict[str, Any] | None:
        """One delivery as the list shows it: its event's id (the webhook-id) and type, and
        every attempt."""
        query = self._with_event().where(deliveries.c.id == delivery_id)
        found = self._with_attempts([dict(r._mapping) for r in self.conn.execute(query)])
        return found[0] if found else None

    @staticmethod
    def _with_event() -> Any:
        d = deliveries
        return select(
            d, outbox_events.c.event_id.label("message_id"), outbox_events.c.event_type
        ).join(outbox_events, outbox_events.c.id == d.c.event_id)

    def _with_attempts(self, found: list[dict[str, Any]]) -> list[dict[str, Any]]:
        ids = [f["id"] for f in found]
        attempts: dict[int, list[dict[str, Any]]] = {i: [] for i in ids}
        if ids:
            a = delivery_attempts
            for row in self.conn.execute(
                select(a).where(a.c.delivery_id.in_(ids)).order_by(a.c.id)
            ):
                entry = dict(row._mapping)
                entry["attempted_at"] = as_utc(entry["attempted_at"])
                attempts[row.delivery_id].append(entry)
        for f in found:
            f["status"] = DeliveryStatus(f["status"])
            for key in ("next_attempt_at", "created_at", "delivered_at", "locked_until"):
                if f.get(key) is not None:
                    f[key] = as_utc(f[key])
            f["attempt_log"] = attempts[f["id"]]
        return found

    def replay(self, delivery_id: int, now: datetime) -> None:
        """Send again from the start of the schedule (same event, same webhook-id)."""
        self.conn.execute(
            update(deliveries)
            .where(deliveries.c.id == delivery_id)
            .values(
                status=str(DeliveryStatus.PENDING),
                attempts=0,
                next_attempt_at=now,
                locked_until=None,
            )
        )

    def send_now(self, delivery_id: int, now: datetime) -> None:
        """Due at once, its tries so far kept: a failed one gets one more try (and more only if
        the schedule has tries left)."""
        self.conn.execute(
            update(deliveries)
            .where(deliveries.c.id == delivery_id)
            .values(status=str(DeliveryStatus.PENDING), next_attempt_at=now)
        )

    def cancel_waiting(self, webhook_id: str, order_id: str, reason: str, now: datetime) -> None:
        """Cancel the endpoint's pending deliveries of this line that no worker holds now."""
        d = deliveries
        self.conn.execute(
            update(d)
            .where(
                d.c.webhook_id == webhook_id,
                d.c.order_id == order_id,
                d.c.status == str(DeliveryStatus.PENDING),
                or_(d.c.locked_until.is_(None), d.c.locked_until < now),
            )
            .values(status=str(DeliveryStatus.CANCELED), last_error=reason, locked_until=None)
        )

    def pending_count(self) -> int:
        return int(
            self.conn.execute(
                select(func.count()).where(deliveries.c.status == str(DeliveryStatus.PENDING))
            ).scalar_one()
        )
