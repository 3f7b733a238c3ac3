"""What was rejected where: the records, and counts for the analytics admins read."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from reroute.domain.access import Principal, Role
from reroute.domain.clock import utcnow
from reroute.domain.errors import Invalid
from reroute.services.context import Context
from reroute.storage.repositories.rejection_stats import RejectionFilter, RejectionStatsRepository
from reroute.storage.unit_of_work import unit_of_work

__all__ = ["RejectionFilter", "rejection_counts", "rejections_behind", "search_rejections"]


def search_rejections(
    ctx: Context,
    actor: Principal,
    *,
    facility_id: str | None = None,
    reason_id: str | None = None,
    product_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 100,
    before_id: int | None = None,
) -> tuple[list[dict[str, Any]], dict[str, dict[str, dict[str, int]]]]:
    """Rejections newest first, and counts by facility, reason and product over the last
    24 hours and 7 days (an associate sees its own facility's only)."""
    if facility_id is not None:
        actor.require_facility(facility_id)
    scoped = facility_id
    if actor.is_associate and scoped is None:
        if len(actor.facilities) != 1:
            raise Invalid("Name the facility: you work at more than one.")
        scoped = next(iter(actor.facilities))
    now = utcnow()
    with unit_of_work(ctx.db, write=False) as uow:
        rows = uow.rejections.search(
            facility_id=scoped,
            reason_id=reason_id,
            product_id=product_id,
            since=since,
            until=until,
            limit=limit,
            before_id=before_id,
        )
        counts = {
            "last_24_hours": uow.rejections.counts(now - timedelta(hours=24), facility_id=scoped),
            "last_7_days": uow.rejections.counts(now - timedelta(days=7), facility_id=scoped),
        }
    return rows, counts


def rejection_counts(
    ctx: Context, actor: Principal, where: RejectionFilter
) -> dict[str, dict[str, int]]:
    """Rejected items of a period counted by day (UTC), facility, reason, product and the
    person who rejected them: what the analytics page draws (admins only)."""
    actor.require_role(Role.ADMIN, action="read analytics")
    with unit_of_work(ctx.db, write=False) as uow:
        return RejectionStatsRepository(uow.conn, postgres=uow.postgres).counts(where)


def rejections_behind(
    ctx: Context, actor: Principal, where: RejectionFilter, *, limit: int, before_id: int | None
) -> list[dict[str, Any]]:
    """The records behind one of those counts, newest first, a page at a time (admins only)."""
    actor.require_role(Role.ADMIN, action="read analytics")
    with unit_of_work(ctx.db, write=False) as uow:
        repo = RejectionStatsRepository(uow.conn, postgres=uow.postgres)
        return repo.records(where, limit=limit, before_id=before_id)
