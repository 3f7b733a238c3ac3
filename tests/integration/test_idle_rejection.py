"""Idle auto-rejection on both databases, with the database's clock moved on (no sleeping): an
item ready past the idle limit without being started is rejected with IDLE_TIMEOUT (no stock
effect, decline "107"), told to subscribers, routed on at once and never back; a facility's own
limit overrides the setting; started items wait for the pack limit; two sweeps at once take an
item back once."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from reroute.domain.clock import utcnow
from reroute.services import idle
from reroute.services.context import Context
from reroute.storage.tables import rejections
from tests.integration.receiver import read_feed
from tests.support import Headers, count_stock, create, put_product, read, stocked


@pytest.fixture
def later(context: Context) -> Iterator[Any]:
    """`later(minutes)` moves the database's clock that far past now."""

    def move(minutes: float) -> None:
        shift = timedelta(minutes=minutes)
        context.db.clock = lambda: utcnow() + shift

    yield move
    context.db.clock = utcnow


def settings(client: TestClient, admin: Headers, **changes: Any) -> None:
    response = client.patch("/api/v1/settings", json=changes, headers=admin)
    assert response.status_code == 200, response.text


def where(client: TestClient, admin: Headers, order_id: str) -> tuple[str, str | None]:
    item = read(client, admin, order_id)["items"][0]
    return item["state"], item["facility_id"]


def level(client: TestClient, admin: Headers, facility: str, product: str) -> tuple[int, int]:
    shown = client.get(f"/api/v1/facilities/{facility}/inventory/{product}", headers=admin).json()
    return shown["quantity_on_hand"], shown["reserved"]


def test_an_item_left_ready_past_the_limit_is_taken_back_and_routed_on(
    client: TestClient, admin: Headers, context: Context, later: Any
) -> None:
    product = put_product(client, admin)
    near = stocked(client, admin, 1, {product: 5})
    far = stocked(client, admin, 30, {product: 5})
    settings(client, admin, idle_reject_after_minutes=30)
    order = create(client, admin, [(product, 1)])["order_id"]
    assert where(client, admin, order) == ("ready", near)

    later(29)
    assert idle.sweep(context).taken_back == 0  # not yet
    later(31)
    done = idle.sweep(context)
    assert (done.found, done.taken_back, done.shipments) == (1, 1, 1)
    assert where(client, admin, order) == ("ready", far)
    assert level(client, admin, near, product) == (5, 0)  # no stock effect; the reservation ends
    history = read(client, admin, order)["history"]
    rejected = [h for h in history if h["event"] == "rejected"]
    assert [(h["reason_id"], h["actor"], h["facility_id"]) for h in rejected] == [
        ("IDLE_TIMEOUT", "idle sweep", near)
    ]
    listed = client.get("/api/v1/rejections", headers=admin).json()
    assert [r["reason_id"] for r in listed["items"]] == ["IDLE_TIMEOUT"]
    declines = [e["body"] for e in read_feed(client, admin) if e["type"] == "StoreDeclineEvent"]
    assert len(declines) == 1
    assert declines[0]["externalLocationID"] is not None
    assert (declines[0]["reasonCode"], declines[0]["reasonDescription"]) == (
        "107",
        "Not accepted in time",
    )
    # Idle at the far store too: never back to the near one, so nowhere is left.
    later(62)
    assert idle.sweep(context).taken_back == 1
    assert where(client, admin, order)[0] in ("backorder", "customer_care")
    assert level(client, admin, near, product) == (5, 0)


def test_a_facility_s_own_limit_overrides_the_setting(
    client: TestClient, admin: Headers, context: Context, later: Any
) -> None:
    product = put_product(client, admin)
    never = stocked(client, admin, 1, {product: 5}, idle_reject_after_minutes=0)
    order = create(client, admin, [(product, 1)])["order_id"]
    quick = stocked(client, admin, 2, {product: 5}, idle_reject_after_minutes=10)
    other = put_product(client, admin)
    count_stock(client, admin, quick, other, 5)
    second = create(client, admin, [(other, 1)])["order_id"]
    settings(client, admin, idle_reject_after_minutes=60)
    later(11)
    done = idle.sweep(context)
    assert done.taken_back == 1
    assert where(client, admin, order) == ("ready", never)
    assert where(client, admin, second)[1] != quick
    later(24 * 60)  # a day: the one that opted out is still never swept
    idle.sweep(context)
    assert where(client, admin, order) == ("ready", never)


def test_started_items_wait_for_the_pack_limit_and_nothing_is_swept_when_off(
    client: TestClient, admin: Headers, context: Context, later: Any
) -> None:
    product = put_product(client, admin)
    near = stocked(client, admin, 1, {product: 5})
    stocked(client, admin, 30, {product: 5})
    order = create(client, admin, [(product, 1)])
    shipment = order["items"][0]["shipment_id"]
    later(24 * 60)
    assert idle.sweep(context).found == 0  # both limits off by default
    settings(client, admin, idle_reject_after_minutes=30)
    assert client.post(f"/api/v1/shipments/{shipment}/start", headers=admin).status_code == 200
    later(24 * 60 + 60)
    assert idle.sweep(context).found == 0  # started: the ready limit is not its
    settings(client, admin, idle_pack_after_minutes=45)
    later(24 * 60 + 60 + 46)
    assert idle.sweep(context).taken_back == 1
    state, facility = where(client, admin, order["order_id"])
    assert (state, facility != near) == ("ready", True)


def test_two_sweeps_at_once_take_each_item_back_once(
    client: TestClient, admin: Headers, context: Context, later: Any
) -> None:
    product = put_product(client, admin)
    stocked(client, admin, 1, {product: 50})
    stocked(client, admin, 30, {product: 50})
    orders = [create(client, admin, [(product, 1)])["order_id"] for _ in range(12)]
    settings(client, admin, idle_reject_after_minutes=30)
    later(31)
    results: list[idle.SweepResult] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            results.append(idle.sweep(context, chunk=3))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert sum(r.taken_back for r in results) == len(orders)
    with context.db.transaction(write=False) as conn:
        counted = conn.execute(select(func.count()).select_from(rejections)).scalar_one()
    assert counted == len(orders)
