"""Leases on scheduled jobs (`job_runs`): one process runs a job at a time, however many run."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Connection, bindparam, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from reroute.domain.clock import as_utc
from reroute.storage.tables import job_runs

_j = job_runs
_ADD_PG = postgresql.insert(_j).on_conflict_do_nothing()
_ADD_SQLITE = sqlite.insert(_j).on_conflict_do_nothing()
_CLAIM = (
    update(_j)
    .where(
        _j.c.name == bindparam("j_name"),
        or_(_j.c.lease_until.is_(None), _j.c.lease_until < bindparam("now")),
        or_(_j.c.started_at.is_(None), _j.c.started_at <= bindparam("due")),
    )
    .values(
        holder=bindparam("b_holder"),
        lease_until=bindparam("b_lease_until"),
        started_at=bindparam("now"),
    )
)
_RELEASE = (
    update(_j)
    .where(_j.c.name == bindparam("j_name"), _j.c.holder == bindparam("b_holder"))
    .values(lease_until=None, finished_at=bindparam("now"))
)
_STARTED = select(_j.c.started_at).where(_j.c.name == bindparam("j_name"))


class JobRepository:
    def __init__(self, conn: Connection, *, postgres: bool) -> None:
        self.conn = conn
        self.postgres = postgres

    def claim(
        self, name: str, holder: str, now: datetime, every: timedelta, lease: timedelta
    ) -> bool:
        """Take the job for `holder` if it is due (last started `every` ago or more) and no
        one holds it (or a holder's lease ran out: it died mid-run). One statement decides,
        so of two processes asking at once exactly one gets it."""
        self.conn.execute(_ADD_PG if self.postgres else _ADD_SQLITE, {"name": name})
        result = self.conn.execute(
            _CLAIM,
            {
                "j_name": name,
                "now": now,
                "due": now - every,
                "b_holder": holder,
                "b_lease_until": now + lease,
            },
        )
        return bool(result.rowcount)

    def release(self, name: str, holder: str, now: datetime) -> None:
        self.conn.execute(_RELEASE, {"j_name": name, "b_holder": holder, "now": now})

    def started_at(self, name: str) -> datetime | None:
        found = self.conn.execute(_STARTED, {"j_name": name}).scalar()
        return as_utc(found) if found is not None else None
