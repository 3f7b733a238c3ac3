"""Rejections under concurrency, in real threads on both databases (SPEC 4 and 9): associates
rejecting the same item at once give one rejection; rejections and order creations racing on
one product at one facility keep the counters equal to the ledger, never take ATP below 0 and
never reserve an item twice."""

from __future__ import annotations

import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from typing import Any, TypeVar

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from reroute.domain.access import SYSTEM, Principal, Role
from reroute.domain.errors import Conflict
from reroute.domain.orders import AT_FACILITY, ItemState, Order, OrderItem, ShippingMethod
from reroute.services import cancellation
from reroute.services.context import Context
from reroute.services.orders import create_order
from reroute.services.rejection import RejectionResult, reject_item, reject_shipment
from reroute.storage import tables
from reroute.storage import unit_of_work as uow_module
from reroute.storage.unit_of_work import unit_of_work
from tests.integration.test_rejection_api import assert_counters_equal_ledger
from tests.service_builders import CHICAGO, facility, product
from tests.support import Headers, all_at_once, new_id

T = TypeVar("T")


class Reruns:
    """Counts the transactions that had to start over (a deadlock victim, a busy row)."""

    def __init__(self) -> None:
        self.count = 0

    def sleep(self, seconds: float) -> None:
        self.count += 1
        time.sleep(seconds)


@pytest.fixture
def reruns(monkeypatch: pytest.MonkeyPatch) -> Reruns:
    seen = Reruns()
    monkeypatch.setattr(uow_module, "time", seen)
    return seen


def order_of(product_id: str, quantity: int = 1) -> Order:
    return Order(
        id=new_id("O"),
        customer_name="Ada Lovelace",
        customer_email="ada@example.com",
        shipping_method=ShippingMethod.STANDARD,
        ship_to=CHICAGO,
        items=[OrderItem("1", product_id, quantity)],
    )


def placed(ctx: Context, order: Order) -> Order:
    created, is_new = create_order(ctx, order, uuid.uuid4().hex, SYSTEM)
    assert is_new
    return created


def outcome(call: Callable[[], RejectionResult]) -> RejectionResult | Conflict:
    try:
        return call()
    except Conflict as refused:
        return refused


def records(ctx: Context) -> Counter[tuple[str, str]]:
    """Rejection records per (order id, item id)."""
    r = tables.rejections
    with unit_of_work(ctx.db, write=False) as uow:
        rows = uow.conn.execute(select(r.c.order_id, r.c.item_id))
        return Counter((order_id, item_id) for order_id, item_id in rows)


def items(ctx: Context, order_ids: list[str]) -> dict[str, OrderItem]:
    with unit_of_work(ctx.db, write=False) as uow:
        found = uow.orders.get_many(order_ids)
    assert set(found) == set(order_ids)
    return {order_id: o.items[0] for order_id, o in found.items()}


def check_no_item_reserved_twice(ctx: Context) -> None:
    """For every item, reservations minus releases and shipments in the ledger is 1 while it
    holds stock at a facility and 0 otherwise; each facility's reserved counter is what its
    items hold."""
    i, ledger = tables.order_items, tables.inventory_ledger
    held: dict[str, int] = defaultdict(int)
    by_level: dict[tuple[str, str], int] = defaultdict(int)
    with unit_of_work(ctx.db, write=False) as uow:
        for row in uow.conn.execute(select(ledger.c.reference, ledger.c.reserved_diff)):
            if row.reserved_diff:
                held[row.reference] += 1 if row.reserved_diff > 0 else -1
        rows = uow.conn.execute(
            select(
                i.c.order_id, i.c.item_id, i.c.state, i.c.facility_id, i.c.product_id, i.c.quantity
            )
        )
        for order_id, item_id, state, facility_id, product_id, quantity in rows:
            holding = ItemState(state) in AT_FACILITY
            assert held.get(f"{order_id}/{item_id}", 0) == (1 if holding else 0), (
                order_id,
                state,
            )
            if holding:
                by_level[(facility_id, product_id)] += quantity
        levels = uow.inventory.all_levels()
    for key, level in levels.items():
        assert level.reserved == by_level.get(key, 0), key


