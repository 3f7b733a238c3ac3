"""A refusal writes nothing: every write endpoint of the OpenAPI document, sent requests it must
refuse (wrong role, another facility, unknown ids, a bad body, a conflict), leaves every table
exactly as it was, row for row."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from reroute.services.context import Context
from reroute.storage.tables import metadata
from tests.integration.test_roles_matrix import (
    UNKNOWN,
    WRITES,
    Scene,
    api_routes,
    build_scene,
    read_matrix,
    refused_first,
    send,
)
from tests.support import new_id, order_body

#: Endpoints that create what their last path parameter names: an unknown id is no refusal.
UPSERTS = {
    ("PUT", "/api/v1/facilities/{facility_id}"): "facility_id",
    ("PUT", "/api/v1/products/{product_id}"): "product_id",
    ("PUT", "/api/v1/rejection-reasons/{reason_id}"): "reason_id",
}
BAD_BODY = {"no_such_field": 1}
NO_REASON = {"reason_id": "NO_SUCH_REASON"}


def conflicts(method: str, route: str, scene: Scene) -> list[tuple[str, Any, int]]:
    """Refusals of one endpoint beyond roles, unknown ids and a bad body: (label, body, status)
    sent by an admin, where they are cheap to set up."""
    cases: dict[tuple[str, str], list[tuple[str, Any, int]]] = {
        ("POST", "/api/v1/orders"): [
            ("same id, other body", order_body([(scene.product, 2)], order_id=scene.order_id), 409),
            ("unknown product", order_body([(new_id("P"), 1)]), 422),
        ],
        ("POST", "/api/v1/shipments/{shipment_id}/pack"): [("not started", None, 409)],
        ("POST", "/api/v1/shipments/{shipment_id}/fulfill"): [("not packed", None, 409)],
        ("POST", "/api/v1/shipments/{shipment_id}/items/{item_id}/reject"): [
            ("unknown reason", NO_REASON, 422)
        ],
        ("POST", "/api/v1/shipments/{shipment_id}/reject"): [("unknown reason", NO_REASON, 422)],
        ("POST", "/api/v1/shipments/{shipment_id}/customer-care"): [
            ("unknown reason", NO_REASON, 422)
        ],
        ("POST", "/api/v1/shipments/{shipment_id}/cancel"): [("unknown reason", NO_REASON, 422)],
        ("POST", "/api/v1/orders/{order_id}/cancel"): [("unknown reason", NO_REASON, 422)],
        ("POST", "/api/v1/orders/{order_id}/items/{item_id}/cancel"): [
            ("unknown reason", NO_REASON, 422)
        ],
        ("POST", "/api/v1/deliveries/{delivery_id}/retry"): [("still pending", None, 409)],
        ("POST", "/api/v1/tokens"): [
            ("associate without facility", {"role": "associate"}, 422),
            (
                "unknown facility",
                {"role": "associate", "facilities": [UNKNOWN["facility_id"]]},
                404,
            ),
        ],
        ("PUT", "/api/v1/facilities/{facility_id}/inventory/{product_id}"): [
            ("negative count", {"quantity_on_hand": -1}, 422)
        ],
    }
    return cases.get((method, route), [])


def dump(context: Context) -> dict[str, list[str]]:
    """Every row of every table, each as text, sorted: what a refusal must leave alone."""
    with context.db.transaction(write=False) as conn:
        return {
            table.name: sorted(repr(tuple(row)) for row in conn.execute(table.select()))
            for table in metadata.sorted_tables
        }


def takes_body(app: FastAPI, method: str, route: str) -> bool:
    return "requestBody" in app.openapi()["paths"][route][method.lower()]


def refusals(app: FastAPI, method: str, route: str, scene: Scene) -> list[dict[str, Any]]:
    """Every refused request for one endpoint, each with the status it must get."""
    cells = read_matrix().get((method, route))
    assert cells is not None, f"{method} {route} is not in the roles matrix"
    found: list[dict[str, Any]] = [
        {"label": f"as {column}", "who": column, "status": cells[column].refused}
        for column in refused_first(cells)
        if cells[column].refused is not None
    ]
    upserted = UPSERTS.get((method, route))
    for name in re.findall(r"{(\w+)}", route):
        if name != upserted:
            params = {**scene.params(), name: UNKNOWN[name]}
            found.append({"label": f"unknown {name}", "params": params, "status": 404})
    if takes_body(app, method, route):
        found.append({"label": "bad body", "body": BAD_BODY, "status": 422})
    for label, body, status in conflicts(method, route, scene):
        found.append({"label": label, "body": body, "status": status})
    return found


def test_every_refused_write_leaves_every_table_as_it_was(
    app: FastAPI, client: TestClient, context: Context, subtests: pytest.Subtests
) -> None:
    writes = sorted((m, r) for m, r in api_routes(app) if m in WRITES)
    assert len(writes) >= 24  # the OpenAPI document was read, not an empty one
    for method, route in writes:
        with subtests.test(endpoint=f"{method} {route}"):
            scene = build_scene(client, context)
            cases = refusals(app, method, route, scene)
            assert len(cases) >= 2
            before = dump(context)
            for case in cases:
                who = scene.callers[case.get("who", "admin")]
                response = send(
                    client, method, route, scene, who, case.get("params"), case.get("body")
                )
                where = f"{method} {route} {case['label']}: {response.text}"
                assert response.status_code == case["status"], where
                assert dump(context) == before, f"{where} changed the database"


def test_the_dump_sees_a_change_in_any_row(
    client: TestClient, context: Context, admin: dict[str, str]
) -> None:
    scene = build_scene(client, context)
    before = dump(context)
    started = client.post(f"/api/v1/shipments/{scene.shipment_id}/start", headers=admin)
    assert started.status_code == 200, started.text
    after = dump(context)
    assert after != before
    assert after["shipments"] != before["shipments"]
