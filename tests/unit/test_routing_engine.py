"""The routing engine without storage: which facility takes each item of one order (SPEC 5).

Every test builds facilities at known great-circle distances from a ship-to address in Chicago,
a snapshot of their stock, and asks `plan_order` where the order's items go.
"""

from __future__ import annotations

import random

import pytest

from reroute.domain.facilities import Capability, FacilityKind
from reroute.domain.orders import ItemState, ShippingMethod
from reroute.domain.routing.acceptance import AcceptanceModel
from reroute.domain.routing.engine import plan_order
from reroute.domain.routing.geo import distance_km
from reroute.domain.routing.rules import (
    FacilityFilter,
    InventoryRule,
    OrderFilter,
    Routing,
    RulesDocument,
    SortKey,
    Unplaced,
)
from tests.unit.routing_builders import (
    DEFAULTS,
    HOME,
    facility,
    new_id,
    order,
    product,
    rules,
    snapshot,
    unplaced,
    where,
)

# Great-circle distance ------------------------------------------------------------------------


def test_the_distance_between_chicago_and_new_york_is_the_great_circle_one() -> None:
    assert distance_km(41.8781, -87.6298, 40.7128, -74.0060) == pytest.approx(1144, abs=2)


def test_a_facility_placed_north_by_the_helper_is_that_many_km_away() -> None:
    f = facility(25)
    assert distance_km(*HOME, f.latitude, f.longitude) == pytest.approx(25, abs=1e-6)


def test_a_placement_reports_its_great_circle_distance() -> None:
    p = product()
    near = facility(12.5)
    plan = plan_order(order((p, 1)), DEFAULTS, snapshot({near: {p: 1}}))
    assert plan.placements[0].distance_km == pytest.approx(12.5, abs=1e-3)


# Eligibility ----------------------------------------------------------------------------------


def test_an_inactive_facility_is_never_chosen_even_when_nearest() -> None:
    p = product()
    closed, far = facility(1, active=False), facility(50)
    plan = plan_order(order((p, 1)), DEFAULTS, snapshot({closed: {p: 9}, far: {p: 1}}))
    assert where(plan) == {"1": far.id}


def test_an_order_whose_only_stock_is_at_an_inactive_facility_is_backordered() -> None:
    p = product()
    closed = facility(1, active=False)
    plan = plan_order(order((p, 1)), DEFAULTS, snapshot({closed: {p: 9}}))
    assert plan.placements == []
    assert (unplaced(plan), plan.unplaced_state) == (["1"], ItemState.BACKORDER)


@pytest.mark.parametrize(
    ("method", "needed"),
    [
        (ShippingMethod.STANDARD, Capability.SHIP),
        (ShippingMethod.EXPRESS, Capability.SHIP),
        (ShippingMethod.SAME_DAY, Capability.SAME_DAY),
        (ShippingMethod.PICKUP, Capability.PICKUP),
    ],
)
def test_a_facility_without_the_capability_the_shipping_method_needs_is_never_chosen(
    method: ShippingMethod, needed: Capability
) -> None:
    p = product()
    lacking = facility(1, capabilities=tuple(c for c in Capability if c is not needed))
    having = facility(5, capabilities=(needed,))
    pickup_at = {"pickup_facility_id": lacking.id} if method is ShippingMethod.PICKUP else {}
    plan = plan_order(
        order((p, 1), method=method, **pickup_at),
        DEFAULTS,
        snapshot({lacking: {p: 5}, having: {p: 5}}),
    )
    assert lacking.id not in where(plan).values()
    if method is ShippingMethod.PICKUP:
        # The customer chose that store: no other one is tried.
        assert unplaced(plan) == ["1"]
    else:
        assert where(plan) == {"1": having.id}


def test_the_rule_filter_on_kinds_skips_a_nearer_facility_of_another_kind() -> None:
    p = product()
    store, warehouse = facility(1), facility(300, kind=FacilityKind.WAREHOUSE)
    only_warehouses = rules(
        InventoryRule("Warehouses", FacilityFilter(kinds=(FacilityKind.WAREHOUSE,)))
    )
    plan = plan_order(order((p, 1)), only_warehouses, snapshot({store: {p: 5}, warehouse: {p: 5}}))
    assert where(plan) == {"1": warehouse.id}


