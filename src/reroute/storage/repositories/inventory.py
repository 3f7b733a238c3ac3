"""Inventory levels (the counters) and the append-only ledger behind them."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Select,
    String,
    bindparam,
    func,
    insert,
    literal_column,
    select,
    tuple_,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from reroute.domain.clock import as_utc
from reroute.domain.inventory import InventoryLevel, LedgerEntry
from reroute.storage.bulk import Bulk, values_of
from reroute.storage.locks import waiting_briefly
from reroute.storage.search import any_contains
from reroute.storage.tables import (
    inventory_ledger,
    inventory_levels,
    order_items,
    products,
    shipments,
)

Key = tuple[str, str]
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: Keys per statement on PostgreSQL, well below its limit of bound parameters.
_CHUNK = 1000

# Statements built once: SQLAlchemy then keeps each one's cache key instead of building the
# statement, coercing its clauses and keying it again on every call.
_t = inventory_levels
_KEY = tuple_(_t.c.facility_id, _t.c.product_id)
_IN_ORDER = (_t.c.facility_id, _t.c.product_id)
_LEVELS_PG = select(_t).where(_KEY.in_(bindparam("keys", expanding=True))).order_by(*_IN_ORDER)
_LEVELS_PG_LOCKED = _LEVELS_PG.with_for_update(key_share=True)
# SQLite searches its index for row values only out of a subquery, not a list: the keys go
# in as one JSON array.
_LEVELS_SQLITE = (
    select(_t)
    .where(
        _KEY.in_(
            select(
                func.json_extract(literal_column("value"), "$[0]"),
                func.json_extract(literal_column("value"), "$[1]"),
            ).select_from(func.json_each(bindparam("keys", type_=String)))
        )
    )
    .order_by(*_IN_ORDER)
)


def _locked_for_shipment(*, scoped: bool) -> Select[Any]:
    """The levels of a shipment's products at its facility, locked; `scoped` to some facilities."""
    s, i = shipments, order_items
    held = (
        select(s.c.facility_id, i.c.product_id)
        .join(i, i.c.shipment_id == s.c.id)
        .where(s.c.id == bindparam("shipment"))
    )
    if scoped:
        held = held.where(s.c.facility_id.in_(bindparam("facilities", expanding=True)))
    return select(_t).where(_KEY.in_(held)).order_by(*_IN_ORDER).with_for_update(key_share=True)


_LOCKED_FOR_SHIPMENT = _locked_for_shipment(scoped=False)
_LOCKED_FOR_SHIPMENT_AT = _locked_for_shipment(scoped=True)
_ENSURE_PG = postgresql.insert(_t).on_conflict_do_nothing()
_ENSURE_SQLITE = sqlite.insert(_t).on_conflict_do_nothing()
_INSERT_LEVEL = insert(_t)
# Bound names apart from the column names: those of the SET clause are SQLAlchemy's own.
_UPDATE_LEVEL = (
    update(_t)
    .where(
        _t.c.facility_id == bindparam("b_facility_id"),
        _t.c.product_id == bindparam("b_product_id"),
    )
    .values(
        quantity_on_hand=bindparam("quantity_on_hand"),
        available_to_promise=bindparam("available_to_promise"),
        reserved=bindparam("reserved"),
        updated_at=bindparam("updated_at"),
    )
)
_APPEND_ENTRIES = Bulk(
    insert(inventory_ledger).values(
        values_of(
            "facility_id",
            "product_id",
            "qoh_diff",
            "atp_diff",
            "reserved_diff",
            "cause",
            "reference",
            "created_at",
        )
    )
)
_SAVE_LEVELS = Bulk(_UPDATE_LEVEL)


