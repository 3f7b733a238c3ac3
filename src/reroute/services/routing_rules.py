"""The routing rules document: the one in force, and an admin reading, replacing or resetting
it. Nothing saved means the default rules."""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from reroute.domain.access import Principal, Role
from reroute.domain.errors import NotFound, PreconditionFailed
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
        _keep_replaced(uow, actor)
        uow.routing.save_rules(normal, actor.id, uow.now)
    return normal


def reset_rules(ctx: Context, actor: Principal) -> dict[str, Any]:
    actor.require_role(Role.ADMIN)
    with unit_of_work(ctx.db) as uow:
        _locked(uow, None)
        _keep_replaced(uow, actor)
        uow.routing.forget_rules()
    return rules_to_json(default_rules())


# Versions ---------------------------------------------------------------------------------

#: Versions kept: the newest this many; older ones are dropped as new ones come.
KEPT_VERSIONS = 100


def _keep_replaced(uow: UnitOfWork, actor: Principal) -> None:
    """Keep the document in force (under the lock, about to be replaced) as a version."""
    saved = uow.routing.saved_rules()
    version: dict[str, Any] = {"replaced_by": actor.id, "replaced_at": uow.now}
    if saved is None:
        version |= {
            "document": rules_to_json(default_rules()),
            "was_default": True,
            "written_by": None,
            "written_at": None,
        }
    else:
        version |= {
            "document": saved["document"],
            "was_default": False,
            "written_by": saved["updated_by"],
            "written_at": saved["updated_at"],
        }
    uow.routing.keep_version(version, KEPT_VERSIONS)


def list_versions(ctx: Context, actor: Principal) -> list[dict[str, Any]]:
    """The kept versions, newest first, without their documents."""
    actor.require_role(Role.ADMIN)
    with unit_of_work(ctx.db, write=False) as uow:
        return uow.routing.versions(KEPT_VERSIONS)


@dataclass(frozen=True)
class DiffLine:
    #: "added" (in force, not in the version), "removed" (in the version only) or "same".
    kind: str
    text: str


@dataclass(frozen=True)
class Comparison:
    version: dict[str, Any]
    lines: list[DiffLine]
    is_default: bool

    @property
    def same(self) -> bool:
        return all(line.kind == "same" for line in self.lines)


def pretty(document: dict[str, Any]) -> str:
    """The one way documents are written out for reading and comparing."""
    return json.dumps(document, indent=2, ensure_ascii=False)


def compare_version(ctx: Context, version_id: int, actor: Principal) -> Comparison:
    """A version against the document in force, line by line: what restoring it would take
    away is "added" (in force now), what it would bring back is "removed"."""
    actor.require_role(Role.ADMIN)
    with unit_of_work(ctx.db, write=False) as uow:
        version = _version(uow, version_id)
        current, is_default = _as_shown(uow)
    old = pretty(version["document"]).splitlines()
    new = pretty(current).splitlines()
    lines = []
    matcher = difflib.SequenceMatcher(None, old, new)
    for tag, old_from, old_to, new_from, new_to in matcher.get_opcodes():
        if tag == "equal":
            lines += [DiffLine("same", text) for text in new[new_from:new_to]]
            continue
        lines += [DiffLine("removed", text) for text in old[old_from:old_to]]
        lines += [DiffLine("added", text) for text in new[new_from:new_to]]
    return Comparison(version, lines, is_default)


def _version(uow: UnitOfWork, version_id: int) -> dict[str, Any]:
    found = uow.routing.version(version_id)
    if found is None:
        raise NotFound(f"No version {version_id} of the routing rules is kept.")
    return found


def restore_version(ctx: Context, version_id: int, actor: Principal) -> dict[str, Any]:
    """Put a version back in force. A restore is a save: what it replaces becomes a version,
    and the document is checked again (a facility it names may be gone since)."""
    actor.require_role(Role.ADMIN)
    with unit_of_work(ctx.db) as uow:
        _locked(uow, None)
        version = _version(uow, version_id)
        _keep_replaced(uow, actor)
        if version["was_default"]:
            uow.routing.forget_rules()
            return rules_to_json(default_rules())
        known = {f.id for f in uow.facilities.list()}
        normal = rules_to_json(parse_rules(version["document"], known))
        uow.routing.save_rules(normal, actor.id, uow.now)
    return normal
