"""Writing a checked file: all of it in one transaction, or nothing.

Each kind has a plan: `check` finds what the database knows that makes a record wrong (unknown
facilities and products, an order id taken by another order), `write` writes every record. Both
run in the same transaction, so nothing changes between the check and the write.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from reroute.domain.access import Principal, Role
from reroute.domain.errors import DomainError, Invalid
from reroute.domain.facilities import Facility, Product
from reroute.importing.files import Problems
from reroute.importing.orders import OrderEntry
from reroute.importing.rows import StockRow
from reroute.services.context import Context
from reroute.services.notify import Notifier
from reroute.services.orders import insert_order
from reroute.storage.unit_of_work import UnitOfWork

Advance = Callable[[int], None]
T = TypeVar("T")
#: Ids per query: well under SQLite's limit on bound parameters.
CHUNK = 500
#: Who created imported orders, in their history.
IMPORTER = Principal("import", Role.ADMIN)


@dataclass(frozen=True)
class Written:
    #: Records of the file written (an order's lines count once each).
    rows: int
    #: Orders already present with the same content, left as they were.
    unchanged_orders: int = 0


class Plan(Protocol):
    def check(self, uow: UnitOfWork, problems: Problems) -> None: ...

    def write(self, uow: UnitOfWork, problems: Problems, advance: Advance) -> Written: ...


def _chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _known_products(uow: UnitOfWork, ids: Iterable[str]) -> set[str]:
    known: set[str] = set()
    for chunk in _chunks(sorted(set(ids))):
        known |= uow.products.existing_ids(chunk)
    return known


def _known_facilities(uow: UnitOfWork, ids: Iterable[str]) -> set[str]:
    known: set[str] = set()
    for chunk in _chunks(sorted(set(ids))):
        known |= {f.id for f in uow.facilities.list(chunk)}
    return known


@dataclass
class ProductPlan:
    products: list[Product]

    def check(self, uow: UnitOfWork, problems: Problems) -> None:
        """A product refers to nothing."""

    def write(self, uow: UnitOfWork, problems: Problems, advance: Advance) -> Written:
        for product in self.products:
            uow.products.save(product, uow.now)
            advance(1)
        return Written(len(self.products))


@dataclass
class FacilityPlan:
    facilities: list[Facility]

    def check(self, uow: UnitOfWork, problems: Problems) -> None:
        """A facility refers to nothing."""

    def write(self, uow: UnitOfWork, problems: Problems, advance: Advance) -> Written:
        for facility in self.facilities:
            uow.facilities.save(facility, uow.now)
            advance(1)
        return Written(len(self.facilities))


@dataclass
class StockPlan:
    #: Each count with where it is in the file.
    counts: list[tuple[str, StockRow]]
    #: Written on each ledger row the import causes.
    reference: str

    def check(self, uow: UnitOfWork, problems: Problems) -> None:
        facilities = _known_facilities(uow, (row.facility_id for _, row in self.counts))
        products = _known_products(uow, (row.product_id for _, row in self.counts))
        for where, row in self.counts:
            if row.facility_id not in facilities:
                problems.add(where, f"No facility {row.facility_id}.", "facility_id")
            if row.product_id not in products:
                problems.add(where, f"No product {row.product_id}.", "product_id")

    def write(self, uow: UnitOfWork, problems: Problems, advance: Advance) -> Written:
        """The API's stock count (`apply_count`) for every row, a few hundred rows per statement.

        Levels are locked in the one fixed order every writer uses; each count moves its level
        by the domain's rule, and the counters and ledger rows are written chunk by chunk.
        """
        by_key = {(row.facility_id, row.product_id): row for _, row in self.counts}
        for keys in _chunks(sorted(by_key)):
            levels = uow.inventory.get_many(keys, lock=True)
            entries = []
            for key in keys:
                entry = levels[key].count(by_key[key].quantity_on_hand, self.reference)
                if entry.qoh_diff:
                    entries.append(entry)
            uow.inventory.save_many(levels.values(), entries, uow.now)
            advance(len(keys))
        return Written(len(self.counts))


@dataclass
class OrderPlan:
    entries: list[OrderEntry]
    #: The body hash of each order id already present, found by `check`.
    present: dict[str, str] = field(default_factory=dict)
    #: Where subscribers are found, to tell them of orders handed to customer care.
    context: Context | None = None

    def check(self, uow: UnitOfWork, problems: Problems) -> None:
        self.present.clear()
        orders = [e.order for e in self.entries]
        products = _known_products(uow, (i.product_id for o in orders for i in o.items))
        facilities = _known_facilities(uow, (o.pickup_facility_id or "" for o in orders))
        for entry in self.entries:
            order = entry.order
            for index, item in enumerate(order.items):
                if item.product_id not in products:
                    where, name = entry.locate(f"items.{index}.product_id")
                    problems.add(where, f"No product {item.product_id}.", name)
            if order.pickup_facility_id and order.pickup_facility_id not in facilities:
                where, name = entry.locate("pickup_facility_id")
                problems.add(where, f"No facility {order.pickup_facility_id}.", name)
            known = uow.orders.body_hash(order.id)
            if known is not None:
                self.present[order.id] = known
                self._compare(entry, known, problems)

    def write(self, uow: UnitOfWork, problems: Problems, advance: Advance) -> Written:
        rows = unchanged = 0
        notifier = Notifier(self.context, uow) if self.context is not None else None
        for entry in self.entries:
            known = self.present.get(entry.order.id)
            if known is None:
                if self._insert(uow, entry, problems, notifier):
                    rows += entry.rows
                    advance(entry.rows)
                    continue
                known = uow.orders.body_hash(entry.order.id)  # another writer got there first
            if known is not None and self._compare(entry, known, problems):
                unchanged += 1
            advance(entry.rows)
        problems.raise_if_any()
        if notifier is not None:
            notifier.flush()
        return Written(rows, unchanged)

    @staticmethod
    def _compare(entry: OrderEntry, known: str, problems: Problems) -> bool:
        """Whether the order present is this one; reported when it is another."""
        if known == entry.body_hash:
            return True
        where, name = entry.locate("order_id")
        problems.add(
            where,
            f"Order {entry.order.id} already exists with different content; "
            "repeat it unchanged, or use a new order id.",
            name,
        )
        return False

    @staticmethod
    def _insert(
        uow: UnitOfWork, entry: OrderEntry, problems: Problems, notifier: Notifier | None
    ) -> bool:
        try:
            return insert_order(
                uow, entry.order, entry.body_hash, IMPORTER, None, notifier=notifier
            )
        except DomainError as exc:
            errors = exc.errors if isinstance(exc, Invalid) else []
            for error in errors:
                where, name = entry.locate(error.path)
                problems.add(where, error.message, name)
            if not errors:
                problems.add(entry.locate("order_id")[0], exc.detail)
            return False
