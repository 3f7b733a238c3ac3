"""Orders for sync: the list by update time, and the stamp that keeps that time in commit order."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Row,
    and_,
    bindparam,
    exists,
    func,
    literal_column,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from reroute.storage.search import any_contains
from reroute.storage.tables import order_items, orders, shipments, sync_clock

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# One statement takes the next stamp and holds the clock's row until COMMIT: a later
# transaction's stamp is only given once this one is visible, so stamps grow in commit order.
_TICK = {
    postgres: update(sync_clock)
    .where(sync_clock.c.id == 1)
    .values(
        micros=(func.greatest if postgres else func.max)(sync_clock.c.micros + 1, bindparam("now"))
    )
    .returning(sync_clock.c.micros)
    for postgres in (True, False)
}
_START = {
    True: postgresql.insert(sync_clock)
    .values(id=1, micros=bindparam("micros"))
    .on_conflict_do_nothing(),
    False: sqlite.insert(sync_clock)
    .values(id=1, micros=bindparam("micros"))
    .on_conflict_do_nothing(),
}
_STAMP = (
    update(orders)
    .where(orders.c.id.in_(bindparam("ids", expanding=True)))
    .values(updated_at=bindparam("stamp"))
)
# PostgreSQL does both in one statement: the clock's update as a CTE, its stamp set on the
# orders (still the clock's value if its row is gone, then taken the long way).
_TICKED = _TICK[True].cte("tick")
_TICKED_MICROS = select(_TICKED.c.micros).scalar_subquery()
_TICK_AND_STAMP = (
    update(orders)
    .add_cte(_TICKED)
    .where(orders.c.id.in_(bindparam("ids", expanding=True)))
    .values(
        updated_at=func.coalesce(
            func.to_timestamp(0) + literal_column("interval '1 microsecond'") * _TICKED_MICROS,
            orders.c.updated_at,
        )
    )
    .returning(_TICKED_MICROS.label("micros"))
)


def micros_of(moment: datetime) -> int:
    return (moment - EPOCH) // timedelta(microseconds=1)


def moment_of(micros: int) -> datetime:
    return EPOCH + timedelta(microseconds=micros)


class SyncClock:
    """The update time of changed orders, given last in their transaction."""

    def __init__(self, conn: Connection, *, postgres: bool) -> None:
        self.conn = conn
        self.postgres = postgres

    def stamp(self, order_ids: Iterable[str], now: datetime) -> datetime | None:
        """Set `updated_at` of `order_ids` to the next stamp (at least `now`); answers it."""
        ids = sorted(set(order_ids))
        if not ids:
            return None
        now_micros = micros_of(now)
        if self.postgres:
            ticked = self.conn.execute(_TICK_AND_STAMP, {"ids": ids, "now": now_micros}).scalar()
            if ticked is not None:
                return moment_of(int(ticked))
        micros = self.conn.execute(_TICK[self.postgres], {"now": now_micros}).scalar()
        if micros is None:  # the clock's row is gone (a database emptied by hand): start again
            self.conn.execute(_START[self.postgres], {"micros": now_micros})
            micros = self.conn.execute(_TICK[self.postgres], {"now": now_micros}).scalar_one()
        moment = moment_of(int(micros))
        self.conn.execute(_STAMP, {"ids": ids, "stamp": moment})
        return moment


@dataclass(frozen=True)
class OrderFilter:
    """What a list of orders is narrowed to; None (or empty) is no condition."""

    item_state: str | None = None
    facility_id: str | None = None
    shipping_method: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    updated_after: datetime | None = None
    updated_before: datetime | None = None
    customer_email: str | None = None
    text: str | None = None
    #: An associate's facilities: only orders with a shipment at one of them.
    within: frozenset[str] | None = None


@dataclass(frozen=True)
class ListedOrder:
    row: Row[Any]
    items: list[Row[Any]]


class OrderListRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def page(
        self, where: OrderFilter, after: tuple[datetime, str] | None, limit: int
    ) -> list[ListedOrder]:
        """Up to `limit` orders matching `where` whose (updated_at, id) comes after `after`,
        in that order, each with its items in line order."""
        query = select(orders).where(*_conditions(where))
        if after is not None:
            moment, order_id = after
            query = query.where(
                or_(
                    orders.c.updated_at > moment,
                    and_(orders.c.updated_at == moment, orders.c.id > order_id),
                )
            )
        rows = list(
            self.conn.execute(query.order_by(orders.c.updated_at, orders.c.id).limit(limit))
        )
        if not rows:
            return []
        by_order: dict[str, list[Row[Any]]] = {r.id: [] for r in rows}
        items = self.conn.execute(
            select(order_items)
            .where(order_items.c.order_id.in_(list(by_order)))
            .order_by(order_items.c.order_id, order_items.c.line)
        )
        for item in items:
            by_order[item.order_id].append(item)
        return [ListedOrder(r, by_order[r.id]) for r in rows]


def _conditions(where: OrderFilter) -> Sequence[ColumnElement[bool]]:
    found: list[ColumnElement[bool]] = []
    if where.item_state is not None or where.facility_id is not None:
        item = [order_items.c.order_id == orders.c.id]
        if where.item_state is not None:
            item.append(order_items.c.state == where.item_state)
        if where.facility_id is not None:
            item.append(order_items.c.facility_id == where.facility_id)
        found.append(exists().where(*item))
    if where.within is not None:
        found.append(
            exists().where(
                shipments.c.order_id == orders.c.id,
                shipments.c.facility_id.in_(sorted(where.within)),
            )
        )
    if where.shipping_method is not None:
        found.append(orders.c.shipping_method == where.shipping_method)
    if where.created_after is not None:
        found.append(orders.c.created_at > where.created_after)
    if where.created_before is not None:
        found.append(orders.c.created_at < where.created_before)
    if where.updated_after is not None:
        found.append(orders.c.updated_at > where.updated_after)
    if where.updated_before is not None:
        found.append(orders.c.updated_at < where.updated_before)
    if where.customer_email is not None:
        found.append(func.lower(orders.c.customer_email) == where.customer_email.strip().lower())
    if where.text:
        found.append(
            any_contains(where.text, orders.c.id, orders.c.customer_name, orders.c.customer_email)
        )
    return found
