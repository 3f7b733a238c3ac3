"""Blocks and holds of products at facilities (`product_blocks`)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, and_, bindparam, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite

from reroute.domain.blocks import Block, BlockKind
from reroute.domain.clock import as_utc
from reroute.storage.tables import inventory_levels, product_blocks

_b = product_blocks
_ACTIVE_AT = (
    select(_b)
    .where(_b.c.facility_id == bindparam("facility_id"), _b.c.until > bindparam("now"))
    .order_by(_b.c.product_id, _b.c.kind)
)
_OF_PRODUCTS = select(_b).where(
    _b.c.product_id.in_(bindparam("ids", expanding=True)), _b.c.until > bindparam("now")
)
_LIFT_HOLD = delete(_b).where(
    _b.c.facility_id == bindparam("facility_id"),
    _b.c.product_id == bindparam("product_id"),
    _b.c.kind == str(BlockKind.HOLD),
)
_UNBLOCK = delete(_b).where(
    _b.c.facility_id == bindparam("facility_id"),
    _b.c.product_id == bindparam("product_id"),
    _b.c.kind == str(BlockKind.BLOCK),
)
#: Routing re-reads levels changed since its last look: a new block touches the level so that a
#: batch in progress sees it at its next chunk.
_TOUCH = (
    update(inventory_levels)
    .where(
        inventory_levels.c.facility_id == bindparam("f_id"),
        inventory_levels.c.product_id == bindparam("p_id"),
    )
    .values(updated_at=bindparam("now"))
)


def _upsert(statement: Any) -> Any:
    return statement.on_conflict_do_update(
        index_elements=[_b.c.facility_id, _b.c.product_id, _b.c.kind],
        set_={
            "until": statement.excluded.until,
            "note": statement.excluded.note,
            "reason_id": statement.excluded.reason_id,
            "created_by": statement.excluded.created_by,
            "created_at": statement.excluded.created_at,
        },
    )


_PUT_PG = _upsert(postgresql.insert(_b))
_PUT_SQLITE = _upsert(sqlite.insert(_b))


def block_of(row: Row[Any]) -> Block:
    return Block(
        facility_id=row.facility_id,
        product_id=row.product_id,
        kind=BlockKind(row.kind),
        until=as_utc(row.until),
        note=row.note,
        reason_id=row.reason_id,
        created_by=row.created_by,
        created_at=as_utc(row.created_at),
    )


class BlockRepository:
    def __init__(self, conn: Connection, *, postgres: bool) -> None:
        self.conn = conn
        self.postgres = postgres

    def put_many(self, blocks: Sequence[Block], now: datetime) -> None:
        """Insert or replace (one per facility, product and kind), in key order."""
        if not blocks:
            return
        rows = [
            {
                "facility_id": b.facility_id,
                "product_id": b.product_id,
                "kind": str(b.kind),
                "until": b.until,
                "note": b.note,
                "reason_id": b.reason_id,
                "created_by": b.created_by,
                "created_at": b.created_at or now,
            }
            for b in sorted(blocks, key=lambda b: (b.facility_id, b.product_id, str(b.kind)))
        ]
        self.conn.execute(_PUT_PG if self.postgres else _PUT_SQLITE, rows)

    def touch_level(self, facility_id: str, product_id: str, now: datetime) -> None:
        self.conn.execute(_TOUCH, {"f_id": facility_id, "p_id": product_id, "now": now})

    def unblock(self, facility_id: str, product_id: str) -> bool:
        result = self.conn.execute(_UNBLOCK, {"facility_id": facility_id, "product_id": product_id})
        return bool(result.rowcount)

    def lift_hold(self, facility_id: str, product_id: str) -> bool:
        result = self.conn.execute(
            _LIFT_HOLD, {"facility_id": facility_id, "product_id": product_id}
        )
        return bool(result.rowcount)

    def at_facility(self, facility_id: str, now: datetime) -> list[Block]:
        rows = self.conn.execute(_ACTIVE_AT, {"facility_id": facility_id, "now": now})
        return [block_of(r) for r in rows]

    def of_products(self, product_ids: Iterable[str], now: datetime) -> list[Block]:
        ids = sorted(set(product_ids))
        if not ids:
            return []
        rows = self.conn.execute(_OF_PRODUCTS, {"ids": ids, "now": now})
        return [block_of(r) for r in rows]

    def in_force_at(self, moment: datetime) -> list[Block]:
        """Blocks and holds set before `moment` and not ended by then (those lifted early
        are gone from the table: they are not known)."""
        query = select(_b).where(_b.c.created_at <= moment, _b.c.until > moment)
        return [block_of(r) for r in self.conn.execute(query)]

    def get(self, facility_id: str, product_id: str, kind: BlockKind) -> Block | None:
        row = self.conn.execute(
            select(_b).where(
                and_(
                    _b.c.facility_id == facility_id,
                    _b.c.product_id == product_id,
                    _b.c.kind == str(kind),
                )
            )
        ).first()
        return block_of(row) if row else None
