"""The pure decisions of a rejection (SPEC 4.1 and 4.2): what each reason's effect does to the
rejecting facility's counters, and which reservations a shortage takes back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from reroute.domain.inventory import InventoryLevel, LedgerEntry
from reroute.domain.notifications import DEFAULT_DECLINE
from reroute.domain.reasons import NO_REASON, InventoryEffect, apply_effect
from reroute.domain.rejection import Reservation, shortage_victims

T0 = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)


def held(qoh: int, reserved: int) -> InventoryLevel:
    """A level of QOH `qoh` with `reserved` units promised (ATP is what is left)."""
    return InventoryLevel("S", "P", qoh, qoh - reserved, reserved)


def counters(level: InventoryLevel) -> tuple[int, int, int]:
    return level.quantity_on_hand, level.available_to_promise, level.reserved


def sums(entries: list[LedgerEntry | None]) -> tuple[int, int, int]:
    moved = [e for e in entries if e is not None]
    return (
        sum(e.qoh_diff for e in moved),
        sum(e.atp_diff for e in moved),
        sum(e.reserved_diff for e in moved),
    )


def reject_one(level: InventoryLevel, effect: InventoryEffect) -> list[LedgerEntry | None]:
    """What the service does for one item of quantity 1: release it, then the effect."""
    return [level.release(1, "A"), apply_effect(level, effect, 1, "A")]


# The worked example of SPEC 4.1: QOH 5, items A and B of 1 reserved, ATP 3 -------------------


def test_worked_example_damaged_keeps_qoh_5_and_atp_3() -> None:
    level = held(5, 2)
    reject_one(level, InventoryEffect.DECREASE_ATP)
    assert counters(level) == (5, 3, 1)


def test_worked_example_mismatch_leaves_qoh_4_and_atp_3() -> None:
    level = held(5, 2)
    reject_one(level, InventoryEffect.DECREASE_QOH_AND_ATP)
    assert counters(level) == (4, 3, 1)


def test_worked_example_not_in_stock_with_both_released_leaves_qoh_0_and_atp_0() -> None:
    level = held(5, 2)
    level.release(1, "A")
    level.release(1, "B")  # the cascade took B too
    apply_effect(level, InventoryEffect.ZERO, 1, "A")
    assert counters(level) == (0, 0, 0)


# Each effect ---------------------------------------------------------------------------------


def test_zero_keeps_on_hand_exactly_the_units_still_promised_to_packed_items() -> None:
    level = held(10, 3)  # three packed units still waiting to leave
    entry = apply_effect(level, InventoryEffect.ZERO, 1, "O-1/1")
    assert counters(level) == (3, 0, 3)
    assert entry is not None
    assert (entry.qoh_diff, entry.atp_diff, entry.reserved_diff) == (-7, -7, 0)


def test_zero_brings_a_negative_atp_up_to_zero() -> None:
    level = InventoryLevel("S", "P", 2, -3, 5)  # a count went below what is reserved
    apply_effect(level, InventoryEffect.ZERO, 1, "O-1/1")
    assert (level.quantity_on_hand, level.available_to_promise) == (5, 0)


def test_decrease_qoh_and_atp_lowers_both_by_the_quantity() -> None:
    level = held(10, 0)
    entry = apply_effect(level, InventoryEffect.DECREASE_QOH_AND_ATP, 3, "O-1/1")
    assert counters(level) == (7, 7, 0)
    assert entry is not None and (entry.qoh_diff, entry.atp_diff) == (-3, -3)


def test_decrease_qoh_and_atp_never_takes_qoh_below_zero_and_atp_falls_by_the_same() -> None:
    level = InventoryLevel("S", "P", 1, 1, 0)
    apply_effect(level, InventoryEffect.DECREASE_QOH_AND_ATP, 3, "O-1/1")
    assert (level.quantity_on_hand, level.available_to_promise) == (0, 0)


def test_decrease_atp_lowers_atp_and_leaves_qoh_even_below_zero() -> None:
    level = held(2, 2)
    entry = apply_effect(level, InventoryEffect.DECREASE_ATP, 1, "O-1/1")
    assert counters(level) == (2, -1, 2)
    assert entry is not None and (entry.qoh_diff, entry.atp_diff) == (0, -1)


def test_none_moves_nothing_and_writes_no_entry() -> None:
    level = held(5, 2)
    assert apply_effect(level, InventoryEffect.NONE, 1, "O-1/1") is None
    assert counters(level) == (5, 3, 2)


def test_zero_on_a_level_already_at_zero_writes_no_entry() -> None:
    level = held(0, 0)
    assert apply_effect(level, InventoryEffect.ZERO, 1, "O-1/1") is None


@pytest.mark.parametrize("effect", [e for e in InventoryEffect if e is not InventoryEffect.NONE])
def test_every_entry_names_its_effect_and_reference_and_explains_the_counters(
    effect: InventoryEffect,
) -> None:
    level = held(5, 2)
    before = counters(level)
    entry = apply_effect(level, effect, 2, "O-7/3")
    assert entry is not None
    assert (entry.facility_id, entry.product_id) == ("S", "P")
    assert entry.cause == f"reject:{effect}"
    assert entry.reference == "O-7/3"
    assert entry.reserved_diff == 0  # an effect never touches reservations
    moved = sums([entry])
    assert tuple(b + m for b, m in zip(before, moved, strict=True)) == counters(level)


def test_a_rejection_without_a_reason_is_the_default_decline_with_no_effect() -> None:
    assert NO_REASON.inventory_effect is InventoryEffect.NONE
    assert (NO_REASON.decline_code, NO_REASON.decline_description) == DEFAULT_DECLINE
    assert NO_REASON.cascade is False


def test_the_four_effects_have_the_names_the_api_uses() -> None:
    assert sorted(str(e) for e in InventoryEffect) == [
        "decrease_atp",
        "decrease_qoh_and_atp",
        "none",
        "zero",
    ]


# Shortage: the newest reservations until ATP is 0 or more -------------------------------------


def reservation(item_id: str, minutes: int, quantity: int = 1, order_id: str = "O") -> Reservation:
    return Reservation(order_id, item_id, quantity, T0 + timedelta(minutes=minutes))


def test_a_shortage_of_one_takes_the_newest_reservation_only() -> None:
    oldest, middle, newest = reservation("a", 0), reservation("b", 5), reservation("c", 10)
    assert shortage_victims([middle, newest, oldest], 1) == [newest]


def test_a_shortage_takes_newest_first_until_enough_is_freed() -> None:
    found = [reservation("a", 0), reservation("b", 5), reservation("c", 10), reservation("d", 15)]
    assert [r.item_id for r in shortage_victims(found, 3)] == ["d", "c", "b"]


def test_one_large_newest_reservation_can_cover_the_whole_shortfall() -> None:
    found = [reservation("a", 0), reservation("b", 5, quantity=4)]
    assert [r.item_id for r in shortage_victims(found, 3)] == ["b"]


def test_a_shortfall_that_falls_inside_a_reservation_takes_it_whole() -> None:
    found = [reservation("a", 0, quantity=2), reservation("b", 5, quantity=2)]
    assert [r.item_id for r in shortage_victims(found, 3)] == ["b", "a"]


def test_no_shortfall_takes_nothing() -> None:
    assert shortage_victims([reservation("a", 0)], 0) == []


def test_a_shortfall_larger_than_every_reservation_takes_them_all_and_no_more() -> None:
    found = [reservation("a", 0), reservation("b", 5)]
    assert [r.item_id for r in shortage_victims(found, 10)] == ["b", "a"]
    assert shortage_victims([], 4) == []


def test_reservations_made_at_the_same_moment_are_taken_in_a_fixed_order() -> None:
    same = [reservation("1", 0, order_id="O-a"), reservation("1", 0, order_id="O-b")]
    first = shortage_victims(same, 1)
    assert first == shortage_victims(list(reversed(same)), 1)
    assert [r.order_id for r in first] == ["O-b"]
