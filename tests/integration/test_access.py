"""Who may do what: tokens, roles, an associate's facilities, the token command, settings."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from reroute.domain.access import Role
from reroute.services.context import Context
from reroute.storage.tables import api_tokens
from tests.conftest import MFG_ID, make_token
from tests.support import (
    facility_body,
    new_id,
    order_body,
    product_body,
    put_facility,
)

ANYTHING = [
    ("GET", "/api/v1/facilities"),
    ("GET", "/api/v1/settings"),
    ("GET", f"/api/v1/orders/{new_id('O')}"),
    ("GET", f"/api/v1/facilities/{new_id('F')}/shipments"),
    ("PUT", f"/api/v1/products/{new_id('P')}"),
    ("POST", "/api/v1/orders"),
    ("PATCH", "/api/v1/settings"),
    ("DELETE", "/api/v1/tokens/1"),
]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def tokens_listed(client: TestClient, admin: dict[str, str]) -> list[Any]:
    """The tokens as listed, without when each was last used (the listing's own token moves)."""
    listed: list[Any] = client.get("/api/v1/tokens", headers=admin).json()
    return [{k: v for k, v in t.items() if k != "last_used_at"} for t in listed]


def assert_refused(response: Any, status: int) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status
    assert body["detail"]


# Tokens -----------------------------------------------------------------------------------


def test_a_request_without_a_token_answers_401_with_a_bearer_challenge(
    client: TestClient, subtests: pytest.Subtests
) -> None:
    for method, path in ANYTHING:
        with subtests.test(method=method, path=path):
            response = client.request(method, path, json={})
            assert_refused(response, 401)
            assert response.headers["www-authenticate"] == "Bearer"
            assert "token" in response.json()["detail"]


def test_a_request_with_a_bad_token_answers_401(
    client: TestClient, admin: dict[str, str], subtests: pytest.Subtests
) -> None:
    real = admin["Authorization"].removeprefix("Bearer ")
    for authorization in [
        "Bearer rr_not-a-real-token",
        "Bearer ",
        f"Bearer {real}x",
        f"Bearer {real[:-1]}",
        "Basic YWRtaW46YWRtaW4=",
        real,
    ]:
        with subtests.test(authorization=authorization):
            response = client.get("/api/v1/facilities", headers={"Authorization": authorization})
            assert_refused(response, 401)
            assert response.headers["www-authenticate"] == "Bearer"


def test_an_admin_creates_a_token_that_works_and_is_stored_only_as_a_hash(
    client: TestClient, admin: dict[str, str], context: Context
) -> None:
    response = client.post(
        "/api/v1/tokens", json={"role": "integration", "label": "loader"}, headers=admin
    )
    assert response.status_code == 201, response.text
    created = response.json()
    token = created["token"]
    assert token.startswith("rr_") and len(token) > 40
    assert (created["role"], created["facilities"]) == ("integration", [])
    assert client.get("/api/v1/facilities", headers=bearer(token)).status_code == 200
    with context.db.transaction(write=False) as conn:
        stored = [dict(r._mapping) for r in conn.execute(select(api_tokens))]
    assert all(token not in str(row.values()) for row in stored)
    listed = client.get("/api/v1/tokens", headers=admin).json()
    mine = [t for t in listed if t["token_id"] == created["token_id"]]
    assert mine[0].pop("created_at")
    mine[0].pop("last_used_at")  # recorded from its second request in this process on
    assert mine == [
        {
            "token_id": created["token_id"],
            "role": "integration",
            "facilities": [],
            "label": "loader",
            "revoked": False,
            "expires_at": None,
            "expired": False,
        }
    ]
    assert all("token" not in t for t in listed)


def test_a_revoked_token_answers_401_and_cannot_be_revoked_twice(
    client: TestClient, admin: dict[str, str]
) -> None:
    created = client.post("/api/v1/tokens", json={"role": "integration"}, headers=admin).json()
    headers = bearer(created["token"])
    assert client.get("/api/v1/facilities", headers=headers).status_code == 200
    revoked = client.delete(f"/api/v1/tokens/{created['token_id']}", headers=admin)
    assert revoked.status_code == 204
    assert_refused(client.get("/api/v1/facilities", headers=headers), 401)
    listed = client.get("/api/v1/tokens", headers=admin).json()
    assert [t["revoked"] for t in listed if t["token_id"] == created["token_id"]] == [True]
    assert_refused(client.delete(f"/api/v1/tokens/{created['token_id']}", headers=admin), 404)


@pytest.mark.parametrize("role", [Role.INTEGRATION, Role.ASSOCIATE])
def test_only_an_admin_creates_lists_or_revokes_tokens(
    client: TestClient, admin: dict[str, str], context: Context, role: Role
) -> None:
    store = put_facility(client, admin)
    headers = make_token(context, role, [store] if role is Role.ASSOCIATE else None)
    victim = client.post("/api/v1/tokens", json={"role": "integration"}, headers=admin).json()
    assert client.get("/api/v1/facilities", headers=headers).status_code == 200  # its use noted
    before = tokens_listed(client, admin)
    assert_refused(client.post("/api/v1/tokens", json={"role": "admin"}, headers=headers), 403)
    assert_refused(client.get("/api/v1/tokens", headers=headers), 403)
    assert_refused(client.delete(f"/api/v1/tokens/{victim['token_id']}", headers=headers), 403)
    assert tokens_listed(client, admin) == before
    assert client.get("/api/v1/facilities", headers=bearer(victim["token"])).status_code == 200


def test_a_token_request_that_does_not_fit_its_role_is_refused_and_creates_nothing(
    client: TestClient, admin: dict[str, str], subtests: pytest.Subtests
) -> None:
    before = tokens_listed(client, admin)
    for body, status in [
        ({"role": "associate"}, 422),
        ({"role": "integration", "facilities": [new_id("F")]}, 422),
        ({"role": "associate", "facilities": [new_id("F")]}, 404),
        ({"role": "superuser"}, 422),
    ]:
        with subtests.test(**body):
            assert_refused(client.post("/api/v1/tokens", json=body, headers=admin), status)
            assert tokens_listed(client, admin) == before


# Roles ------------------------------------------------------------------------------------


def test_an_integration_token_cannot_change_settings(
    client: TestClient, admin: dict[str, str], integration: dict[str, str]
) -> None:
    response = client.patch("/api/v1/settings", json={"mfg_id": "999"}, headers=integration)
    assert_refused(response, 403)
    assert client.get("/api/v1/settings", headers=admin).json()["mfg_id"] == MFG_ID


def test_an_associate_reads_its_own_facility(
    client: TestClient, context: Context, two_stores: tuple[str, str, str]
) -> None:
    a, _, product = two_stores
    associate = make_token(context, Role.ASSOCIATE, [a])
    level = client.get(f"/api/v1/facilities/{a}/inventory/{product}", headers=associate)
    assert level.status_code == 200
    assert level.json()["quantity_on_hand"] == 5
    ledger = client.get(f"/api/v1/facilities/{a}/inventory/{product}/ledger", headers=associate)
    assert ledger.status_code == 200 and len(ledger.json()["items"]) == 1
    shipments = client.get(f"/api/v1/facilities/{a}/shipments", headers=associate)
    assert shipments.status_code == 200
    assert shipments.json() == {"total": 0, "items": [], "next_cursor": None}
    assert client.get(f"/api/v1/facilities/{a}", headers=associate).status_code == 200
    listed = client.get("/api/v1/facilities", headers=associate).json()["items"]
    assert [f["facility_id"] for f in listed] == [a]
    assert client.get(f"/api/v1/products/{product}", headers=associate).status_code == 200


def test_an_associate_is_refused_another_facility(
    client: TestClient,
    context: Context,
    two_stores: tuple[str, str, str],
    subtests: pytest.Subtests,
) -> None:
    a, b, product = two_stores
    associate = make_token(context, Role.ASSOCIATE, [a])
    for path in [
        f"/api/v1/facilities/{b}",
        f"/api/v1/facilities/{b}/inventory/{product}",
        f"/api/v1/facilities/{b}/inventory/{product}/ledger",
        f"/api/v1/facilities/{b}/shipments",
        f"/api/v1/facilities/{b}/shipments?state=packed",
        f"/api/v1/facilities/{new_id('F')}/shipments",
    ]:
        with subtests.test(path=path):
            response = client.get(path, headers=associate)
            assert_refused(response, 403)
            assert "facility" in response.json()["detail"]


def test_an_associate_of_two_facilities_reads_both(
    client: TestClient, context: Context, two_stores: tuple[str, str, str]
) -> None:
    a, b, product = two_stores
    associate = make_token(context, Role.ASSOCIATE, [a, b])
    for store in (a, b):
        path = f"/api/v1/facilities/{store}/inventory/{product}"
        assert client.get(path, headers=associate).status_code == 200
    listed = client.get("/api/v1/facilities", headers=associate).json()["items"]
    assert sorted(f["facility_id"] for f in listed) == sorted([a, b])


def test_an_associate_cannot_load_the_catalog_count_stock_or_create_orders(
    client: TestClient, admin: dict[str, str], context: Context, two_stores: tuple[str, str, str]
) -> None:
    a, _, product = two_stores
    associate = make_token(context, Role.ASSOCIATE, [a])
    new_product, new_store = new_id("P"), new_id("F")
    refused = [
        client.put(f"/api/v1/products/{new_product}", json=product_body(), headers=associate),
        client.put(f"/api/v1/products/{product}", json=product_body(), headers=associate),
        client.put(f"/api/v1/facilities/{new_store}", json=facility_body(), headers=associate),
        client.put(
            f"/api/v1/facilities/{a}/inventory/{product}",
            json={"quantity_on_hand": 0},
            headers=associate,
        ),
        client.post("/api/v1/orders", json=order_body([(product, 1)]), headers=associate),
        client.patch("/api/v1/settings", json={"partial_rejection": False}, headers=associate),
        client.get("/api/v1/settings", headers=associate),
    ]
    for response in refused:
        assert_refused(response, 403)
    assert client.get(f"/api/v1/products/{new_product}", headers=admin).status_code == 404
    assert client.get(f"/api/v1/facilities/{new_store}", headers=admin).status_code == 404
    level = client.get(f"/api/v1/facilities/{a}/inventory/{product}", headers=admin).json()
    assert level["quantity_on_hand"] == 5


# Store actions belong to the facility's associates and to admins --------------------------


def order_at(client: TestClient, admin: dict[str, str], store: str, product: str) -> Any:
    response = client.post("/api/v1/orders", json=order_body([(product, 1)]), headers=admin)
    assert response.status_code == 201, response.text
    order = response.json()
    assert order["items"][0]["facility_id"] == store
    return order


STORE_ACTIONS = [
    ("start", None),
    ("items/1/reject", {"reason_id": "DAMAGED"}),
    ("reject", {"reason_id": "DAMAGED"}),
    ("customer-care", None),
]


def test_an_integration_token_cannot_start_reject_or_hand_a_shipment_to_customer_care(
    client: TestClient,
    admin: dict[str, str],
    integration: dict[str, str],
    near_and_far: tuple[str, str, str],
    subtests: pytest.Subtests,
) -> None:
    a, _, product = near_and_far
    order = order_at(client, admin, a, product)
    shipment_id = order["items"][0]["shipment_id"]
    for action, body in STORE_ACTIONS:
        with subtests.test(action=action):
            path = f"/api/v1/shipments/{shipment_id}/{action}"
            assert_refused(client.post(path, json=body, headers=integration), 403)
    assert read_order(client, admin, order["order_id"]) == order


def test_an_associate_of_the_facility_and_an_admin_do_the_store_actions(
    client: TestClient, admin: dict[str, str], context: Context, near_and_far: tuple[str, str, str]
) -> None:
    a, _, product = near_and_far
    associate = make_token(context, Role.ASSOCIATE, [a])
    for headers in (associate, admin):
        shipment_id = order_at(client, admin, a, product)["items"][0]["shipment_id"]
        for action in ("start", "pack", "fulfill"):
            response = client.post(f"/api/v1/shipments/{shipment_id}/{action}", headers=headers)
            assert response.status_code == 200, response.text


def read_order(client: TestClient, headers: dict[str, str], order_id: str) -> Any:
    response = client.get(f"/api/v1/orders/{order_id}", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def test_an_associate_hands_their_own_shipment_to_customer_care_and_reads_the_answer(
    client: TestClient, admin: dict[str, str], context: Context, near_and_far: tuple[str, str, str]
) -> None:
    a, _, product = near_and_far
    order = order_at(client, admin, a, product)
    shipment_id = order["items"][0]["shipment_id"]
    associate = make_token(context, Role.ASSOCIATE, [a])
    response = client.post(f"/api/v1/shipments/{shipment_id}/customer-care", headers=associate)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert [(s["shipment_id"], s["state"]) for s in answer["shipments"]] == [
        (shipment_id, "customer_care")
    ]
    assert [h["event"] for h in answer["history"] if h["shipment_id"] == shipment_id][-1] == (
        "customer_care"
    )
    assert read_order(client, admin, order["order_id"])["items"][0]["state"] == "customer_care"
    assert read_order(client, associate, order["order_id"]) == answer
