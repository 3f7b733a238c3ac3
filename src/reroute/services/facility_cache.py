"""Facilities change rarely and are read on every routing and notification: they come from the
process's checked copy of near-static data (`services.reference`), loaded again only when the
reference version moves."""

from __future__ import annotations

from reroute.services.context import Context
from reroute.services.reference import Facilities, reference
from reroute.storage.unit_of_work import UnitOfWork

__all__ = ["Facilities", "facilities"]


def facilities(ctx: Context, uow: UnitOfWork) -> Facilities:
    return reference(ctx, uow).facilities
