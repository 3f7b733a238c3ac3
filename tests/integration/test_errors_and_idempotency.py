"""Every error is problem+json a person can act on; a refused request writes nothing;
`Idempotency-Key` makes a repeated write harmless."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from reroute.domain.access import Role
from reroute.services.context import Context
from reroute.storage.tables import idempotency_keys, metadata
from tests.conftest import make_token
from tests.support import (
    count_stock,
    facility_body,
    new_id,
    order_body,
    product_body,
    put_facility,
    put_product,
)


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert {"type", "title", "status", "detail"} <= body.keys()
    assert body["status"] == status
    assert isinstance(body["title"], str) and body["title"]
    assert isinstance(body["detail"], str) and body["detail"]
    return body


def row_counts(context: Context) -> dict[str, int]:
    """Rows in every table: what a refused request must leave as it was."""
    with context.db.transaction(write=False) as conn:
        return {
            t.name: int(conn.execute(select(func.count()).select_from(t)).scalar_one())
            for t in metadata.sorted_tables
        }


Request = Callable[[TestClient, dict[str, str], dict[str, Any]], Any]

ERRORS: list[tuple[str, int, Request]] = [
    ("no token", 401, lambda c, admin, setup: c.get("/api/v1/facilities")),
    (
        "bad token",
        401,
        lambda c, admin, setup: c.get("/api/v1/facilities", headers={"Authorization": "Bearer x"}),
    ),
    (
        "role",
        403,
        lambda c, admin, setup: c.patch(
            "/api/v1/settings", json={"mfg_id": "1"}, headers=setup["integration"]
        ),
    ),
    (
        "unknown facility",
        404,
        lambda c, admin, setup: c.get(f"/api/v1/facilities/{new_id('F')}", headers=admin),
    ),
    ("unknown route", 404, lambda c, admin, setup: c.get("/api/v1/nowhere", headers=admin)),
    ("method", 405, lambda c, admin, setup: c.delete("/api/v1/facilities", headers=admin)),
    (
        "order conflict",
        409,
        lambda c, admin, setup: c.post(
            "/api/v1/orders",
            json={**setup["order"], "customer": {"name": "Bob", "email": "bob@example.com"}},
            headers=admin,
        ),
    ),
    (
        "schema",
        422,
        lambda c, admin, setup: c.put(
            f"/api/v1/facilities/{new_id('F')}", json={"kind": "moon"}, headers=admin
        ),
    ),
    (
        "broken json",
        422,
        lambda c, admin, setup: c.put(
            f"/api/v1/facilities/{new_id('F')}",
            content=b'{"name": ',
            headers={**admin, "content-type": "application/json"},
        ),
    ),
    (
        "reference",
        422,
        lambda c, admin, setup: c.post(
            "/api/v1/orders", json=order_body([(new_id("P"), 1)]), headers=admin
        ),
    ),
    (
        "idempotency key too long",
        422,
        lambda c, admin, setup: c.post(
            "/api/v1/orders", json={}, headers={**admin, "Idempotency-Key": "k" * 201}
        ),
    ),
]


def test_every_error_answer_is_problem_json_with_type_title_status_and_detail(
    client: TestClient, admin: dict[str, str], context: Context, subtests: pytest.Subtests
) -> None:
    product = put_product(client, admin)
    order = order_body([(product, 1)])
    assert client.post("/api/v1/orders", json=order, headers=admin).status_code == 201
    setup: dict[str, Any] = {
        "integration": make_token(context, Role.INTEGRATION),
        "order": order,
    }
    before = row_counts(context)
    for name, status, send in ERRORS:
        with subtests.test(name):
            body = assert_problem(send(client, admin, setup), status)
            assert body["type"] == "about:blank"
            assert row_counts(context) == before


def test_a_validation_error_lists_every_bad_field_with_a_message(
    client: TestClient, admin: dict[str, str]
) -> None:
    body = facility_body(latitude=91, longitude=-200, kind="moon", extra=1)
    response = client.put(f"/api/v1/facilities/{new_id('F')}", json=body, headers=admin)
    problem = assert_problem(response, 422)
    assert sorted(e["path"] for e in problem["errors"]) == [
        "extra",
        "kind",
        "latitude",
        "longitude",
    ]
    assert all(e["message"] for e in problem["errors"])
    assert "latitude" in problem["detail"]


# A refused request writes nothing ---------------------------------------------------------


def test_a_refused_order_leaves_no_order_item_or_history_row(
    client: TestClient, admin: dict[str, str], context: Context
) -> None:
    known = put_product(client, admin)
    before = row_counts(context)
    body = order_body([(known, 1), (new_id("P"), 1)])
    assert_problem(client.post("/api/v1/orders", json=body, headers=admin), 422)
    assert row_counts(context) == before
    assert client.get(f"/api/v1/orders/{body['order_id']}", headers=admin).status_code == 404


def test_a_forbidden_stock_count_leaves_the_level_and_ledger_unchanged(
    client: TestClient, admin: dict[str, str], context: Context
) -> None:
    store, product = put_facility(client, admin), put_product(client, admin)
    count_stock(client, admin, store, product, 6)
    associate = make_token(context, Role.ASSOCIATE, [store])
    before = row_counts(context)
    response = client.put(
        f"/api/v1/facilities/{store}/inventory/{product}",
        json={"quantity_on_hand": 0},
        headers=associate,
    )
    assert_problem(response, 403)
    assert row_counts(context) == before
    level = client.get(f"/api/v1/facilities/{store}/inventory/{product}", headers=admin).json()
    assert (level["quantity_on_hand"], level["available_to_promise"]) == (6, 6)


# Input the database could not hold is refused, never a 500 ------------------------------


UNSTORABLE: list[tuple[str, str, dict[str, Any], str]] = [
    ("PUT", f"/api/v1/facilities/{new_id('F')}", facility_body(name="Store\x00 1"), "name"),
    ("PUT", f"/api/v1/products/{new_id('P')}", product_body(name="Shirt\x00"), "name"),
    (
        "PUT",
        f"/api/v1/products/{new_id('P')}",
        product_body(image_url="https://images.example.com/" + "a" * 1000),
        "image_url",
    ),
    (
        "POST",
        "/api/v1/orders",
        order_body([(new_id("P"), 1)], customer={"name": "Ada\x00", "email": "a@example.com"}),
        "customer.name",
    ),
    (
        "POST",
        "/api/v1/orders",
        order_body([(new_id("P"), 1)], ship_to={"city": "\x00", "latitude": 1, "longitude": 1}),
        "ship_to.city",
    ),
    ("POST", "/api/v1/tokens", {"role": "integration", "label": "l" * 201}, "label"),
    ("POST", "/api/v1/tokens", {"role": "integration", "label": "a\x00b"}, "label"),
]


def test_text_the_database_cannot_store_answers_422_at_its_path(
    client: TestClient, admin: dict[str, str], context: Context, subtests: pytest.Subtests
) -> None:
    before = row_counts(context)
    for method, path, body, error_path in UNSTORABLE:
        with subtests.test(path=path, field=error_path):
            response = client.request(method, path, json=body, headers=admin)
            problem = assert_problem(response, 422)
            assert error_path in [e["path"] for e in problem["errors"]]
            assert row_counts(context) == before


def test_a_store_search_with_a_nul_character_answers_422(
    client: TestClient, admin: dict[str, str]
) -> None:
    store = put_facility(client, admin)
    response = client.get(f"/api/v1/facilities/{store}/shipments?q=a%00b", headers=admin)
    assert_problem(response, 422)


def test_a_request_id_header_is_kept_in_history_only_when_it_fits(
    client: TestClient, admin: dict[str, str]
) -> None:
    product = put_product(client, admin)
    for sent, kept in (("req-42", True), ("r" * 65, False), ("bad\tid", False)):
        body = order_body([(product, 1)])
        response = client.post("/api/v1/orders", json=body, headers={**admin, "X-Request-ID": sent})
        assert response.status_code == 201, response.text
        request_ids = {h["request_id"] for h in response.json()["history"]}
        assert len(request_ids) == 1
        (request_id,) = request_ids
        assert (request_id == sent) is kept
        assert request_id and len(request_id) <= 64


# Idempotency-Key --------------------------------------------------------------------------


def test_a_repeated_order_with_the_same_key_answers_identically_and_says_it_was_replayed(
    client: TestClient, admin: dict[str, str], context: Context
) -> None:
    product = put_product(client, admin)
    body = order_body([(product, 2)])
    headers = {**admin, "Idempotency-Key": new_id("key")}
    first = client.post("/api/v1/orders", json=body, headers=headers)
    assert first.status_code == 201
    assert "idempotent-replayed" not in first.headers
    written = row_counts(context)
    again = client.post("/api/v1/orders", json=body, headers=headers)
    assert again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert again.headers["content-type"] == "application/json"
    assert again.content == first.content
    assert row_counts(context) == written


def test_the_same_key_with_another_body_answers_422_and_creates_nothing(
    client: TestClient, admin: dict[str, str], context: Context
) -> None:
    product = put_product(client, admin)
    headers = {**admin, "Idempotency-Key": new_id("key")}
    first = order_body([(product, 1)])
    assert client.post("/api/v1/orders", json=first, headers=headers).status_code == 201
    written = row_counts(context)
    second = order_body([(product, 1)])
    problem = assert_problem(client.post("/api/v1/orders", json=second, headers=headers), 422)
    assert "Idempotency-Key" in problem["detail"]
    assert row_counts(context) == written
    assert client.get(f"/api/v1/orders/{second['order_id']}", headers=admin).status_code == 404


def test_the_same_key_on_another_path_answers_422(
    client: TestClient, admin: dict[str, str]
) -> None:
    headers = {**admin, "Idempotency-Key": new_id("key")}
    body = product_body()
    assert (
        client.put(f"/api/v1/products/{new_id('P')}", json=body, headers=headers).status_code == 201
    )
    other = new_id("P")
    assert_problem(client.put(f"/api/v1/products/{other}", json=body, headers=headers), 422)
    assert client.get(f"/api/v1/products/{other}", headers=admin).status_code == 404


def test_a_key_belongs_to_its_caller(
    client: TestClient, admin: dict[str, str], context: Context
) -> None:
    product = put_product(client, admin)
    key = new_id("key")
    body = order_body([(product, 1)])
    assert (
        client.post(
            "/api/v1/orders", json=body, headers={**admin, "Idempotency-Key": key}
        ).status_code
        == 201
    )
    other = {**make_token(context, Role.INTEGRATION), "Idempotency-Key": key}
    response = client.post("/api/v1/orders", json=body, headers=other)
    # Not the first caller's answer replayed: the order id's own idempotency answers.
    assert response.status_code == 200
    assert "idempotent-replayed" not in response.headers


def test_a_repeated_stock_count_with_the_same_key_has_no_second_effect(
    client: TestClient, admin: dict[str, str], context: Context
) -> None:
    store, product = put_facility(client, admin), put_product(client, admin)
    path = f"/api/v1/facilities/{store}/inventory/{product}"
    keyed = {**admin, "Idempotency-Key": new_id("key")}
    first = client.put(path, json={"quantity_on_hand": 5}, headers=keyed)
    assert first.status_code == 200
    count_stock(client, admin, store, product, 3)  # a later count, without a key
    again = client.put(path, json={"quantity_on_hand": 5}, headers=keyed)
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    level = client.get(path, headers=admin).json()
    assert level["quantity_on_hand"] == 3
    ledger = client.get(path + "/ledger", headers=admin).json()["items"]
    assert [r["qoh_diff"] for r in ledger] == [-2, 5]


def key_rows(context: Context) -> int:
    with context.db.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(idempotency_keys)).scalar_one())


def test_a_refused_request_keeps_nothing_under_its_key_and_a_repeat_is_judged_again(
    client: TestClient, admin: dict[str, str], context: Context
) -> None:
    headers = {**admin, "Idempotency-Key": new_id("key")}
    facility_id = new_id("F")
    path = f"/api/v1/facilities/{facility_id}"
    first = client.put(path, json=facility_body(latitude=99), headers=headers)
    assert_problem(first, 422)
    assert key_rows(context) == 0
    again = client.put(path, json=facility_body(latitude=99), headers=headers)
    assert_problem(again, 422)
    assert "idempotent-replayed" not in again.headers
    fixed = client.put(path, json=facility_body(), headers=headers)
    assert fixed.status_code in (200, 201), fixed.text  # the refusal did not bind the key
    assert key_rows(context) == 1


@pytest.mark.parametrize("path", ["/api/v1/facilities/a%00b", "/api/v1/facilities/" + "f" * 600])
def test_a_refused_answer_on_an_odd_path_writes_no_key(
    client: TestClient, admin: dict[str, str], context: Context, path: str
) -> None:
    headers = {**admin, "Idempotency-Key": new_id("key")}
    body = facility_body()
    first = client.put(path, json=body, headers=headers)
    assert_problem(first, 422)
    again = client.put(path, json=body, headers=headers)
    assert_problem(again, 422)
    assert "idempotent-replayed" not in again.headers
    assert key_rows(context) == 0


def test_a_request_refused_for_want_of_a_token_stores_nothing_under_its_key(
    client: TestClient, admin: dict[str, str], context: Context
) -> None:
    key = new_id("key")
    path = f"/api/v1/products/{new_id('P')}"
    assert_problem(client.put(path, json=product_body(), headers={"Idempotency-Key": key}), 401)
    with context.db.transaction(write=False) as conn:
        stored = conn.execute(select(func.count()).select_from(idempotency_keys)).scalar_one()
    assert stored == 0
    # Someone else without a token, same key, another body: still told to sign in.
    other = client.put(path, json=product_body(), headers={"Idempotency-Key": key})
    assert_problem(other, 401)
