"""Rejection reasons as data an admin manages."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from reroute.domain.access import Principal, Role
from reroute.domain.errors import NotFound, PreconditionFailed
from reroute.domain.reasons import Reason
from reroute.services.context import Context
from reroute.services.reference import reference
from reroute.storage.unit_of_work import unit_of_work


def list_reasons(ctx: Context, actor: Principal, *, active_only: bool = False) -> list[Reason]:
    with unit_of_work(ctx.db, write=False) as uow:
        reasons = list(reference(ctx, uow).reasons)
    return [r for r in reasons if r.active] if active_only else reasons


#: Whether a change may be saved over the reason as it stands (None: there is none yet): the
#: caller's `If-Match`, checked under the row's lock.
Precondition = Callable[[Reason | None], bool]
STALE = (
    "Reason {id} was changed since you read it, or is gone (If-Match does not match): read "
    "it again, apply your change there and save that."
)


def put_reason(
    ctx: Context, reason: Reason, actor: Principal, precondition: Precondition | None = None
) -> tuple[Reason, bool]:
    """Add or replace a reason. With a `precondition`, the reason's row is locked and read
    first, in the transaction that writes it: of two admins who read the same version, the
    second to save sees the first's change and is refused."""
    actor.require_role(Role.ADMIN, action="put reason", target=f"reason {reason.id}")
    with unit_of_work(ctx.db) as uow:
        if precondition is not None:
            current = uow.rejections.reason(reason.id, lock=True)
            if not precondition(current):
                raise PreconditionFailed(STALE.format(id=reason.id))
        created = uow.rejections.save_reason(reason, uow.now)
    return reason, created


def move_reason(ctx: Context, reason_id: str, places: int, actor: Principal) -> list[Reason]:
    """Move a reason up (negative) or down the list; every reason is numbered again by tens
    in one transaction, so the order stays whole. Answers the reasons in their new order."""
    actor.require_role(Role.ADMIN, action="move reason", target=f"reason {reason_id}")
    with unit_of_work(ctx.db) as uow:
        ordered = uow.rejections.reasons()
        index = next((n for n, r in enumerate(ordered) if r.id == reason_id), None)
        if index is None:
            raise NotFound(f"No reason {reason_id}.")
        moved = ordered.pop(index)
        ordered.insert(max(0, min(len(ordered), index + places)), moved)
        renumbered = [replace(r, sequence=(n + 1) * 10) for n, r in enumerate(ordered)]
        for reason in renumbered:
            uow.rejections.save_reason(reason, uow.now)
    return renumbered
