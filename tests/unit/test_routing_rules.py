"""The routing rules document: the defaults SPEC section 5 sets, normalising a saved document,
choosing a routing for an order, and refusing a bad document with every bad path at once."""

from __future__ import annotations

import copy
import uuid
from typing import Any

import pytest

from reroute.domain.errors import Invalid
from reroute.domain.facilities import Capability, FacilityKind
from reroute.domain.orders import ShippingMethod
from reroute.domain.routing.rules import (
    MAX_CHOICES,
    MAX_ERRORS,
    MAX_IDS,
    MAX_INVENTORY_RULES,
    MAX_ROUTINGS,
    FacilityFilter,
    InventoryRule,
    OrderFilter,
    SortKey,
    Unplaced,
    default_rules,
    parse_rules,
    rules_to_json,
)


def rule(**fields: Any) -> dict[str, Any]:
    return {"name": "Rule", **fields}


def document(*inventory_rules: dict[str, Any], **routing: Any) -> dict[str, Any]:
    return {
        "routings": [
            {"name": "Routing", **routing, "inventory_rules": list(inventory_rules) or [rule()]}
        ]
    }


def bad_paths(raw: Any, known: set[str] | None = None) -> list[str]:
    with pytest.raises(Invalid) as refused:
        parse_rules(raw, known)
    return [e.path for e in refused.value.errors]


# The defaults ---------------------------------------------------------------------------------


def test_the_default_rules_send_pickup_orders_to_their_pickup_facility_or_backorder() -> None:
    routing = default_rules().routing_for(ShippingMethod.PICKUP, "0", 0)
    assert routing is not None
    assert [(r.split, r.unplaced) for r in routing.inventory_rules] == [(False, Unplaced.BACKORDER)]
    assert routing.inventory_rules[0].facility_filter == FacilityFilter()


def test_the_default_rules_send_same_day_orders_to_a_same_day_store_within_30_km_unsplit() -> None:
    routing = default_rules().routing_for(ShippingMethod.SAME_DAY, "0", 0)
    assert routing is not None
    (only,) = routing.inventory_rules
    assert only.facility_filter == FacilityFilter(
        kinds=(FacilityKind.STORE,), capabilities=(Capability.SAME_DAY,), max_distance_km=30
    )
    assert (only.split, only.max_shipments, only.sort) == (False, 1, (SortKey.DISTANCE,))
    assert only.unplaced is Unplaced.CUSTOMER_CARE


@pytest.mark.parametrize("method", [ShippingMethod.STANDARD, ShippingMethod.EXPRESS])
def test_the_default_rules_try_one_nearest_facility_then_split_into_at_most_3_then_backorder(
    method: ShippingMethod,
) -> None:
    routing = default_rules().routing_for(method, "any catalog", 100)
    assert routing is not None
    whole, split = routing.inventory_rules
    assert (whole.split, whole.max_shipments, whole.sort) == (False, 1, (SortKey.DISTANCE,))
    assert whole.unplaced is Unplaced.NEXT_RULE
    assert (split.split, split.max_shipments, split.sort) == (True, 3, (SortKey.DISTANCE,))
    assert split.unplaced is Unplaced.BACKORDER
    assert whole.facility_filter == split.facility_filter == FacilityFilter()


def test_the_default_rules_survive_a_round_trip_through_json() -> None:
    as_json = rules_to_json(default_rules())
    assert parse_rules(as_json) == default_rules()
    assert rules_to_json(parse_rules(copy.deepcopy(as_json))) == as_json


# Choosing a routing ---------------------------------------------------------------------------


def test_the_first_routing_whose_order_filter_matches_is_chosen() -> None:
    parsed = parse_rules(
        {
            "routings": [
                {
                    "name": "Urgent web orders",
                    "order_filter": {"catalog_ids": ["web"], "min_priority": 50},
                    "inventory_rules": [rule()],
                },
                {
                    "name": "Express",
                    "order_filter": {"shipping_methods": ["express"], "max_priority": 10},
                    "inventory_rules": [rule()],
                },
                {"name": "Everything", "inventory_rules": [rule()]},
            ]
        }
    )

    def chosen(method: ShippingMethod, catalog: str, priority: int) -> str | None:
        routing = parsed.routing_for(method, catalog, priority)
        return routing.name if routing else None

    assert chosen(ShippingMethod.EXPRESS, "web", 50) == "Urgent web orders"
    assert chosen(ShippingMethod.EXPRESS, "web", 10) == "Express"
    assert chosen(ShippingMethod.EXPRESS, "store", 10) == "Express"
    assert chosen(ShippingMethod.EXPRESS, "store", 11) == "Everything"
    assert chosen(ShippingMethod.STANDARD, "store", 0) == "Everything"