def test_the_rule_filter_on_capabilities_needs_every_listed_capability() -> None:
    p = product()
    ship_only = facility(1, capabilities=(Capability.SHIP,))
    also_same_day = facility(9, capabilities=(Capability.SHIP, Capability.SAME_DAY))
    rule = InventoryRule(
        "Same-day stores",
        FacilityFilter(capabilities=(Capability.SHIP, Capability.SAME_DAY)),
    )
    plan = plan_order(
        order((p, 1)), rules(rule), snapshot({ship_only: {p: 5}, also_same_day: {p: 5}})
    )
    assert where(plan) == {"1": also_same_day.id}


def test_the_rule_filter_on_distance_keeps_facilities_within_the_radius_only() -> None:
    p = product()
    inside, outside = facility(14.9), facility(15.1)
    within_15 = rules(InventoryRule("Near", FacilityFilter(max_distance_km=15)))
    plan = plan_order(order((p, 1)), within_15, snapshot({inside: {p: 1}, outside: {p: 9}}))
    assert where(plan) == {"1": inside.id}
    # Once the one inside the radius is gone, the one outside is still not eligible.
    plan = plan_order(order((p, 1)), within_15, snapshot({outside: {p: 9}}))
    assert unplaced(plan) == ["1"]


def test_the_distance_filter_measures_great_circle_distance_not_degrees() -> None:
    # At 60 degrees north one degree of longitude is about 55.6 km, one of latitude 111.2 km.
    p = product()
    north = (60.0, 10.0)
    east_one_degree = facility(latitude=60.0, longitude=11.0)  # ~55.6 km
    north_half_degree = facility(latitude=60.55, longitude=10.0)  # ~61.2 km
    within_60 = rules(InventoryRule("Near", FacilityFilter(max_distance_km=60)))
    stock = snapshot({east_one_degree: {p: 1}, north_half_degree: {p: 9}})
    plan = plan_order(order((p, 1), at=north), within_60, stock)
    assert where(plan) == {"1": east_one_degree.id}
    assert plan.placements[0].distance_km == pytest.approx(55.7, abs=0.3)
    plan = plan_order(order((p, 1), at=north), within_60, stock)
    assert unplaced(plan) == ["1"]  # the other one is 61 km away


def test_the_rule_filter_on_facility_ids_keeps_the_listed_facilities_only() -> None:
    p = product()
    near, listed = facility(1), facility(80)
    rule = InventoryRule("Listed", FacilityFilter(facility_ids=(listed.id,)))
    plan = plan_order(order((p, 1)), rules(rule), snapshot({near: {p: 5}, listed: {p: 5}}))
    assert where(plan) == {"1": listed.id}


def test_a_facility_that_rejected_the_item_is_never_chosen_for_it_again() -> None:
    p = product()
    rejected, other = facility(1), facility(40)
    to_route = order((p, 1))
    exclusions = {(to_route.order_id, "1"): {rejected.id}}
    plan = plan_order(
        to_route, DEFAULTS, snapshot({rejected: {p: 5}, other: {p: 5}}, exclusions=exclusions)
    )
    assert where(plan) == {"1": other.id}


def test_a_rejection_excludes_the_facility_for_that_item_of_that_order_only() -> None:
    p = product()
    rejected = facility(1)
    to_route = order((p, 1))
    exclusions = {(new_id("O"), "1"): {rejected.id}, (to_route.order_id, "2"): {rejected.id}}
    plan = plan_order(to_route, DEFAULTS, snapshot({rejected: {p: 5}}, exclusions=exclusions))
    assert where(plan) == {"1": rejected.id}


