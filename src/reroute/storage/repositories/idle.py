"""Items a facility has left waiting: ready and not started, or started and not packed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Integer, bindparam, select

from reroute.domain.clock import as_utc
from reroute.domain.orders import ItemState
from reroute.storage.tables import order_items

_i = order_items
#: Ready items by when they were placed (their reservation), in progress ones by when they
#: were started (their last change): the oldest first.
_READY = (
    select(_i.c.order_id, _i.c.item_id, _i.c.shipment_id, _i.c.facility_id, _i.c.reserved_at)
    .where(_i.c.state == str(ItemState.READY), _i.c.reserved_at < bindparam("before"))
    .order_by(_i.c.reserved_at)
    .limit(bindparam("limit", type_=Integer))
)
_STARTED = (
    select(_i.c.order_id, _i.c.item_id, _i.c.shipment_id, _i.c.facility_id, _i.c.updated_at)
    .where(_i.c.state == str(ItemState.IN_PROGRESS), _i.c.updated_at < bindparam("before"))
    .order_by(_i.c.updated_at)
    .limit(bindparam("limit", type_=Integer))
)


@dataclass(frozen=True)
class WaitingItem:
    order_id: str
    item_id: str
    shipment_id: str
    facility_id: str
    state: ItemState
    #: Since when it waits in that state.
    since: datetime


class IdleRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def waiting_since_before(
        self, state: ItemState, before: datetime, limit: int
    ) -> list[WaitingItem]:
        """Items in `state` (ready or in progress) since before `before`, oldest first."""
        statement = _READY if state is ItemState.READY else _STARTED
        rows = self.conn.execute(statement, {"before": before, "limit": limit})
        return [
            WaitingItem(r[0], r[1], str(r[2]), r[3], state, as_utc(r[4]))
            for r in rows
            if r[2] is not None and r[3] is not None
        ]