def test_no_routing_is_chosen_when_no_order_filter_matches() -> None:
    parsed = parse_rules(document(order_filter={"shipping_methods": ["pickup"]}))
    assert parsed.routing_for(ShippingMethod.STANDARD, "0", 0) is None


def test_an_order_filter_with_nothing_set_matches_every_order() -> None:
    assert OrderFilter().matches(ShippingMethod.SAME_DAY, "anything", 100)


# Normalising ----------------------------------------------------------------------------------


def test_a_minimal_document_gets_the_defaults_of_every_field_it_leaves_out() -> None:
    parsed = parse_rules({"routings": [{"inventory_rules": [{}]}]})
    assert rules_to_json(parsed) == {
        "routings": [
            {
                "name": "Routing 1",
                "order_filter": {
                    "shipping_methods": [],
                    "catalog_ids": [],
                    "min_priority": None,
                    "max_priority": None,
                },
                "inventory_rules": [
                    {
                        "name": "Inventory rule",
                        "facility_filter": {
                            "kinds": [],
                            "capabilities": [],
                            "max_distance_km": None,
                            "facility_ids": [],
                        },
                        "split": False,
                        "max_shipments": 1,
                        "sort": ["distance"],
                        "unplaced": "next_rule",
                    }
                ],
            }
        ]
    }


def test_a_split_rule_without_max_shipments_allows_three() -> None:
    parsed = parse_rules(document(rule(split=True)))
    assert parsed.routings[0].inventory_rules[0].max_shipments == 3


def test_repeated_choices_are_kept_once_in_order_and_names_are_trimmed() -> None:
    parsed = parse_rules(
        document(
            rule(
                name="  Nearest  ",
                sort=["atp", "distance", "atp"],
                facility_filter={
                    "kinds": ["warehouse", "store", "warehouse"],
                    "max_distance_km": 12,
                },
            ),
            order_filter={"shipping_methods": ["express", "express"]},
        )
    )
    (routing,) = parsed.routings
    (only,) = routing.inventory_rules
    assert routing.order_filter.shipping_methods == (ShippingMethod.EXPRESS,)
    assert only.name == "Nearest"
    assert only.sort == (SortKey.ATP, SortKey.DISTANCE)
    assert only.facility_filter.kinds == (FacilityKind.WAREHOUSE, FacilityKind.STORE)
    assert only.facility_filter.max_distance_km == 12.0


def test_a_full_valid_document_is_read_as_written() -> None:
    facility_id = f"F-{uuid.uuid4().hex[:8]}"
    parsed = parse_rules(
        document(
            rule(
                name="Sequence then acceptance",
                facility_filter={
                    "kinds": ["store"],
                    "capabilities": ["ship", "pickup"],
                    "max_distance_km": 250.5,
                    "facility_ids": [facility_id],
                },
                split=True,
                max_shipments=2,
                sort=["sequence", "acceptance"],
                unplaced="customer_care",
            ),
            order_filter={"catalog_ids": ["web"], "min_priority": 1, "max_priority": 9},
        ),
        {facility_id},
    )
    assert parsed.routings[0].inventory_rules[0] == InventoryRule(
        "Sequence then acceptance",
        FacilityFilter(
            kinds=(FacilityKind.STORE,),
            capabilities=(Capability.SHIP, Capability.PICKUP),
            max_distance_km=250.5,
            facility_ids=(facility_id,),
        ),
        split=True,
        max_shipments=2,
        sort=(SortKey.SEQUENCE, SortKey.ACCEPTANCE),
        unplaced=Unplaced.CUSTOMER_CARE,
    )
    assert parsed.routings[0].order_filter == OrderFilter((), ("web",), 1, 9)


# Refusing -------------------------------------------------------------------------------------

RULE_0 = "routings.0.inventory_rules.0"


def test_an_unknown_sort_key_is_refused_at_its_path() -> None:
    assert bad_paths(document(rule(sort=["distance", "cheapest"]))) == [f"{RULE_0}.sort.1"]


def test_more_than_one_shipment_without_split_is_refused() -> None:
    assert bad_paths(document(rule(max_shipments=2))) == [f"{RULE_0}.max_shipments"]
    assert bad_paths(document(rule(split=False, max_shipments=3))) == [f"{RULE_0}.max_shipments"]


