"""The inventory level and its ledger entries, without storage: every move is explained."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reroute.domain.errors import Conflict, DomainError, Invalid
from reroute.domain.inventory import InventoryLevel, LedgerEntry


def level(qoh: int = 0) -> InventoryLevel:
    """A level of `qoh` units, none reserved, at a facility and of a product of its own."""
    return InventoryLevel(f"F-{uuid.uuid4().hex[:6]}", f"P-{uuid.uuid4().hex[:6]}", qoh, qoh)


def counters(lvl: InventoryLevel) -> tuple[int, int, int]:
    return lvl.quantity_on_hand, lvl.available_to_promise, lvl.reserved


def moves(entry: LedgerEntry) -> tuple[int, int, int]:
    return entry.qoh_diff, entry.atp_diff, entry.reserved_diff


def test_a_count_moves_qoh_and_atp_by_the_difference_and_returns_that_move() -> None:
    lvl = level(qoh=5)
    lvl.reserve(2, "item")
    entry = lvl.count(8, "count-1")
    assert counters(lvl) == (8, 6, 2)
    assert moves(entry) == (3, 3, 0)
    assert (entry.facility_id, entry.product_id) == (lvl.facility_id, lvl.product_id)
    assert (entry.cause, entry.reference) == ("stock_count", "count-1")


def test_a_lower_count_lowers_both_counters_by_the_same_amount() -> None:
    lvl = level(qoh=10)
    lvl.reserve(3, "item")
    entry = lvl.count(4)
    assert counters(lvl) == (4, 1, 3)
    assert moves(entry) == (-6, -6, 0)


def test_a_count_of_what_is_already_there_moves_nothing() -> None:
    lvl = level(qoh=7)
    entry = lvl.count(7)
    assert counters(lvl) == (7, 7, 0)
    assert moves(entry) == (0, 0, 0)


def test_a_negative_count_is_refused_and_moves_nothing() -> None:
    lvl = level(qoh=3)
    with pytest.raises(Invalid):
        lvl.count(-1)
    assert counters(lvl) == (3, 3, 0)


def test_a_count_below_what_is_reserved_leaves_atp_negative_and_stops_new_reservations() -> None:
    lvl = level(qoh=5)
    lvl.reserve(4, "item-1")
    lvl.count(1)
    assert counters(lvl) == (1, -3, 4)
    assert not lvl.can_reserve(1)
    with pytest.raises(Conflict):
        lvl.reserve(1, "item-2")


def test_a_reservation_lowers_atp_and_raises_reserved_leaving_qoh() -> None:
    lvl = level(qoh=5)
    entry = lvl.reserve(2, "order-1/item-1")
    assert counters(lvl) == (5, 3, 2)
    assert moves(entry) == (0, -2, 2)
    assert (entry.cause, entry.reference) == ("reserve", "order-1/item-1")


def test_a_reservation_of_every_available_unit_is_accepted() -> None:
    lvl = level(qoh=3)
    lvl.reserve(3, "item")
    assert counters(lvl) == (3, 0, 3)


def test_a_reservation_beyond_atp_is_refused_as_an_oversell_and_moves_nothing() -> None:
    lvl = level(qoh=3)
    with pytest.raises(Conflict, match="Only 3"):
        lvl.reserve(4, "item")
    assert counters(lvl) == (3, 3, 0)


def test_a_reservation_that_would_take_safety_stock_is_refused() -> None:
    lvl = level(qoh=5)
    assert not lvl.can_reserve(4, safety_stock=2)
    with pytest.raises(Conflict, match="Only 3"):
        lvl.reserve(4, "item", safety_stock=2)
    assert counters(lvl) == (5, 5, 0)


def test_a_reservation_up_to_atp_minus_safety_stock_is_accepted() -> None:
    lvl = level(qoh=5)
    assert lvl.can_reserve(3, safety_stock=2)
    lvl.reserve(3, "item", safety_stock=2)
    assert counters(lvl) == (5, 2, 3)


def test_a_release_gives_the_units_back_to_atp() -> None:
    lvl = level(qoh=5)
    lvl.reserve(3, "item")
    entry = lvl.release(2, "item")
    assert counters(lvl) == (5, 4, 1)
    assert moves(entry) == (0, 2, -2)
    assert entry.cause == "release"


def test_releasing_more_than_is_reserved_is_refused_and_moves_nothing() -> None:
    lvl = level(qoh=5)
    lvl.reserve(1, "item")
    with pytest.raises(Conflict):
        lvl.release(2, "item")
    assert counters(lvl) == (5, 4, 1)


def test_shipping_lowers_qoh_and_reserved_but_not_atp() -> None:
    lvl = level(qoh=5)
    lvl.reserve(2, "item")
    entry = lvl.ship(2, "shipment-1")
    assert counters(lvl) == (3, 3, 0)
    assert moves(entry) == (-2, 0, -2)
    assert (entry.cause, entry.reference) == ("ship", "shipment-1")


def test_shipping_more_than_is_reserved_is_refused_and_moves_nothing() -> None:
    lvl = level(qoh=5)
    lvl.reserve(1, "item")
    with pytest.raises(Conflict):
        lvl.ship(2, "shipment")
    assert counters(lvl) == (5, 4, 1)


def test_an_adjustment_moves_the_counters_it_names_with_its_own_cause() -> None:
    lvl = level(qoh=5)
    lvl.reserve(1, "item")
    entry = lvl.adjust(0, -1, "damaged", "item")
    assert counters(lvl) == (5, 3, 1)
    assert moves(entry) == (0, -1, 0)
    assert (entry.cause, entry.reference) == ("damaged", "item")


@pytest.mark.parametrize("quantity", [0, -1])
@pytest.mark.parametrize(
    "operation",
    [
        lambda lvl, q: lvl.reserve(q, "r"),
        lambda lvl, q: lvl.release(q, "r"),
        lambda lvl, q: lvl.ship(q, "r"),
    ],
    ids=["reserve", "release", "ship"],
)
def test_a_move_of_zero_or_fewer_units_is_refused(
    operation: Callable[[InventoryLevel, int], LedgerEntry], quantity: int
) -> None:
    lvl = level(qoh=5)
    lvl.reserve(2, "item")
    with pytest.raises(Invalid):
        operation(lvl, quantity)
    assert counters(lvl) == (5, 3, 2)


# Any sequence of counts, reservations, releases and shipments ------------------------------

OPERATIONS = ("count", "reserve", "release", "ship")
steps = st.lists(
    st.tuples(st.sampled_from(OPERATIONS), st.integers(min_value=-2, max_value=12)),
    max_size=60,
)


@settings(max_examples=300, deadline=None)
@given(steps=steps, start=st.integers(min_value=0, max_value=10), safety=st.integers(0, 3))
def test_any_sequence_of_moves_keeps_the_counters_equal_to_the_sum_of_their_entries(
    steps: list[tuple[str, int]], start: int, safety: int
) -> None:
    lvl = level()
    entries = [lvl.count(start, "opening")]
    for name, quantity in steps:
        before = counters(lvl)
        try:
            if name == "count":
                entry = lvl.count(quantity, "count")
            elif name == "reserve":
                entry = lvl.reserve(quantity, "item", safety_stock=safety)
            elif name == "release":
                entry = lvl.release(quantity, "item")
            else:
                entry = lvl.ship(quantity, "shipment")
        except DomainError:
            assert counters(lvl) == before, f"a refused {name} moved the counters"
            continue
        entries.append(entry)
        assert {(e.facility_id, e.product_id) for e in entries} == {
            (lvl.facility_id, lvl.product_id)
        }
        sums = tuple(sum(column) for column in zip(*map(moves, entries), strict=True))
        assert counters(lvl) == sums
        # Without adjustments, what can be promised is what is there and not promised yet.
        assert lvl.available_to_promise == lvl.quantity_on_hand - lvl.reserved
        assert lvl.reserved >= 0
        if name == "reserve":
            assert lvl.available_to_promise >= safety, "a reservation dug into safety stock"


@settings(max_examples=300, deadline=None)
@given(steps=steps)
def test_atp_goes_below_zero_only_after_a_count_lowered_qoh_below_what_is_reserved(
    steps: list[tuple[str, int]],
) -> None:
    lvl = level()
    #: The count that took ATP below zero and left it there, if ATP is below zero now.
    negative_since: str | None = None
    for index, (name, quantity) in enumerate(steps):
        atp_before = lvl.available_to_promise
        try:
            if name == "count":
                lvl.count(quantity, "count")
            elif name == "reserve":
                lvl.reserve(quantity, "item")
            elif name == "release":
                lvl.release(quantity, "item")
            else:
                lvl.ship(quantity, "shipment")
        except DomainError:
            continue
        if lvl.available_to_promise >= 0:
            negative_since = None
            continue
        if atp_before >= 0:
            assert name == "count", f"{name} took ATP from {atp_before} below zero"
            assert lvl.quantity_on_hand < lvl.reserved
            negative_since = f"count #{index}"
        assert negative_since is not None
        assert name != "reserve", "a reservation was accepted while ATP was below zero"
