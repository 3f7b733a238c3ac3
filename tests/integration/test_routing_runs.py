"""When routing runs: on creation or by a run, and backorders routed as soon as stock arrives."""

from __future__ import annotations

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from reroute.cli import app as cli
from reroute.domain.access import Role
from reroute.services.context import Context
from tests.conftest import make_token
from tests.integration.test_routing_api import (
    assert_counters_equal_ledger,
    counters,
    level,
    route_on_create,
    run,
    where,
)
from tests.support import (
    Headers,
    count_stock,
    create,
    place,
    put_product,
    read,
    stocked,
)

# When routing runs ----------------------------------------------------------------------------


def test_with_route_on_create_off_orders_stay_queued_until_a_run_routes_them(
    client: TestClient, admin: Headers
) -> None:
    a, missing = put_product(client, admin), put_product(client, admin)
    store = stocked(client, admin, 1, {a: 5})
    route_on_create(client, admin, False)
    waiting = [create(client, admin, [(a, 1)]) for _ in range(3)]
    nowhere = create(client, admin, [(missing, 1), (a, 1)], ship_complete=True)
    for order in [*waiting, nowhere]:
        assert {state for state, _ in where(order).values()} == {"queued"}
        assert order["shipments"] == []
    assert level(client, admin, store, a)["available_to_promise"] == 5
    answer = run(client, admin)
    assert answer["orders"] == 4
    assert answer["items"] == {"ready": 3, "backorder": 2}
    for order in waiting:
        assert where(read(client, admin, order["order_id"])) == {"1": ("ready", store)}
    assert level(client, admin, store, a)["available_to_promise"] == 2
    # Nothing left to route: a second run finds nothing to do but the backorders.
    again = run(client, admin)
    assert again["items"] == {"backorder": 2}


def test_route_on_create_back_on_routes_new_orders_at_once(
    client: TestClient, admin: Headers
) -> None:
    p = put_product(client, admin)
    store = stocked(client, admin, 1, {p: 5})
    route_on_create(client, admin, False)
    route_on_create(client, admin, True)
    assert where(create(client, admin, [(p, 1)])) == {"1": ("ready", store)}


def test_only_an_admin_or_integration_may_start_a_run(
    client: TestClient, admin: Headers, integration: Headers, context: Context
) -> None:
    associate = make_token(context, Role.ASSOCIATE, [place(client, admin, 1)])
    assert client.post("/api/v1/routing/runs", headers=associate).status_code == 403
    answer = run(client, integration)
    assert (answer["orders"], answer["items"]) == (0, {})


def test_the_route_command_routes_queued_orders(
    client: TestClient, admin: Headers, context: Context
) -> None:
    p = put_product(client, admin)
    store = stocked(client, admin, 1, {p: 5})
    route_on_create(client, admin, False)
    ids = [create(client, admin, [(p, 2)])["order_id"] for _ in range(3)]
    result = CliRunner().invoke(cli, ["route", "--chunk", "10", "--database-url", context.db.url])
    assert result.exit_code == 0, result.output
    assert "Routed 3 orders" in result.output
    assert "2 ready" in result.output and "1 backorder" in result.output
    states = sorted(where(read(client, admin, i))["1"][0] for i in ids)
    assert states == ["backorder", "ready", "ready"]
    assert level(client, admin, store, p)["available_to_promise"] == 1


# Backorders -----------------------------------------------------------------------------------


def test_a_backordered_order_is_routed_as_soon_as_a_count_raises_atp(
    client: TestClient, admin: Headers, context: Context
) -> None:
    p, other = put_product(client, admin), put_product(client, admin)
    store = place(client, admin, 5)
    order_id = create(client, admin, [(p, 2)])["order_id"]
    assert where(read(client, admin, order_id)) == {"1": ("backorder", None)}
    count_stock(client, admin, store, other, 9)  # another product: still waiting
    count_stock(client, admin, store, p, 1)  # not enough yet
    assert where(read(client, admin, order_id)) == {"1": ("backorder", None)}
    answered = count_stock(client, admin, store, p, 3)
    assert where(read(client, admin, order_id)) == {"1": ("ready", store)}
    # The count answers the level after the backorder took its share.
    assert (answered["quantity_on_hand"], answered["available_to_promise"]) == (3, 1)
    assert answered["reserved"] == 2
    history = read(client, admin, order_id)["history"]
    assert [(h["event"], h["from_state"], h["to_state"]) for h in history[-1:]] == [
        ("assigned", "backorder", "ready")
    ]
    assert_counters_equal_ledger(context)


def test_a_backordered_item_joins_the_ready_shipment_its_order_has_where_stock_arrives(
    client: TestClient, admin: Headers
) -> None:
    a, b = put_product(client, admin), put_product(client, admin)
    store = stocked(client, admin, 1, {a: 5}, daily_capacity=1)
    order = create(client, admin, [(a, 1), (b, 1)])
    assert where(order) == {"1": ("ready", store), "2": ("backorder", None)}
    # The store is at its daily capacity now, but extending a shipment adds no load.
    count_stock(client, admin, store, b, 3)
    shown = read(client, admin, order["order_id"])
    assert where(shown) == {"1": ("ready", store), "2": ("ready", store)}
    assert len(shown["shipments"]) == 1
    assert {i["shipment_id"] for i in shown["items"]} == {shown["shipments"][0]["shipment_id"]}


def test_stock_arriving_routes_as_many_backorders_as_it_covers(
    client: TestClient, admin: Headers, context: Context
) -> None:
    p = put_product(client, admin)
    store = place(client, admin, 5)
    ids = [create(client, admin, [(p, 1)])["order_id"] for _ in range(3)]
    level_after = count_stock(client, admin, store, p, 2)
    states = sorted(where(read(client, admin, i))["1"][0] for i in ids)
    assert states == ["backorder", "ready", "ready"]
    assert counters(level_after) == (2, 0, 2)
    assert_counters_equal_ledger(context)
