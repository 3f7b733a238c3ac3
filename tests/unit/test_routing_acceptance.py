"""The learned acceptance (smoothed per facility and product) and the `cost` sort key."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reroute.domain.routing.acceptance import (
    FACILITY_PRIOR,
    PRODUCT_PRIOR,
    AcceptanceCounts,
    AcceptanceModel,
)
from reroute.domain.routing.costs import CostModel
from reroute.domain.routing.engine import plan_order
from reroute.domain.routing.rules import InventoryRule, SortKey
from tests.unit.routing_builders import facility, order, rules, snapshot, where


def test_a_product_rate_is_smoothed_toward_the_facility_and_the_facility_toward_the_chain() -> None:
    counts = AcceptanceCounts()
    counts.add_facility("A", 100, 10)
    counts.add_facility("B", 100, 0)
    counts.pairs[("A", "p")] = type(counts.facilities["A"])(4, 4)
    model = AcceptanceModel.learned(counts)
    chain = 10 / 200
    facility_a = (10 + FACILITY_PRIOR * chain) / (100 + FACILITY_PRIOR)
    assert model.chain == pytest.approx(chain)
    assert model.rejection_rate("A", "other") == pytest.approx(facility_a)
    assert model.rejection_rate("A", "p") == pytest.approx(
        (4 + PRODUCT_PRIOR * facility_a) / (4 + PRODUCT_PRIOR)
    )
    # Never rejecting anything still leaves a facility near the chain's rate, not at 0.
    assert 0 < model.rejection_rate("B", "p") < chain
    # A facility never given anything takes the chain's rate.
    assert model.rejection_rate("C", "p") == pytest.approx(chain)


@given(
    st.lists(
        st.tuples(
            st.sampled_from("ABC"),
            st.sampled_from("pqr"),
            st.integers(0, 50),
            st.integers(0, 50),
        ),
        max_size=20,
    )
)
def test_learned_rates_are_probabilities_that_rise_with_rejections(
    records: list[tuple[str, str, int, int]],
) -> None:
    counts = AcceptanceCounts()
    for facility_id, product_id, assigned, rejected in records:
        counts.add(facility_id, product_id, max(assigned, rejected), rejected)
    model = AcceptanceModel.learned(counts)
    for facility_id in "ABCD":
        for product_id in "pqrs":
            assert 0.0 <= model.rejection_rate(facility_id, product_id) <= 1.0
    counts.add("A", "p", 10, 10)
    assert AcceptanceModel.learned(counts).rejection_rate("A", "p") >= model.rejection_rate(
        "A", "p"
    )


def test_fixed_rates_name_a_facility_or_one_of_its_products() -> None:
    model = AcceptanceModel.fixed([("A", None, 0.3), ("A", "p", 0.9)], chain=0.02)
    assert model.rejection_rate("A", "p") == 0.9
    assert model.rejection_rate("A", "q") == 0.3
    assert model.rejection_rate("B", "q") == 0.02
    assert model.acceptance("A", ["p", "q"]) == pytest.approx(0.1 * 0.7)
    assert model.expected_rejections("A", ["p", "q"]) == pytest.approx(1.2)


def test_acceptance_sorts_by_the_product_not_only_the_facility() -> None:
    """A store good overall but bad at this very product loses to one that is the reverse."""
    p = "P-1"
    good_overall = facility(1)
    good_at_p = facility(5)
    model = AcceptanceModel.fixed(
        [(good_overall.id, None, 0.01), (good_overall.id, p, 0.6), (good_at_p.id, None, 0.2)]
    )
    stock = snapshot({good_overall: {p: 5}, good_at_p: {p: 5}}, acceptance=model)
    rule = InventoryRule("Accepting", sort=(SortKey.ACCEPTANCE, SortKey.DISTANCE))
    assert where(plan_order(order((p, 1)), rules(rule), stock)) == {"1": good_at_p.id}
    other = "P-2"
    stock = snapshot({good_overall: {other: 5}, good_at_p: {other: 5}}, acceptance=model)
    assert where(plan_order(order((other, 1)), rules(rule), stock)) == {"1": good_overall.id}


@pytest.mark.parametrize(
    ("penalty", "expected"),
    [(0.0, "near"), (100.0, "far")],
)
def test_cost_weighs_distance_against_the_chance_of_a_re_route(
    penalty: float, expected: str
) -> None:
    """Near but unreliable against 100 km farther and reliable: 5.0 of distance against
    0.5 x penalty of expected re-routes."""
    p = "P-1"
    near, far = facility(1), facility(101)
    model = AcceptanceModel.fixed([(near.id, None, 0.5), (far.id, None, 0.0)])
    costs = CostModel(per_shipment=8.0, per_km=0.05, reroute_penalty=penalty)
    stock = snapshot({near: {p: 5}, far: {p: 5}}, acceptance=model, costs=costs)
    plan = plan_order(order((p, 1)), rules(InventoryRule("Cheapest", sort=(SortKey.COST,))), stock)
    assert where(plan) == {"1": {"near": near.id, "far": far.id}[expected]}


def test_cost_counts_no_new_shipment_where_the_order_has_one_ready() -> None:
    p = "P-1"
    near, far = facility(1), facility(60)
    stock = snapshot({near: {p: 5}, far: {p: 5}}, costs=CostModel(8.0, 0.05, 0.0))
    extending = order((p, 1), open_shipments=frozenset({far.id}))
    plan = plan_order(extending, rules(InventoryRule("Cheapest", sort=(SortKey.COST,))), stock)
    assert where(plan) == {"1": far.id}  # 0 to extend, against 8.05 to open one 1 km away
