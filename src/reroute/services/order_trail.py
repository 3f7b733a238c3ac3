"""What an admin reads beside an order's history: what each of its rejections did to the
store's stock, and which notifications were sent for it and how each delivery stands."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from reroute.domain.access import Principal, Role
from reroute.services.context import Context
from reroute.storage.repositories.order_trail import (
    LedgerMove,
    OrderTrailRepository,
    SentDelivery,
    SentEvent,
)
from reroute.storage.unit_of_work import unit_of_work

__all__ = ["LedgerMove", "OrderTrail", "RejectionEffect", "SentDelivery", "SentEvent", "trail"]

#: Ledger causes a rejection writes: the release of the item's reservation and the reason's
#: correction of the counters (`reject:zero`, `reject:decrease_atp` ...).
RELEASE = "release"
REJECT_PREFIX = "reject:"


@dataclass(frozen=True)
class RejectionEffect:
    record: dict[str, Any]
    #: The reason's correction of the counters, when it moved them.
    correction: LedgerMove | None
    #: The item's reservation given back.
    release: LedgerMove | None


@dataclass(frozen=True)
class OrderTrail:
    rejections: list[RejectionEffect]
    notifications: list[SentEvent]


def trail(ctx: Context, actor: Principal, order_id: str) -> OrderTrail:
    """The order's rejections with their ledger rows, and its notifications, read at once."""
    actor.require_role(Role.ADMIN, action="read the trail of", target=f"order {order_id}")
    with unit_of_work(ctx.db, write=False) as uow:
        repo = OrderTrailRepository(uow.conn)
        records = repo.rejections_of(order_id)
        moves = repo.moves(f"{r['order_id']}/{r['item_id']}" for r in records)
        events = repo.events_of(order_id)
    return OrderTrail([_effect(r, moves) for r in records], events)


def _effect(record: dict[str, Any], moves: list[LedgerMove]) -> RejectionEffect:
    """The ledger rows this rejection wrote: its reference, its facility, its moment."""
    reference = f"{record['order_id']}/{record['item_id']}"
    mine = [
        m
        for m in moves
        if m.reference == reference
        and m.facility_id == record["facility_id"]
        and m.product_id == record["product_id"]
        and m.created_at == record["created_at"]
    ]
    correction = next((m for m in mine if m.cause.startswith(REJECT_PREFIX)), None)
    release = next((m for m in mine if m.cause == RELEASE), None)
    return RejectionEffect(record, correction, release)
