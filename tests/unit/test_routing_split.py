"""Splits: how the routing engine places an order no one facility can take (SPEC 5): the fewest
shipments, the rule's limit, ship-complete, and what a splitting rule leaves to the next."""

from __future__ import annotations

import itertools
import random

import pytest

from reroute.domain.orders import ItemState
from reroute.domain.routing.engine import plan_order
from reroute.domain.routing.geo import distance_km
from reroute.domain.routing.rules import (
    FacilityFilter,
    InventoryRule,
    Unplaced,
)
from tests.unit.routing_builders import (
    DEFAULTS,
    Place,
    facility,
    order,
    product,
    rules,
    snapshot,
    unplaced,
    where,
)


def test_one_facility_with_everything_is_preferred_over_a_nearer_split() -> None:
    a, b = product(), product()
    has_a, has_b, has_both = facility(1), facility(2), facility(200)
    plan = plan_order(
        order((a, 1), (b, 1)),
        DEFAULTS,
        snapshot({has_a: {a: 5}, has_b: {b: 5}, has_both: {a: 5, b: 5}}),
    )
    assert where(plan) == {"1": has_both.id, "2": has_both.id}


def test_an_order_splits_across_the_nearest_facilities_when_no_one_has_everything() -> None:
    a, b = product(), product()
    has_a, has_b, far_a = facility(1), facility(2), facility(100)
    plan = plan_order(
        order((a, 1), (b, 1)), DEFAULTS, snapshot({has_a: {a: 5}, has_b: {b: 5}, far_a: {a: 5}})
    )
    assert where(plan) == {"1": has_a.id, "2": has_b.id}


def test_a_rule_without_split_places_nothing_it_cannot_place_whole() -> None:
    a, b = product(), product()
    has_a, has_b = facility(1), facility(2)
    whole = rules(InventoryRule("Whole", unplaced=Unplaced.BACKORDER))
    plan = plan_order(order((a, 1), (b, 1)), whole, snapshot({has_a: {a: 5}, has_b: {b: 5}}))
    assert plan.placements == []
    assert (unplaced(plan), plan.unplaced_state) == (["1", "2"], ItemState.BACKORDER)


def test_a_ship_complete_order_is_never_split() -> None:
    a, b = product(), product()
    has_a, has_b = facility(1), facility(2)
    plan = plan_order(
        order((a, 1), (b, 1), ship_complete=True),
        DEFAULTS,
        snapshot({has_a: {a: 5}, has_b: {b: 5}}),
    )
    assert plan.placements == []
    assert (unplaced(plan), plan.unplaced_state) == (["1", "2"], ItemState.BACKORDER)


def test_a_ship_complete_order_still_goes_whole_to_one_facility() -> None:
    a, b = product(), product()
    has_a, has_both = facility(1), facility(90)
    plan = plan_order(
        order((a, 1), (b, 1), ship_complete=True),
        DEFAULTS,
        snapshot({has_a: {a: 5}, has_both: {a: 1, b: 1}}),
    )
    assert where(plan) == {"1": has_both.id, "2": has_both.id}


def test_a_split_uses_the_fewest_shipments_even_when_nearer_facilities_hold_single_items() -> None:
    one, two, three = product(), product(), product()
    z, w = facility(1), facility(2)  # nearest, one item each
    x, y = facility(50), facility(60)  # X holds items 1 and 2, Y item 3
    plan = plan_order(
        order((one, 1), (two, 1), (three, 1)),
        DEFAULTS,
        snapshot({z: {one: 5}, w: {two: 5}, x: {one: 5, two: 5}, y: {three: 5}}),
    )
    assert where(plan) == {"1": x.id, "2": x.id, "3": y.id}
    assert len(plan.facilities) == 2


