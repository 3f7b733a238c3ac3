"""What an associate sees of a split order; what lies beyond answers 404, logged, unchanged."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from reroute.domain.access import SYSTEM, Role
from reroute.services import tokens
from reroute.services.context import Context
from reroute.storage.tables import outbox_events
from tests.conftest import make_token
from tests.integration.test_access import (
    assert_refused,
    bearer,
    order_at,
    read_order,
)
from tests.pages_support import cheap_hashes, person, post_form, sign_in, text_of
from tests.pages_support import two_stores as pages_two_stores
from tests.support import (
    count_stock,
    new_id,
    order_body,
    put_facility,
    put_product,
)

# What an associate sees, and what lies beyond -------------------------------------------------


@pytest.fixture
def split_order(client: TestClient, admin: dict[str, str]) -> dict[str, Any]:
    """One order in two shipments: item 1 at store A, item 2 at store B, each holding one
    product only; B then rejects its item with a comment."""
    shirt, hat = put_product(client, admin), put_product(client, admin)
    a, b = put_facility(client, admin), put_facility(client, admin)
    count_stock(client, admin, a, shirt, 5)
    count_stock(client, admin, b, hat, 1)
    body = order_body([(shirt, 1), (hat, 1)])
    created = client.post("/api/v1/orders", json=body, headers=admin)
    assert created.status_code == 201, created.text
    items = {i["item_id"]: i for i in created.json()["items"]}
    assert (items["1"]["facility_id"], items["2"]["facility_id"]) == (a, b)
    comment = f"box crushed {new_id('c')}"
    rejected = client.post(
        f"/api/v1/shipments/{items['2']['shipment_id']}/items/2/reject",
        json={"reason_id": "DAMAGED", "comment": comment},
        headers=admin,
    )
    assert rejected.status_code == 200, rejected.text
    return {
        "order_id": body["order_id"],
        "a": a,
        "b": b,
        "shipment_a": items["1"]["shipment_id"],
        "shipment_b": items["2"]["shipment_id"],
        "comment": comment,
    }


def test_in_a_split_order_an_associate_sees_their_shipment_and_nothing_of_the_other(
    client: TestClient, admin: dict[str, str], context: Context, split_order: dict[str, Any]
) -> None:
    s = split_order
    everything = read_order(client, admin, s["order_id"])
    assert s["comment"] in str(everything["history"])
    at_a = read_order(client, make_token(context, Role.ASSOCIATE, [s["a"]]), s["order_id"])
    assert [i["item_id"] for i in at_a["items"]] == ["1"]
    assert [sh["shipment_id"] for sh in at_a["shipments"]] == [s["shipment_a"]]
    assert at_a["history"]
    assert all(
        h["facility_id"] == s["a"] or h["shipment_id"] == s["shipment_a"] for h in at_a["history"]
    )
    text = str(at_a)
    assert s["comment"] not in text and s["b"] not in text, at_a
    assert s["shipment_b"] not in [h["shipment_id"] for h in at_a["history"]]
    assert {k: v for k, v in at_a.items() if k not in ("items", "shipments", "history")} == {
        k: v for k, v in everything.items() if k not in ("items", "shipments", "history")
    }

    at_b = read_order(client, make_token(context, Role.ASSOCIATE, [s["b"]]), s["order_id"])
    assert at_b["items"] == []  # the rejected item left B; B still sees what it did
    assert [sh["shipment_id"] for sh in at_b["shipments"]] == [s["shipment_b"]]
    assert s["comment"] in str(at_b["history"]) and s["a"] not in str(at_b)
    both = make_token(context, Role.ASSOCIATE, [s["a"], s["b"]])
    assert len(read_order(client, both, s["order_id"])["shipments"]) == 2


def test_another_facilitys_shipment_or_order_answers_404_as_an_absent_one_and_is_logged(
    client: TestClient,
    context: Context,
    split_order: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    s = split_order
    elsewhere = put_facility(client, make_token(context, Role.ADMIN))
    outsider_token, outsider_id = tokens.create_token(
        context, Role.ASSOCIATE, [elsewhere], "outsider", SYSTEM
    )
    outsider = bearer(outsider_token)
    at_a = make_token(context, Role.ASSOCIATE, [s["a"]])
    for headers, path, unknown in [
        (at_a, f"/api/v1/shipments/{s['shipment_b']}", "/api/v1/shipments/987654321"),
        (outsider, f"/api/v1/shipments/{s['shipment_a']}", "/api/v1/shipments/987654321"),
        (outsider, f"/api/v1/orders/{s['order_id']}", f"/api/v1/orders/{new_id('O')}"),
    ]:
        refused, absent = client.get(path, headers=headers), client.get(unknown, headers=headers)
        assert_refused(refused, 404)
        assert_refused(absent, 404)
        target = path.rsplit("/", 1)[1]
        assert refused.json()["detail"] == absent.json()["detail"].replace(
            unknown.rsplit("/", 1)[1], target
        )
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="reroute.access"):
        client.get(f"/api/v1/shipments/{s['shipment_a']}", headers=outsider)
        client.post(f"/api/v1/shipments/{s['shipment_a']}/customer-care", headers=outsider)
        client.get("/api/v1/tokens", headers=outsider)
        client.get("/api/v1/facilities")
        client.get("/api/v1/facilities", headers=bearer("rr_not-a-token"))
    logged = [r.getMessage() for r in caplog.records if r.name == "reroute.access"]
    assert len(logged) == 5, logged
    who = f"token:{outsider_id}"
    assert who in logged[0] and f"shipment {s['shipment_a']}" in logged[0]
    assert who in logged[1] and "customer care" in logged[1]
    assert who in logged[2] and "list tokens" in logged[2]
    assert "anonymous" in logged[3] and "GET /api/v1/facilities" in logged[3]
    assert "unknown token" in logged[4] and "rr_not-a-token" not in logged[4]


def test_a_revoked_token_is_named_by_its_id_in_the_refusal_log(
    client: TestClient, admin: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    created = client.post("/api/v1/tokens", json={"role": "integration"}, headers=admin).json()
    assert client.delete(f"/api/v1/tokens/{created['token_id']}", headers=admin).status_code == 204
    with caplog.at_level(logging.WARNING, logger="reroute.access"):
        assert_refused(client.get("/api/v1/facilities", headers=bearer(created["token"])), 401)
    (line,) = [r.getMessage() for r in caplog.records if r.name == "reroute.access"]
    assert f"token:{created['token_id']} (revoked)" in line
    assert created["token"] not in line


def test_another_facilitys_customer_care_answers_404_and_changes_nothing(
    client: TestClient, admin: dict[str, str], context: Context, near_and_far: tuple[str, str, str]
) -> None:
    a, b, product = near_and_far
    order = order_at(client, admin, a, product)
    shipment_id = order["items"][0]["shipment_id"]
    at_b = make_token(context, Role.ASSOCIATE, [b])
    before = read_order(client, admin, order["order_id"])
    with context.db.transaction(write=False) as conn:
        events = conn.execute(select(func.count()).select_from(outbox_events)).scalar_one()
    response = client.post(f"/api/v1/shipments/{shipment_id}/customer-care", headers=at_b)
    assert_refused(response, 404)
    assert response.json()["detail"] == f"No shipment {shipment_id}."
    assert read_order(client, admin, order["order_id"]) == before
    with context.db.transaction(write=False) as conn:
        assert conn.execute(select(func.count()).select_from(outbox_events)).scalar_one() == events


@pytest.mark.usefixtures(cheap_hashes.__name__)
def test_on_the_store_pages_another_facilitys_shipment_is_a_404_and_nothing_changes(
    client: TestClient, admin: dict[str, str], context: Context
) -> None:
    store = pages_two_stores(client, admin, orders=1)
    theirs = put_facility(client, admin)
    count_stock(client, admin, theirs, store.product, 5)
    order = read_order(client, admin, store.orders[0])
    shipment_id = order["items"][0]["shipment_id"]  # at store A
    sign_in(client, person(context, Role.ASSOCIATE, [theirs]))
    own_list = client.get(f"/store/{theirs}/open")
    assert own_list.status_code == 200
    base = f"/store/{theirs}/shipments/{shipment_id}"
    for answer in (
        post_form(client, own_list, f"{base}/start"),
        client.get(f"{base}/items/1/report"),
        post_form(client, own_list, f"{base}/items/1/report", reason_id="DAMAGED"),
    ):
        assert answer.status_code == 404, answer.text
        assert f"No shipment {shipment_id}." in text_of(answer)
        assert store.store_a not in answer.text
    assert read_order(client, admin, store.orders[0]) == order
