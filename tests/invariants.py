"""What must hold in the database whatever ran against it, read straight from the tables.

Used after concurrent load: each broken promise comes back as one sentence naming the ids
involved, so a failing test says what went wrong and where. The database should be quiet while
it is read (PostgreSQL reads one snapshot; SQLite is read after the writers stopped).

The ledger says which item holds what: routing reserves, and rejection, cancellation and
customer care release, with the reference "order_id/item_id"; fulfilment ships under the same
reference. A stock count is referenced by who counted, a rejection's inventory effect by the
rejected item, and neither holds anything for an item, so only reserve, release and ship
entries count towards an item's reservation.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, func, select

from reroute.domain.clock import as_utc
from reroute.domain.orders import AT_FACILITY, ItemState, ShipmentState, shipment_state
from reroute.storage.tables import (
    facilities,
    facility_days,
    inventory_ledger,
    inventory_levels,
    order_items,
    shipments,
)

Level = tuple[str, str]
ItemKey = tuple[str, str]
#: Ledger causes that make, give back or use up an item's reservation.
ITEM_CAUSES = ("reserve", "release", "ship")
COUNT_CAUSE = "stock_count"
OPEN_SHIPMENTS = frozenset({ShipmentState.READY, ShipmentState.IN_PROGRESS, ShipmentState.PACKED})
#: Ids shown at most in one sentence.
SHOWN = 8


@dataclass(frozen=True)
class Violation:
    """One broken invariant: which kind (for counting) and the sentence that explains it."""

    kind: str
    text: str
    #: The orders involved, to look at their history.
    orders: tuple[str, ...] = ()


@dataclass
class _Item:
    order_id: str
    item_id: str
    product_id: str
    quantity: int
    state: ItemState
    facility_id: str | None
    shipment_id: str | None

    @property
    def ref(self) -> str:
        return f"{self.order_id}/{self.item_id}"


@dataclass
class _Shipment:
    id: str
    order_id: str
    facility_id: str
    state: ShipmentState
    created_day: date


@dataclass
class _Entry:
    id: int
    facility_id: str
    product_id: str
    qoh_diff: int
    atp_diff: int
    reserved_diff: int
    cause: str
    reference: str
    created_at: datetime


@dataclass
class _Snapshot:
    levels: dict[Level, tuple[int, int, int]]
    ledger: list[_Entry]
    items: list[_Item]
    shipments: dict[str, _Shipment]
    capacity: dict[str, int | None]
    day_counts: dict[tuple[str, date], int]
    sums: dict[Level, tuple[int, int, int]] = field(default_factory=dict)


def violations(db_url_or_engine: str | Engine) -> list[str]:
    """Every broken invariant, one readable sentence each; empty when all hold."""
    return [v.text for v in check(db_url_or_engine)]


def check(db_url_or_engine: str | Engine) -> list[Violation]:
    """Every broken invariant with its kind."""
    snapshot = _load(db_url_or_engine)
    found: list[Violation] = []
    for rule in (
        _counters_equal_ledger,
        _reserved_equals_open_items,
        _items_match_their_ledger,
        _item_fields,
        _shipments_follow_items,
        _atp_below_zero_only_after_count,
        _daily_capacity,
    ):
        found.extend(rule(snapshot))
    return found


def summary(found: Iterable[Violation]) -> dict[str, int]:
    """How many violations of each kind."""
    return dict(Counter(v.kind for v in found))


# Reading --------------------------------------------------------------------------------------


def _load(db_url_or_engine: str | Engine) -> _Snapshot:
    own = isinstance(db_url_or_engine, str)
    engine = (
        create_engine(db_url_or_engine) if isinstance(db_url_or_engine, str) else db_url_or_engine
    )
    try:
        with engine.connect() as conn:
            if engine.dialect.name == "postgresql":
                conn = conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                return _read(conn)
    finally:
        if own:
            engine.dispose()


def _read(conn: Connection) -> _Snapshot:
    levels = {
        (r.facility_id, r.product_id): (
            int(r.quantity_on_hand),
            int(r.available_to_promise),
            int(r.reserved),
        )
        for r in conn.execute(select(inventory_levels))
    }
    t = inventory_ledger
    ledger = [
        _Entry(
            int(r.id),
            r.facility_id,
            r.product_id,
            int(r.qoh_diff),
            int(r.atp_diff),
            int(r.reserved_diff),
            r.cause,
            r.reference,
            as_utc(r.created_at),
        )
        for r in conn.execute(select(t).order_by(t.c.facility_id, t.c.product_id, t.c.id))
    ]
    items = [
        _Item(
            r.order_id,
            r.item_id,
            r.product_id,
            int(r.quantity),
            ItemState(r.state),
            r.facility_id,
            None if r.shipment_id is None else str(r.shipment_id),
        )
        for r in conn.execute(
            select(order_items).order_by(order_items.c.order_id, order_items.c.item_id)
        )
    ]
    found_shipments = {
        str(r.id): _Shipment(
            str(r.id),
            r.order_id,
            r.facility_id,
            ShipmentState(r.state),
            as_utc(r.created_at).date(),
        )
        for r in conn.execute(select(shipments).order_by(shipments.c.id))
    }
    capacity = {
        r.id: r.daily_capacity
        for r in conn.execute(select(facilities.c.id, facilities.c.daily_capacity))
    }
    d = facility_days
    day_counts = {
        (r.facility_id, _as_date(r.day)): int(r.shipments)
        for r in conn.execute(select(d.c.facility_id, d.c.day, d.c.shipments))
    }
    sums = {
        (r[0], r[1]): (int(r[2]), int(r[3]), int(r[4]))
        for r in conn.execute(
            select(
                t.c.facility_id,
                t.c.product_id,
                func.sum(t.c.qoh_diff),
                func.sum(t.c.atp_diff),
                func.sum(t.c.reserved_diff),
            ).group_by(t.c.facility_id, t.c.product_id)
        )
    }
    return _Snapshot(levels, ledger, items, found_shipments, capacity, day_counts, sums)


def _as_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


# The invariants -------------------------------------------------------------------------------


def _counters_equal_ledger(s: _Snapshot) -> Iterator[Violation]:
    """QOH, ATP and reserved of every level equal the sums of its ledger."""
    for key in sorted(s.levels.keys() | s.sums.keys()):
        counters = s.levels.get(key)
        sums = s.sums.get(key, (0, 0, 0))
        if counters is None:
            yield Violation(
                "counters != ledger",
                f"Facility {key[0]}, product {key[1]}: the ledger sums to {_qar(sums)} "
                "but there is no inventory level.",
            )
        elif counters != sums:
            yield Violation(
                "counters != ledger",
                f"Facility {key[0]}, product {key[1]}: the counters are {_qar(counters)} "
                f"but the ledger sums to {_qar(sums)}.",
            )


def _reserved_equals_open_items(s: _Snapshot) -> Iterator[Violation]:
    """`reserved` at a facility is what its open (ready, in progress, packed) items hold."""
    held: dict[Level, list[_Item]] = defaultdict(list)
    for item in s.items:
        if item.state in AT_FACILITY and item.facility_id is not None:
            held[(item.facility_id, item.product_id)].append(item)
    for key in sorted(s.levels.keys() | held.keys()):
        reserved = s.levels.get(key, (0, 0, 0))[2]
        open_items = held.get(key, [])
        open_quantity = sum(i.quantity for i in open_items)
        if reserved != open_quantity:
            shown = _ids(f"{i.ref}: {i.quantity}" for i in open_items)
            yield Violation(
                "reserved != open items",
                f"Facility {key[0]}, product {key[1]}: reserved is {reserved} but the open "
                f"items there hold {open_quantity}" + (f" ({shown})." if shown else "."),
            )


def _items_match_their_ledger(s: _Snapshot) -> Iterator[Violation]:
    """Each item's reserve/release/ship entries net to what its state says it holds: its
    quantity at its facility while open, used up there once fulfilled, nothing otherwise."""
    by_ref = {item.ref: item for item in s.items}
    # (reserved, ATP from reserve/release, QOH shipped) per item and facility.
    nets: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0, 0]))
    orphans: dict[str, list[_Entry]] = defaultdict(list)
    wrong_product: dict[str, set[str]] = defaultdict(set)
    for entry in s.ledger:
        if entry.cause not in ITEM_CAUSES:
            continue
        item = by_ref.get(entry.reference)
        if item is None:
            orphans[entry.reference].append(entry)
            continue
        if entry.product_id != item.product_id:
            wrong_product[item.ref].add(entry.product_id)
        net = nets[item.ref][entry.facility_id]
        net[0] += entry.reserved_diff
        if entry.cause != "ship":
            net[1] += entry.atp_diff
        else:
            net[2] += entry.qoh_diff
    for reference, entries in sorted(orphans.items()):
        where = _ids(sorted({f"{e.cause} at {e.facility_id}" for e in entries}))
        yield Violation(
            "ledger names no item",
            f"Ledger entries {_ids(str(e.id) for e in entries)} ({where}) name "
            f"{reference!r}, which is no item.",
            orders=(reference.split("/")[0],),
        )
    for ref, products in sorted(wrong_product.items()):
        item = by_ref[ref]
        yield Violation(
            "ledger names no item",
            f"Item {ref} is of product {item.product_id} but its ledger entries move "
            f"{', '.join(sorted(products))}.",
            orders=(item.order_id,),
        )
    for item in s.items:
        actual = {f: tuple(n) for f, n in nets.get(item.ref, {}).items() if any(n)}
        expected = _expected_holding(item)
        holding = sorted(f for f, n in actual.items() if n[0] > 0)
        if len(holding) > 1:
            yield Violation(
                "item held at two facilities",
                f"Item {item.ref} ({_where(item)}) is held at {len(holding)} facilities by "
                "the ledger: " + ", ".join(f"{f} ({actual[f][0]})" for f in holding) + ".",
                orders=(item.order_id,),
            )
        elif actual != expected:
            yield Violation(
                "item ledger != state",
                f"Item {item.ref} ({_where(item)}, quantity {item.quantity}) should hold "
                f"{_holdings(expected)} by the ledger, but holds {_holdings(actual)}.",
                orders=(item.order_id,),
            )


def _expected_holding(item: _Item) -> dict[str, tuple[int, ...]]:
    if item.facility_id is None:
        return {}
    if item.state in AT_FACILITY:
        return {item.facility_id: (item.quantity, -item.quantity, 0)}
    if item.state is ItemState.FULFILLED:
        return {item.facility_id: (0, -item.quantity, -item.quantity)}
    return {}


def _holdings(nets: dict[str, tuple[int, ...]]) -> str:
    if not nets:
        return "nothing anywhere"
    return "; ".join(
        f"at {f}: reserved {n[0]}, ATP {n[1]:+d}, shipped {-n[2]}" for f, n in sorted(nets.items())
    )


def _item_fields(s: _Snapshot) -> Iterator[Violation]:
    """An open item names its facility and a shipment of its order there; an item that
    left (queued, backordered, customer care, canceled) names neither."""
    for item in s.items:
        if item.state in AT_FACILITY or item.state is ItemState.FULFILLED:
            if item.facility_id is None or item.shipment_id is None:
                yield Violation(
                    "item fields",
                    f"Item {item.ref} is {item.state} but names "
                    f"facility {item.facility_id} and shipment {item.shipment_id}.",
                    orders=(item.order_id,),
                )
                continue
            shipment = s.shipments.get(item.shipment_id)
            if shipment is None:
                yield Violation(
                    "item fields",
                    f"Item {item.ref} is in shipment {item.shipment_id}, which does not exist.",
                    orders=(item.order_id,),
                )
            elif shipment.order_id != item.order_id or shipment.facility_id != item.facility_id:
                yield Violation(
                    "item fields",
                    f"Item {item.ref} at {item.facility_id} is in shipment {shipment.id}, which "
                    f"is order {shipment.order_id}'s at {shipment.facility_id}.",
                    orders=(item.order_id, shipment.order_id),
                )
        elif item.facility_id is not None or item.shipment_id is not None:
            yield Violation(
                "item fields",
                f"Item {item.ref} is {item.state} but still names facility "
                f"{item.facility_id} and shipment {item.shipment_id}.",
                orders=(item.order_id,),
            )


def _shipments_follow_items(s: _Snapshot) -> Iterator[Violation]:
    """No open shipment without items, and a shipment's state follows the items in it."""
    inside: dict[str, list[_Item]] = defaultdict(list)
    for item in s.items:
        if item.shipment_id is not None:
            inside[item.shipment_id].append(item)
    for shipment in s.shipments.values():
        items = [
            i
            for i in inside.get(shipment.id, [])
            if i.state in AT_FACILITY or i.state is ItemState.FULFILLED
        ]
        if not items:
            if shipment.state in OPEN_SHIPMENTS or shipment.state is ShipmentState.FULFILLED:
                yield Violation(
                    "open shipment without items"
                    if shipment.state in OPEN_SHIPMENTS
                    else "fulfilled shipment without items",
                    f"Shipment {shipment.id} (order {shipment.order_id}, facility "
                    f"{shipment.facility_id}) is {shipment.state} but holds no items.",
                    orders=(shipment.order_id,),
                )
            continue
        expected = shipment_state((i.state for i in items), shipment.state)
        if expected is not shipment.state:
            states = _ids(f"{i.ref} {i.state}" for i in items)
            yield Violation(
                "shipment state != items",
                f"Shipment {shipment.id} (order {shipment.order_id}, facility "
                f"{shipment.facility_id}) is {shipment.state} but its items say {expected} "
                f"({states}).",
                orders=(shipment.order_id,),
            )