def test_a_facility_that_rejected_its_only_eligible_item_leaves_it_backordered() -> None:
    p = product()
    rejected = facility(1)
    to_route = order((p, 1))
    exclusions = {(to_route.order_id, "1"): {rejected.id}}
    plan = plan_order(to_route, DEFAULTS, snapshot({rejected: {p: 5}}, exclusions=exclusions))
    assert (unplaced(plan), plan.unplaced_state) == (["1"], ItemState.BACKORDER)


def test_a_facility_with_a_daily_capacity_of_one_gets_one_shipment_a_day() -> None:
    p = product()
    limited, far = facility(1, daily_capacity=1), facility(60)
    stock = snapshot({limited: {p: 10}, far: {p: 10}})
    first = plan_order(order((p, 1)), DEFAULTS, stock)
    second = plan_order(order((p, 1)), DEFAULTS, stock)
    assert where(first) == {"1": limited.id}
    assert where(second) == {"1": far.id}


def test_a_facility_at_its_daily_capacity_already_is_not_chosen() -> None:
    p = product()
    full = facility(1, daily_capacity=3)
    plan = plan_order(order((p, 1)), DEFAULTS, snapshot({full: {p: 10}}, load={full.id: 3}))
    assert unplaced(plan) == ["1"]
    plan = plan_order(order((p, 1)), DEFAULTS, snapshot({full: {p: 10}}, load={full.id: 2}))
    assert where(plan) == {"1": full.id}


def test_extending_a_shipment_the_order_already_has_there_needs_no_capacity() -> None:
    p = product()
    full = facility(1, daily_capacity=1)
    to_route = order((p, 1), open_shipments=frozenset({full.id}))
    plan = plan_order(to_route, DEFAULTS, snapshot({full: {p: 10}}, load={full.id: 1}))
    assert where(plan) == {"1": full.id}


def test_atp_minus_safety_stock_must_cover_the_quantity() -> None:
    p = product()
    guarded, far = facility(1, safety_stock=3), facility(70)
    stock = {guarded: {p: 5}, far: {p: 9}}
    assert where(plan_order(order((p, 2)), DEFAULTS, snapshot(stock))) == {"1": guarded.id}
    assert where(plan_order(order((p, 3)), DEFAULTS, snapshot(stock))) == {"1": far.id}


def test_stock_at_or_below_safety_stock_is_never_promised() -> None:
    p = product()
    guarded = facility(1, safety_stock=4)
    plan = plan_order(order((p, 1)), DEFAULTS, snapshot({guarded: {p: 4}}))
    assert unplaced(plan) == ["1"]


def test_two_items_of_the_same_product_need_the_sum_of_their_quantities() -> None:
    p = product()
    one_unit, two_units = facility(1), facility(30)
    plan = plan_order(
        order((p, 1), (p, 1)), DEFAULTS, snapshot({one_unit: {p: 1}, two_units: {p: 2}})
    )
    assert where(plan) == {"1": two_units.id, "2": two_units.id}


def test_two_items_of_the_same_product_are_not_both_promised_from_one_unit() -> None:
    p = product()
    one_unit = facility(1)
    no_split = rules(InventoryRule("One", unplaced=Unplaced.BACKORDER))
    plan = plan_order(order((p, 1), (p, 1)), no_split, snapshot({one_unit: {p: 1}}))
    assert plan.placements == []
    assert unplaced(plan) == ["1", "2"]


# Choice --------------------------------------------------------------------------------------