class InventoryRepository:
    def __init__(self, conn: Connection, *, postgres: bool) -> None:
        self.conn = conn
        self.postgres = postgres
        self._known: set[Key] = set()
        #: Rows this transaction holds locked (PostgreSQL).
        self._held: set[Key] = set()
        #: Ledger rows kept until `flush` (the end of the transaction): one statement for all.
        self._entries: list[dict[str, Any]] = []

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

    def lock_for_shipment(
        self, shipment_id: str, facilities: Iterable[str] | None
    ) -> dict[Key, InventoryLevel]:
        """Lock, in one statement and in the fixed order, the levels of the products of a
        shipment at its facility (PostgreSQL), before anything else of a store action. Only at
        `facilities` when given (a store associate's): nothing is locked for a caller who may
        not act on the shipment. Answers what it locked (nothing for an unknown shipment)."""
        number = _shipment_number(shipment_id)
        if number is None or not self.postgres:
            return {}
        if facilities is None:
            rows = self.conn.execute(_LOCKED_FOR_SHIPMENT, {"shipment": number})
        else:
            rows = self.conn.execute(
                _LOCKED_FOR_SHIPMENT_AT, {"shipment": number, "facilities": sorted(facilities)}
            )
        found: dict[Key, InventoryLevel] = {}
        for row in rows:
            key = (row.facility_id, row.product_id)
            found[key] = InventoryLevel(
                *key, row.quantity_on_hand, row.available_to_promise, row.reserved
            )
            self._known.add(key)
        self._held.update(found)
        return found

    def _select(self, wanted: list[Key], lock: bool, nowait: bool) -> dict[Key, InventoryLevel]:
        chunks: list[dict[str, Any]]
        if self.postgres:
            query = _LEVELS_PG_LOCKED if lock else _LEVELS_PG
            chunks = [
                {"keys": wanted[start : start + _CHUNK]} for start in range(0, len(wanted), _CHUNK)
            ]
        else:
            query, chunks = _LEVELS_SQLITE, [{"keys": json.dumps(wanted)}]
        found: dict[Key, InventoryLevel] = {}
        for chunk in chunks:
            with waiting_briefly(self.conn, enabled=lock and nowait):
                rows = self.conn.execute(query, chunk).all()
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
        self.conn.execute(
            _ENSURE_PG if self.postgres else _ENSURE_SQLITE,
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
        if key in self._known:
            self.conn.execute(_UPDATE_LEVEL, _level_row(level, now))
        else:
            self.conn.execute(
                _INSERT_LEVEL,
                {
                    "facility_id": level.facility_id,
                    "product_id": level.product_id,
                    "quantity_on_hand": level.quantity_on_hand,
                    "available_to_promise": level.available_to_promise,
                    "reserved": level.reserved,
                    "updated_at": now,
                },
            )
            self._known.add(key)
        self._entries.extend(_entry_row(e, now) for e in entries)

    def save_many(
        self, levels: Iterable[InventoryLevel], entries: Iterable[LedgerEntry], now: datetime
    ) -> None:
        """Write many locked levels (see `get_many(lock=True)`) and their entries at once."""
        _SAVE_LEVELS.run(self.conn, [_level_row(level, now) for level in levels])
        self._entries.extend(_entry_row(e, now) for e in entries)

    def flush(self) -> None:
        """Append the ledger rows kept so far. The ledger is only appended to and only read
        here (which flushes first), so a transaction writes it once, at its end."""
        entries, self._entries = self._entries, []
        _APPEND_ENTRIES.run(self.conn, entries)

    def ledger(
        self, facility_id: str, product_id: str, *, limit: int = 100, before_id: int | None = None
    ) -> list[dict[str, Any]]:
        self.flush()
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
        self.flush()
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

    def levels_after(self, facility_id: str, after: str | None, limit: int) -> list[InventoryLevel]:
        """Up to `limit` of a facility's levels by product id, after product `after`."""
        t = inventory_levels
        query = select(t).where(t.c.facility_id == facility_id)
        if after is not None:
            query = query.where(t.c.product_id > after)
        rows = self.conn.execute(query.order_by(t.c.product_id).limit(limit))
        return [
            InventoryLevel(
                r.facility_id, r.product_id, r.quantity_on_hand, r.available_to_promise, r.reserved
            )
            for r in rows
        ]

    def levels_as_of(self, moment: datetime) -> dict[Key, InventoryLevel]:
        """Every level as it stood at `moment`: today's counters less what the ledger moved
        since."""
        self.flush()
        levels = self.all_levels()
        t = inventory_ledger
        moved = (
            select(
                t.c.facility_id,
                t.c.product_id,
                func.sum(t.c.qoh_diff),
                func.sum(t.c.atp_diff),
                func.sum(t.c.reserved_diff),
            )
            .where(t.c.created_at >= moment)
            .group_by(t.c.facility_id, t.c.product_id)
        )
        for facility_id, product_id, qoh, atp, reserved in self.conn.execute(moved):
            level = levels.get((facility_id, product_id))
            if level is not None:
                level.quantity_on_hand -= int(qoh)
                level.available_to_promise -= int(atp)
                level.reserved -= int(reserved)
        return levels

    def all_levels(self) -> dict[Key, InventoryLevel]:
        rows = self.conn.execute(select(inventory_levels))
        return {
            (r.facility_id, r.product_id): InventoryLevel(
                r.facility_id, r.product_id, r.quantity_on_hand, r.available_to_promise, r.reserved
            )
            for r in rows
        }


def _level_row(level: InventoryLevel, now: datetime) -> dict[str, Any]:
    """Parameters of `_UPDATE_LEVEL`."""
    return {
        "b_facility_id": level.facility_id,
        "b_product_id": level.product_id,
        "quantity_on_hand": level.quantity_on_hand,
        "available_to_promise": level.available_to_promise,
        "reserved": level.reserved,
        "updated_at": now,
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


def _shipment_number(shipment_id: str) -> int | None:
    """Shipment ids are numbers; anything else names no shipment."""
    if not (shipment_id.isascii() and shipment_id.isdigit()) or len(shipment_id) > 19:
        return None
    number = int(shipment_id)
    return number if 0 < number < 2**63 else None
