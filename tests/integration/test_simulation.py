"""The simulation on both databases: the same engine gives live routing's answer, a seed gives
one answer, nothing is written, and a drawn rejection is handled as live handles it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from reroute.domain.clock import utcnow
from reroute.domain.errors import Invalid
from reroute.services.context import Context
from reroute.services.simulation import SimulationRequest, run, simulate
from tests.fingerprint import fingerprint
from tests.support import Headers, create, put_product, stocked


def placements(order: Any) -> dict[tuple[str, str], str | None]:
    return {(order["order_id"], i["item_id"]): i["facility_id"] for i in order["items"]}


@pytest.fixture
def world(client: TestClient, admin: Headers) -> dict[str, Any]:
    """Four stores 1, 5, 20 and 60 km north, two products, stock that runs short, and a moment
    before any order."""
    a, b = put_product(client, admin), put_product(client, admin)
    stores = [
        stocked(client, admin, 1, {a: 3, b: 2}),
        stocked(client, admin, 5, {a: 2}),
        stocked(client, admin, 20, {b: 4, a: 1}),
        stocked(client, admin, 60, {a: 10, b: 10}),
    ]
    return {"products": (a, b), "stores": stores, "since": utcnow()}


def orders_of(client: TestClient, admin: Headers, world: dict[str, Any]) -> list[Any]:
    a, b = world["products"]
    lines = [[(a, 1)], [(a, 2), (b, 1)], [(b, 3)], [(a, 1), (b, 1)], [(a, 4)], [(b, 2)]]
    return [create(client, admin, items) for items in lines * 2]


def test_replaying_with_the_live_rules_and_no_rejections_places_every_item_where_live_did(
    client: TestClient, admin: Headers, context: Context, world: dict[str, Any]
) -> None:
    live: dict[tuple[str, str], str | None] = {}
    for order in orders_of(client, admin, world):
        live.update(placements(order))
    assert len({f for f in live.values() if f}) >= 3  # the stock ran short: several stores used
    assert None in live.values()  # and something waits in backorder
    simulation = run(context, SimulationRequest(since=world["since"], rejections="none"))
    outcome = simulation.outcomes["live"]
    replayed = {
        (order.id, item.item_id): item.facility_id
        for order in outcome.orders.values()
        for item in order.items
    }
    assert replayed == live
    report = simulation.report["rule_sets"][0]
    assert report["rejections"] == 0 and report["first_attempt_acceptance"] == 1.0
    assert report["items"] == len(live)
    assert report["placed"] == sum(1 for f in live.values() if f)
    assert report["backorder"] == sum(1 for f in live.values() if f is None)


def test_a_simulation_writes_nothing_to_the_database(
    client: TestClient, admin: Headers, context: Context, world: dict[str, Any], tmp_path: Path
) -> None:
    orders_of(client, admin, world)
    first = world["stores"][0]
    rates = tmp_path / "rates.csv"
    rates.write_text(f"facility_id,product_id,rate\n{first},,0.9\n", encoding="utf-8")
    before = fingerprint(context)
    other = {"routings": [{"name": "All", "inventory_rules": [{"sort": ["cost"]}]}]}
    simulate(
        context,
        SimulationRequest(
            since=world["since"], rules=[("live", None), ("cost", other)], rates_file=rates
        ),
    )
    simulate(context, SimulationRequest(since=world["since"]))  # learned from the log
    assert fingerprint(context) == before


def test_a_seed_gives_one_answer_and_another_seed_another(
    client: TestClient, admin: Headers, context: Context, world: dict[str, Any], tmp_path: Path
) -> None:
    for _ in range(3):
        orders_of(client, admin, world)
    rates = tmp_path / "rates.csv"
    rates.write_text(
        "facility_id,product_id,rate\n" + "".join(f"{s},,0.5\n" for s in world["stores"]),
        encoding="utf-8",
    )

    def report(seed: int) -> str:
        request = SimulationRequest(since=world["since"], rates_file=rates, seed=seed)
        return json.dumps(simulate(context, request), sort_keys=True)

    assert report(7) == report(7)
    assert len({report(seed) for seed in (1, 2, 3, 4)}) > 1


def test_a_rejected_item_leaves_with_its_reason_and_is_never_sent_back(
    client: TestClient, admin: Headers, context: Context, world: dict[str, Any], tmp_path: Path
) -> None:
    """The nearest store rejects all it gets, with NOT_IN_STOCK (the log has no other reason):
    the first item leaves with the reason's effect (QOH and ATP to 0), so the second order is
    never sent there, and no item goes back to it."""
    a, _ = world["products"]
    first, second = (create(client, admin, [(a, 1)]) for _ in range(2))
    nearest = world["stores"][0]
    rates = tmp_path / "rates.csv"
    rates.write_text(f"facility_id,product_id,rate\n{nearest},,1\n", encoding="utf-8")
    simulation = run(context, SimulationRequest(since=world["since"], rates_file=rates))
    outcome = simulation.outcomes["live"]
    assert outcome.first_placement[(first["order_id"], "1")] == nearest
    assert outcome.first_placement[(second["order_id"], "1")] != nearest
    assert outcome.rejections == 1
    for order in outcome.orders.values():
        assert all(i.facility_id not in (None, nearest) for i in order.items)
    figures = simulation.report["rule_sets"][0]
    assert figures["first_attempt_acceptance"] == pytest.approx(2 / 3, abs=1e-4)
    at_nearest = next(f for f in figures["facilities"] if f["facility_id"] == nearest)
    assert at_nearest["rejections"] == 1 and at_nearest["items"] == 1


def test_a_cascade_takes_along_the_other_open_items_of_the_product(
    client: TestClient, admin: Headers, context: Context, world: dict[str, Any], tmp_path: Path
) -> None:
    """Stores reject half of what they get: under some seed an item is rejected after others of
    its product were placed at the same store that day, and NOT_IN_STOCK cascades: none of them
    stays there."""
    a, b = world["products"]
    for _ in range(4):
        create(client, admin, [(a, 1)])
        create(client, admin, [(b, 1)])
    rates = tmp_path / "rates.csv"
    rates.write_text(
        "facility_id,product_id,rate\n" + "".join(f"{s},,0.5\n" for s in world["stores"]),
        encoding="utf-8",
    )
    cascaded = 0
    for seed in range(40):
        request = SimulationRequest(since=world["since"], rates_file=rates, seed=seed)
        outcome = run(context, request).outcomes["live"]
        rejected = {(f, p) for (f, p), t in outcome.counts.pairs.items() if t.rejected}
        for order in outcome.orders.values():
            for item in order.items:
                assert (item.facility_id, item.product_id) not in rejected
        cascaded += outcome.taken_along
        if cascaded:
            break
    assert cascaded > 0


def test_two_rule_sets_are_reported_side_by_side_with_their_difference(
    client: TestClient, admin: Headers, context: Context, world: dict[str, Any]
) -> None:
    orders_of(client, admin, world)
    farthest_first = {
        "routings": [{"name": "All", "inventory_rules": [{"sort": ["sequence", "atp"]}]}]
    }
    report = simulate(
        context,
        SimulationRequest(
            since=world["since"],
            rules=[("live", None), ("most stock", farthest_first)],
            rejections="none",
            cost_per_shipment=10,
            cost_per_km=1,
        ),
    )
    live, other = report["rule_sets"]
    assert [live["name"], other["name"]] == ["live", "most stock"]
    assert other["distance_km"] > live["distance_km"]  # the 60 km store holds most
    for figures in (live, other):
        assert figures["cost"] == pytest.approx(
            figures["shipments"] * 10 + figures["distance_km"] * 1, abs=0.1
        )
    (diff,) = report["differences"]
    assert diff["rule_set"] == "most stock" and diff["against"] == "live"
    assert diff["distance_km"] == pytest.approx(other["distance_km"] - live["distance_km"])
    assert report["orders"] == 12 and report["seed"] == 0


@pytest.mark.parametrize(
    ("request_kwargs", "path"),
    [
        ({}, "since"),
        ({"since": datetime(2026, 1, 2)}, "since"),
        (
            {"since": datetime(2026, 1, 2, tzinfo=UTC), "until": datetime(2026, 1, 1, tzinfo=UTC)},
            "until",
        ),
        ({"since": datetime(2026, 1, 2, tzinfo=UTC), "rejections": "often"}, "rejections"),
        ({"since": datetime(2026, 1, 2, tzinfo=UTC), "cost_per_km": -1.0}, "cost_per_km"),
        (
            {"since": datetime(2026, 1, 2, tzinfo=UTC), "rules": [("a", {"routings": "x"})]},
            "a: routings",
        ),
        (
            {"since": datetime(2026, 1, 2, tzinfo=UTC), "rules": [("a", None), ("a", None)]},
            "rules",
        ),
    ],
)
def test_a_request_that_cannot_run_is_refused_with_the_field_named(
    context: Context, request_kwargs: dict[str, Any], path: str
) -> None:
    with pytest.raises(Invalid) as refused:
        simulate(context, SimulationRequest(**request_kwargs))
    assert any(e.path.startswith(path) for e in refused.value.errors), refused.value.errors


def test_too_many_orders_are_refused_before_any_replay(
    client: TestClient, admin: Headers, context: Context, world: dict[str, Any]
) -> None:
    orders_of(client, admin, world)
    with pytest.raises(Invalid, match="More than 5 orders"):
        simulate(context, SimulationRequest(since=world["since"], max_orders=5))


def test_a_bad_rates_file_is_refused_line_by_line(
    context: Context, world: dict[str, Any], tmp_path: Path
) -> None:
    rates = tmp_path / "rates.csv"
    rates.write_text(
        f"facility_id,product_id,rate\nnowhere,,0.1\n{world['stores'][0]},,1.5\n",
        encoding="utf-8",
    )
    with pytest.raises(Invalid) as refused:
        simulate(
            context, SimulationRequest(since=world["since"] - timedelta(days=1), rates_file=rates)
        )
    messages = " ".join(e.message for e in refused.value.errors)
    assert "rates.csv:2" in messages and "nowhere" in messages and "rates.csv:3" in messages
