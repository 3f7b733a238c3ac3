"""Facilities change rarely and are read on every routing and notification: keep them in
memory, built again only when the table's fingerprint (count, latest change) moves."""

from __future__ import annotations

from dataclasses import dataclass

from reroute.domain.facilities import Facility
from reroute.domain.routing.snapshot import Snapshot
from reroute.services.context import Context
from reroute.storage.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class Facilities:
    by_id: dict[str, Facility]
    #: Routing's view of the active ones (sites, grid); copy with `.fresh()` before use.
    sites: Snapshot


def facilities(ctx: Context, uow: UnitOfWork) -> Facilities:
    fingerprint = uow.facilities.fingerprint()
    cached = ctx.cache.get("facilities")
    if cached is not None and cached[0] == fingerprint:
        known: Facilities = cached[1]
        return known
    listed = uow.facilities.list()
    known = Facilities({f.id: f for f in listed}, Snapshot.build(listed))
    ctx.cache["facilities"] = (fingerprint, known)
    return known
