"""Who may do what: tokens, roles, an associate's facilities, the token command, settings."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from reroute.cli import app as cli
from reroute.domain.access import SYSTEM, Role
from reroute.services import tokens
from reroute.services.context import Context
from reroute.storage.tables import api_tokens, outbox_events
from tests.conftest import MFG_ID, make_token
from tests.pages_support import cheap_hashes, person, post_form, sign_in, text_of
from tests.pages_support import two_stores as pages_two_stores
from tests.support import (
    count_stock,
    facility_body,
    new_id,
    order_body,
    product_body,
    put_facility,
    put_product,
    stocked,
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


@pytest.fixture
def two_stores(client: TestClient, admin: dict[str, str]) -> tuple[str, str, str]:
    """Stores A and B, and a product counted at both."""
    a, b, product = (
        put_facility(client, admin),
        put_facility(client, admin),
        put_product(client, admin),
    )
    count_stock(client, admin, a, product, 5)
    count_stock(client, admin, b, product, 7)
    return a, b, product


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
    assert shipments.json() == {"total": 0, "shipments": []}
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


# The token command ------------------------------------------------------------------------


def run_cli(*args: str, env: dict[str, str] | None = None) -> Any:
    result = CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)
    return result


def test_token_create_prints_only_an_admin_token_that_works(
    client: TestClient, database_url: str
) -> None:
    result = run_cli("token", "create", "--role", "admin", "--database-url", database_url)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 1, result.stdout
    token = lines[0]
    assert token.startswith("rr_") and token.strip() == token
    response = client.post("/api/v1/tokens", json={"role": "integration"}, headers=bearer(token))
    assert response.status_code == 201


def test_token_create_reads_the_database_from_the_environment(
    client: TestClient, database_url: str
) -> None:
    result = run_cli(
        "token", "create", "--role", "integration", env={"REROUTE_DATABASE_URL": database_url}
    )
    assert result.exit_code == 0, result.output
    (token,) = result.stdout.splitlines()
    headers = bearer(token)
    assert client.get("/api/v1/facilities", headers=headers).status_code == 200
    assert_refused(client.get("/api/v1/tokens", headers=headers), 403)


def test_token_create_binds_an_associate_to_its_facilities(
    client: TestClient, database_url: str, two_stores: tuple[str, str, str]
) -> None:
    a, b, _ = two_stores
    result = run_cli(
        "token", "create", "--role", "associate", "--facility", a, "--database-url", database_url
    )
    assert result.exit_code == 0, result.output
    (token,) = result.stdout.splitlines()
    assert client.get(f"/api/v1/facilities/{a}/shipments", headers=bearer(token)).status_code == 200
    assert client.get(f"/api/v1/facilities/{b}/shipments", headers=bearer(token)).status_code == 403


def test_token_create_for_an_associate_without_a_facility_fails_and_prints_no_token(
    admin: dict[str, str], client: TestClient, database_url: str
) -> None:
    before = tokens_listed(client, admin)
    result = run_cli("token", "create", "--role", "associate", "--database-url", database_url)
    assert result.exit_code != 0
    assert result.stdout == ""
    assert "facility" in result.stderr
    assert tokens_listed(client, admin) == before


# Settings ---------------------------------------------------------------------------------


def test_settings_start_at_their_defaults(client: TestClient, admin: dict[str, str]) -> None:
    response = client.get("/api/v1/settings", headers=admin)
    assert response.status_code == 200
    assert response.json() == {
        "mfg_id": MFG_ID,
        "partial_rejection": True,
        "route_on_create": True,
        "requests_per_minute_per_token": 0,
    }


def test_an_integration_token_reads_settings(
    client: TestClient, integration: dict[str, str]
) -> None:
    assert client.get("/api/v1/settings", headers=integration).json()["mfg_id"] == MFG_ID


def test_patching_settings_changes_only_the_fields_given(
    client: TestClient, admin: dict[str, str]
) -> None:
    response = client.patch("/api/v1/settings", json={"partial_rejection": False}, headers=admin)
    assert response.status_code == 200, response.text
    expected = {
        "mfg_id": MFG_ID,
        "partial_rejection": False,
        "route_on_create": True,
        "requests_per_minute_per_token": 0,
    }
    assert response.json() == expected
    response = client.patch("/api/v1/settings", json={"mfg_id": "22222"}, headers=admin)
    expected["mfg_id"] = "22222"
    assert response.json() == expected
    assert client.get("/api/v1/settings", headers=admin).json() == expected
    assert client.patch("/api/v1/settings", json={}, headers=admin).json() == expected


def test_a_settings_patch_of_the_wrong_type_answers_422_and_changes_nothing(
    client: TestClient, admin: dict[str, str], subtests: pytest.Subtests
) -> None:
    for body, path in [
        ({"partial_rejection": "perhaps"}, "partial_rejection"),
        ({"route_on_create": [True]}, "route_on_create"),
        ({"mfg_id": 11111}, "mfg_id"),
        ({"mfg_id": ""}, "mfg_id"),
        ({"mfgid": "1"}, "mfgid"),
    ]:
        with subtests.test(**body):
            response = client.patch("/api/v1/settings", json=body, headers=admin)
            assert_refused(response, 422)
            assert [e["path"] for e in response.json()["errors"]] == [path]
            assert client.get("/api/v1/settings", headers=admin).json() == {
                "mfg_id": MFG_ID,
                "partial_rejection": True,
                "route_on_create": True,
                "requests_per_minute_per_token": 0,
            }


# Store actions belong to the facility's associates and to admins --------------------------


@pytest.fixture
def near_and_far(client: TestClient, admin: dict[str, str]) -> tuple[str, str, str]:
    """Store A near the customer, store B far off, both holding the product: orders go to A."""
    product = put_product(client, admin)
    a = stocked(client, admin, 1, {product: 5})
    b = stocked(client, admin, 50, {product: 5})
    return a, b, product


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
