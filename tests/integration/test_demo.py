"""`reroute demo`: a Chicago retailer built through the services, and the command around it."""

from __future__ import annotations

import io
import math
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from rich.console import Console
from sqlalchemy import Table, func, select
from typer.testing import CliRunner

from reroute.app import create_app
from reroute.cli import app as cli
from reroute.demo import build_demo, plan_demo
from reroute.demo.metro import DOWNTOWN
from reroute.domain.facilities import Capability, FacilityKind
from reroute.domain.orders import ShippingMethod
from reroute.services.context import Context
from reroute.storage.database import Database
from reroute.storage.migrate import upgrade
from reroute.storage.tables import facilities, inventory_levels, order_items, orders, products

TOKEN = re.compile(r"\brr_[A-Za-z0-9_-]+")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Context, list[str]]]:
    """One demo for the module: it takes a couple of seconds to build."""
    path = tmp_path_factory.mktemp("demo") / "demo.db"
    context = Context(db=Database(f"sqlite:///{path}"))
    upgrade(context.db)
    lines = build_demo(context, Console(file=io.StringIO()))
    yield context, lines
    context.db.dispose()


def _count(context: Context, table: Table) -> int:
    with context.db.transaction(write=False) as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def _km_from_downtown(latitude: float, longitude: float) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (*DOWNTOWN, latitude, longitude))
    a = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * 6371 * math.asin(math.sqrt(a))


def test_the_demo_holds_27_facilities_200_products_300_orders_and_a_stock_count_per_pair(
    built: tuple[Context, list[str]],
) -> None:
    context, _ = built
    plan = plan_demo()
    assert _count(context, facilities) == 27
    assert _count(context, products) == 200
    assert _count(context, orders) == 300
    assert _count(context, order_items) == sum(len(o.items) for o in plan.orders)
    assert _count(context, inventory_levels) == len(plan.stock)
    assert len(plan.stock) > 27 * 200 // 2, "most facility and product pairs have a count"


def test_every_facility_and_ship_to_address_lies_within_60_km_of_downtown_chicago(
    built: tuple[Context, list[str]],
) -> None:
    context, _ = built
    with context.db.transaction(write=False) as conn:
        rows = conn.execute(select(facilities.c.latitude, facilities.c.longitude)).all()
    assert len(rows) == 27
    assert all(_km_from_downtown(lat, lon) < 60 for lat, lon in rows)
    for order in plan_demo().orders:
        latitude, longitude = order.ship_to.latitude, order.ship_to.longitude
        assert latitude is not None and longitude is not None
        assert _km_from_downtown(latitude, longitude) < 60, order.order_id


def test_stores_ship_and_take_pickups_a_third_deliver_same_day_and_warehouses_only_ship() -> None:
    plan = plan_demo()
    stores = [f for f in plan.facilities if f.kind is FacilityKind.STORE]
    warehouses = [f for f in plan.facilities if f.kind is FacilityKind.WAREHOUSE]
    assert len(stores) == 25
    assert all({Capability.SHIP, Capability.PICKUP} <= set(s.capabilities) for s in stores)
    assert 6 <= sum(Capability.SAME_DAY in s.capabilities for s in stores) <= 10
    assert [w.capabilities for w in warehouses] == [[Capability.SHIP], [Capability.SHIP]]
    assert all(f.fulfiller_id == "70125" and f.sequence is not None for f in plan.facilities)
    assert len({f.external_location_id for f in plan.facilities}) == 27


def test_products_have_readable_names_unique_skus_and_12_digit_upcs_and_no_remote_images() -> None:
    products_ = plan_demo().products
    assert len({p.sku for p in products_}) == len({p.upc for p in products_}) == 200
    assert all(re.fullmatch(r"\d{12}", p.upc) for p in products_)
    assert all(p.part_number for p in products_)
    assert all(p.image_url and p.image_url.startswith("/static/demo/") for p in products_)
    assert products_[0].name.replace(",", "").replace("-", "").replace(" ", "").isalpha()


def test_orders_mix_shipping_methods_and_pickups_name_a_store_that_takes_pickups() -> None:
    plan = plan_demo()
    pickup_stores = {f.id for f in plan.facilities if Capability.PICKUP in f.capabilities}
    methods = [o.shipping_method for o in plan.orders]
    assert methods.count(ShippingMethod.STANDARD) > len(methods) / 2
    assert {ShippingMethod.EXPRESS, ShippingMethod.SAME_DAY, ShippingMethod.PICKUP} <= set(methods)
    for order in plan.orders:
        assert 1 <= len(order.items) <= 4
        if order.shipping_method is ShippingMethod.PICKUP:
            assert order.pickup_facility_id in pickup_stores
    assert 0 < sum(o.ship_complete for o in plan.orders) < 30


def test_the_same_seed_plans_the_same_retailer() -> None:
    first, second = plan_demo(), plan_demo()
    assert [o.body_hash() for o in first.orders] == [o.body_hash() for o in second.orders]
    assert first.stock == second.stock


def test_the_token_in_the_sign_in_lines_authenticates_against_the_api(
    built: tuple[Context, list[str]],
) -> None:
    context, lines = built
    match = TOKEN.search("\n".join(lines))
    assert match is not None, lines
    assert any("curl" in line and "/api/v1/facilities" in line for line in lines)
    with TestClient(create_app(context)) as client:
        answer = client.get(
            "/api/v1/facilities", headers={"Authorization": f"Bearer {match.group()}"}
        )
        assert answer.status_code == 200
        assert len(answer.json()["items"]) == 27
        refused = client.get("/api/v1/facilities", headers={"Authorization": "Bearer rr_nope"})
        assert refused.status_code == 401


def test_reroute_demo_no_serve_replaces_an_old_file_and_keep_reuses_it(tmp_path: Path) -> None:
    path = tmp_path / "demo.db"
    path.write_text("not a database")
    (tmp_path / "demo.db-wal").write_text("stale")
    runner = CliRunner()

    fresh = runner.invoke(cli, ["demo", "--database", str(path), "--port", "8123", "--no-serve"])

    assert fresh.exit_code == 0, fresh.output
    assert "http://127.0.0.1:8123" in fresh.stderr
    assert TOKEN.search(fresh.stderr)
    context = Context(db=Database(f"sqlite:///{path}"))
    try:
        assert _count(context, orders) == 300
        kept = runner.invoke(cli, ["demo", "--database", str(path), "--keep", "--no-serve"])
        assert kept.exit_code == 0, kept.output
        assert "already" in kept.stderr
        assert _count(context, orders) == 300
        with TestClient(create_app(context)) as client:
            token = TOKEN.findall(kept.stderr)[0]
            headers = {"Authorization": f"Bearer {token}"}
            assert client.get("/api/v1/products/P1001", headers=headers).status_code == 200
    finally:
        context.db.dispose()