def _atp_below_zero_only_after_count(s: _Snapshot) -> Iterator[Violation]:
    """ATP falls below 0 only when a stock count finds fewer units than were promised.

    The ledger of each level is replayed in order. A reservation may never leave ATP below 0;
    and a transaction (the entries written at one moment) that ends with ATP below 0 and lower
    than it found it must hold a count. A rejection's effect may lower ATP on its own entry,
    but its releases come first in the same transaction, so it never ends lower.
    """
    for key, entries in _by_level(s.ledger):
        atp = 0
        for group in _transactions(entries):
            before = atp
            for entry in group:
                atp += entry.atp_diff
                if entry.cause == "reserve" and atp < 0:
                    yield Violation(
                        "ATP < 0 not by a count",
                        f"Facility {key[0]}, product {key[1]}: reserving for "
                        f"{entry.reference} (ledger {entry.id}) left ATP at {atp}.",
                        orders=(entry.reference.split("/")[0],),
                    )
            counted = any(e.cause == COUNT_CAUSE for e in group)
            if atp < 0 and atp < before and not counted:
                causes = ", ".join(sorted({e.cause for e in group}))
                yield Violation(
                    "ATP < 0 not by a count",
                    f"Facility {key[0]}, product {key[1]}: ATP fell from {before} to {atp} "
                    f"by {causes} (ledger {group[0].id}..{group[-1].id}), not by a count.",
                )