def check_atp_never_below_zero(ctx: Context, facility_id: str, product_id: str) -> None:
    """Walk the ledger of one level in the order its writers held the level's lock: neither
    counter is ever below 0 after any row."""
    ledger = tables.inventory_ledger
    with unit_of_work(ctx.db, write=False) as uow:
        rows = uow.conn.execute(
            select(ledger.c.qoh_diff, ledger.c.atp_diff, ledger.c.cause)
            .where(ledger.c.facility_id == facility_id, ledger.c.product_id == product_id)
            .order_by(ledger.c.id)
        ).all()
    qoh = atp = 0
    for n, (qoh_diff, atp_diff, cause) in enumerate(rows):
        qoh, atp = qoh + qoh_diff, atp + atp_diff
        assert qoh >= 0 and atp >= 0, (n, cause, qoh, atp)


# One item, many associates --------------------------------------------------------------------


def test_eight_associates_rejecting_the_same_item_at_once_make_exactly_one_rejection(
    context: Context,
) -> None:
    p = product(context)
    store = facility(context, 1, {p: 10})
    target, *others = (placed(context, order_of(p)) for _ in range(4))
    elsewhere = facility(context, 50, {p: 10})
    shipment_id = target.items[0].shipment_id
    assert shipment_id is not None
    associates = [Principal(f"associate-{n}", Role.ASSOCIATE, frozenset({store})) for n in range(8)]

    def attempt(n: int) -> RejectionResult | Conflict:
        if n % 2:  # half reject the item, half the whole shipment it is alone in
            return outcome(
                lambda: reject_shipment(context, shipment_id, "NOT_IN_STOCK", None, associates[n])
            )
        return outcome(
            lambda: reject_item(context, shipment_id, "1", "NOT_IN_STOCK", None, associates[n])
        )

    results = all_at_once(8, attempt)
    done = [r for r in results if isinstance(r, RejectionResult)]
    refused = [r for r in results if isinstance(r, Conflict)]
    assert (len(done), len(refused)) == (1, 7)
    assert all("no longer" in r.detail or "nothing left" in r.detail for r in refused)
    # One record for the item, and one for each item the one rejection cascaded to.
    assert records(context) == Counter({(o.id, "1"): 1 for o in [target, *others]})
    assert {(r.order_id, r.cascaded) for r in done[0].rejected} == {
        (target.id, False),
        *((o.id, True) for o in others),
    }
    stored = items(context, [o.id for o in [target, *others]])
    assert {(i.state, i.facility_id) for i in stored.values()} == {("ready", elsewhere)}
    counters = assert_counters_equal_ledger(context)
    assert counters[(store, p)] == (0, 0, 0)
    assert counters[(elsewhere, p)] == (10, 6, 4)
    check_no_item_reserved_twice(context)


def test_two_requests_rejecting_the_same_item_at_once_answer_200_and_409(
    client: TestClient, admin: Headers, context: Context
) -> None:
    p = product(context)
    store = facility(context, 1, {p: 5})
    target = placed(context, order_of(p))
    facility(context, 50, {p: 5})
    shipment_id = target.items[0].shipment_id

    def post(_: int) -> int:
        response = client.post(
            f"/api/v1/shipments/{shipment_id}/items/1/reject",
            json={"reason_id": "DAMAGED"},
            headers=admin,
        )
        assert response.status_code in (200, 409), response.text
        return response.status_code

    assert sorted(all_at_once(2, post)) == [200, 409]
    assert records(context) == Counter({(target.id, "1"): 1})
    assert assert_counters_equal_ledger(context)[(store, p)] == (5, 4, 0)
    check_no_item_reserved_twice(context)


def test_a_not_in_stock_racing_rejections_of_the_items_it_cascades_to_goes_through(
    context: Context, reruns: Reruns
) -> None:
    p = product(context)
    store = facility(context, 1, {p: 12})
    orders = [placed(context, order_of(p)) for _ in range(12)]
    elsewhere = facility(context, 50, {p: 20})
    associate = Principal("associate", Role.ASSOCIATE, frozenset({store}))

    def attempt(n: int) -> RejectionResult | Conflict:
        shipment_id = orders[n].items[0].shipment_id
        assert shipment_id is not None
        reason = "NOT_IN_STOCK" if n == 0 else "DAMAGED"
        return outcome(lambda: reject_item(context, shipment_id, "1", reason, None, associate))

    results = all_at_once(len(orders), attempt)
    assert isinstance(results[0], RejectionResult)  # nothing else takes its item
    cascaded = {r.order_id for r in results[0].rejected if r.cascaded}
    for order, result in zip(orders[1:], results[1:], strict=True):
        # Each other item was rejected by its associate first, or taken by the cascade.
        assert isinstance(result, Conflict) == (order.id in cascaded), order.id
    assert records(context) == Counter({(o.id, "1"): 1 for o in orders})
    stored = items(context, [o.id for o in orders])
    assert {(i.state, i.facility_id) for i in stored.values()} == {("ready", elsewhere)}
    counters = assert_counters_equal_ledger(context)
    assert counters[(store, p)] == (0, 0, 0)
    check_no_item_reserved_twice(context)
    # Every rejection queued on the store's level, none was made to wait for a deadlock.
    assert reruns.count == 0


