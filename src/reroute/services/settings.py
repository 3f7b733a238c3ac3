"""Reading and changing run-time settings."""

from __future__ import annotations

from typing import Any

from reroute.domain.access import Principal, Role
from reroute.domain.settings import RuntimeSettings
from reroute.services.context import Context
from reroute.services.reference import CACHE_KEY, Reference
from reroute.storage.unit_of_work import unit_of_work


def get_settings(ctx: Context, actor: Principal) -> RuntimeSettings:
    actor.require_role(Role.ADMIN, Role.INTEGRATION, action="read settings")
    with unit_of_work(ctx.db, write=False) as uow:
        return ctx.settings(uow)


def change_settings(ctx: Context, changes: dict[str, Any], actor: Principal) -> RuntimeSettings:
    actor.require_role(Role.ADMIN, action="change settings")
    with unit_of_work(ctx.db) as uow:
        uow.settings.put(changes, uow.now)
        return ctx.settings(uow)


def cached_settings(ctx: Context) -> RuntimeSettings:
    """The settings of the process's latest committed copy of the near-static data, read
    without the database: for checks on every request (the request limit), which may lag a
    change made in another process until this one next reads the reference version (its next
    transaction). The defaults until a copy is loaded."""
    current: Reference | None = ctx.cache.get(CACHE_KEY)
    return current.settings if current is not None else ctx.defaults
