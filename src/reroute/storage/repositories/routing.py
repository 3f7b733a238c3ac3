"""What routing reads and writes besides inventory: rules, exclusions, facility day counters,
and the queue of items waiting for a facility."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Integer,
    and_,
    bindparam,
    delete,
    func,
    insert,
    select,
    tuple_,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.sqlite.dml import Insert as SQLiteInsert

from reroute.domain.blocks import Block
from reroute.domain.clock import as_utc
from reroute.domain.orders import ROUTABLE
from reroute.domain.routing.acceptance import AcceptanceCounts, Tally
from reroute.storage.repositories.blocks import block_of
from reroute.storage.tables import (
    facility_days,
    inventory_ledger,
    inventory_levels,
    item_exclusions,
    order_items,
    product_blocks,
    routing_rule_versions,
    routing_rules,
    shipments,
)
from reroute.storage.tables import rejections as rejection_log

Key = tuple[str, str]
#: Ids per statement, well below the limits of bound parameters (PostgreSQL 65535, SQLite 32766).
_CHUNK = 5000

# Statements built once: SQLAlchemy then keeps each one's cache key instead of building the
# statement, coercing its clauses and keying it again on every call.
_RULES = select(routing_rules.c.document).where(routing_rules.c.id == 1)
_FORGET_RULES = delete(routing_rules)
_DROP_RULES = delete(routing_rules).where(routing_rules.c.id == 1)
_PUT_RULES = insert(routing_rules)
#: The key of the transaction-scoped advisory lock that orders writers of the rules document.
RULES_LOCK = 0x52554C4553  # "RULES"
_LOCK_RULES = select(func.pg_advisory_xact_lock(RULES_LOCK))
_RULES_ROW = select(routing_rules).where(routing_rules.c.id == 1)
_v = routing_rule_versions
_PUT_VERSION = insert(_v)
_VERSIONS = (
    select(_v.c.id, _v.c.was_default, _v.c.written_by, _v.c.written_at)
    .add_columns(_v.c.replaced_by, _v.c.replaced_at)
    .order_by(_v.c.id.desc())
    .limit(bindparam("limit", type_=Integer))
)
_VERSION = select(_v).where(_v.c.id == bindparam("id"))
_OLDEST_KEPT = (
    select(_v.c.id).order_by(_v.c.id.desc()).offset(bindparam("keep", type_=Integer)).limit(1)
)
_DROP_VERSIONS = delete(_v).where(_v.c.id <= bindparam("through"))

_l = inventory_levels
_b = product_blocks
#: Each level with the blocks and holds in force on it, in the same statement: routing learns
#: where it may not go at no extra cost (a level with none has one row, its block columns null).
_WITH_BLOCKS = select(
    _l.c.facility_id,
    _l.c.product_id,
    _l.c.available_to_promise,
    _b.c.kind,
    _b.c.until,
    _b.c.note,
    _b.c.reason_id,
    _b.c.created_by,
    _b.c.created_at,
).select_from(
    _l.outerjoin(
        _b,
        and_(
            _b.c.facility_id == _l.c.facility_id,
            _b.c.product_id == _l.c.product_id,
            _b.c.until > bindparam("now"),
        ),
    )
)
_PROMISABLE = _WITH_BLOCKS.where(
    _l.c.product_id.in_(bindparam("ids", expanding=True)), _l.c.available_to_promise > 0
)
_CHANGED_SINCE = _WITH_BLOCKS.where(_l.c.updated_at >= bindparam("since"))

_d = facility_days
_LOAD_ON = select(_d.c.facility_id, _d.c.shipments).where(
    _d.c.day == bindparam("day"), _d.c.facility_id.in_(bindparam("ids", expanding=True))
)
_ACCEPTANCE = (
    select(_d.c.facility_id, func.sum(_d.c.assignments), func.sum(_d.c.rejections))
    .where(_d.c.day >= bindparam("since"), _d.c.day <= bindparam("until"))
    .group_by(_d.c.facility_id)
)
_r = rejection_log
_REJECTED_PAIRS = (
    select(_r.c.facility_id, _r.c.product_id, func.count())
    .where(_r.c.created_at >= bindparam("since"), _r.c.created_at < bindparam("until"))
    .group_by(_r.c.facility_id, _r.c.product_id)
)
_g = inventory_ledger
_ASSIGNED_PAIRS = (
    select(_g.c.facility_id, _g.c.product_id, func.count())
    .where(
        tuple_(_g.c.facility_id, _g.c.product_id).in_(bindparam("pairs", expanding=True)),
        _g.c.cause == "reserve",
        _g.c.created_at >= bindparam("since"),
        _g.c.created_at < bindparam("until"),
    )
    .group_by(_g.c.facility_id, _g.c.product_id)
)


def _add_counts(statement: postgresql.Insert | SQLiteInsert) -> Any:
    """An upsert that adds the counts given to those a facility's day already has."""
    return statement.on_conflict_do_update(
        index_elements=[_d.c.facility_id, _d.c.day],
        set_={
            "shipments": _d.c.shipments + statement.excluded.shipments,
            "assignments": _d.c.assignments + statement.excluded.assignments,
            "rejections": _d.c.rejections + statement.excluded.rejections,
        },
    )