def test_the_nearest_facility_is_chosen_by_default() -> None:
    p = product()
    far, nearest, middle = facility(90), facility(3), facility(20)
    plan = plan_order(
        order((p, 1)), DEFAULTS, snapshot({far: {p: 5}, nearest: {p: 5}, middle: {p: 5}})
    )
    assert where(plan) == {"1": nearest.id}


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ((SortKey.DISTANCE,), "near"),
        ((SortKey.ATP,), "plenty"),
        ((SortKey.SEQUENCE,), "first_in_sequence"),
        ((SortKey.ACCEPTANCE,), "reliable"),
    ],
)
def test_the_rule_sort_decides_between_eligible_facilities(
    sort: tuple[SortKey, ...], expected: str
) -> None:
    p = product()

    def named(name: str) -> str:
        """The expected facility gets the largest id: no tie-break on ids could choose it."""
        return new_id("F-z" if name == expected else "F-a")

    places = {
        "near": facility(1, sequence=5, id=named("near")),
        "plenty": facility(40, sequence=3, id=named("plenty")),
        "first_in_sequence": facility(60, sequence=1, id=named("first_in_sequence")),
        "reliable": facility(80, id=named("reliable")),  # no sequence, never rejects
    }
    stock = snapshot(
        {
            places["near"]: {p: 2},
            places["plenty"]: {p: 50},
            places["first_in_sequence"]: {p: 3},
            places["reliable"]: {p: 2},
        },
        acceptance=AcceptanceModel.fixed(
            [
                (places["near"].id, None, 0.5),
                (places["plenty"].id, None, 0.3),
                (places["first_in_sequence"].id, None, 0.1),
            ]
        ),
    )
    plan = plan_order(order((p, 1)), rules(InventoryRule("Sorted", sort=sort)), stock)
    assert where(plan) == {"1": places[expected].id}


def test_a_facility_without_a_sequence_comes_after_every_facility_with_one() -> None:
    p = product()
    unranked, last_ranked = facility(1), facility(50, sequence=1000, id=new_id("F-z"))
    by_sequence = rules(InventoryRule("Sequence", sort=(SortKey.SEQUENCE,)))
    plan = plan_order(order((p, 1)), by_sequence, snapshot({unranked: {p: 5}, last_ranked: {p: 5}}))
    assert where(plan) == {"1": last_ranked.id}


def test_a_second_sort_key_breaks_ties_of_the_first() -> None:
    p = product()
    far, other = facility(50, sequence=1, id=new_id("F-a")), facility(1, sequence=2)
    near = facility(5, sequence=1, id=new_id("F-z"))
    rule = InventoryRule("Sequence then distance", sort=(SortKey.SEQUENCE, SortKey.DISTANCE))
    plan = plan_order(
        order((p, 1)), rules(rule), snapshot({far: {p: 5}, near: {p: 5}, other: {p: 5}})
    )
    assert where(plan) == {"1": near.id}


def test_what_a_rule_cannot_place_goes_to_the_next_rule_by_default() -> None:
    p = product()
    listed, other = facility(1), facility(90)
    document = rules(
        InventoryRule("Listed only", FacilityFilter(facility_ids=(listed.id,))),
        InventoryRule("Anywhere"),
    )
    plan = plan_order(order((p, 1)), document, snapshot({listed: {}, other: {p: 5}}))
    assert where(plan) == {"1": other.id}
    assert plan.placements[0].rule == "Anywhere"


def test_an_unplaced_action_of_backorder_stops_before_the_next_rule() -> None:
    p = product()
    listed, other = facility(1), facility(90)
    document = rules(
        InventoryRule(
            "Listed only", FacilityFilter(facility_ids=(listed.id,)), unplaced=Unplaced.BACKORDER
        ),
        InventoryRule("Anywhere"),
    )
    plan = plan_order(order((p, 1)), document, snapshot({listed: {}, other: {p: 5}}))
    assert plan.placements == []
    assert (unplaced(plan), plan.unplaced_state) == (["1"], ItemState.BACKORDER)


def test_an_unplaced_action_of_customer_care_hands_the_items_to_a_person() -> None:
    p = product()
    listed, other = facility(1), facility(90)
    document = rules(
        InventoryRule(
            "Listed only",
            FacilityFilter(facility_ids=(listed.id,)),
            unplaced=Unplaced.CUSTOMER_CARE,
        ),
        InventoryRule("Anywhere"),
    )
    plan = plan_order(order((p, 1)), document, snapshot({listed: {}, other: {p: 5}}))
    assert plan.placements == []
    assert (unplaced(plan), plan.unplaced_state) == (["1"], ItemState.CUSTOMER_CARE)


def test_items_the_last_rule_leaves_with_next_rule_are_backordered() -> None:
    p = product()
    plan = plan_order(order((p, 1)), rules(InventoryRule("Only")), snapshot({facility(1): {}}))
    assert (unplaced(plan), plan.unplaced_state) == (["1"], ItemState.BACKORDER)


