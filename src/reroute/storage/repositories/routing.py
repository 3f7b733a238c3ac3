"""What routing reads and writes besides inventory: rules, exclusions, facility day counters,
and the queue of items waiting for a facility."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select
from sqlalchemy.dialects import postgresql, sqlite

from reroute.domain.orders import ROUTABLE
from reroute.storage.tables import (
    facility_days,
    inventory_levels,
    item_exclusions,
    order_items,
    routing_rules,
)

Key = tuple[str, str]


class RoutingRepository:
    def __init__(self, conn: Connection, *, postgres: bool) -> None:
        self.conn = conn
        self.postgres = postgres
        self._counts: dict[tuple[str, date], tuple[int, int, int]] = {}

    # The rules document -------------------------------------------------------------------

    def rules(self) -> dict[str, Any] | None:
        row = self.conn.execute(
            select(routing_rules.c.document).where(routing_rules.c.id == 1)
        ).first()
        return dict(row.document) if row else None

    def save_rules(self, document: dict[str, Any], actor: str, now: datetime) -> None:
        self.conn.execute(delete(routing_rules).where(routing_rules.c.id == 1))
        self.conn.execute(
            insert(routing_rules).values(id=1, document=document, updated_by=actor, updated_at=now)
        )

    def forget_rules(self) -> None:
        self.conn.execute(delete(routing_rules))

    # Snapshot inputs ----------------------------------------------------------------------

    def promisable_stock(self, product_ids: Iterable[str]) -> dict[Key, int]:
        """ATP above zero of these products everywhere."""
        ids = sorted(set(product_ids))
        found: dict[Key, int] = {}
        t = inventory_levels
        for start in range(0, len(ids), 5000):
            rows = self.conn.execute(
                select(t.c.facility_id, t.c.product_id, t.c.available_to_promise).where(
                    t.c.product_id.in_(ids[start : start + 5000]), t.c.available_to_promise > 0
                )
            )
            for facility_id, product_id, atp in rows.all():
                found[(facility_id, product_id)] = atp
        return found

    def stock_changed_since(self, since: datetime, product_ids: set[str]) -> dict[Key, int]:
        """ATP of levels written since `since`, among these products (zeros included)."""
        t = inventory_levels
        rows = self.conn.execute(
            select(t.c.facility_id, t.c.product_id, t.c.available_to_promise).where(
                t.c.updated_at >= since
            )
        )
        return {(f, p): atp for f, p, atp in rows if p in product_ids}

    def load_on(self, day: date, facility_ids: Sequence[str]) -> dict[str, int]:
        """Shipments each facility was given on `day`, those this transaction has yet to write
        included."""
        if not facility_ids:
            return {}
        t = facility_days
        rows = self.conn.execute(
            select(t.c.facility_id, t.c.shipments).where(
                t.c.day == day, t.c.facility_id.in_(list(facility_ids))
            )
        )
        load = {r.facility_id: r.shipments for r in rows}
        for facility_id in facility_ids:
            pending = self._counts.get((facility_id, day))
            if pending and pending[0]:
                load[facility_id] = load.get(facility_id, 0) + pending[0]
        return load

    def acceptance(self, today: date, days: int = 30) -> dict[str, float]:
        """Share of assigned items each facility did not reject over the last `days` days."""
        t = facility_days
        rows = self.conn.execute(
            select(t.c.facility_id, func.sum(t.c.assignments), func.sum(t.c.rejections))
            .where(t.c.day > today - timedelta(days=days))
            .group_by(t.c.facility_id)
        )
        rates = {}
        for facility_id, assigned, rejected in rows:
            if assigned:
                rates[facility_id] = max(0.0, 1.0 - (rejected or 0) / assigned)
        return rates

    def exclusions(self, order_ids: Sequence[str]) -> dict[Key, set[str]]:
        found: dict[Key, set[str]] = {}
        ids = list(set(order_ids))
        for start in range(0, len(ids), 5000):
            rows = self.conn.execute(
                select(item_exclusions).where(
                    item_exclusions.c.order_id.in_(ids[start : start + 5000])
                )
            )
            for row in rows:
                found.setdefault((row.order_id, row.item_id), set()).add(row.facility_id)
        return found

    def exclude(self, order_id: str, item_id: str, facility_id: str, now: datetime) -> None:
        dialect_insert = postgresql.insert if self.postgres else sqlite.insert
        self.conn.execute(
            dialect_insert(item_exclusions)
            .values(order_id=order_id, item_id=item_id, facility_id=facility_id, created_at=now)
            .on_conflict_do_nothing()
        )

    def count_day(self, day: date, counts: dict[str, tuple[int, int, int]]) -> None:
        """Add (shipments, assignments, rejections) to each facility's counters for `day`.

        Kept until `write_counts` (at the end of the transaction), so that one transaction
        touches each counter row once, in one fixed order: concurrent writers never deadlock.
        """
        for facility_id, (shipped, assigned, rejected) in counts.items():
            held = self._counts.get((facility_id, day), (0, 0, 0))
            self._counts[(facility_id, day)] = (
                held[0] + shipped,
                held[1] + assigned,
                held[2] + rejected,
            )

    def write_counts(self) -> None:
        if not self._counts:
            return
        t = facility_days
        dialect_insert = postgresql.insert if self.postgres else sqlite.insert
        statement = dialect_insert(t)
        statement = statement.on_conflict_do_update(
            index_elements=[t.c.facility_id, t.c.day],
            set_={
                "shipments": t.c.shipments + statement.excluded.shipments,
                "assignments": t.c.assignments + statement.excluded.assignments,
                "rejections": t.c.rejections + statement.excluded.rejections,
            },
        )
        for (facility_id, day), (shipped, assigned, rejected) in sorted(self._counts.items()):
            self.conn.execute(
                statement,
                {
                    "facility_id": facility_id,
                    "day": day,
                    "shipments": shipped,
                    "assignments": assigned,
                    "rejections": rejected,
                },
            )
        self._counts = {}

    # The queue ----------------------------------------------------------------------------

    def queued_orders(self, after: str | None, limit: int) -> list[str]:
        """Ids of orders with items waiting for routing, in id order, after `after`."""
        t = order_items
        query = (
            select(t.c.order_id)
            .where(t.c.state.in_([str(s) for s in ROUTABLE]))
            .group_by(t.c.order_id)
            .order_by(t.c.order_id)
            .limit(limit)
        )
        if after is not None:
            query = query.where(t.c.order_id > after)
        return [r.order_id for r in self.conn.execute(query)]

    def count_queued(self) -> int:
        t = order_items
        query = select(func.count()).where(t.c.state.in_([str(s) for s in ROUTABLE]))
        return int(self.conn.execute(query).scalar_one())

    def backordered_orders(self, product_id: str, limit: int) -> list[str]:
        t = order_items
        rows = self.conn.execute(
            select(t.c.order_id)
            .where(t.c.product_id == product_id, t.c.state == "backorder")
            .group_by(t.c.order_id)
            .order_by(t.c.order_id)
            .limit(limit)
        )
        return [r.order_id for r in rows]