def test_a_pair_covering_everything_beats_starting_from_the_facility_holding_most() -> None:
    # Nearest A holds four of the six items but no facility holds the other two together, so
    # starting from A needs three shipments; B and C together hold everything.
    p = [product() for _ in range(6)]
    a = facility(1)
    b = facility(20)
    c = facility(30)
    plan = plan_order(
        order(*((x, 1) for x in p)),
        DEFAULTS,
        snapshot(
            {
                a: {p[0]: 5, p[1]: 5, p[2]: 5, p[3]: 5},
                b: {p[0]: 5, p[1]: 5, p[2]: 5, p[4]: 5},
                c: {p[3]: 5, p[5]: 5},
            }
        ),
    )
    assert where(plan) == {"1": b.id, "2": b.id, "3": b.id, "4": c.id, "5": b.id, "6": c.id}


def test_three_shipments_are_found_when_the_facility_holding_most_is_in_no_three() -> None:
    # A holds three of the six items; the other three are never together, so starting from A
    # places five items in three shipments. B, C and D hold two each and everything together.
    p = [product() for _ in range(6)]
    a, b, c, d = facility(1), facility(20), facility(30), facility(40)
    plan = plan_order(
        order(*((x, 1) for x in p)),
        DEFAULTS,
        snapshot(
            {
                a: {p[0]: 5, p[1]: 5, p[2]: 5},
                b: {p[0]: 5, p[3]: 5},
                c: {p[1]: 5, p[4]: 5},
                d: {p[2]: 5, p[5]: 5},
            }
        ),
    )
    assert plan.unplaced == []
    assert where(plan) == {"1": b.id, "2": c.id, "3": d.id, "4": b.id, "5": c.id, "6": d.id}


@pytest.mark.parametrize("seed", range(60))
def test_an_order_that_three_shipments_can_hold_is_never_left_partly_unplaced(seed: int) -> None:
    rng = random.Random(seed)
    products = [product() for _ in range(rng.randint(3, 7))]
    places = [facility(rng.uniform(1, 300)) for _ in range(rng.randint(3, 12))]
    share = rng.choice([0.2, 0.35, 0.5])
    stock = {f: {p: 1 for p in products if rng.random() < share} for f in places}
    held = [set(h) for h in stock.values()]
    fewest = next(
        (
            k
            for k in range(1, 4)
            if any(set().union(*c) == set(products) for c in itertools.combinations(held, k))
        ),
        None,
    )
    plan = plan_order(order(*((p, 1) for p in products)), DEFAULTS, snapshot(stock))
    if fewest is None:
        assert plan.unplaced, "no three facilities hold everything"
    else:
        assert plan.unplaced == []
        assert len(plan.facilities) == fewest


def test_between_equally_few_shipments_the_nearer_facilities_win() -> None:
    one, two = product(), product()
    near_one, near_two, far_one, far_two = facility(1), facility(2), facility(70), facility(80)
    plan = plan_order(
        order((one, 1), (two, 1)),
        DEFAULTS,
        snapshot({far_one: {one: 5}, far_two: {two: 5}, near_one: {one: 5}, near_two: {two: 5}}),
    )
    assert where(plan) == {"1": near_one.id, "2": near_two.id}


def test_a_split_of_more_than_two_shipments_covers_every_item() -> None:
    a, b, c = product(), product(), product()
    has_a, has_b, has_c = facility(1), facility(2), facility(3)
    plan = plan_order(
        order((a, 1), (b, 1), (c, 1)),
        DEFAULTS,
        snapshot({has_a: {a: 5}, has_b: {b: 5}, has_c: {c: 5}}),
    )
    assert where(plan) == {"1": has_a.id, "2": has_b.id, "3": has_c.id}


def test_a_split_never_makes_more_shipments_than_the_rule_allows() -> None:
    a, b, c = product(), product(), product()
    has_a, has_b, has_c = facility(1), facility(2), facility(3)
    at_most_two = rules(
        InventoryRule("Two at most", split=True, max_shipments=2, unplaced=Unplaced.BACKORDER)
    )
    plan = plan_order(
        order((a, 1), (b, 1), (c, 1)),
        at_most_two,
        snapshot({has_a: {a: 5}, has_b: {b: 5}, has_c: {c: 5}}),
    )
    assert len(plan.facilities) == 2
    assert len(plan.placements) == 2
    assert len(plan.unplaced) == 1
    assert plan.unplaced_state is ItemState.BACKORDER