def test_a_pickup_order_goes_only_to_its_pickup_facility() -> None:
    p = product()
    nearer, chosen = facility(1), facility(30)
    to_route = order((p, 1), method=ShippingMethod.PICKUP, pickup_facility_id=chosen.id)
    plan = plan_order(to_route, DEFAULTS, snapshot({nearer: {p: 50}, chosen: {p: 1}}))
    assert where(plan) == {"1": chosen.id}


def test_a_pickup_order_whose_store_lacks_stock_is_backordered_not_sent_elsewhere() -> None:
    p = product()
    nearer, chosen = facility(1), facility(30)
    to_route = order((p, 2), method=ShippingMethod.PICKUP, pickup_facility_id=chosen.id)
    plan = plan_order(to_route, DEFAULTS, snapshot({nearer: {p: 50}, chosen: {p: 1}}))
    assert plan.placements == []
    assert (unplaced(plan), plan.unplaced_state) == (["1"], ItemState.BACKORDER)


def test_a_pickup_order_without_ship_to_coordinates_is_still_placed() -> None:
    p = product()
    chosen = facility(30)
    to_route = order((p, 1), method=ShippingMethod.PICKUP, pickup_facility_id=chosen.id, at=None)
    plan = plan_order(to_route, DEFAULTS, snapshot({chosen: {p: 1}}))
    assert where(plan) == {"1": chosen.id}
    assert plan.placements[0].distance_km is None


SAME_DAY = (Capability.SHIP, Capability.SAME_DAY)


def test_a_same_day_order_goes_to_the_nearest_same_day_store_within_30_km() -> None:
    p = product()
    ship_only = facility(1, capabilities=(Capability.SHIP,))
    warehouse = facility(2, kind=FacilityKind.WAREHOUSE, capabilities=SAME_DAY)
    far_store, store = facility(29, capabilities=SAME_DAY), facility(10, capabilities=SAME_DAY)
    plan = plan_order(
        order((p, 1), method=ShippingMethod.SAME_DAY),
        DEFAULTS,
        snapshot({ship_only: {p: 5}, warehouse: {p: 5}, far_store: {p: 5}, store: {p: 5}}),
    )
    assert where(plan) == {"1": store.id}


def test_a_same_day_order_without_a_same_day_store_within_30_km_goes_to_customer_care() -> None:
    p = product()
    too_far = facility(31, capabilities=SAME_DAY)
    ship_only = facility(1, capabilities=(Capability.SHIP,))
    plan = plan_order(
        order((p, 1), method=ShippingMethod.SAME_DAY),
        DEFAULTS,
        snapshot({too_far: {p: 5}, ship_only: {p: 5}}),
    )
    assert plan.placements == []
    assert (unplaced(plan), plan.unplaced_state) == (["1"], ItemState.CUSTOMER_CARE)


def test_a_same_day_order_is_not_split_by_default() -> None:
    a, b = product(), product()
    has_a, has_b = facility(1, capabilities=SAME_DAY), facility(2, capabilities=SAME_DAY)
    plan = plan_order(
        order((a, 1), (b, 1), method=ShippingMethod.SAME_DAY),
        DEFAULTS,
        snapshot({has_a: {a: 5}, has_b: {b: 5}}),
    )
    assert plan.placements == []
    assert plan.unplaced_state is ItemState.CUSTOMER_CARE


def test_an_order_no_facility_has_stock_for_is_backordered() -> None:
    a, b = product(), product()
    plan = plan_order(order((a, 1), (b, 3)), DEFAULTS, snapshot({facility(1): {a: 0}}))
    assert plan.placements == []
    assert (unplaced(plan), plan.unplaced_state) == (["1", "2"], ItemState.BACKORDER)
    assert plan.note


def test_an_order_no_routing_matches_is_backordered_with_a_note() -> None:
    p = product()
    only_pickup = rules(InventoryRule("Pickup"), methods=(ShippingMethod.PICKUP,))
    plan = plan_order(order((p, 1)), only_pickup, snapshot({facility(1): {p: 5}}))
    assert (unplaced(plan), plan.unplaced_state) == (["1"], ItemState.BACKORDER)
    assert "No routing" in plan.note