_ADD_COUNTS_PG = _add_counts(postgresql.insert(_d))
_ADD_COUNTS_SQLITE = _add_counts(sqlite.insert(_d))

_x = item_exclusions
_EXCLUSIONS = select(_x).where(_x.c.order_id.in_(bindparam("ids", expanding=True)))
_EXCLUDE_PG = postgresql.insert(_x).on_conflict_do_nothing()
_EXCLUDE_SQLITE = sqlite.insert(_x).on_conflict_do_nothing()

_i = order_items
_ROUTABLE_STATES = [str(s) for s in ROUTABLE]
_QUEUED = (
    select(_i.c.order_id)
    .where(_i.c.state.in_(_ROUTABLE_STATES))
    .group_by(_i.c.order_id)
    .order_by(_i.c.order_id)
    .limit(bindparam("limit", type_=Integer))
)
_QUEUED_AFTER = _QUEUED.where(_i.c.order_id > bindparam("after"))
_COUNT_QUEUED = select(func.count()).where(_i.c.state.in_(_ROUTABLE_STATES))
_BACKORDERED = (
    select(_i.c.order_id)
    .where(_i.c.product_id == bindparam("product_id"), _i.c.state == "backorder")
    .group_by(_i.c.order_id)
    .order_by(_i.c.order_id)
    .limit(bindparam("limit", type_=Integer))
)


@dataclass(frozen=True)
class Stock:
    """Levels as routing reads them: ATP by (facility, product), and the blocks in force on
    those of them that have any."""

    atp: dict[Key, int]
    blocks: dict[Key, list[Block]]

    def take(self, rows: Sequence[Any]) -> None:
        for row in rows:
            key = (row.facility_id, row.product_id)
            self.atp[key] = row.available_to_promise
            if row.kind is not None:
                self.blocks.setdefault(key, []).append(block_of(row))