def _by_level(ledger: list[_Entry]) -> Iterator[tuple[Level, list[_Entry]]]:
    grouped: dict[Level, list[_Entry]] = defaultdict(list)
    for entry in ledger:
        grouped[(entry.facility_id, entry.product_id)].append(entry)
    for key in sorted(grouped):
        yield key, sorted(grouped[key], key=lambda e: e.id)


def _transactions(entries: list[_Entry]) -> Iterator[list[_Entry]]:
    """Consecutive entries written at one moment: one transaction writes all its entries with
    the time it started, and holds the level's lock while it does."""
    group: list[_Entry] = []
    for entry in entries:
        if group and entry.created_at != group[-1].created_at:
            yield group
            group = []
        group.append(entry)
    if group:
        yield group


def _daily_capacity(s: _Snapshot) -> Iterator[Violation]:
    """A facility gets no more new shipments a day than its capacity, and its day counter
    says how many it got."""
    given: Counter[tuple[str, date]] = Counter(
        (sh.facility_id, sh.created_day) for sh in s.shipments.values()
    )
    for (facility_id, day), count in sorted(given.items()):
        capacity = s.capacity.get(facility_id)
        if capacity is not None and count > capacity:
            yield Violation(
                "over daily capacity",
                f"Facility {facility_id} was given {count} shipments on {day}, over its daily "
                f"capacity of {capacity}.",
            )
    for key in sorted(given.keys() | s.day_counts.keys()):
        counted, made = s.day_counts.get(key, 0), given.get(key, 0)
        if counted != made:
            yield Violation(
                "day counter != shipments",
                f"Facility {key[0]} counts {counted} shipments on {key[1]} but was given {made}.",
            )


# Wording --------------------------------------------------------------------------------------


def _qar(values: tuple[int, int, int]) -> str:
    return f"QOH {values[0]}, ATP {values[1]}, reserved {values[2]}"


def _where(item: _Item) -> str:
    return f"{item.state} at {item.facility_id}" if item.facility_id else str(item.state)


def _ids(values: Iterable[str]) -> str:
    listed = list(values)
    shown = ", ".join(listed[:SHOWN])
    return shown + (f" and {len(listed) - SHOWN} more" if len(listed) > SHOWN else "")
