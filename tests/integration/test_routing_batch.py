"""Batch runs over the routing queue on both databases: every queued and backordered item is
routed, a chunk of orders per transaction, with progress reported up to the total."""

from __future__ import annotations

import random
import uuid
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError

from reroute.domain.access import SYSTEM, Principal, Role
from reroute.domain.errors import Forbidden
from reroute.domain.orders import Order
from reroute.services import inventory
from reroute.services.context import Context
from reroute.services.orders import create_order, insert_order
from reroute.services.routing_batch import run_batch
from reroute.services.stock_view import StockView
from reroute.storage.repositories.routing import RoutingRepository
from reroute.storage.unit_of_work import unit_of_work
from tests.service_builders import facility, new_order, product


def queue(ctx: Context, orders: list[Order]) -> None:
    """Write the orders with their items queued, as creation does with route_on_create off."""
    with unit_of_work(ctx.db) as uow:
        for order in orders:
            assert insert_order(uow, order, uuid.uuid4().hex, SYSTEM, None)


def states(ctx: Context, orders: list[Order]) -> Counter[str]:
    with unit_of_work(ctx.db, write=False) as uow:
        found = uow.orders.get_many([o.id for o in orders])
    return Counter(str(i.state) for o in found.values() for i in o.items)


def check_ledger(ctx: Context) -> dict[tuple[str, str], tuple[int, int, int]]:
    with unit_of_work(ctx.db, write=False) as uow:
        sums = uow.inventory.ledger_sums()
        levels = uow.inventory.all_levels()
    counters = {
        key: (lvl.quantity_on_hand, lvl.available_to_promise, lvl.reserved)
        for key, lvl in levels.items()
    }
    for key, values in counters.items():
        assert sums.get(key, (0, 0, 0)) == values, key
    return counters


def test_a_batch_run_routes_hundreds_of_queued_orders_in_chunks_up_to_the_total(
    context: Context,
) -> None:
    rng = random.Random(7)
    products = [product(context) for _ in range(4)]
    stores = [facility(context, km, {p: 400 for p in products}) for km in (2, 9, 30)]
    orders = [
        new_order(*((p, rng.randint(1, 2)) for p in rng.sample(products, rng.randint(1, 3))))
        for _ in range(300)
    ]
    queue(context, orders)
    items = sum(len(o.items) for o in orders)
    units = Counter[str]()
    for o in orders:
        for item in o.items:
            units[item.product_id] += item.quantity
    calls: list[tuple[int, int]] = []

    result = run_batch(context, SYSTEM, chunk=50, progress=lambda *a: calls.append(a))

    assert result.orders == 300
    assert result.outcomes == {"ready": items}
    assert states(context, orders) == {"ready": items}
    # One call per chunk of 50 orders, counting items, ending at the total.
    assert len(calls) == 6
    assert [total for _, total in calls] == [items] * 6
    done = [d for d, _ in calls]
    assert done == sorted(done) and len(set(done)) == 6
    assert done[-1] == items
    counters = check_ledger(context)
    for p in products:
        # Every unit ordered is reserved, each once, and nowhere below zero.
        assert sum(counters[(s, p)][2] for s in stores) == units[p]
        assert all(counters[(s, p)][1] >= 0 for s in stores)
    with unit_of_work(context.db, write=False) as uow:
        assert uow.routing.count_queued() == 0


def test_a_batch_run_with_less_stock_than_orders_places_exactly_the_stock(
    context: Context,
) -> None:
    p = product(context)
    near = facility(context, 1, {p: 30})
    far = facility(context, 50, {p: 40})
    orders = [new_order((p, 1)) for _ in range(120)]
    queue(context, orders)
    calls: list[tuple[int, int]] = []

    result = run_batch(context, SYSTEM, chunk=50, progress=lambda *a: calls.append(a))

    assert result.outcomes == {"ready": 70, "backorder": 50}
    assert states(context, orders) == {"ready": 70, "backorder": 50}
    assert calls[-1] == (120, 120)
    counters = check_ledger(context)
    assert counters[(near, p)] == (30, 0, 30)
    assert counters[(far, p)] == (40, 0, 40)