def test_two_items_of_one_product_split_across_facilities_that_hold_one_each() -> None:
    a = product()
    near, second, far = facility(1), facility(2), facility(90)
    plan = plan_order(
        order((a, 1), (a, 1), (a, 1)),
        DEFAULTS,
        snapshot({near: {a: 1}, second: {a: 1}, far: {a: 1}}),
    )
    assert sorted(where(plan).values()) == sorted([near.id, second.id, far.id])
    assert not plan.unplaced


def test_a_second_pass_for_items_of_one_product_keeps_to_the_rules_shipments() -> None:
    a = product()
    near, second, far = facility(1), facility(2), facility(90)
    at_most_two = rules(
        InventoryRule("Two at most", split=True, max_shipments=2, unplaced=Unplaced.BACKORDER)
    )
    plan = plan_order(
        order((a, 1), (a, 1), (a, 1)),
        at_most_two,
        snapshot({near: {a: 1}, second: {a: 1}, far: {a: 1}}),
    )
    assert sorted(where(plan).values()) == sorted([near.id, second.id])
    assert unplaced(plan) == ["3"]


def test_a_default_split_stops_at_three_shipments() -> None:
    products = [product() for _ in range(4)]
    places = [facility(n + 1) for n in range(4)]
    plan = plan_order(
        order(*((p, 1) for p in products)),
        DEFAULTS,
        snapshot({f: {p: 5} for f, p in zip(places, products, strict=True)}),
    )
    assert len(plan.facilities) == 3
    assert len(plan.unplaced) == 1


def test_a_later_rule_places_only_what_an_earlier_split_rule_left() -> None:
    a, b = product(), product()
    listed, other = facility(1), facility(50)
    document = rules(
        InventoryRule("Listed", FacilityFilter(facility_ids=(listed.id,)), split=True),
        InventoryRule("Anywhere"),
    )
    plan = plan_order(
        order((a, 1), (b, 1)), document, snapshot({listed: {a: 5}, other: {a: 5, b: 5}})
    )
    assert where(plan) == {"1": listed.id, "2": other.id}
    assert [p.rule for p in plan.placements] == ["Listed", "Anywhere"]


@pytest.mark.parametrize("seed", range(40))
def test_among_many_facilities_an_order_goes_whole_to_the_nearest_or_to_the_fewest(
    seed: int,
) -> None:
    rng = random.Random(seed)
    products = [product() for _ in range(rng.randint(2, 4))]
    home = (rng.uniform(-60, 60), rng.uniform(-170, 170))
    places = [
        facility(latitude=home[0] + rng.uniform(-3, 3), longitude=home[1] + rng.uniform(-3, 3))
        for _ in range(rng.randint(25, 60))
    ]
    share = rng.choice([0.2, 0.4, 0.7])
    stock = {f: {p: 1 for p in products if rng.random() < share} for f in places}
    plan = plan_order(order(*((p, 1) for p in products), at=home), DEFAULTS, snapshot(stock))

    def km(f: Place) -> float:
        return distance_km(*home, f.latitude, f.longitude)

    holders = {p: {f.id for f, held in stock.items() if p in held} for p in products}
    for placement in plan.placements:
        assert placement.facility_id in holders[placement.line.product_id]
    whole = [f for f, held in stock.items() if len(held) == len(products)]
    if whole:
        assert set(where(plan).values()) == {min(whole, key=km).id}
        return
    covering_pair = any(
        set(a) | set(b) == set(products) for a, b in itertools.combinations(stock.values(), 2)
    )
    if covering_pair:
        assert len(plan.facilities) == 2
        assert plan.unplaced == []
    else:
        assert len(plan.facilities) <= 3
