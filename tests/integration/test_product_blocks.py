"""Blocks and holds on both databases, with the database's clock moved on: a product blocked at
a facility (by an admin or that store's associate) is not routed there until the block ends or
is lifted; a NOT_IN_STOCK rejection holds the product away from the store 24 hours, which a
feed's stock count does not lift and the store's cycle count does; the order history says why an
item went elsewhere; refusals write nothing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from reroute.domain.access import Role
from reroute.domain.clock import utcnow
from reroute.services.context import Context
from tests.conftest import make_token
from tests.integration.test_rejection_api import footprint, rejected_ok
from tests.support import Headers, count_stock, create, new_id, put_product, read, stocked


@pytest.fixture
def later(context: Context) -> Iterator[Any]:
    def move(hours: float) -> None:
        shift = timedelta(hours=hours)
        context.db.clock = lambda: utcnow() + shift

    yield move
    context.db.clock = utcnow


def placed_at(client: TestClient, admin: Headers, product: str) -> tuple[str | None, str]:
    """Where a new order of one unit goes, and the note of its assignment."""
    order = create(client, admin, [(product, 1)])
    [item] = order["items"]
    notes = [h["note"] for h in read(client, admin, order["order_id"])["history"]]
    return item["facility_id"], " | ".join(n for n in notes if n)


def block(client: TestClient, headers: Headers, facility: str, product: str, **body: Any) -> Any:
    return client.put(f"/api/v1/facilities/{facility}/blocks/{product}", json=body, headers=headers)


def test_a_block_keeps_routing_away_until_it_is_lifted_and_the_history_says_so(
    client: TestClient, admin: Headers, context: Context
) -> None:
    product = put_product(client, admin)
    near = stocked(client, admin, 1, {product: 5}, name="Elm Street")
    far = stocked(client, admin, 30, {product: 5})
    associate = make_token(context, Role.ASSOCIATE, [near])
    made = block(client, associate, near, product, days=3, note="display units only")
    assert made.status_code == 201, made.text
    assert (made.json()["kind"], made.json()["note"]) == ("block", "display units only")
    again = block(client, associate, near, product, days=2, note="two days")
    assert again.status_code == 200, again.text
    listed = client.get(f"/api/v1/facilities/{near}/blocks", headers=associate).json()["items"]
    assert [(b["product_id"], b["kind"], b["note"]) for b in listed] == [
        (product, "block", "two days")
    ]
    facility, note = placed_at(client, admin, product)
    assert facility == far
    assert "not sent to Elm Street: blocked there until" in note and "(two days)" in note
    lifted = client.delete(f"/api/v1/facilities/{near}/blocks/{product}", headers=associate)
    assert lifted.status_code == 204, lifted.text
    assert client.get(f"/api/v1/facilities/{near}/blocks", headers=admin).json()["items"] == []
    assert placed_at(client, admin, product)[0] == near
    gone = client.delete(f"/api/v1/facilities/{near}/blocks/{product}", headers=admin)
    assert gone.status_code == 204  # a repeat does nothing more


def test_a_block_ends_by_itself(
    client: TestClient, admin: Headers, context: Context, later: Any
) -> None:
    product = put_product(client, admin)
    near = stocked(client, admin, 1, {product: 5})
    stocked(client, admin, 30, {product: 5})
    until = (utcnow() + timedelta(hours=5)).isoformat()
    assert block(client, admin, near, product, until=until).status_code == 201
    later(4)
    assert placed_at(client, admin, product)[0] != near
    later(6)
    assert placed_at(client, admin, product)[0] == near


def test_who_may_block_and_what_a_refusal_writes(
    client: TestClient, admin: Headers, context: Context
) -> None:
    product = put_product(client, admin)
    near = stocked(client, admin, 1, {product: 5})
    other = stocked(client, admin, 2, {product: 5})
    before = footprint(context)
    for headers, status in (
        (make_token(context, Role.ASSOCIATE, [other]), 403),
        (make_token(context, Role.INTEGRATION), 403),
    ):
        assert block(client, headers, near, product, days=1).status_code == status
    for body in (
        {},
        {"days": 1, "until": (utcnow() + timedelta(days=1)).isoformat()},
        {"days": 0},
        {"days": 366},
        {"until": (utcnow() - timedelta(hours=1)).isoformat()},
        {"until": (utcnow() + timedelta(days=400)).isoformat()},
        {"until": "2030-01-01T00:00:00"},  # no zone
        {"days": 1, "note": "x" * 501},
        {"days": 1, "note": "a\x00b"},
        {"days": 1, "colour": "red"},
    ):
        refused = block(client, admin, near, product, **body)
        assert refused.status_code == 422, (body, refused.text)
        assert refused.headers["content-type"] == "application/problem+json"
    assert block(client, admin, near, new_id("P"), days=1).status_code == 404
    assert block(client, admin, new_id("F"), product, days=1).status_code == 404
    assert client.get(f"/api/v1/facilities/{near}/blocks", headers=admin).json()["items"] == []
    assert footprint(context) == before


def test_a_not_in_stock_rejection_holds_the_product_away_a_day_whatever_a_feed_says(
    client: TestClient, admin: Headers, context: Context, later: Any
) -> None:
    product = put_product(client, admin)
    near = stocked(client, admin, 1, {product: 5}, name="Elm Street")
    far = stocked(client, admin, 30, {product: 50})
    order = create(client, admin, [(product, 1)])
    rejected_ok(client, admin, order, reason_id="NOT_IN_STOCK")
    [hold] = client.get(f"/api/v1/facilities/{near}/blocks", headers=admin).json()["items"]
    assert (hold["kind"], hold["reason_id"]) == ("hold", "NOT_IN_STOCK")
    # The store's POS feed restores the phantom units: routing still keeps away.
    count_stock(client, admin, near, product, 5)
    facility, note = placed_at(client, admin, product)
    assert facility == far
    assert "not sent to Elm Street: held after NOT_IN_STOCK until" in note
    later(23)
    assert placed_at(client, admin, product)[0] == far
    later(25)  # the hold is over
    assert placed_at(client, admin, product)[0] == near


def test_the_store_s_cycle_count_lifts_a_hold_and_another_reason_holds_nothing(
    client: TestClient, admin: Headers
) -> None:
    product = put_product(client, admin)
    near = stocked(client, admin, 1, {product: 5})
    stocked(client, admin, 30, {product: 50})
    rejected_ok(client, admin, create(client, admin, [(product, 1)]), reason_id="NOT_IN_STOCK")
    counted = client.put(
        f"/api/v1/facilities/{near}/inventory/{product}",
        json={"quantity_on_hand": 4, "source": "cycle_count"},
        headers=admin,
    )
    assert counted.status_code == 200, counted.text
    assert client.get(f"/api/v1/facilities/{near}/blocks", headers=admin).json()["items"] == []
    assert placed_at(client, admin, product)[0] == near
    # A damaged unit says nothing about the rest: no hold.
    rejected_ok(client, admin, create(client, admin, [(product, 1)]), reason_id="DAMAGED")
    assert client.get(f"/api/v1/facilities/{near}/blocks", headers=admin).json()["items"] == []
    bad = client.put(
        f"/api/v1/facilities/{near}/inventory/{product}",
        json={"quantity_on_hand": 4, "source": "guess"},
        headers=admin,
    )
    assert bad.status_code == 422


def test_a_reason_s_hold_hours_are_the_admin_s_to_set(client: TestClient, admin: Headers) -> None:
    reasons = client.get("/api/v1/rejection-reasons", headers=admin).json()
    damaged = next(r for r in reasons if r["reason_id"] == "DAMAGED")
    body = {k: v for k, v in damaged.items() if k not in ("reason_id", "etag")}
    saved = client.put(
        "/api/v1/rejection-reasons/DAMAGED", json={**body, "hold_hours": 6}, headers=admin
    )
    assert saved.status_code == 200, saved.text
    assert saved.json()["hold_hours"] == 6
    for hours in (0, 8761, "x"):
        refused = client.put(
            "/api/v1/rejection-reasons/DAMAGED", json={**body, "hold_hours": hours}, headers=admin
        )
        assert refused.status_code == 422, hours
    product = put_product(client, admin)
    near = stocked(client, admin, 1, {product: 5})
    stocked(client, admin, 30, {product: 5})
    rejected_ok(client, admin, create(client, admin, [(product, 1)]), reason_id="DAMAGED")
    [hold] = client.get(f"/api/v1/facilities/{near}/blocks", headers=admin).json()["items"]
    assert hold["reason_id"] == "DAMAGED"