def test_a_rejection_and_a_cancellation_of_the_same_shipment_at_once_one_wins_no_deadlock(
    context: Context, reruns: Reruns
) -> None:
    p = product(context)
    store = facility(context, 1, {p: 20})
    elsewhere = facility(context, 50, {p: 20})
    orders = [placed(context, order_of(p)) for _ in range(4)]
    for order in orders:
        shipment_id = order.items[0].shipment_id
        assert shipment_id is not None

        def race(n: int, shipment_id: str = shipment_id) -> str:
            try:
                if n == 0:
                    reject_item(context, shipment_id, "1", "DAMAGED", None, SYSTEM)
                    return "rejected"
                cancellation.cancel_shipment(context, shipment_id, None, SYSTEM)
                return "canceled"
            except Conflict:
                return "refused"

        outcomes = sorted(all_at_once(2, race))
        assert outcomes in (["canceled", "refused"], ["refused", "rejected"]), outcomes
    stored = items(context, [o.id for o in orders])
    rejected = {order_id for order_id, _ in records(context)}
    for order_id, item in stored.items():
        if order_id in rejected:  # the cancellation found it gone from the shipment
            assert (item.state, item.facility_id) == (ItemState.READY, elsewhere), order_id
        else:
            assert item.state is ItemState.CANCELED, order_id
    counters = assert_counters_equal_ledger(context)
    assert counters[(store, p)][2] == 0  # nothing is held at the store any more
    check_no_item_reserved_twice(context)
    assert reruns.count == 0


# Rejections racing order creations ---------------------------------------------------------


def test_rejections_racing_order_creations_on_one_product_keep_the_ledger_and_never_oversell(
    context: Context,
) -> None:
    p = product(context)
    store = facility(context, 1, {p: 16})
    first = [placed(context, order_of(p)) for _ in range(12)]
    elsewhere = facility(context, 50, {p: 6})
    reasons = ["DAMAGED", "MISMATCH", "WORN_DISPLAY", None, "NOT_IN_STOCK", "DAMAGED"] * 2
    fresh = [order_of(p) for _ in range(12)]
    associate = Principal("associate", Role.ASSOCIATE, frozenset({store}))

    def work(n: int) -> Any:
        if n < len(first):
            order = first[n]
            shipment_id = order.items[0].shipment_id
            assert shipment_id is not None
            return outcome(
                lambda: reject_item(context, shipment_id, "1", reasons[n], None, associate)
            )
        return placed(context, fresh[n - len(first)])

    results = all_at_once(len(first) + len(fresh), work)
    done = [r for r in results[: len(first)] if isinstance(r, RejectionResult)]
    refused = [r for r in results[: len(first)] if isinstance(r, Conflict)]
    assert len(done) + len(refused) == len(first)
    assert done, "at least one rejection went through"
    # Only a NOT_IN_STOCK cascade can take an item another associate was rejecting.
    assert not refused or any(r.rejected[0].reason_id == "NOT_IN_STOCK" for r in done)

    counters = assert_counters_equal_ledger(context)
    check_no_item_reserved_twice(context)
    for facility_id in (store, elsewhere):
        check_atp_never_below_zero(context, facility_id, p)
    qoh, atp, reserved = counters[(elsewhere, p)]
    assert atp == qoh - reserved  # nothing was rejected there
    qoh, atp, reserved = counters[(store, p)]
    assert 0 <= atp <= qoh - reserved  # effects lowered ATP, never below 0
    # Each first item was rejected once, by its associate or by a NOT_IN_STOCK cascade, and
    # is nowhere near the store again; a new order was rejected at most once (a cascade).
    found = records(context)
    assert all(found[(o.id, "1")] == 1 for o in first)
    assert all(found[(o.id, "1")] <= 1 for o in fresh)
    stored = items(context, [o.id for o in first + fresh])
    for order_id, item in stored.items():
        if found[(order_id, "1")]:
            assert item.facility_id != store, order_id
        assert item.state in (ItemState.READY, ItemState.BACKORDER), (order_id, item.state)
