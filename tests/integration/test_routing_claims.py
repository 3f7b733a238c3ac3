"""Routing claims an item before it reserves (issue: one item, two reservations): whatever reads
orders and then routes them (a stock count's backorders, the batch run, a cascade, order
creation) locks the orders first and decides on what the lock shows. And a facility's daily
capacity is taken under a lock: two orders at once cannot both take its last slot.

Real threads on both databases; on PostgreSQL these are the races that broke before."""

from __future__ import annotations

import uuid
from collections import Counter
from typing import TypeVar

from sqlalchemy import func, select

from reroute.domain.access import SYSTEM
from reroute.domain.orders import ItemState
from reroute.services import inventory
from reroute.services.context import Context
from reroute.services.orders import create_order, insert_order
from reroute.services.rejection import reject_item
from reroute.services.routing_batch import run_batch
from reroute.storage import tables
from reroute.storage.unit_of_work import unit_of_work
from tests.service_builders import facility, new_order, product
from tests.support import all_at_once

T = TypeVar("T")


def holdings(ctx: Context, order_id: str, product_id: str) -> tuple[list[str], dict[str, int]]:
    """The item states of an order, and per facility the units of the product reserved there."""
    with unit_of_work(ctx.db, write=False) as uow:
        order = uow.orders.get(order_id)
        levels = uow.inventory.all_levels()
        sums = uow.inventory.ledger_sums()
    assert order is not None
    for key, level in levels.items():  # the counters are the ledger's sums, always
        assert sums.get(key, (0, 0, 0)) == (
            level.quantity_on_hand,
            level.available_to_promise,
            level.reserved,
        ), key
    reserved = {
        f: lvl.reserved for (f, p), lvl in levels.items() if lvl.reserved and p == product_id
    }
    return [str(i.state) for i in order.items], reserved


def empty_open_shipments(ctx: Context) -> int:
    """Shipments that say ready or in progress but hold no item there."""
    s, i = tables.shipments, tables.order_items
    with unit_of_work(ctx.db, write=False) as uow:
        held = select(i.c.shipment_id).where(i.c.shipment_id.is_not(None))
        query = (
            select(func.count())
            .select_from(s)
            .where(s.c.state.in_(["ready", "in_progress"]), s.c.id.not_in(held))
        )
        return int(uow.conn.execute(query).scalar_one())


def test_two_stock_counts_at_once_route_a_backordered_item_to_one_facility_only(
    context: Context,
) -> None:
    for _round in range(8):
        p = product(context)
        stores = [facility(context, km, {}) for km in (2, 4)]
        order = new_order((p, 1))
        created, _ = create_order(context, order, uuid.uuid4().hex, SYSTEM)
        assert [str(i.state) for i in created.items] == ["backorder"]

        all_at_once(2, lambda n: inventory.count_stock(context, stores[n], p, 5, SYSTEM))  # noqa: B023

        states, reserved = holdings(context, order.id, p)
        assert states == ["ready"]
        assert sum(reserved.values()) == 1, reserved
        assert empty_open_shipments(context) == 0


def test_a_batch_run_and_stock_counts_at_once_reserve_each_queued_item_once(
    context: Context,
) -> None:
    p = product(context)
    stores = [facility(context, km, {}) for km in (1, 3, 6)]
    orders = [new_order((p, 1)) for _ in range(30)]
    with unit_of_work(context.db) as uow:
        for o in orders:
            assert insert_order(uow, o, uuid.uuid4().hex, SYSTEM, None)

    def work(n: int) -> object:
        if n == 0:
            return run_batch(context, SYSTEM, chunk=5)
        return inventory.count_stock(context, stores[n - 1], p, 12, SYSTEM)

    all_at_once(1 + len(stores), work)
    run_batch(context, SYSTEM)  # what the first run found out of stock, now placed

    with unit_of_work(context.db, write=False) as uow:
        stored = uow.orders.get_many([o.id for o in orders])
        levels = uow.inventory.all_levels()
    states = Counter(str(i.state) for o in stored.values() for i in o.items)
    assert states == {"ready": 30}
    placed = Counter(i.facility_id for o in stored.values() for i in o.items)
    assert sum(lvl.reserved for lvl in levels.values()) == 30
    for (f, _), level in levels.items():
        assert level.reserved == placed[f], f
    assert empty_open_shipments(context) == 0


def test_a_cascade_and_a_stock_count_at_once_leave_every_item_held_once(
    context: Context,
) -> None:
    p = product(context)
    store = facility(context, 1, {p: 6})
    other = facility(context, 8, {})
    orders = [new_order((p, 1)) for _ in range(6)]
    for o in orders:
        create_order(context, o, uuid.uuid4().hex, SYSTEM)
    with unit_of_work(context.db, write=False) as uow:
        first = uow.orders.get(orders[0].id)
    assert first is not None and first.items[0].shipment_id is not None
    shipment = first.items[0].shipment_id

    def work(n: int) -> object:
        if n == 0:
            return reject_item(context, shipment, "1", "NOT_IN_STOCK", None, SYSTEM)
        return inventory.count_stock(context, other, p, 4, SYSTEM)

    all_at_once(2, work)

    with unit_of_work(context.db, write=False) as uow:
        stored = uow.orders.get_many([o.id for o in orders])
        levels = uow.inventory.all_levels()
    items = [i for o in stored.values() for i in o.items]
    assert {str(i.state) for i in items} <= {"ready", "backorder"}
    assert all(i.facility_id != store for i in items)
    at_other = sum(1 for i in items if i.state is ItemState.READY)
    assert at_other == 4
    assert levels[(other, p)].reserved == 4
    assert levels[(store, p)].reserved == 0
    assert empty_open_shipments(context) == 0


def test_two_orders_at_once_cannot_both_take_a_stores_last_slot_of_the_day(
    context: Context,
) -> None:
    p = product(context)
    for _round in range(5):
        near = facility(context, 1, {p: 10}, daily_capacity=1)
        facility(context, 30, {p: 10})  # far, unlimited
        orders = [new_order((p, 1)) for _ in range(4)]
        all_at_once(
            4,
            lambda n: create_order(context, orders[n], uuid.uuid4().hex, SYSTEM),  # noqa: B023
        )
        with unit_of_work(context.db, write=False) as uow:
            stored = uow.orders.get_many([o.id for o in orders])
            load = uow.routing.load_on(uow.now.date(), [near])
        at_near = [o for o in stored.values() if o.items[0].facility_id == near]
        assert len(at_near) == 1, [o.items[0].facility_id for o in stored.values()]
        assert load == {near: 1}
        assert all(o.items[0].state is ItemState.READY for o in stored.values())
