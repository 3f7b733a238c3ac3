"""The routing rules document: the one in force, and an admin reading, replacing or resetting
it. Nothing saved means the default rules."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from reroute.domain.access import Principal, Role
from reroute.domain.errors import PreconditionFailed
from reroute.domain.routing.rules import RulesDocument, default_rules, parse_rules, rules_to_json
from reroute.services.context import Context
from reroute.storage.unit_of_work import UnitOfWork, unit_of_work


def current_rules(uow: UnitOfWork) -> RulesDocument:
    saved = uow.routing.rules()
    return parse_rules(saved) if saved is not None else default_rules()


#: Whether a change may be saved over the document as it stands (its JSON form, and whether
#: it is the default): the caller's `If-Match`, checked under the lock.
Precondition = Callable[[dict[str, Any], bool], bool]
STALE = (
    "The rules were changed since you read them (If-Match does not match): read them again, "
    "apply your change there and save that."
)


def get_rules(ctx: Context, actor: Principal) -> tuple[dict[str, Any], bool]:
    """The document in force, and whether it is the default (nothing saved)."""
    actor.require_role(Role.ADMIN, Role.INTEGRATION)
    with unit_of_work(ctx.db, write=False) as uow:
        return _as_shown(uow)


def _as_shown(uow: UnitOfWork) -> tuple[dict[str, Any], bool]:
    saved = uow.routing.rules()
    if saved is None:
        return rules_to_json(default_rules()), True
    return rules_to_json(parse_rules(saved)), False


def _locked(uow: UnitOfWork, precondition: Precondition | None) -> None:
    """Hold the document for this transaction, then check the precondition against it as
    it stands: a writer that saved first is seen, and the second is refused."""
    uow.routing.lock_rules()
    if precondition is not None and not precondition(*_as_shown(uow)):
        raise PreconditionFailed(STALE)


def put_rules(
    ctx: Context, document: Any, actor: Principal, precondition: Precondition | None = None
) -> dict[str, Any]:
    actor.require_role(Role.ADMIN)
    with unit_of_work(ctx.db) as uow:
        _locked(uow, precondition)
        known = {f.id for f in uow.facilities.list()}
        parsed = parse_rules(document, known)
        normal = rules_to_json(parsed)
        uow.routing.save_rules(normal, actor.id, uow.now)
    return normal


def reset_rules(ctx: Context, actor: Principal) -> dict[str, Any]:
    actor.require_role(Role.ADMIN)
    with unit_of_work(ctx.db) as uow:
        _locked(uow, None)
        uow.routing.forget_rules()
    return rules_to_json(default_rules())
