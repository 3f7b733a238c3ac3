"""Rejection records counted for analytics over any period (by day, facility, reason, product
and the person who rejected), and the records behind any one of those counts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, func, literal_column, select

from reroute.domain.clock import as_utc
from reroute.storage.tables import rejections

#: Dimensions of the counts, each a column of the records (the day is computed).
DIMENSIONS = ("facility", "reason", "product", "actor")


@dataclass(frozen=True)
class RejectionFilter:
    """Records from `since` (inclusive) to `until` (exclusive); None is no condition. A
    `reason_id` of "" means records without a reason."""

    since: datetime
    until: datetime
    facility_id: str | None = None
    reason_id: str | None = None
    product_id: str | None = None
    actor: str | None = None


def _day(postgres: bool) -> ColumnElement[Any]:
    """The record's day in UTC as YYYY-MM-DD text, on either database."""
    # Constants written into the SQL, not bound: PostgreSQL groups by the selected expression
    # only when the two are the same text.
    t = rejections
    if postgres:
        utc_time = func.timezone(literal_column("'UTC'"), t.c.created_at)
        return func.to_char(utc_time, literal_column("'YYYY-MM-DD'"))
    return func.strftime(literal_column("'%Y-%m-%d'"), t.c.created_at)


def _conditions(where: RejectionFilter) -> list[ColumnElement[bool]]:
    t = rejections
    found = [t.c.created_at >= where.since, t.c.created_at < where.until]
    for column, value in (
        (t.c.facility_id, where.facility_id),
        (t.c.product_id, where.product_id),
        (t.c.actor, where.actor),
    ):
        if value is not None:
            found.append(column == value)
    if where.reason_id == "":
        found.append(t.c.reason_id.is_(None))
    elif where.reason_id is not None:
        found.append(t.c.reason_id == where.reason_id)
    return found


class RejectionStatsRepository:
    def __init__(self, conn: Connection, *, postgres: bool) -> None:
        self.conn = conn
        self.postgres = postgres

    def counts(self, where: RejectionFilter) -> dict[str, dict[str, int]]:
        """Records matching `where` counted by day and by each of DIMENSIONS (a missing reason
        is counted under "")."""
        t = rejections
        columns = {
            "day": _day(self.postgres),
            "facility": t.c.facility_id,
            "reason": t.c.reason_id,
            "product": t.c.product_id,
            "actor": t.c.actor,
        }
        found: dict[str, dict[str, int]] = {}
        for name, column in columns.items():
            key = column.label("key")
            query = select(key, func.count()).where(*_conditions(where)).group_by(key)
            found[name] = {str(k or ""): int(n) for k, n in self.conn.execute(query)}
        return found

    def records(
        self, where: RejectionFilter, *, limit: int, before_id: int | None = None
    ) -> list[dict[str, Any]]:
        """Records matching `where`, newest first, those older than `before_id` only."""
        t = rejections
        query = select(t).where(*_conditions(where)).order_by(t.c.id.desc()).limit(limit)
        if before_id is not None:
            query = query.where(t.c.id < before_id)
        found = []
        for row in self.conn.execute(query):
            entry = dict(row._mapping)
            entry["created_at"] = as_utc(entry["created_at"])
            found.append(entry)
        return found
