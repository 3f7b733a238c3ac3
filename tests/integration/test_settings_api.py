"""Settings: their defaults, who reads and changes them, and patches that change only what they
name."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.conftest import MFG_ID
from tests.integration.test_access import assert_refused

#: The cost parameters' defaults (the `cost` sort key, the simulation).
COSTS = {
    "routing_cost_per_shipment": 8.0,
    "routing_cost_per_km": 0.05,
    "routing_reroute_penalty": 15.0,
}

# Settings ---------------------------------------------------------------------------------


def test_settings_start_at_their_defaults(client: TestClient, admin: dict[str, str]) -> None:
    response = client.get("/api/v1/settings", headers=admin)
    assert response.status_code == 200
    assert response.json() == {
        "mfg_id": MFG_ID,
        "partial_rejection": True,
        "route_on_create": True,
        "requests_per_minute_per_token": 0,
        "idle_reject_after_minutes": 0,
        "idle_pack_after_minutes": 0,
        "routing_interval_minutes": 5,
        **COSTS,
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
        "idle_reject_after_minutes": 0,
        "idle_pack_after_minutes": 0,
        "routing_interval_minutes": 5,
        **COSTS,
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
        ({"routing_cost_per_km": -0.01}, "routing_cost_per_km"),
        ({"routing_cost_per_shipment": 2e6}, "routing_cost_per_shipment"),
        ({"routing_reroute_penalty": "much"}, "routing_reroute_penalty"),
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
                "idle_reject_after_minutes": 0,
                "idle_pack_after_minutes": 0,
                "routing_interval_minutes": 5,
                **COSTS,
            }


def test_a_cost_that_is_not_a_finite_number_is_refused(
    client: TestClient, admin: dict[str, str]
) -> None:
    before = client.get("/api/v1/settings", headers=admin).json()
    for raw in ('{"routing_reroute_penalty": Infinity}', '{"routing_cost_per_km": NaN}'):
        response = client.patch(
            "/api/v1/settings",
            content=raw,
            headers={**admin, "Content-Type": "application/json"},
        )
        assert 400 <= response.status_code < 500, response.text
    assert client.get("/api/v1/settings", headers=admin).json() == before
