"""Orders to sync (`GET /api/v1/orders`): filters, the associate's scope, and the guarantee that
a poll by `updated_after` and the cursor misses no change and sees none twice while writers
go on, on both databases."""

from __future__ import annotations

import contextlib
import random
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from reroute.domain.access import SYSTEM, Role
from reroute.domain.errors import Conflict
from reroute.services import cancellation
from reroute.services.context import Context
from reroute.services.orders import create_order
from reroute.services.rejection import reject_item
from reroute.storage import tables
from reroute.storage.unit_of_work import unit_of_work
from tests.conftest import make_token
from tests.service_builders import facility, new_order, product
from tests.support import Headers, create, put_product, stocked

ORDERS = "/api/v1/orders"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def pages(client: TestClient, headers: Headers, **params: Any) -> list[list[Any]]:
    """Every page of one listing, following `next_cursor` to the end (bounded)."""
    found: list[list[Any]] = []
    cursor = None
    for _ in range(10_000):
        query = {**params, **({"cursor": cursor} if cursor else {})}
        answer = client.get(ORDERS, params=query, headers=headers)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        found.append(body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            return found
    raise AssertionError("the cursor never ended")


def listed(client: TestClient, headers: Headers, **params: Any) -> list[str]:
    return [o["order_id"] for page in pages(client, headers, **params) for o in page]


def test_a_poll_by_cursor_while_orders_change_misses_nothing_and_repeats_nothing(
    client: TestClient, admin: Headers, context: Context
) -> None:
    p = product(context)
    for km in (1, 2, 3):
        facility(context, km, {p: 1000})
    errors: list[BaseException] = []
    created: list[str] = []
    writers_done = threading.Event()

    def write(seed: int) -> None:
        rng = random.Random(seed)
        try:
            for _ in range(12):
                order, _new = create_order(context, new_order((p, 1), (p, 1)), "h", SYSTEM)
                created.append(order.id)
                for item in order.items:
                    choice = rng.random()
                    try:
                        if choice < 0.4 and item.shipment_id is not None:
                            reject_item(
                                context, item.shipment_id, item.item_id, "DAMAGED", None, SYSTEM
                            )
                        elif choice < 0.6:
                            cancellation.cancel_item(context, order.id, item.item_id, None, SYSTEM)
                    except Conflict:
                        pass
                if rng.random() < 0.2:
                    with contextlib.suppress(Conflict):
                        cancellation.cancel_order(context, order.id, None, SYSTEM)
        except BaseException as failed:  # reported by the main thread
            errors.append(failed)

    writers = [threading.Thread(target=write, args=(n,)) for n in range(3)]
    for w in writers:
        w.start()
    latest: dict[str, Any] = {}
    keys: list[tuple[datetime, str]] = []
    since: str | None = None
    polls = 0
    try:
        while polls < 2000:
            polls += 1
            finished = writers_done.is_set()
            params: dict[str, Any] = {"limit": 5}
            if since is not None:
                params["updated_after"] = since
            for page in pages(client, admin, **params):
                for order in page:
                    keys.append((at(order["updated_at"]), order["order_id"]))
                    latest[order["order_id"]] = order
                    since = order["updated_at"]
            if finished:
                break
            if not any(w.is_alive() for w in writers):
                writers_done.set()  # one more poll after the last write
    finally:
        for w in writers:
            w.join(timeout=120)
    assert not errors, errors
    assert writers_done.is_set() and polls > 2
    # Pages and polls read on strictly: no row comes twice, none before one already seen.
    assert keys == sorted(set(keys)), "a row repeated or came out of order"
    # Every order's final state was seen.
    with unit_of_work(context.db, write=False) as uow:
        stored = uow.orders.get_many(created)
        rows = uow.conn.execute(select(tables.orders.c.id, tables.orders.c.updated_at))
        stamps = {r.id: r.updated_at for r in rows}
    assert set(latest) == set(created)
    for order_id, order in stored.items():
        seen = latest[order_id]
        assert [i["state"] for i in seen["items"]] == [str(i.state) for i in order.items]
        assert at(seen["updated_at"]).replace(tzinfo=None) == stamps[order_id].replace(tzinfo=None)


def test_every_change_moves_updated_at_and_creation_sets_it(
    client: TestClient, admin: Headers, context: Context
) -> None:
    p = product(context)
    facility(context, 1, {p: 10})
    facility(context, 2, {p: 10})
    order, _ = create_order(context, new_order((p, 1)), "h", SYSTEM)
    first = listed_order(client, admin, order.id)
    assert at(first["updated_at"]) >= at(first["created_at"])
    shipment_id = order.items[0].shipment_id
    assert shipment_id is not None
    reject_item(context, shipment_id, "1", "DAMAGED", None, SYSTEM)
    second = listed_order(client, admin, order.id)
    assert at(second["updated_at"]) > at(first["updated_at"])
    cancellation.cancel_order(context, order.id, None, SYSTEM)
    third = listed_order(client, admin, order.id)
    assert at(third["updated_at"]) > at(second["updated_at"])
    assert [i["state"] for i in third["items"]] == ["canceled"]
    # Polling from the last stamp finds nothing new.
    assert listed(client, admin, updated_after=third["updated_at"]) == []
    assert listed(client, admin, updated_after=second["updated_at"]) == [order.id]


def listed_order(client: TestClient, headers: Headers, order_id: str) -> Any:
    found = [o for page in pages(client, headers, q=order_id) for o in page]
    assert [o["order_id"] for o in found] == [order_id]
    return found[0]


def test_filters_narrow_the_list(client: TestClient, admin: Headers, context: Context) -> None:
    product_id = put_product(client, admin)
    near = stocked(client, admin, 1, {product_id: 1})
    far = stocked(client, admin, 5, {product_id: 5})
    a = create(client, admin, [(product_id, 1)], customer={"name": "Grace 100%", "email": "g@x.io"})
    b = create(
        client,
        admin,
        [(product_id, 1)],
        customer={"name": "Alan", "email": "Alan@Example.com"},
        shipping_method="express",
    )
    assert a["items"][0]["facility_id"] == near and b["items"][0]["facility_id"] == far
    assert listed(client, admin) == [a["order_id"], b["order_id"]]
    assert listed(client, admin, facility_id=near) == [a["order_id"]]
    assert listed(client, admin, shipping_method="express") == [b["order_id"]]
    assert listed(client, admin, customer_email="alan@example.COM") == [b["order_id"]]
    assert listed(client, admin, q="100%") == [a["order_id"]]
    assert listed(client, admin, q="10_%") == []
    assert listed(client, admin, q="EXAMPLE") == [b["order_id"]]
    assert listed(client, admin, item_state="ready") == [a["order_id"], b["order_id"]]
    assert listed(client, admin, item_state="canceled") == []
    assert listed(client, admin, created_after=b["created_at"]) == []
    assert listed(client, admin, created_before=b["created_at"]) == [a["order_id"]]
    assert listed(client, admin, updated_before="2000-01-01T00:00:00Z") == []
    one_each = pages(client, admin, limit=1)
    assert [[o["order_id"] for o in page] for page in one_each] == [
        [a["order_id"]],
        [b["order_id"]],
    ]


def test_an_associate_lists_only_orders_held_at_its_facilities(
    client: TestClient, admin: Headers, integration: Headers, context: Context
) -> None:
    product_id = put_product(client, admin)
    mine = stocked(client, admin, 1, {product_id: 1})
    other = stocked(client, admin, 5, {product_id: 5})
    a = create(client, admin, [(product_id, 1)])
    b = create(client, admin, [(product_id, 1)])
    assert b["items"][0]["facility_id"] == other
    associate = make_token(context, Role.ASSOCIATE, [mine])
    assert listed(client, associate) == [a["order_id"]]
    assert listed(client, integration) == [a["order_id"], b["order_id"]]
    found = [o for page in pages(client, associate) for o in page]
    assert [i["facility_id"] for i in found[0]["items"]] == [mine]


def test_bad_queries_answer_422_problems(client: TestClient, admin: Headers) -> None:
    for params in (
        {"cursor": "not-a-cursor"},
        {"cursor": "x" * 3000},
        {"limit": 0},
        {"limit": 1001},
        {"updated_after": "yesterday"},
        {"updated_after": "0001-01-01T00:00:00+05:00"},
        {"q": "a\x00b"},
        {"item_state": "lost"},
        {"customer_email": "x" * 400},
        {"facility_id": "bad id"},
    ):
        answer = client.get(ORDERS, params=params, headers=admin)
        assert answer.status_code == 422, (params, answer.text)
        assert answer.headers["content-type"].startswith("application/problem+json")
    other = client.get("/api/v1/events", headers=admin).json()["next_cursor"]
    assert client.get(ORDERS, params={"cursor": other}, headers=admin).status_code == 422


def test_a_transaction_that_started_earlier_but_commits_later_gets_the_later_stamp(
    context: Context,
) -> None:
    p = product(context)
    facility(context, 1, {p: 10})
    first, _ = create_order(context, new_order((p, 1)), "h", SYSTEM)
    second, _ = create_order(context, new_order((p, 1)), "h", SYSTEM)
    with unit_of_work(context.db, write=False) as uow:
        rows = uow.conn.execute(select(tables.orders.c.id, tables.orders.c.updated_at))
        stamps = {r.id: r.updated_at for r in rows}
    assert stamps[second.id] > stamps[first.id]
    with unit_of_work(context.db) as uow:  # a clock an hour behind, as a slow transaction's
        stamp = uow.sync_clock.stamp([first.id], uow.now - timedelta(hours=1))
    assert stamp is not None
    assert stamp.replace(tzinfo=None) > stamps[second.id].replace(tzinfo=None)


def test_on_postgresql_a_second_writer_waits_for_the_clock_and_stamps_after_the_first(
    context: Context,
) -> None:
    if not context.db.is_postgres:
        pytest.skip("SQLite has one writer at a time: its stamps follow commits already")
    p = product(context)
    facility(context, 1, {p: 10})
    a, _ = create_order(context, new_order((p, 1)), "h", SYSTEM)
    b, _ = create_order(context, new_order((p, 1)), "h", SYSTEM)
    stamped: dict[str, datetime] = {}
    holding = threading.Event()

    def second() -> None:
        holding.wait(timeout=10)
        with unit_of_work(context.db) as uow:
            found = uow.sync_clock.stamp([b.id], uow.now)
            assert found is not None
            stamped["b"] = found
        stamped["b committed"] = datetime.now(UTC)

    other = threading.Thread(target=second)
    other.start()
    with unit_of_work(context.db) as uow:
        found = uow.sync_clock.stamp([a.id], uow.now + timedelta(seconds=5))
        assert found is not None
        stamped["a"] = found
        holding.set()
        time.sleep(0.3)  # the other writer is waiting for the clock meanwhile
        assert "b" not in stamped
        stamped["a committed"] = datetime.now(UTC)
    other.join(timeout=10)
    assert stamped["b"] > stamped["a"]  # after a's, though a's was set 5 s ahead
    assert stamped["b committed"] >= stamped["a committed"]