def test_an_unknown_facility_id_is_refused_at_its_index() -> None:
    known = f"F-{uuid.uuid4().hex[:8]}"
    raw = document(rule(facility_filter={"facility_ids": [known, "F-nowhere"]}))
    assert bad_paths(raw, {known}) == [f"{RULE_0}.facility_filter.facility_ids.1"]


def test_facility_ids_are_not_checked_when_no_facility_list_is_given() -> None:
    parsed = parse_rules(document(rule(facility_filter={"facility_ids": ["F-nowhere"]})))
    assert parsed.routings[0].inventory_rules[0].facility_filter.facility_ids == ("F-nowhere",)


@pytest.mark.parametrize("routings", [[], None, "all", {}])
def test_a_document_without_routings_is_refused(routings: Any) -> None:
    assert bad_paths({"routings": routings}) == ["routings"]


def test_a_routing_without_inventory_rules_is_refused() -> None:
    raw = {"routings": [{"name": "Empty", "inventory_rules": []}]}
    assert bad_paths(raw) == ["routings.0.inventory_rules"]


@pytest.mark.parametrize(
    ("raw", "path"),
    [
        ({"routings": [{"inventory_rules": [{}]}], "version": 2}, "version"),
        ({"routings": [{"inventory_rules": [{}], "when": "always"}]}, "routings.0.when"),
        (document(order_filter={"country": "US"}), "routings.0.order_filter.country"),
        (document(rule(colour="red")), f"{RULE_0}.colour"),
        (document(rule(facility_filter={"radius": 5})), f"{RULE_0}.facility_filter.radius"),
    ],
)
def test_an_unknown_field_is_refused_at_its_path(raw: dict[str, Any], path: str) -> None:
    assert bad_paths(raw) == [path]


@pytest.mark.parametrize(
    ("bad_rule", "path"),
    [
        (rule(unplaced="retry"), f"{RULE_0}.unplaced"),
        (rule(split="yes"), f"{RULE_0}.split"),
        (rule(split=True, max_shipments=0), f"{RULE_0}.max_shipments"),
        (rule(split=True, max_shipments=2.5), f"{RULE_0}.max_shipments"),
        (rule(facility_filter={"max_distance_km": 0}), f"{RULE_0}.facility_filter.max_distance_km"),
        (
            rule(facility_filter={"max_distance_km": -5}),
            f"{RULE_0}.facility_filter.max_distance_km",
        ),
        (
            rule(facility_filter={"max_distance_km": "far"}),
            f"{RULE_0}.facility_filter.max_distance_km",
        ),
        (rule(facility_filter={"kinds": ["depot"]}), f"{RULE_0}.facility_filter.kinds.0"),
        (
            rule(facility_filter={"capabilities": ["fly"]}),
            f"{RULE_0}.facility_filter.capabilities.0",
        ),
        (rule(sort="distance"), f"{RULE_0}.sort"),
        (rule(name=""), f"{RULE_0}.name"),
        ("not a rule", RULE_0),
    ],
)
def test_a_bad_value_in_an_inventory_rule_is_refused_at_its_path(bad_rule: Any, path: str) -> None:
    assert bad_paths(document(bad_rule)) == [path]


@pytest.mark.parametrize(
    ("order_filter", "path"),
    [
        ({"shipping_methods": ["teleport"]}, "routings.0.order_filter.shipping_methods.0"),
        ({"min_priority": 101}, "routings.0.order_filter.min_priority"),
        ({"min_priority": 5, "max_priority": 4}, "routings.0.order_filter.max_priority"),
        ({"catalog_ids": [""]}, "routings.0.order_filter.catalog_ids.0"),
    ],
)
def test_a_bad_order_filter_is_refused_at_its_path(order_filter: Any, path: str) -> None:
    assert bad_paths(document(order_filter=order_filter)) == [path]


def test_a_document_that_is_not_an_object_is_refused() -> None:
    assert bad_paths(["routings"]) == ["", "routings"]


