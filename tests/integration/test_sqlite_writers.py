"""Concurrent writers on one database: SQLite's single writer queues them without lock errors,
PostgreSQL's row locks keep them apart; on both, nothing is oversold, duplicated or lost."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from sqlalchemy import func, select

from reroute.domain.access import SYSTEM, Principal, Role
from reroute.domain.errors import Conflict
from reroute.domain.facilities import Facility, FacilityKind, Product
from reroute.domain.orders import Address, Order, OrderItem, ShippingMethod
from reroute.services import inventory, orders
from reroute.services.context import Context
from reroute.storage.database import Database
from reroute.storage.tables import inventory_ledger, order_history, order_items
from reroute.storage.tables import orders as orders_table
from reroute.storage.unit_of_work import unit_of_work
from tests.support import new_id

THREADS = 16
T = TypeVar("T")
LOADER = Principal("token:loader", Role.INTEGRATION)


def all_at_once(count: int, work: Callable[[int], T]) -> list[T]:
    """Run `work(0..count-1)` on `count` threads released together; re-raise any error."""
    start = threading.Barrier(count)

    def run(n: int) -> T:
        start.wait(timeout=30)
        return work(n)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


def catalog(context: Context) -> tuple[str, str]:
    facility_id, product_id = new_id("F"), new_id("P")
    with unit_of_work(context.db) as uow:
        uow.facilities.save(
            Facility(facility_id, "Store", FacilityKind.STORE, "L-1", "70125", 41.88, -87.63),
            uow.now,
        )
        uow.products.save(Product(product_id, "SKU", "UPC", "PN", "Linen shirt"), uow.now)
    return facility_id, product_id


def assert_ledger_sums_equal_counters(context: Context) -> None:
    with unit_of_work(context.db, write=False) as uow:
        sums = uow.inventory.ledger_sums()
        levels = uow.inventory.all_levels()
    for key, level in levels.items():
        counters = (level.quantity_on_hand, level.available_to_promise, level.reserved)
        assert counters == sums.get(key, (0, 0, 0)), key


def ledger_rows(context: Context) -> int:
    with context.db.transaction(write=False) as conn:
        return int(conn.execute(select(func.count()).select_from(inventory_ledger)).scalar_one())


def test_sixteen_threads_counting_one_level_all_succeed_and_every_count_is_in_the_ledger(
    context: Context,
) -> None:
    facility_id, product_id = catalog(context)
    per_thread = 25

    def count_many(thread: int) -> list[int]:
        counted = []
        for n in range(per_thread):
            quantity = thread * per_thread + n + 1  # every count differs from every other
            level = inventory.count_stock(context, facility_id, product_id, quantity, LOADER)
            assert level.quantity_on_hand == quantity
            counted.append(quantity)
        return counted

    counted = {q for batch in all_at_once(THREADS, count_many) for q in batch}
    assert len(counted) == THREADS * per_thread
    assert ledger_rows(context) == THREADS * per_thread
    assert_ledger_sums_equal_counters(context)
    level = inventory.get_level(context, facility_id, product_id, SYSTEM)
    assert level.quantity_on_hand in counted
    assert level.available_to_promise == level.quantity_on_hand


def test_two_engines_on_one_sqlite_file_write_without_lock_errors(
    sqlite_template: Path, tmp_path: Path
) -> None:
    """Two processes' worth of engines: the second waits on SQLite's busy timeout, not an error."""
    path = tmp_path / "shared.db"
    shutil.copy(sqlite_template, path)
    first = Context(db=Database(f"sqlite:///{path}"))
    second = Context(db=Database(f"sqlite:///{path}"))
    try:
        facility_id, product_id = catalog(first)

        def count_many(thread: int) -> None:
            ctx = first if thread % 2 else second
            for n in range(10):
                quantity = thread * 10 + n + 1
                inventory.count_stock(ctx, facility_id, product_id, quantity, LOADER)

        all_at_once(8, count_many)
        assert ledger_rows(first) == 80
        assert_ledger_sums_equal_counters(second)
    finally:
        first.db.dispose()
        second.db.dispose()


def an_order(order_id: str, product_id: str, quantity: int = 1) -> Order:
    return Order(
        id=order_id,
        customer_name="Ada Lovelace",
        customer_email="ada@example.com",
        shipping_method=ShippingMethod.STANDARD,
        ship_to=Address(city="Chicago", latitude=41.88, longitude=-87.63),
        items=[OrderItem("1", product_id, quantity), OrderItem("2", product_id, 1)],
    )


def order_rows(context: Context, order_id: str) -> tuple[int, int, int]:
    with context.db.transaction(write=False) as conn:
        return tuple(  # type: ignore[return-value]
            int(
                conn.execute(
                    select(func.count()).select_from(table).where(column == order_id)
                ).scalar_one()
            )
            for table, column in (
                (orders_table, orders_table.c.id),
                (order_items, order_items.c.order_id),
                (order_history, order_history.c.order_id),
            )
        )


def test_sixteen_threads_creating_the_same_order_create_it_exactly_once(context: Context) -> None:
    _, product_id = catalog(context)
    order_id = new_id("O")
    with unit_of_work(context.db) as uow:
        uow.settings.put({"route_on_create": False}, uow.now)

    def create(thread: int) -> bool:
        _, created = orders.create_order(
            context, an_order(order_id, product_id), "same-body", LOADER, f"req-{thread}"
        )
        return created

    created = all_at_once(THREADS, create)
    assert created.count(True) == 1
    assert order_rows(context, order_id) == (1, 2, 2)


def test_sixteen_threads_racing_different_bodies_under_one_order_id_leave_one_order(
    context: Context,
) -> None:
    _, product_id = catalog(context)
    order_id = new_id("O")
    with unit_of_work(context.db) as uow:
        uow.settings.put({"route_on_create": False}, uow.now)

    def create(thread: int) -> str:
        try:
            orders.create_order(
                context,
                an_order(order_id, product_id, quantity=thread + 1),
                f"body-{thread}",
                LOADER,
            )
        except Conflict:
            return "conflict"
        return f"created-{thread}"

    outcomes = all_at_once(THREADS, create)
    winners = [o for o in outcomes if o != "conflict"]
    assert len(winners) == 1
    assert order_rows(context, order_id) == (1, 2, 2)
    winner = int(winners[0].removeprefix("created-"))
    stored = orders.get_order(context, order_id, SYSTEM).order
    assert stored.items[0].quantity == winner + 1