def test_the_first_routing_whose_order_filter_matches_is_used() -> None:
    p = product()
    listed, nearest = facility(50), facility(1)
    document = RulesDocument(
        (
            Routing(
                "Catalog 7, urgent",
                OrderFilter(catalog_ids=("7",), min_priority=5),
                (InventoryRule("Listed", FacilityFilter(facility_ids=(listed.id,))),),
            ),
            Routing("Everything else", OrderFilter(), (InventoryRule("Nearest"),)),
        )
    )
    stock = {listed: {p: 5}, nearest: {p: 5}}
    urgent = order((p, 1), catalog_id="7", priority=5)
    assert where(plan_order(urgent, document, snapshot(stock))) == {"1": listed.id}
    calm = order((p, 1), catalog_id="7", priority=4)
    assert where(plan_order(calm, document, snapshot(stock))) == {"1": nearest.id}
    other_catalog = order((p, 1), catalog_id="8", priority=9)
    assert where(plan_order(other_catalog, document, snapshot(stock))) == {"1": nearest.id}


def test_what_one_order_takes_is_gone_for_the_next_order_in_the_same_snapshot() -> None:
    p = product()
    near, far = facility(1), facility(90)
    stock = snapshot({near: {p: 2}, far: {p: 5}})
    first = plan_order(order((p, 2)), DEFAULTS, stock)
    second = plan_order(order((p, 1)), DEFAULTS, stock)
    assert where(first) == {"1": near.id}
    assert where(second) == {"1": far.id}
    assert (stock.atp[(near.id, p)], stock.atp[(far.id, p)]) == (0, 4)


@pytest.mark.parametrize("seed", range(40))
def test_among_many_facilities_the_nearest_with_stock_is_chosen(seed: int) -> None:
    rng = random.Random(seed)
    p = product()
    home = (rng.uniform(-80, 80), rng.uniform(-180, 180))
    spread = rng.choice([0.3, 2.0, 6.0])
    places = [
        facility(
            latitude=max(-89.0, min(89.0, home[0] + rng.uniform(-spread, spread))),
            longitude=(home[1] + rng.uniform(-spread, spread) + 180) % 360 - 180,
        )
        for _ in range(rng.randint(25, 80))
    ]
    stock = {f: ({p: 1} if rng.random() < 0.7 else {}) for f in places}
    with_stock = [f for f, held in stock.items() if held]
    plan = plan_order(order((p, 1), at=home), DEFAULTS, snapshot(stock))
    nearest = min(with_stock, key=lambda f: distance_km(*home, f.latitude, f.longitude))
    assert where(plan) == {"1": nearest.id}


def test_a_nearer_facility_across_a_whole_degree_line_is_still_the_nearest() -> None:
    p = product()
    home = (41.999, -87.999)
    across = facility(latitude=42.001, longitude=-88.001)  # about 0.3 km, in another grid cell
    same_cell = [facility(latitude=41.5 + n / 100, longitude=-87.5) for n in range(30)]
    stock = {f: {p: 1} for f in [*same_cell, across]}
    plan = plan_order(order((p, 1), at=home), DEFAULTS, snapshot(stock))
    assert where(plan) == {"1": across.id}


def test_the_nearest_facility_across_the_antimeridian_is_chosen() -> None:
    p = product()
    home = (-15.5, 179.95)  # Fiji
    across = facility(latitude=-15.5, longitude=-179.95)  # about 11 km east, over the date line
    same_side = [facility(latitude=-15.5 + n / 50, longitude=178.6) for n in range(30)]  # ~145 km
    stock = {f: {p: 1} for f in [*same_side, across]}
    plan = plan_order(order((p, 1), at=home), DEFAULTS, snapshot(stock))
    assert where(plan) == {"1": across.id}
    assert plan.placements[0].distance_km == pytest.approx(10.7, abs=0.5)
