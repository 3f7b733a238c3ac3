"""Facilities and products: create or replace with PUT, read with GET, refuse bad fields by path."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.support import facility_body, new_id, product_body, put_facility


def error_paths(response: Any) -> set[str]:
    return {e["path"] for e in response.json()["errors"]}


# Facilities -------------------------------------------------------------------------------


def test_a_new_facility_answers_201_with_every_field(
    client: TestClient, admin: dict[str, str]
) -> None:
    facility_id = new_id("F")
    body = facility_body(
        kind="warehouse",
        capabilities=["ship", "same_day"],
        daily_capacity=40,
        safety_stock=2,
        sequence=-3,
        active=False,
        idle_reject_after_minutes=45,
    )
    response = client.put(f"/api/v1/facilities/{facility_id}", json=body, headers=admin)
    assert response.status_code == 201, response.text
    assert response.json() == {"facility_id": facility_id, **body}
    assert client.get(f"/api/v1/facilities/{facility_id}", headers=admin).json() == response.json()


def test_a_facility_sent_without_its_optional_fields_gets_the_defaults(
    client: TestClient, admin: dict[str, str]
) -> None:
    body = facility_body()
    del body["capabilities"]
    response = client.put(f"/api/v1/facilities/{new_id('F')}", json=body, headers=admin)
    assert response.status_code == 201, response.text
    shown = response.json()
    assert shown["capabilities"] == ["ship"]
    assert (shown["daily_capacity"], shown["safety_stock"], shown["sequence"]) == (None, 0, None)
    assert shown["active"] is True


def test_putting_a_known_facility_again_replaces_it_and_answers_200(
    client: TestClient, admin: dict[str, str]
) -> None:
    facility_id = put_facility(client, admin, safety_stock=4, sequence=7)
    replacement = facility_body(name="Renamed store", latitude=-33.87, longitude=151.21)
    response = client.put(f"/api/v1/facilities/{facility_id}", json=replacement, headers=admin)
    assert response.status_code == 200, response.text
    shown = client.get(f"/api/v1/facilities/{facility_id}", headers=admin).json()
    assert shown["name"] == "Renamed store"
    assert (shown["latitude"], shown["longitude"]) == (-33.87, 151.21)
    # A replacement, not a merge: what the new body leaves out is back at its default.
    assert (shown["safety_stock"], shown["sequence"]) == (0, None)
    listed = client.get("/api/v1/facilities", headers=admin).json()["items"]
    assert [f["facility_id"] for f in listed].count(facility_id) == 1


def test_repeated_capabilities_are_kept_once(client: TestClient, admin: dict[str, str]) -> None:
    facility_id = put_facility(client, admin, capabilities=["pickup", "ship", "pickup"])
    shown = client.get(f"/api/v1/facilities/{facility_id}", headers=admin).json()
    assert shown["capabilities"] == ["pickup", "ship"]


def test_the_facility_list_shows_every_facility_in_id_order(
    client: TestClient, admin: dict[str, str]
) -> None:
    ids = [put_facility(client, admin) for _ in range(3)]
    response = client.get("/api/v1/facilities", headers=admin)
    assert response.status_code == 200
    assert [f["facility_id"] for f in response.json()["items"]] == sorted(ids)


def test_an_unknown_facility_answers_404(client: TestClient, admin: dict[str, str]) -> None:
    facility_id = new_id("F")
    response = client.get(f"/api/v1/facilities/{facility_id}", headers=admin)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert facility_id in response.json()["detail"]


BAD_FACILITY_FIELDS: list[tuple[dict[str, Any], str]] = [
    ({"latitude": 91}, "latitude"),
    ({"latitude": -90.5}, "latitude"),
    ({"longitude": 180.01}, "longitude"),
    ({"latitude": "north"}, "latitude"),
    ({"kind": "depot"}, "kind"),
    ({"capabilities": ["ship", "teleport"]}, "capabilities.1"),
    ({"colour": "red"}, "colour"),
    ({"name": ""}, "name"),
    ({"name": None}, "name"),
    ({"external_location_id": "has space"}, "external_location_id"),
    ({"safety_stock": -1}, "safety_stock"),
    ({"daily_capacity": 1.5}, "daily_capacity"),
    ({"active": "sometimes"}, "active"),
]


def test_a_bad_facility_field_answers_422_at_its_path_and_writes_nothing(
    client: TestClient, admin: dict[str, str], subtests: pytest.Subtests
) -> None:
    for overrides, path in BAD_FACILITY_FIELDS:
        with subtests.test(**overrides):
            facility_id = new_id("F")
            response = client.put(
                f"/api/v1/facilities/{facility_id}", json=facility_body(**overrides), headers=admin
            )
            assert response.status_code == 422, response.text
            assert response.headers["content-type"] == "application/problem+json"
            assert error_paths(response) == {path}
            assert client.get(f"/api/v1/facilities/{facility_id}", headers=admin).status_code == 404


def test_a_facility_missing_required_fields_is_refused_with_a_path_for_each(
    client: TestClient, admin: dict[str, str]
) -> None:
    body = facility_body(latitude=200)
    del body["name"], body["fulfiller_id"]
    response = client.put(f"/api/v1/facilities/{new_id('F')}", json=body, headers=admin)
    assert response.status_code == 422
    assert error_paths(response) == {"name", "fulfiller_id", "latitude"}
    for error in response.json()["errors"]:
        assert error["message"]


def test_a_bad_facility_id_in_the_path_is_refused(
    client: TestClient, admin: dict[str, str]
) -> None:
    response = client.put("/api/v1/facilities/no%20spaces", json=facility_body(), headers=admin)
    assert response.status_code == 422
    assert [p.rsplit(".", 1)[-1] for p in error_paths(response)] == ["facility_id"]
    assert client.get("/api/v1/facilities", headers=admin).json() == {
        "items": [],
        "next_cursor": None,
    }


def test_a_replacement_with_a_bad_field_leaves_the_facility_as_it_was(
    client: TestClient, admin: dict[str, str]
) -> None:
    facility_id = put_facility(client, admin, name="Original")
    response = client.put(
        f"/api/v1/facilities/{facility_id}",
        json=facility_body(name="Changed", kind="depot"),
        headers=admin,
    )
    assert response.status_code == 422
    shown = client.get(f"/api/v1/facilities/{facility_id}", headers=admin).json()
    assert shown["name"] == "Original"


# Products ---------------------------------------------------------------------------------


def test_a_new_product_answers_201_and_can_be_read_back(
    client: TestClient, admin: dict[str, str]
) -> None:
    product_id = new_id("P")
    body = product_body(image_url="https://images.example.com/shirt.png")
    response = client.put(f"/api/v1/products/{product_id}", json=body, headers=admin)
    assert response.status_code == 201, response.text
    assert response.json() == {"product_id": product_id, **body}
    assert client.get(f"/api/v1/products/{product_id}", headers=admin).json() == response.json()


def test_putting_a_known_product_again_replaces_it_and_answers_200(
    client: TestClient, admin: dict[str, str]
) -> None:
    product_id = new_id("P")
    first = product_body(image_url="https://images.example.com/a.png")
    assert (
        client.put(f"/api/v1/products/{product_id}", json=first, headers=admin).status_code == 201
    )
    second = product_body(name="Wool coat")
    response = client.put(f"/api/v1/products/{product_id}", json=second, headers=admin)
    assert response.status_code == 200
    shown = client.get(f"/api/v1/products/{product_id}", headers=admin).json()
    assert shown == {"product_id": product_id, **second, "image_url": None}


def test_an_unknown_product_answers_404(client: TestClient, admin: dict[str, str]) -> None:
    response = client.get(f"/api/v1/products/{new_id('P')}", headers=admin)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


BAD_PRODUCT_FIELDS: list[tuple[dict[str, Any], str]] = [
    ({"image_url": "not a url"}, "image_url"),
    ({"image_url": "ftp://example.com/a.png"}, "image_url"),
    ({"sku": ""}, "sku"),
    ({"upc": "x" * 65}, "upc"),
    ({"name": "   "}, "name"),
    ({"price": 10}, "price"),
]


def test_a_bad_product_field_answers_422_at_its_path_and_writes_nothing(
    client: TestClient, admin: dict[str, str], subtests: pytest.Subtests
) -> None:
    for overrides, path in BAD_PRODUCT_FIELDS:
        with subtests.test(**overrides):
            product_id = new_id("P")
            response = client.put(
                f"/api/v1/products/{product_id}", json=product_body(**overrides), headers=admin
            )
            assert response.status_code == 422, response.text
            assert error_paths(response) == {path}
            assert client.get(f"/api/v1/products/{product_id}", headers=admin).status_code == 404


def test_an_integration_token_may_load_facilities_and_products(
    client: TestClient, integration: dict[str, str]
) -> None:
    facility_id = new_id("F")
    product_id = new_id("P")
    put_f = client.put(
        f"/api/v1/facilities/{facility_id}", json=facility_body(), headers=integration
    )
    put_p = client.put(f"/api/v1/products/{product_id}", json=product_body(), headers=integration)
    assert (put_f.status_code, put_p.status_code) == (201, 201)
