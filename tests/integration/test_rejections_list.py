"""GET /api/v1/rejections: newest first, filtered, paged, and counted over 24 hours and 7 days."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from reroute.domain.access import Role
from reroute.services.context import Context
from reroute.storage import tables
from reroute.storage.unit_of_work import unit_of_work
from tests.conftest import make_token
from tests.integration.test_rejection_api import rejected_ok, rejections
from tests.support import (
    Headers,
    create,
    put_product,
    read,
    stocked,
)

# GET /api/v1/rejections ------------------------------------------------------------------------


def set_created_at(context: Context, order_id: str, when: datetime) -> None:
    """Age the rejection records of one order (as if they were made at `when`)."""
    t = tables.rejections
    with unit_of_work(context.db) as uow:
        uow.conn.execute(t.update().where(t.c.order_id == order_id).values(created_at=when))


def test_rejections_are_listed_newest_first_and_filtered_by_facility_reason_and_product(
    client: TestClient, admin: Headers, context: Context
) -> None:
    shirt, hat = put_product(client, admin), put_product(client, admin)
    north = stocked(client, admin, 1, {shirt: 5, hat: 5})
    shirts = [create(client, admin, [(shirt, 1)]) for _ in range(2)]
    hats = [create(client, admin, [(hat, 1)])]
    south = stocked(client, admin, 50, {shirt: 5, hat: 5})
    rejected_ok(client, admin, shirts[0], reason_id="DAMAGED")
    rejected_ok(client, admin, hats[0], reason_id="MISMATCH")
    rejected_ok(client, admin, shirts[1], reason_id="DAMAGED")
    moved = read(client, admin, shirts[1]["order_id"])  # now at the south store
    rejected_ok(client, admin, moved, reason_id="WORN_DISPLAY")

    every = rejections(client, admin)["items"]
    assert [(r["order_id"], r["facility_id"]) for r in every] == [
        (shirts[1]["order_id"], south),
        (shirts[1]["order_id"], north),
        (hats[0]["order_id"], north),
        (shirts[0]["order_id"], north),
    ]
    ids = [r["id"] for r in every]
    assert ids == sorted(ids, reverse=True)

    def orders_of(headers: Headers = admin, **params: Any) -> list[str]:
        return [r["order_id"] for r in rejections(client, headers, **params)["items"]]

    assert orders_of(facility_id=south) == [shirts[1]["order_id"]]
    assert orders_of(reason_id="DAMAGED") == [shirts[1]["order_id"], shirts[0]["order_id"]]
    assert orders_of(product_id=hat) == [hats[0]["order_id"]]
    assert orders_of(facility_id=north, product_id=shirt) == [
        shirts[1]["order_id"],
        shirts[0]["order_id"],
    ]
    assert orders_of(reason_id="NOT_IN_STOCK") == []
    assert orders_of(limit=1) == [shirts[1]["order_id"]]
    first = rejections(client, admin, limit=2)
    assert [r["id"] for r in first["items"]] == ids[:2]
    rest = rejections(client, admin, limit=2, cursor=first["next_cursor"])
    assert [r["order_id"] for r in rest["items"]] == [hats[0]["order_id"], shirts[0]["order_id"]]
    assert rest["next_cursor"] is None
    assert rest["last_7_days"] == first["last_7_days"]

    # An associate reads their own facility's rejections and counts only.
    at_south = make_token(context, Role.ASSOCIATE, [south])
    assert orders_of(at_south) == [shirts[1]["order_id"]]
    assert rejections(client, at_south)["last_24_hours"]["by_facility"] == {south: 1}
    refused = client.get("/api/v1/rejections", params={"facility_id": north}, headers=at_south)
    assert refused.status_code == 403


def test_rejections_are_filtered_by_time_and_counted_over_24_hours_and_7_days(
    client: TestClient, admin: Headers, context: Context
) -> None:
    shirt, hat = put_product(client, admin), put_product(client, admin)
    north = stocked(client, admin, 1, {shirt: 5, hat: 5})
    today = [create(client, admin, [(shirt, 1)]) for _ in range(2)]
    old_hat = create(client, admin, [(hat, 1)])
    ancient = create(client, admin, [(hat, 1)])
    south = stocked(client, admin, 50, {shirt: 5, hat: 5})
    for order in today:
        rejected_ok(client, admin, order, reason_id="DAMAGED")
    rejected_ok(client, admin, old_hat, reason_id="MISMATCH")
    rejected_ok(client, admin, ancient, reason_id="MISMATCH")
    rejected_ok(client, admin, read(client, admin, today[0]["order_id"]))  # no reason
    now = datetime.now(UTC)
    set_created_at(context, old_hat["order_id"], now - timedelta(days=3))
    set_created_at(context, ancient["order_id"], now - timedelta(days=10))

    shown = rejections(client, admin)
    assert shown["last_24_hours"] == {
        "by_facility": {north: 2, south: 1},
        "by_reason": {"DAMAGED": 2, "": 1},
        "by_product": {shirt: 3},
    }
    assert shown["last_7_days"] == {
        "by_facility": {north: 3, south: 1},
        "by_reason": {"DAMAGED": 2, "MISMATCH": 1, "": 1},
        "by_product": {shirt: 3, hat: 1},
    }

    def orders_of(**params: Any) -> Counter[str]:
        return Counter(r["order_id"] for r in rejections(client, admin, **params)["items"])

    since = (now - timedelta(days=5)).isoformat()
    until = (now - timedelta(days=1)).isoformat()
    assert orders_of(since=since) == Counter(
        [today[0]["order_id"], today[0]["order_id"], today[1]["order_id"], old_hat["order_id"]]
    )
    assert orders_of(until=until) == Counter([old_hat["order_id"], ancient["order_id"]])
    assert orders_of(since=since, until=until) == Counter([old_hat["order_id"]])
    assert orders_of(since=since, reason_id="MISMATCH", product_id=hat) == Counter(
        [old_hat["order_id"]]
    )
