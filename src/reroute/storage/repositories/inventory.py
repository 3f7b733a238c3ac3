"""Inventory levels (the counters) and the append-only ledger behind them."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Connection,
    bindparam,
    func,
    insert,
    literal_column,
    select,
    tuple_,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql import ColumnElement

from reroute.domain.clock import as_utc
from reroute.domain.inventory import InventoryLevel, LedgerEntry
from reroute.storage.locks import waiting_briefly
from reroute.storage.search import any_contains
from reroute.storage.tables import inventory_ledger, inventory_levels, products

Key = tuple[str, str]
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class InventoryRepository:
    def __init__(self, conn: Connection, *, postgres: bool) -> None:
        self.conn = conn
        self.postgres = postgres
        self._known: set[Key] = set()
        #: Rows this transaction holds locked (PostgreSQL).
        self._held: set[Key] = set()

    def get(self, facility_id: str, product_id: str, *, lock: bool = False) -> InventoryLevel:
        """The level, locked for this transaction when asked; a zero level if none exists yet."""
        return self.get_many([(facility_id, product_id)], lock=lock)[(facility_id, product_id)]

    def get_many(
        self, keys: Iterable[Key], *, lock: bool = False, nowait: bool = False
    ) -> dict[Key, InventoryLevel]:
        """Levels for `keys` (zero where none exists yet). Locked rows are taken in one fixed
        order, so writers never deadlock; locking creates missing rows first, to have a row.

        With `nowait`, a row another transaction holds is waited for only briefly (see
        `storage.locks`): then PostgreSQL refuses (lock_not_available), and the caller's
        transaction can start over. That is also how a row sorting before one this transaction
        already holds is taken, whoever asks for it (a rejection's re-route, a cascade reaching
        another product): waiting long for it could close a cycle with another writer."""
        wanted = sorted(set(keys))
        if not wanted:
            return {}
        if lock and self._held:
            fresh = [k for k in wanted if k not in self._held]
            nowait = nowait or (bool(fresh) and fresh[0] < max(self._held))
        found = self._select(wanted, lock, nowait)
        missing = [k for k in wanted if k not in found]
        if lock and missing:
            self._ensure(missing)
            found.update(self._select(missing, lock, nowait))
        if lock and self.postgres:
            self._held.update(wanted)
        for key in wanted:
            found.setdefault(key, InventoryLevel(*key))
        return found

    def _select(self, wanted: list[Key], lock: bool, nowait: bool) -> dict[Key, InventoryLevel]:
        t = inventory_levels
        conditions: list[ColumnElement[bool]]
        if self.postgres:
            conditions = [
                tuple_(t.c.facility_id, t.c.product_id).in_(wanted[start : start + 1000])
                for start in range(0, len(wanted), 1000)
            ]
        else:
            # SQLite searches its index for row values only out of a subquery, not a list.
            pairs = select(
                func.json_extract(literal_column("value"), "$[0]"),
                func.json_extract(literal_column("value"), "$[1]"),
            ).select_from(func.json_each(json.dumps(wanted)))
            conditions = [tuple_(t.c.facility_id, t.c.product_id).in_(pairs)]
        found: dict[Key, InventoryLevel] = {}
        for condition in conditions:
            query = select(t).where(condition).order_by(t.c.facility_id, t.c.product_id)
            if lock and self.postgres:
                query = query.with_for_update(key_share=True)
            with waiting_briefly(self.conn, enabled=lock and nowait):
                rows = self.conn.execute(query).all()
            for row in rows:
                key = (row.facility_id, row.product_id)
                found[key] = InventoryLevel(
                    *key, row.quantity_on_hand, row.available_to_promise, row.reserved
                )
                self._known.add(key)
        return found

    def _ensure(self, keys: list[Key]) -> None:
        """Create missing levels at zero, so that a row exists to lock even for a first count."""
        missing = [k for k in keys if k not in self._known]
        if not missing:
            return
        dialect_insert = postgresql.insert if self.postgres else sqlite.insert
        statement = dialect_insert(inventory_levels).on_conflict_do_nothing()
        self.conn.execute(
            statement,
            [
                {
                    "facility_id": f,
                    "product_id": p,
                    "quantity_on_hand": 0,
                    "available_to_promise": 0,
                    "reserved": 0,
                    "updated_at": _EPOCH,
                }
                for f, p in missing
            ],
        )

    def save(self, level: InventoryLevel, entries: Iterable[LedgerEntry], now: datetime) -> None:
        """Write the counters and append the entries that moved them."""
        key = (level.facility_id, level.product_id)
        values = {
            "quantity_on_hand": level.quantity_on_hand,
            "available_to_promise": level.available_to_promise,
            "reserved": level.reserved,
            "updated_at": now,
        }
        t = inventory_levels
        if key in self._known:
            self.conn.execute(
                update(t)
                .where(t.c.facility_id == key[0], t.c.product_id == key[1])
                .values(**values)
            )
        else:
            self.conn.execute(insert(t).values(facility_id=key[0], product_id=key[1], **values))
            self._known.add(key)
        rows = [_entry_row(e, now) for e in entries]
        if rows:
            self.conn.execute(insert(inventory_ledger), rows)

    def save_many(
        self, levels: Iterable[InventoryLevel], entries: Iterable[LedgerEntry], now: datetime
    ) -> None:
        """Write many locked levels (see `get_many(lock=True)`) and their entries at once."""
        rows = [
            {
                "b_facility_id": level.facility_id,
                "b_product_id": level.product_id,
                "quantity_on_hand": level.quantity_on_hand,
                "available_to_promise": level.available_to_promise,
                "reserved": level.reserved,
                "updated_at": now,
            }
            for level in levels
        ]
        if rows:
            t = inventory_levels
            self.conn.execute(
                update(t)
                .where(
                    t.c.facility_id == bindparam("b_facility_id"),
                    t.c.product_id == bindparam("b_product_id"),
                )
                .values(
                    quantity_on_hand=bindparam("quantity_on_hand"),
                    available_to_promise=bindparam("available_to_promise"),
                    reserved=bindparam("reserved"),
                    updated_at=bindparam("updated_at"),
                ),
                rows,
            )
        ledger_rows = [_entry_row(e, now) for e in entries]
        if ledger_rows:
            self.conn.execute(insert(inventory_ledger), ledger_rows)

    def ledger(
        self, facility_id: str, product_id: str, *, limit: int = 100, before_id: int | None = None
    ) -> list[dict[str, Any]]:
        t = inventory_ledger
        query = (
            select(t)
            .where(t.c.facility_id == facility_id, t.c.product_id == product_id)
            .order_by(t.c.id.desc())
            .limit(limit)
        )
        if before_id is not None:
            query = query.where(t.c.id < before_id)
        rows = [dict(r._mapping) for r in self.conn.execute(query)]
        for row in rows:
            row["created_at"] = as_utc(row["created_at"])
        return rows

    def ledger_sums(self) -> dict[Key, tuple[int, int, int]]:
        """Sums of the ledger per level, to check the counters against."""
        t = inventory_ledger
        query = select(
            t.c.facility_id,
            t.c.product_id,
            func.sum(t.c.qoh_diff),
            func.sum(t.c.atp_diff),
            func.sum(t.c.reserved_diff),
        ).group_by(t.c.facility_id, t.c.product_id)
        return {(r[0], r[1]): (int(r[2]), int(r[3]), int(r[4])) for r in self.conn.execute(query)}

    def levels_at(
        self, facility_id: str, *, text: str | None = None, limit: int = 50, offset: int = 0
    ) -> tuple[list[tuple[str, InventoryLevel]], int]:
        """A facility's levels by product id, optionally searched by product id, SKU, UPC or
        name; answers (product id, level) pairs of the page and the total count."""
        t = inventory_levels
        query = select(t).where(t.c.facility_id == facility_id)
        if text:
            p = products
            matching = any_contains(text, p.c.id, p.c.sku, p.c.upc, p.c.name)
            query = query.where(t.c.product_id.in_(select(p.c.id).where(matching)))
        total = self.conn.execute(select(func.count()).select_from(query.subquery())).scalar_one()
        rows = self.conn.execute(query.order_by(t.c.product_id).limit(limit).offset(offset))
        found = [
            (
                r.product_id,
                InventoryLevel(
                    r.facility_id,
                    r.product_id,
                    r.quantity_on_hand,
                    r.available_to_promise,
                    r.reserved,
                ),
            )
            for r in rows
        ]
        return found, int(total)

    def all_levels(self) -> dict[Key, InventoryLevel]:
        rows = self.conn.execute(select(inventory_levels))
        return {
            (r.facility_id, r.product_id): InventoryLevel(
                r.facility_id, r.product_id, r.quantity_on_hand, r.available_to_promise, r.reserved
            )
            for r in rows
        }


def _entry_row(entry: LedgerEntry, now: datetime) -> dict[str, Any]:
    return {
        "facility_id": entry.facility_id,
        "product_id": entry.product_id,
        "qoh_diff": entry.qoh_diff,
        "atp_diff": entry.atp_diff,
        "reserved_diff": entry.reserved_diff,
        "cause": entry.cause,
        "reference": entry.reference,
        "created_at": now,
    }