class RoutingRepository:
    def __init__(self, conn: Connection, *, postgres: bool) -> None:
        self.conn = conn
        self.postgres = postgres
        self._counts: dict[tuple[str, date], tuple[int, int, int]] = {}

    # The rules document -------------------------------------------------------------------

    def rules(self) -> dict[str, Any] | None:
        row = self.conn.execute(_RULES).first()
        return dict(row.document) if row else None

    def save_rules(self, document: dict[str, Any], actor: str, now: datetime) -> None:
        self.conn.execute(_DROP_RULES)
        self.conn.execute(
            _PUT_RULES, {"id": 1, "document": document, "updated_by": actor, "updated_at": now}
        )

    def lock_rules(self) -> None:
        """Hold the rules document until the transaction ends, saved or not (a row lock
        cannot hold a document that has no row yet): on PostgreSQL an advisory lock, on
        SQLite the write transaction already holds the whole database."""
        if self.postgres:
            self.conn.execute(_LOCK_RULES)

    def forget_rules(self) -> None:
        self.conn.execute(_FORGET_RULES)

    # Versions of the rules document -------------------------------------------------------

    def saved_rules(self) -> dict[str, Any] | None:
        """The saved document with who saved it and when, or None while the defaults apply."""
        row = self.conn.execute(_RULES_ROW).first()
        if row is None:
            return None
        return {
            "document": dict(row.document),
            "updated_by": row.updated_by,
            "updated_at": as_utc(row.updated_at),
        }

    def keep_version(self, version: dict[str, Any], keep: int) -> int:
        """Add a replaced document (the columns of `routing_rule_versions` but the id), then
        drop all but the newest `keep`. Answers the new version's id."""
        added = self.conn.execute(_PUT_VERSION.returning(_v.c.id), version).scalar_one()
        beyond = self.conn.execute(_OLDEST_KEPT, {"keep": keep}).scalar()
        if beyond is not None:
            self.conn.execute(_DROP_VERSIONS, {"through": beyond})
        return int(added)

    def versions(self, limit: int) -> list[dict[str, Any]]:
        """Newest first, without their documents."""
        found = []
        for row in self.conn.execute(_VERSIONS, {"limit": limit}):
            entry = dict(row._mapping)
            entry["written_at"] = as_utc(entry["written_at"]) if entry["written_at"] else None
            entry["replaced_at"] = as_utc(entry["replaced_at"])
            found.append(entry)
        return found

    def version(self, version_id: int) -> dict[str, Any] | None:
        row = self.conn.execute(_VERSION, {"id": version_id}).first()
        if row is None:
            return None
        entry = dict(row._mapping)
        entry["document"] = dict(entry["document"])
        entry["written_at"] = as_utc(entry["written_at"]) if entry["written_at"] else None
        entry["replaced_at"] = as_utc(entry["replaced_at"])
        return entry

    # Snapshot inputs ----------------------------------------------------------------------

    def promisable_stock(self, product_ids: Iterable[str], now: datetime) -> Stock:
        """ATP above zero of these products everywhere, with the blocks in force there."""
        ids = sorted(set(product_ids))
        found = Stock({}, {})
        for start in range(0, len(ids), _CHUNK):
            rows = self.conn.execute(_PROMISABLE, {"ids": ids[start : start + _CHUNK], "now": now})
            found.take(rows.all())
        return found

    def stock_changed_since(self, since: datetime, product_ids: set[str], now: datetime) -> Stock:
        """ATP of levels written since `since`, among these products (zeros included), with
        the blocks in force there."""
        rows = self.conn.execute(_CHANGED_SINCE, {"since": since, "now": now})
        found = Stock({}, {})
        found.take([r for r in rows if r.product_id in product_ids])
        return found

    def load_on(self, day: date, facility_ids: Sequence[str]) -> dict[str, int]:
        """Shipments each facility was given on `day`, those this transaction has yet to write
        included."""
        if not facility_ids:
            return {}
        rows = self.conn.execute(_LOAD_ON, {"day": day, "ids": list(facility_ids)})
        load = {r.facility_id: r.shipments for r in rows}
        for facility_id in facility_ids:
            pending = self._counts.get((facility_id, day))
            if pending and pending[0]:
                load[facility_id] = load.get(facility_id, 0) + pending[0]
        return load

    def shipments_opened(self, since: datetime, until: datetime) -> dict[str, int]:
        """Shipments each facility was given at or after `since` and before `until`."""
        t = shipments
        query = (
            select(t.c.facility_id, func.count())
            .where(t.c.created_at >= since, t.c.created_at < until)
            .group_by(t.c.facility_id)
        )
        return {r[0]: int(r[1]) for r in self.conn.execute(query)}

    def acceptance_counts(self, since: datetime, until: datetime) -> AcceptanceCounts:
        """Items given and rejected between `since` and `until`: per facility from its day
        counters, per product for the pairs rejected at all (only they differ from their
        facility), the items given counted from the ledger's reservations."""
        counts = AcceptanceCounts()
        window = {"since": since.date(), "until": until.date()}
        for facility_id, assigned, rejected in self.conn.execute(_ACCEPTANCE, window):
            counts.add_facility(facility_id, int(assigned or 0), int(rejected or 0))
        moments = {"since": since, "until": until}
        rejected_pairs = {
            (r[0], r[1]): int(r[2]) for r in self.conn.execute(_REJECTED_PAIRS, moments)
        }
        pairs = sorted(rejected_pairs)
        assigned_pairs: dict[Key, int] = {}
        for start in range(0, len(pairs), _CHUNK // 2):
            chunk = pairs[start : start + _CHUNK // 2]
            rows = self.conn.execute(_ASSIGNED_PAIRS, {**moments, "pairs": chunk})
            assigned_pairs.update({(r[0], r[1]): int(r[2]) for r in rows})
        for key, rejected in rejected_pairs.items():
            tally = counts.pairs.setdefault(key, Tally())
            # An item given before the window and rejected in it counts as given.
            tally.add(max(assigned_pairs.get(key, 0), rejected), rejected)
        return counts

    def exclusions(self, order_ids: Sequence[str]) -> dict[Key, set[str]]:
        found: dict[Key, set[str]] = {}
        ids = list(set(order_ids))
        for start in range(0, len(ids), _CHUNK):
            rows = self.conn.execute(_EXCLUSIONS, {"ids": ids[start : start + _CHUNK]})
            for row in rows:
                found.setdefault((row.order_id, row.item_id), set()).add(row.facility_id)
        return found

    def exclude(self, order_id: str, item_id: str, facility_id: str, now: datetime) -> None:
        self.conn.execute(
            _EXCLUDE_PG if self.postgres else _EXCLUDE_SQLITE,
            {
                "order_id": order_id,
                "item_id": item_id,
                "facility_id": facility_id,
                "created_at": now,
            },
        )

    def count_day(self, day: date, counts: dict[str, tuple[int, int, int]]) -> None:
        """Add (shipments, assignments, rejections) to each facility's counters for `day`.

        Kept until `write_counts` (at the end of the transaction), so that one transaction
        touches each counter row once, in one fixed order: concurrent writers never deadlock.
        """
        for facility_id, (shipped, assigned, rejected) in counts.items():
            held = self._counts.get((facility_id, day), (0, 0, 0))
            self._counts[(facility_id, day)] = (
                held[0] + shipped,
                held[1] + assigned,
                held[2] + rejected,
            )

    def write_counts(self) -> None:
        if not self._counts:
            return
        # One statement for every row, in the fixed order (rows are inserted as listed).
        self.conn.execute(
            _ADD_COUNTS_PG if self.postgres else _ADD_COUNTS_SQLITE,
            [
                {
                    "facility_id": facility_id,
                    "day": day,
                    "shipments": shipped,
                    "assignments": assigned,
                    "rejections": rejected,
                }
                for (facility_id, day), (shipped, assigned, rejected) in sorted(
                    self._counts.items()
                )
            ],
        )
        self._counts = {}

    # The queue ----------------------------------------------------------------------------

    def queued_orders(self, after: str | None, limit: int) -> list[str]:
        """Ids of orders with items waiting for routing, in id order, after `after`."""
        if after is None:
            rows = self.conn.execute(_QUEUED, {"limit": limit})
        else:
            rows = self.conn.execute(_QUEUED_AFTER, {"limit": limit, "after": after})
        return [r.order_id for r in rows]

    def count_queued(self) -> int:
        return int(self.conn.execute(_COUNT_QUEUED).scalar_one())

    def backordered_orders(self, product_id: str, limit: int) -> list[str]:
        rows = self.conn.execute(_BACKORDERED, {"product_id": product_id, "limit": limit})
        return [r.order_id for r in rows]
