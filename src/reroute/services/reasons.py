"""Rejection reasons as data an admin manages."""

from __future__ import annotations

from reroute.domain.access import Principal, Role
from reroute.domain.rejection import Reason
from reroute.services.context import Context
from reroute.storage.unit_of_work import unit_of_work


def list_reasons(ctx: Context, actor: Principal, *, active_only: bool = False) -> list[Reason]:
    with unit_of_work(ctx.db, write=False) as uow:
        reasons = uow.rejections.reasons()
    return [r for r in reasons if r.active] if active_only else reasons


def put_reason(ctx: Context, reason: Reason, actor: Principal) -> tuple[Reason, bool]:
    actor.require_role(Role.ADMIN)
    with unit_of_work(ctx.db) as uow:
        created = uow.rejections.save_reason(reason, uow.now)
    return reason, created
