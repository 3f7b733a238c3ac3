"""The cheapest plan by expected cost: a rule sorted by `cost` weighs splits against singles."""

from __future__ import annotations

from itertools import combinations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from reroute.domain.routing.acceptance import AcceptanceModel
from reroute.domain.routing.cheapest import KEEP, Option, cheapest
from reroute.domain.routing.costs import CostModel
from reroute.domain.routing.engine import plan_order
from reroute.domain.routing.rules import InventoryRule, SortKey
from tests.unit.routing_builders import facility, order, rules, snapshot, where

COST = InventoryRule("Cheapest", split=True, max_shipments=3, sort=(SortKey.COST,))


def plan_cost(options: list[Option], plan: dict[int, str]) -> float:
    by_id = {o.facility_id: o for o in options}
    used = set(plan.values())
    return sum(by_id[f].shipment for f in used) + sum(by_id[f].lines[n] for n, f in plan.items())


def test_two_near_facilities_beat_one_far_one_that_holds_everything() -> None:
    far = Option("far", 40.0, {0: 0.0, 1: 0.0})
    near = [Option("a", 9.0, {0: 0.3}), Option("b", 9.0, {1: 0.3})]
    assert cheapest([far, *near], limit=3) == {0: "a", 1: "b"}
    # Allowed one shipment only, the far one is the plan.
    assert cheapest([far, *near], limit=1) == {0: "far", 1: "far"}


def test_one_facility_beats_a_split_that_costs_more() -> None:
    one = Option("one", 12.0, {0: 0.3, 1: 0.3})
    near = [Option("a", 8.0, {0: 0.0}), Option("b", 8.0, {1: 0.0})]
    assert cheapest([one, *near], limit=3) == {0: "one", 1: "one"}


def test_each_line_goes_to_the_more_reliable_chosen_facility() -> None:
    a = Option("a", 8.0, {0: 10.0, 1: 0.0})
    b = Option("b", 8.0, {0: 0.0, 1: 10.0})
    assert cheapest([a, b], limit=2) == {0: "b", 1: "a"}


def test_lines_nobody_takes_are_left_out_and_no_cover_within_the_limit_is_none() -> None:
    a, b = Option("a", 8.0, {0: 0.0}), Option("b", 8.0, {1: 0.0})
    assert cheapest([a, b], limit=2) == {0: "a", 1: "b"}
    assert cheapest([a, b], limit=1) is None
    assert cheapest([], limit=3) is None


options_strategy = st.lists(
    st.builds(
        lambda n, shipment, lines: Option(f"F{n}", shipment, lines),
        st.integers(0, 99),
        st.floats(0, 50),
        st.dictionaries(st.integers(0, 3), st.floats(0, 20), min_size=1),
    ),
    max_size=7,
    unique_by=lambda o: o.facility_id,
)


@given(options_strategy, st.integers(1, 3))
def test_the_plan_is_the_cheapest_of_every_set_within_the_limit(
    options: list[Option], limit: int
) -> None:
    """Against every set of at most `limit` options that covers every coverable line (with no
    more options per set of lines than are kept, so the search prunes none)."""
    masks = [frozenset(o.lines) for o in options]
    assume(all(masks.count(m) <= KEEP for m in masks))
    need = frozenset(n for o in options for n in o.lines)
    best: float | None = None
    for size in range(1, limit + 1):
        for chosen in combinations(options, size):
            if frozenset(n for o in chosen for n in o.lines) != need:
                continue
            cost = sum(o.shipment for o in chosen) + sum(
                min(o.lines[n] for o in chosen if n in o.lines) for n in need
            )
            best = cost if best is None else min(best, cost)
    found = cheapest(options, limit)
    if best is None:
        assert found is None
    else:
        assert found is not None and set(found) == need
        assert plan_cost(options, found) == pytest.approx(best)


# In the engine --------------------------------------------------------------------------------


def test_a_cost_rule_splits_between_two_near_stores_rather_than_ship_from_far() -> None:
    p, q = "P-1", "P-2"
    warehouse, a, b = facility(500), facility(2), facility(3)
    stock = snapshot({warehouse: {p: 5, q: 5}, a: {p: 5}, b: {q: 5}}, costs=CostModel())
    # One shipment 500 km away costs 8 + 25; two 2 and 3 km away 8.1 + 8.15.
    assert where(plan_order(order((p, 1), (q, 1)), rules(COST), stock)) == {"1": a.id, "2": b.id}
    # Nearest-first keeps to one facility when one can take everything.
    nearest = InventoryRule("Nearest", split=True, max_shipments=3)
    stock = snapshot({warehouse: {p: 5, q: 5}, a: {p: 5}, b: {q: 5}}, costs=CostModel())
    plan = plan_order(order((p, 1), (q, 1)), rules(nearest), stock)
    assert where(plan) == {"1": warehouse.id, "2": warehouse.id}


def test_a_cost_rule_keeps_one_shipment_when_the_customer_asks_for_ship_complete() -> None:
    p, q = "P-1", "P-2"
    warehouse, a, b = facility(500), facility(2), facility(3)
    stock = snapshot({warehouse: {p: 5, q: 5}, a: {p: 5}, b: {q: 5}}, costs=CostModel())
    complete = order((p, 1), (q, 1), ship_complete=True)
    assert set(where(plan_order(complete, rules(COST), stock)).values()) == {warehouse.id}


def test_a_cost_rule_leaves_a_store_whose_rejections_cost_more_than_the_distance() -> None:
    p, q = "P-1", "P-2"
    warehouse, a, b = facility(100), facility(2), facility(3)
    model = AcceptanceModel.fixed([(a.id, None, 0.9), (b.id, None, 0.0), (warehouse.id, None, 0)])
    costs = CostModel(per_shipment=8.0, per_km=0.05, reroute_penalty=100.0)
    stock = snapshot({warehouse: {p: 5, q: 5}, a: {p: 5}, b: {q: 5}}, acceptance=model, costs=costs)
    # a's 0.9 x 100 outweighs the warehouse's 5 of distance: one shipment from the warehouse.
    plan = plan_order(order((p, 1), (q, 1)), rules(COST), stock)
    assert where(plan) == {"1": warehouse.id, "2": warehouse.id}


def test_items_of_one_product_never_ask_a_facility_for_more_than_it_holds() -> None:
    p = "P-1"
    near, far = facility(1), facility(50)
    stock = snapshot({near: {p: 1}, far: {p: 1}}, costs=CostModel())
    plan = plan_order(order((p, 1), (p, 1)), rules(COST), stock)
    assert sorted(where(plan).values()) == sorted([near.id, far.id])
    assert not plan.unplaced
