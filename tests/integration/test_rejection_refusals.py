"""A refused rejection says why and writes nothing; a repeat makes no second rejection."""

from __future__ import annotations

from fastapi.testclient import TestClient

from reroute.domain.access import Role
from reroute.services.context import Context
from tests.conftest import make_token
from tests.integration.test_rejection_api import (
    footprint,
    item,
    qoh_atp,
    reject,
    reject_shipment,
    rejected_ok,
    rejections,
    step,
    worked_example,
)
from tests.support import (
    Headers,
    create,
    new_id,
    put_product,
    read,
    stocked,
)

# Safety: refusals say why and write nothing --------------------------------------------------


def test_an_unknown_shipment_or_item_is_404_and_writes_nothing(
    client: TestClient, admin: Headers, context: Context
) -> None:
    ex = worked_example(client, admin)
    before = footprint(context)
    for shipment_id in ("999999", "not-a-number"):
        response = reject(client, admin, shipment_id, "1", "DAMAGED")
        assert response.status_code == 404, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        assert shipment_id in response.json()["detail"]
        assert reject_shipment(client, admin, shipment_id, "DAMAGED").status_code == 404
    # The shipment is known, the item is not (order A has item "1" only).
    response = reject(client, admin, item(ex.a)["shipment_id"], "2", "DAMAGED")
    assert response.status_code == 404, response.text
    assert "no item 2" in response.json()["detail"]
    assert footprint(context) == before


def test_an_unknown_reason_or_a_bad_body_is_422_and_writes_nothing(
    client: TestClient, admin: Headers, context: Context
) -> None:
    ex = worked_example(client, admin)
    shipment_id = item(ex.a)["shipment_id"]
    before = footprint(context)
    response = reject(client, admin, shipment_id, "1", "LOST_IN_SPACE")
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert [e["path"] for e in response.json()["errors"]] == ["reason_id"]
    assert "LOST_IN_SPACE" in response.json()["detail"]
    assert reject_shipment(client, admin, shipment_id, "LOST_IN_SPACE").status_code == 422
    for body in ({"reason_id": "DAMAGED", "colour": "red"}, {"comment": "x" * 1001}):
        response = client.post(
            f"/api/v1/shipments/{shipment_id}/items/1/reject", json=body, headers=admin
        )
        assert response.status_code == 422, response.text
    assert footprint(context) == before


def test_a_packed_or_fulfilled_item_cannot_be_rejected_409_and_nothing_is_written(
    client: TestClient, admin: Headers, context: Context
) -> None:
    ex = worked_example(client, admin)
    packed, fulfilled = item(ex.a)["shipment_id"], item(ex.b)["shipment_id"]
    step(client, admin, packed, "start", "pack")
    step(client, admin, fulfilled, "start", "pack", "fulfill")
    before = footprint(context)
    for shipment_id, state in ((packed, "packed"), (fulfilled, "fulfilled")):
        for reason in ("NOT_IN_STOCK", "DAMAGED", None):
            response = reject(client, admin, shipment_id, "1", reason)
            assert response.status_code == 409, response.text
            assert response.headers["content-type"].startswith("application/problem+json")
            detail = response.json()["detail"]
            assert state in detail and "only ready or in-progress" in detail
            whole = reject_shipment(client, admin, shipment_id, reason)
            assert whole.status_code == 409, whole.text
            assert "nothing left to reject" in whole.json()["detail"]
    assert footprint(context) == before


def test_an_item_of_another_shipment_of_the_same_order_is_409_and_writes_nothing(
    client: TestClient, admin: Headers, context: Context
) -> None:
    shirt, hat = put_product(client, admin), put_product(client, admin)
    stocked(client, admin, 1, {shirt: 5})
    stocked(client, admin, 2, {hat: 5})
    order = create(client, admin, [(shirt, 1), (hat, 1)])
    first, second = item(order, "1")["shipment_id"], item(order, "2")["shipment_id"]
    assert first != second
    before = footprint(context)
    response = reject(client, admin, first, "2", "DAMAGED")
    assert response.status_code == 409, response.text
    assert f"no longer in shipment {first}" in response.json()["detail"]
    assert footprint(context) == before


def test_the_same_rejection_again_without_a_key_is_409_saying_it_is_no_longer_there(
    client: TestClient, admin: Headers, context: Context
) -> None:
    ex = worked_example(client, admin)
    shipment_id = item(ex.a)["shipment_id"]
    assert reject(client, admin, shipment_id, "1", "DAMAGED").status_code == 200
    before = footprint(context)
    again = reject(client, admin, shipment_id, "1", "DAMAGED")
    assert again.status_code == 409, again.text
    detail = again.json()["detail"]
    assert f"no longer in shipment {shipment_id}" in detail
    assert "nothing was changed" in detail
    assert reject_shipment(client, admin, shipment_id, "DAMAGED").status_code == 409
    assert footprint(context) == before
    assert len(rejections(client, admin)["items"]) == 1
    assert qoh_atp(client, admin, ex.store, ex.product) == (5, 3)


def test_an_idempotency_key_replays_the_first_answer_and_makes_one_rejection_only(
    client: TestClient, admin: Headers, context: Context
) -> None:
    ex = worked_example(client, admin)
    shipment_id = item(ex.a)["shipment_id"]
    keyed = {**admin, "Idempotency-Key": new_id("key")}
    first = reject(client, keyed, shipment_id, "1", "DAMAGED")
    assert first.status_code == 200, first.text
    assert "idempotent-replayed" not in first.headers
    before = footprint(context)
    second = reject(client, keyed, shipment_id, "1", "DAMAGED")
    assert second.status_code == 200, second.text
    assert second.headers["idempotent-replayed"] == "true"
    assert second.json() == first.json()
    assert footprint(context) == before
    assert len(rejections(client, admin)["items"]) == 1
    assert qoh_atp(client, admin, ex.store, ex.product) == (5, 3)


def test_an_associate_of_another_facility_gets_404_and_one_of_the_facility_may_reject(
    client: TestClient, admin: Headers, context: Context
) -> None:
    ex = worked_example(client, admin)
    shipment_id = item(ex.a)["shipment_id"]
    elsewhere = make_token(context, Role.ASSOCIATE, [ex.other])
    before = footprint(context)
    response = reject(client, elsewhere, shipment_id, "1", "DAMAGED")
    assert response.status_code == 404, response.text
    assert response.json()["detail"] == f"No shipment {shipment_id}."
    assert ex.store not in response.text
    assert reject_shipment(client, elsewhere, shipment_id, "DAMAGED").status_code == 404
    assert footprint(context) == before

    at_store = make_token(context, Role.ASSOCIATE, [ex.store])
    answer = rejected_ok(client, at_store, ex.a, reason_id="DAMAGED")
    assert answer["routed"][0]["facility_id"] == ex.other
    (row,) = rejections(client, admin)["items"]
    creator = read(client, admin, ex.a["order_id"])["history"][0]["actor"]
    assert row["actor"] != creator  # the associate, not the admin who created the order
