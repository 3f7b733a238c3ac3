"""Who may do what: tokens, roles, an associate's facilities, the token command, settings."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from reroute.cli import app as cli
from reroute.domain.access import Role
from reroute.services.context import Context
from reroute.storage.tables import api_tokens
from tests.conftest import MFG_ID, make_token
from tests.support import (
    count_stock,
    facility_body,
    new_id,
    order_body,
    product_body,
    put_facility,
    put_product,
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
    assert mine == [
        {
            "token_id": created["token_id"],
            "role": "integration",
            "facilities": [],
            "label": "loader",
            "revoked": False,
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
    before = client.get("/api/v1/tokens", headers=admin).json()
    assert_refused(client.post("/api/v1/tokens", json={"role": "admin"}, headers=headers), 403)
    assert_refused(client.get("/api/v1/tokens", headers=headers), 403)
    assert_refused(client.delete(f"/api/v1/tokens/{victim['token_id']}", headers=headers), 403)
    assert client.get("/api/v1/tokens", headers=admin).json() == before
    assert client.get("/api/v1/facilities", headers=bearer(victim["token"])).status_code == 200


def test_a_token_request_that_does_not_fit_its_role_is_refused_and_creates_nothing(
    client: TestClient, admin: dict[str, str], subtests: pytest.Subtests
) -> None:
    before = client.get("/api/v1/tokens", headers=admin).json()
    for body, status in [
        ({"role": "associate"}, 422),
        ({"role": "integration", "facilities": [new_id("F")]}, 422),
        ({"role": "associate", "facilities": [new_id("F")]}, 404),
        ({"role": "superuser"}, 422),
    ]:
        with subtests.test(**body):
            assert_refused(client.post("/api/v1/tokens", json=body, headers=admin), status)
            assert client.get("/api/v1/tokens", headers=admin).json() == before


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
    assert ledger.status_code == 200 and len(ledger.json()) == 1
    shipments = client.get(f"/api/v1/facilities/{a}/shipments", headers=associate)
    assert shipments.status_code == 200
    assert shipments.json() == {"total": 0, "shipments": []}
    assert client.get(f"/api/v1/facilities/{a}", headers=associate).status_code == 200
    listed = client.get("/api/v1/facilities", headers=associate).json()
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
    listed = client.get("/api/v1/facilities", headers=associate).json()
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
    before = client.get("/api/v1/tokens", headers=admin).json()
    result = run_cli("token", "create", "--role", "associate", "--database-url", database_url)
    assert result.exit_code != 0
    assert result.stdout == ""
    assert "facility" in result.stderr
    assert client.get("/api/v1/tokens", headers=admin).json() == before


# Settings ---------------------------------------------------------------------------------


def test_settings_start_at_their_defaults(client: TestClient, admin: dict[str, str]) -> None:
    response = client.get("/api/v1/settings", headers=admin)
    assert response.status_code == 200
    assert response.json() == {
        "mfg_id": MFG_ID,
        "partial_rejection": True,
        "route_on_create": True,
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
    expected = {"mfg_id": MFG_ID, "partial_rejection": False, "route_on_create": True}
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
            }