def test_a_batch_run_routes_backordered_items_once_stock_is_there(context: Context) -> None:
    p = product(context)
    store = facility(context, 3, {})
    order = new_order((p, 2))
    created, _ = create_order(context, order, uuid.uuid4().hex, SYSTEM)
    assert created.items[0].state == "backorder"
    with unit_of_work(context.db) as uow:  # stock that arrived without routing anything
        inventory.apply_count(uow, store, p, 5, "delivery")

    result = run_batch(context, SYSTEM, chunk=10)

    assert (result.orders, result.outcomes) == (1, {"ready": 1})
    assert states(context, [order]) == {"ready": 1}
    assert check_ledger(context)[(store, p)] == (5, 3, 2)


def test_a_batch_run_leaves_orders_already_routed_alone(context: Context) -> None:
    p = product(context)
    facility(context, 3, {p: 5})
    routed, _ = create_order(context, new_order((p, 1)), uuid.uuid4().hex, SYSTEM)
    assert routed.items[0].state == "ready"
    calls: list[tuple[int, int]] = []

    result = run_batch(context, SYSTEM, progress=lambda *a: calls.append(a))

    assert (result.orders, result.outcomes, calls) == (0, Counter(), [])


def test_an_associate_may_not_start_a_batch_run(context: Context) -> None:
    with pytest.raises(Forbidden):
        run_batch(context, Principal("someone", Role.ASSOCIATE, frozenset({"F-1"})))


def test_stock_that_arrives_between_chunks_of_a_run_is_routed_in_the_next_chunk(
    context: Context,
) -> None:
    p = product(context)
    first = facility(context, 1, {p: 50})
    second = facility(context, 60, {p: 0})
    orders = [new_order((p, 1)) for _ in range(100)]
    queue(context, orders)

    def delivery(done: int, total: int) -> None:
        if done == 50:  # after the first chunk committed, before the second one starts
            with unit_of_work(context.db) as uow:
                inventory.apply_count(uow, second, p, 30, "delivery")

    result = run_batch(context, SYSTEM, chunk=50, progress=delivery)

    assert result.outcomes == {"ready": 80, "backorder": 20}
    counters = check_ledger(context)
    assert counters[(first, p)] == (50, 0, 50)
    assert counters[(second, p)] == (30, 0, 30)


class _Deadlock(Exception):
    """What the driver raises when PostgreSQL picks this transaction as a deadlock victim."""

    sqlstate = "40P01"


def test_a_chunk_the_database_makes_start_over_is_routed_again_from_the_truth(
    context: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Rows written before a chunk began are not read again for the next attempt (no margin),
    # so only a retry that forgets what the failed attempt took sees all the stock.
    monkeypatch.setattr(StockView, "MARGIN", timedelta(0))
    p = product(context)
    store = facility(context, 1, {p: 3})
    orders = [new_order((p, 1)) for _ in range(3)]
    queue(context, orders)
    count_day = RoutingRepository.count_day
    failures: list[str] = []

    def victim_once(self: RoutingRepository, *args: Any) -> None:
        if not failures:  # the end of the chunk's transaction, after everything was planned
            failures.append("deadlock")
            raise OperationalError("INSERT INTO facility_days", {}, _Deadlock())
        count_day(self, *args)

    monkeypatch.setattr(RoutingRepository, "count_day", victim_once)

    result = run_batch(context, SYSTEM, chunk=10)

    assert failures == ["deadlock"]
    assert (result.orders, result.outcomes) == (3, {"ready": 3})
    assert states(context, orders) == {"ready": 3}
    assert check_ledger(context)[(store, p)] == (3, 0, 3)
