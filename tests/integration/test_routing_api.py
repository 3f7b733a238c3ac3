"""Routing through the API on both databases (SPEC section 5): the rules document, where new
orders go, what routing reserves and records, the store list it fills, batch runs and backorders.

Facilities are placed due north of the ship-to address in central Chicago, so a facility's
distance in km is exactly what the test says.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from reroute.domain.access import Role
from reroute.domain.routing.rules import default_rules, rules_to_json
from reroute.services.context import Context
from reroute.storage.unit_of_work import unit_of_work
from tests.conftest import make_token
from tests.support import (
    Headers,
    create,
    place,
    put_product,
    read,
    stocked,
)


def where(order: Any) -> dict[str, tuple[str, str | None]]:
    """Item id to (state, facility id)."""
    return {i["item_id"]: (i["state"], i["facility_id"]) for i in order["items"]}


def level(client: TestClient, admin: Headers, facility_id: str, product_id: str) -> Any:
    response = client.get(f"/api/v1/facilities/{facility_id}/inventory/{product_id}", headers=admin)
    assert response.status_code == 200, response.text
    return response.json()


def counters(shown: Any) -> tuple[int, int, int]:
    return shown["quantity_on_hand"], shown["available_to_promise"], shown["reserved"]


def put_rules(client: TestClient, admin: Headers, *inventory_rules: dict[str, Any]) -> None:
    document = {"routings": [{"name": "Everything", "inventory_rules": list(inventory_rules)}]}
    response = client.put("/api/v1/routing/rules", json=document, headers=admin)
    assert response.status_code == 200, response.text


def assert_counters_equal_ledger(context: Context) -> None:
    with unit_of_work(context.db, write=False) as uow:
        sums = uow.inventory.ledger_sums()
        levels = uow.inventory.all_levels()
    for key, lvl in levels.items():
        counters = (lvl.quantity_on_hand, lvl.available_to_promise, lvl.reserved)
        assert sums.get(key, (0, 0, 0)) == counters, key
    assert set(sums) <= set(levels)


def route_on_create(client: TestClient, admin: Headers, on: bool) -> None:
    response = client.patch("/api/v1/settings", json={"route_on_create": on}, headers=admin)
    assert response.status_code == 200, response.text
    assert response.json()["route_on_create"] is on


def run(client: TestClient, headers: Headers) -> Any:
    response = client.post("/api/v1/routing/runs", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


# The rules document ---------------------------------------------------------------------------

VALID = {
    "routings": [
        {
            "name": "  Web orders  ",
            "order_filter": {"shipping_methods": ["standard", "standard"], "catalog_ids": ["web"]},
            "inventory_rules": [
                {"name": "Warehouses first", "facility_filter": {"kinds": ["warehouse"]}},
                {"split": True, "sort": ["atp", "distance"], "unplaced": "backorder"},
            ],
        }
    ]
}


def test_without_saved_rules_get_answers_the_spec_defaults(
    client: TestClient, admin: Headers
) -> None:
    response = client.get("/api/v1/routing/rules", headers=admin)
    assert response.status_code == 200
    assert response.json() == {"default": True, "document": rules_to_json(default_rules())}
    by_method = {
        tuple(r["order_filter"]["shipping_methods"]): r["inventory_rules"]
        for r in response.json()["document"]["routings"]
    }
    assert [r["unplaced"] for r in by_method[("pickup",)]] == ["backorder"]
    (same_day,) = by_method[("same_day",)]
    assert same_day["facility_filter"]["max_distance_km"] == 30
    assert (same_day["split"], same_day["unplaced"]) == (False, "customer_care")
    whole, split = by_method[("standard", "express")]
    assert (whole["split"], split["split"], split["max_shipments"]) == (False, True, 3)
    assert split["unplaced"] == "backorder"


def test_a_valid_document_is_saved_and_read_back_normalised(
    client: TestClient, admin: Headers
) -> None:
    response = client.put("/api/v1/routing/rules", json=VALID, headers=admin)
    assert response.status_code == 200, response.text
    answered = response.json()
    assert answered["default"] is False
    routing = answered["document"]["routings"][0]
    assert routing["name"] == "Web orders"
    assert routing["order_filter"] == {
        "shipping_methods": ["standard"],
        "catalog_ids": ["web"],
        "min_priority": None,
        "max_priority": None,
    }
    first, second = routing["inventory_rules"]
    assert (first["split"], first["max_shipments"], first["sort"]) == (False, 1, ["distance"])
    assert first["unplaced"] == "next_rule"
    assert first["facility_filter"]["kinds"] == ["warehouse"]
    assert (second["name"], second["split"], second["max_shipments"]) == ("Inventory rule", True, 3)
    assert (second["sort"], second["unplaced"]) == (["atp", "distance"], "backorder")
    assert client.get("/api/v1/routing/rules", headers=admin).json() == answered


def test_a_document_with_errors_is_refused_with_each_bad_path_and_nothing_is_saved(
    client: TestClient, admin: Headers
) -> None:
    known = place(client, admin, 1)
    client.put("/api/v1/routing/rules", json=VALID, headers=admin)
    bad = {
        "routings": [
            {
                "inventory_rules": [
                    {"sort": ["distance", "cheapest"]},
                    {"max_shipments": 2},
                    {"facility_filter": {"facility_ids": [known, "F-nowhere"]}},
                    {"colour": "red"},
                ]
            },
            {"name": "Empty", "inventory_rules": []},
        ]
    }
    response = client.put("/api/v1/routing/rules", json=bad, headers=admin)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    paths = [e["path"] for e in response.json()["errors"]]
    assert sorted(paths) == [
        "routings.0.inventory_rules.0.sort.1",
        "routings.0.inventory_rules.1.max_shipments",
        "routings.0.inventory_rules.2.facility_filter.facility_ids.1",
        "routings.0.inventory_rules.3.colour",
        "routings.1.inventory_rules",
    ]
    assert all(e["message"] for e in response.json()["errors"])
    shown = client.get("/api/v1/routing/rules", headers=admin).json()
    assert shown["default"] is False
    assert shown["document"]["routings"][0]["name"] == "Web orders"


def test_a_document_without_routings_or_rules_or_with_unknown_fields_saves_nothing(
    client: TestClient, admin: Headers
) -> None:
    refused = {
        "routings": {"routings": []},
        "routings.0.inventory_rules": {"routings": [{"inventory_rules": []}]},
        "version": {**VALID, "version": 2},
    }
    for path, bad in refused.items():
        response = client.put("/api/v1/routing/rules", json=bad, headers=admin)
        assert response.status_code == 422, path
        assert [e["path"] for e in response.json()["errors"]] == [path]
    assert client.get("/api/v1/routing/rules", headers=admin).json()["default"] is True


def test_deleting_the_rules_brings_the_defaults_back(client: TestClient, admin: Headers) -> None:
    client.put("/api/v1/routing/rules", json=VALID, headers=admin)
    response = client.delete("/api/v1/routing/rules", headers=admin)
    assert response.status_code == 200
    defaults = {"default": True, "document": rules_to_json(default_rules())}
    assert response.json() == defaults
    assert client.get("/api/v1/routing/rules", headers=admin).json() == defaults


def test_only_an_admin_may_change_the_rules(
    client: TestClient, admin: Headers, integration: Headers, context: Context
) -> None:
    assert client.put("/api/v1/routing/rules", json=VALID, headers=integration).status_code == 403
    assert client.delete("/api/v1/routing/rules", headers=integration).status_code == 403
    assert client.get("/api/v1/routing/rules", headers=integration).status_code == 200
    associate = make_token(context, Role.ASSOCIATE, [place(client, admin, 1)])
    assert client.get("/api/v1/routing/rules", headers=associate).status_code == 403
    assert client.put("/api/v1/routing/rules", json=VALID, headers=associate).status_code == 403
    assert client.get("/api/v1/routing/rules", headers=admin).json()["default"] is True


def test_saved_rules_decide_where_orders_go_and_deleting_them_restores_nearest(
    client: TestClient, admin: Headers
) -> None:
    p = put_product(client, admin)
    nearest = stocked(client, admin, 1, {p: 5}, sequence=9)
    ranked_first = stocked(client, admin, 80, {p: 5}, sequence=1)
    put_rules(client, admin, {"sort": ["sequence"]})
    assert where(create(client, admin, [(p, 1)])) == {"1": ("ready", ranked_first)}
    client.delete("/api/v1/routing/rules", headers=admin)
    assert where(create(client, admin, [(p, 1)])) == {"1": ("ready", nearest)}


# Eligibility ----------------------------------------------------------------------------------


def test_an_inactive_facility_is_never_given_an_order(client: TestClient, admin: Headers) -> None:
    p = put_product(client, admin)
    closing = stocked(client, admin, 1, {p: 5})
    far = stocked(client, admin, 90, {p: 5})
    assert where(create(client, admin, [(p, 1)])) == {"1": ("ready", closing)}
    # Deactivated after routing used it: its stock is still there, but not to route.
    place(client, admin, 1, facility_id=closing, active=False)
    assert where(create(client, admin, [(p, 1)])) == {"1": ("ready", far)}
    place(client, admin, 1, facility_id=closing, active=True)
    assert where(create(client, admin, [(p, 1)])) == {"1": ("ready", closing)}


def test_a_facility_that_rejected_an_item_is_never_chosen_for_it_again(
    client: TestClient, admin: Headers, context: Context
) -> None:
    p = put_product(client, admin)
    rejected = stocked(client, admin, 1, {p: 5})
    other = stocked(client, admin, 90, {p: 5})
    route_on_create(client, admin, False)
    kept_apart, untouched = create(client, admin, [(p, 1)]), create(client, admin, [(p, 1)])
    with unit_of_work(context.db) as uow:
        uow.routing.exclude(kept_apart["order_id"], "1", rejected, uow.now)
        uow.routing.exclude(kept_apart["order_id"], "1", rejected, uow.now)  # harmless repeat
    run(client, admin)
    assert where(read(client, admin, kept_apart["order_id"])) == {"1": ("ready", other)}
    assert where(read(client, admin, untouched["order_id"])) == {"1": ("ready", rejected)}


def test_a_facility_with_a_daily_capacity_of_one_gets_one_shipment_a_day(
    client: TestClient, admin: Headers
) -> None:
    p = put_product(client, admin)
    limited = stocked(client, admin, 1, {p: 10}, daily_capacity=1)
    far = stocked(client, admin, 60, {p: 10})
    assert where(create(client, admin, [(p, 1)])) == {"1": ("ready", limited)}
    assert where(create(client, admin, [(p, 1)])) == {"1": ("ready", far)}
    assert where(create(client, admin, [(p, 1)])) == {"1": ("ready", far)}
    assert level(client, admin, limited, p)["available_to_promise"] == 9


def test_a_facility_with_a_daily_capacity_of_zero_gets_nothing(
    client: TestClient, admin: Headers
) -> None:
    p = put_product(client, admin)
    stocked(client, admin, 1, {p: 10}, daily_capacity=0)
    assert where(create(client, admin, [(p, 1)])) == {"1": ("backorder", None)}


def test_safety_stock_is_kept_back_from_routing(client: TestClient, admin: Headers) -> None:
    p = put_product(client, admin)
    guarded = stocked(client, admin, 1, {p: 5}, safety_stock=3)
    far = stocked(client, admin, 90, {p: 5})
    assert where(create(client, admin, [(p, 2)])) == {"1": ("ready", guarded)}
    assert where(create(client, admin, [(p, 1)])) == {"1": ("ready", far)}
    assert level(client, admin, guarded, p)["available_to_promise"] == 3


def test_two_items_of_one_product_need_their_sum_at_one_facility(
    client: TestClient, admin: Headers
) -> None:
    p = put_product(client, admin)
    stocked(client, admin, 1, {p: 1})
    two = stocked(client, admin, 50, {p: 2})
    assert where(create(client, admin, [(p, 1), (p, 1)])) == {
        "1": ("ready", two),
        "2": ("ready", two),
    }
    assert level(client, admin, two, p)["available_to_promise"] == 0


def test_a_rule_filter_keeps_orders_within_its_kinds_and_radius(
    client: TestClient, admin: Headers
) -> None:
    p = put_product(client, admin)
    stocked(client, admin, 1, {p: 5})  # a store: not of the kind asked
    stocked(client, admin, 60, {p: 5}, kind="warehouse")  # outside the radius
    inside = stocked(client, admin, 40, {p: 1}, kind="warehouse")
    put_rules(
        client,
        admin,
        {
            "facility_filter": {"kinds": ["warehouse"], "max_distance_km": 50},
            "unplaced": "customer_care",
        },
    )
    assert where(create(client, admin, [(p, 1)])) == {"1": ("ready", inside)}
    assert where(create(client, admin, [(p, 1)])) == {"1": ("customer_care", None)}


def test_a_rule_filter_on_facility_ids_then_the_next_rule(
    client: TestClient, admin: Headers
) -> None:
    p = put_product(client, admin)
    nearest = stocked(client, admin, 1, {p: 5})
    listed = stocked(client, admin, 70, {p: 1})
    put_rules(client, admin, {"facility_filter": {"facility_ids": [listed]}}, {"name": "Any"})
    assert where(create(client, admin, [(p, 1)])) == {"1": ("ready", listed)}
    assert where(create(client, admin, [(p, 1)])) == {"1": ("ready", nearest)}


# Choice ---------------------------------------------------------------------------------------


def test_the_nearest_facility_with_stock_gets_the_order(client: TestClient, admin: Headers) -> None:
    p = put_product(client, admin)
    stocked(client, admin, 40, {p: 5})
    nearest = stocked(client, admin, 4, {p: 5})
    stocked(client, admin, 2, {})  # nearer, but holds none
    assert where(create(client, admin, [(p, 1)])) == {"1": ("ready", nearest)}


def test_one_facility_with_everything_beats_a_nearer_split(
    client: TestClient, admin: Headers
) -> None:
    a, b = put_product(client, admin), put_product(client, admin)
    stocked(client, admin, 1, {a: 5})
    stocked(client, admin, 2, {b: 5})
    both = stocked(client, admin, 150, {a: 5, b: 5})
    order = create(client, admin, [(a, 1), (b, 1)])
    assert where(order) == {"1": ("ready", both), "2": ("ready", both)}
    assert len(order["shipments"]) == 1


def test_an_order_no_one_facility_can_take_is_split_into_one_shipment_per_facility(
    client: TestClient, admin: Headers
) -> None:
    a, b = put_product(client, admin), put_product(client, admin)
    has_a = stocked(client, admin, 1, {a: 5})
    has_b = stocked(client, admin, 2, {b: 5})
    order = create(client, admin, [(a, 1), (b, 2)])
    assert where(order) == {"1": ("ready", has_a), "2": ("ready", has_b)}
    shipments = {s["facility_id"]: s for s in order["shipments"]}
    assert set(shipments) == {has_a, has_b}
    assert {s["state"] for s in shipments.values()} == {"ready"}
    by_item = {i["item_id"]: i["shipment_id"] for i in order["items"]}
    assert by_item == {
        "1": shipments[has_a]["shipment_id"],
        "2": shipments[has_b]["shipment_id"],
    }


def test_a_ship_complete_order_is_backordered_rather_than_split(
    client: TestClient, admin: Headers
) -> None:
    a, b = put_product(client, admin), put_product(client, admin)
    has_a = stocked(client, admin, 1, {a: 5})
    stocked(client, admin, 2, {b: 5})
    order = create(client, admin, [(a, 1), (b, 1)], ship_complete=True)
    assert where(order) == {"1": ("backorder", None), "2": ("backorder", None)}
    assert order["shipments"] == []
    assert level(client, admin, has_a, a)["available_to_promise"] == 5


def test_a_split_uses_the_fewest_shipments_not_the_nearest_facilities(
    client: TestClient, admin: Headers
) -> None:
    one, two, three = (put_product(client, admin) for _ in range(3))
    stocked(client, admin, 1, {one: 5})  # Z
    stocked(client, admin, 2, {two: 5})  # W
    x = stocked(client, admin, 50, {one: 5, two: 5})
    y = stocked(client, admin, 60, {three: 5})
    order = create(client, admin, [(one, 1), (two, 1), (three, 1)])
    assert where(order) == {"1": ("ready", x), "2": ("ready", x), "3": ("ready", y)}
    assert len(order["shipments"]) == 2


def test_max_shipments_of_the_rule_is_respected(client: TestClient, admin: Headers) -> None:
    products = [put_product(client, admin) for _ in range(3)]
    for n, p in enumerate(products):
        stocked(client, admin, n + 1, {p: 5})
    put_rules(client, admin, {"split": True, "max_shipments": 2, "unplaced": "backorder"})
    order = create(client, admin, [(p, 1) for p in products])
    states = sorted(state for state, _ in where(order).values())
    assert states == ["backorder", "ready", "ready"]
    assert len(order["shipments"]) == 2


def test_acceptance_from_the_day_counters_ranks_facilities(
    client: TestClient, admin: Headers, context: Context
) -> None:
    p = put_product(client, admin)
    often_rejects = stocked(client, admin, 1, {p: 5})
    rejected_long_ago = stocked(client, admin, 10, {p: 5})
    no_history = stocked(client, admin, 20, {p: 5})  # nothing rejected
    today = datetime.now(UTC).date()
    with unit_of_work(context.db) as uow:
        uow.routing.count_day(today, {often_rejects: (10, 10, 5)})
        uow.routing.count_day(today - timedelta(days=3), {no_history: (4, 4, 0)})
        uow.routing.count_day(today - timedelta(days=40), {rejected_long_ago: (10, 10, 10)})
    put_rules(client, admin, {"sort": ["acceptance", "distance"]})
    # Rates are smoothed toward the chain's (5 of 14 rejected in the last 30 days): four clean
    # assignments beat no record (the chain's rate, the 40-day-old rejections forgotten), which
    # beats half rejected, whatever the distance.
    assert where(create(client, admin, [(p, 1)])) == {"1": ("ready", no_history)}
    put_rules(client, admin, {"sort": ["distance"]})
    assert where(create(client, admin, [(p, 1)])) == {"1": ("ready", often_rejects)}


def test_sorting_by_atp_picks_the_facility_holding_most(client: TestClient, admin: Headers) -> None:
    p = put_product(client, admin)
    stocked(client, admin, 1, {p: 2})
    most = stocked(client, admin, 90, {p: 40})
    put_rules(client, admin, {"sort": ["atp"]})
    assert where(create(client, admin, [(p, 1)])) == {"1": ("ready", most)}


def test_a_pickup_order_goes_to_its_pickup_store_only_and_waits_there_for_stock(
    client: TestClient, admin: Headers
) -> None:
    p = put_product(client, admin)
    stocked(client, admin, 1, {p: 50})
    pickup_store = stocked(client, admin, 30, {p: 1})
    body: dict[str, Any] = {"shipping_method": "pickup", "pickup_facility_id": pickup_store}
    assert where(create(client, admin, [(p, 1)], **body)) == {"1": ("ready", pickup_store)}
    assert where(create(client, admin, [(p, 1)], **body)) == {"1": ("backorder", None)}


def test_a_same_day_order_goes_to_a_same_day_store_within_30_km_else_customer_care(
    client: TestClient, admin: Headers
) -> None:
    p = put_product(client, admin)
    stocked(client, admin, 1, {p: 5}, capabilities=["ship"])
    stocked(client, admin, 2, {p: 5}, kind="warehouse", capabilities=["ship", "same_day"])
    stocked(client, admin, 35, {p: 5}, capabilities=["ship", "same_day"])
    near = stocked(client, admin, 25, {p: 1}, capabilities=["ship", "same_day"])
    assert where(create(client, admin, [(p, 1)], shipping_method="same_day")) == {
        "1": ("ready", near)
    }
    assert where(create(client, admin, [(p, 1)], shipping_method="same_day")) == {
        "1": ("customer_care", None)
    }


def test_an_order_no_facility_has_stock_for_is_backordered(
    client: TestClient, admin: Headers
) -> None:
    p = put_product(client, admin)
    place(client, admin, 1)
    order = create(client, admin, [(p, 1)])
    assert where(order) == {"1": ("backorder", None)}
    rows = [h for h in order["history"] if h["event"] == "backorder"]
    assert [(h["item_id"], h["from_state"], h["to_state"]) for h in rows] == [
        ("1", "queued", "backorder")
    ]
