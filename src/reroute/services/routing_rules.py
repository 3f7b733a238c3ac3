"""The routing rules document: the one in force, and an admin reading, replacing or resetting
it. Nothing saved means the default rules."""

from __future__ import annotations

from typing import Any

from reroute.domain.access import Principal, Role
from reroute.domain.routing.rules import RulesDocument, default_rules, parse_rules, rules_to_json
from reroute.services.context import Context
from reroute.storage.unit_of_work import UnitOfWork, unit_of_work


def current_rules(uow: UnitOfWork) -> RulesDocument:
    saved = uow.routing.rules()
    return parse_rules(saved) if saved is not None else default_rules()


def get_rules(ctx: Context, actor: Principal) -> tuple[dict[str, Any], bool]:
    """The document in force, and whether it is the default (nothing saved)."""
    actor.require_role(Role.ADMIN, Role.INTEGRATION)
    with unit_of_work(ctx.db, write=False) as uow:
        saved = uow.routing.rules()
    if saved is None:
        return rules_to_json(default_rules()), True
    return rules_to_json(parse_rules(saved)), False


def put_rules(ctx: Context, document: Any, actor: Principal) -> dict[str, Any]:
    actor.require_role(Role.ADMIN)
    with unit_of_work(ctx.db) as uow:
        known = {f.id for f in uow.facilities.list()}
        parsed = parse_rules(document, known)
        normal = rules_to_json(parsed)
        uow.routing.save_rules(normal, actor.id, uow.now)
    return normal


def reset_rules(ctx: Context, actor: Principal) -> dict[str, Any]:
    actor.require_role(Role.ADMIN)
    with unit_of_work(ctx.db) as uow:
        uow.routing.forget_rules()
    return rules_to_json(default_rules())