def test_every_bad_path_of_a_document_is_listed_at_once() -> None:
    raw = {
        "routings": [
            {
                "inventory_rules": [
                    rule(sort=["cheapest"]),
                    rule(max_shipments=4),
                    rule(facility_filter={"facility_ids": ["F-nowhere"]}, colour="red"),
                ]
            },
            {"inventory_rules": []},
        ]
    }
    assert bad_paths(raw, set()) == [
        "routings.0.inventory_rules.0.sort.0",
        "routings.0.inventory_rules.1.max_shipments",
        "routings.0.inventory_rules.2.colour",
        "routings.0.inventory_rules.2.facility_filter.facility_ids.0",
        "routings.1.inventory_rules",
    ]


# Bounds: every order reads the document ------------------------------------------------------


def routings(count: int) -> dict[str, Any]:
    return {"routings": [{"name": f"R{n}", "inventory_rules": [rule()]} for n in range(count)]}


def refusal(raw: Any) -> Invalid:
    with pytest.raises(Invalid) as refused:
        parse_rules(raw)
    return refused.value


def test_as_many_routings_and_inventory_rules_as_the_bounds_allow_are_accepted() -> None:
    parsed = parse_rules(routings(MAX_ROUTINGS))
    assert len(parsed.routings) == MAX_ROUTINGS
    parsed = parse_rules(document(*[rule(name=f"I{n}") for n in range(MAX_INVENTORY_RULES)]))
    assert len(parsed.routings[0].inventory_rules) == MAX_INVENTORY_RULES


@pytest.mark.parametrize("count", [MAX_ROUTINGS + 1, 20_001])
def test_more_routings_than_the_bound_are_refused_once_at_routings(count: int) -> None:
    refused = refusal(routings(count))
    assert [(e.path, str(count) in e.message) for e in refused.errors] == [("routings", True)]


def test_more_inventory_rules_than_the_bound_are_refused_at_the_routing() -> None:
    raw = document(*[rule(sort=["cheapest"]) for _ in range(MAX_INVENTORY_RULES + 1)])
    assert bad_paths(raw) == ["routings.0.inventory_rules"]


@pytest.mark.parametrize(
    ("bad_rule", "path"),
    [
        (rule(sort=["distance"] * (MAX_CHOICES + 1)), f"{RULE_0}.sort"),
        (rule(facility_filter={"kinds": ["store"] * (MAX_CHOICES + 1)}), "kinds"),
        (rule(facility_filter={"facility_ids": ["F"] * (MAX_IDS + 1)}), "facility_ids"),
    ],
)
def test_a_list_longer_than_its_bound_is_refused_as_a_whole(bad_rule: Any, path: str) -> None:
    (only,) = bad_paths(document(bad_rule))
    assert only.endswith(path)


def test_an_order_filter_list_longer_than_its_bound_is_refused_as_a_whole() -> None:
    raw = document(order_filter={"catalog_ids": ["web"] * (MAX_IDS + 1)})
    assert bad_paths(raw) == ["routings.0.order_filter.catalog_ids"]
    raw = document(order_filter={"shipping_methods": ["pickup"] * (MAX_CHOICES + 1)})
    assert bad_paths(raw) == ["routings.0.order_filter.shipping_methods"]


def test_a_refusal_lists_a_bounded_number_of_errors_and_counts_the_rest() -> None:
    raw = routings(MAX_ROUTINGS)
    for routing in raw["routings"]:
        routing["inventory_rules"] = [rule(sort=["cheapest"], unplaced="retry")]
    refused = refusal(raw)
    assert len(refused.errors) == MAX_ERRORS + 1
    assert refused.errors[-1].path == ""
    assert str(2 * MAX_ROUTINGS - MAX_ERRORS) in refused.errors[-1].message


def test_a_nul_character_in_any_text_of_the_document_is_refused_at_its_path() -> None:
    nul = "a\x00b"
    raw = document(
        rule(name=nul, facility_filter={"facility_ids": [nul]}),
        name=nul,
        order_filter={"catalog_ids": ["web", nul]},
    )
    assert sorted(bad_paths(raw)) == [
        "routings.0.inventory_rules.0.facility_filter.facility_ids.0",
        "routings.0.inventory_rules.0.name",
        "routings.0.name",
        "routings.0.order_filter.catalog_ids.1",
    ]


def test_an_odd_value_is_quoted_short_and_a_nested_one_is_not_quoted() -> None:
    deep: Any = "x"
    for _ in range(5000):
        deep = [deep]
    raw = document(rule(sort=[deep, "y" * 5000], unplaced={"a": deep}))
    messages = [e.message for e in refusal(raw).errors]
    assert len(messages) == 3
    assert all(len(m) < 300 for m in messages)
    assert "a list" in messages[0] and "an object" in messages[2]
