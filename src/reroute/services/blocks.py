"""Blocking a product at a facility for a while, and reading the blocks and holds in force."""

from __future__ import annotations

from datetime import datetime

from reroute.domain.access import Principal, Role
from reroute.domain.blocks import LONGEST_BLOCK, Block, BlockKind
from reroute.domain.errors import FieldError, Invalid, NotFound
from reroute.services.context import Context
from reroute.storage.unit_of_work import UnitOfWork, transact, unit_of_work

#: Who may block: an admin, or an associate of that facility (their own store's stock).
BLOCKERS = (Role.ADMIN, Role.ASSOCIATE)


def _may_block(actor: Principal, facility_id: str, action: str) -> None:
    actor.require_role(*BLOCKERS, action=action, target=f"facility {facility_id}")
    actor.require_facility(facility_id, action)


def _known(uow: UnitOfWork, facility_id: str, product_id: str) -> None:
    if uow.facilities.get(facility_id) is None:
        raise NotFound(f"No facility {facility_id}.")
    if uow.products.get(product_id) is None:
        raise NotFound(f"No product {product_id}.")


def put_block(
    ctx: Context,
    facility_id: str,
    product_id: str,
    until: datetime,
    note: str | None,
    actor: Principal,
) -> tuple[Block, bool]:
    """Routing sends this product nowhere near the facility until `until`; a block there
    already is replaced. Answers the block and whether it is new."""
    _may_block(actor, facility_id, "block product")

    def work(uow: UnitOfWork) -> tuple[Block, bool]:
        _known(uow, facility_id, product_id)
        if until <= uow.now or until > uow.now + LONGEST_BLOCK:
            raise Invalid(
                "A block ends in the future, within a year.",
                [FieldError("until", "Give a time after now and within 365 days.")],
            )
        before = uow.blocks.get(facility_id, product_id, BlockKind.BLOCK)
        block = Block(
            facility_id, product_id, BlockKind.BLOCK, until, note or None, None, actor.id, uow.now
        )
        uow.blocks.put_many([block], uow.now)
        uow.blocks.touch_level(facility_id, product_id, uow.now)
        return block, before is None or not before.active(uow.now)

    return transact(ctx.db, work)


def remove_block(ctx: Context, facility_id: str, product_id: str, actor: Principal) -> bool:
    """Lift a block (not a hold: a hold ends in time, or with the store's own count). Answers
    whether there was one: lifting one already gone is no error (a repeat does nothing)."""
    _may_block(actor, facility_id, "unblock product")

    def work(uow: UnitOfWork) -> bool:
        _known(uow, facility_id, product_id)
        if not uow.blocks.unblock(facility_id, product_id):
            return False
        uow.blocks.touch_level(facility_id, product_id, uow.now)
        return True

    return transact(ctx.db, work)


def blocks_at(ctx: Context, facility_id: str, actor: Principal) -> list[Block]:
    """Blocks and holds in force at the facility, by product."""
    actor.require_facility(facility_id, "list blocks")
    with unit_of_work(ctx.db, write=False) as uow:
        if uow.facilities.get(facility_id) is None:
            raise NotFound(f"No facility {facility_id}.")
        return uow.blocks.at_facility(facility_id, uow.now)
