"""The roles matrix of docs/security.md, checked cell by cell against the running application.

The table in the document is the contract: this test reads it, so changing who may call what
means changing the document, and an endpoint missing from it fails here.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from reroute.domain.access import SYSTEM, Role
from reroute.domain.routing.rules import default_rules, rules_to_json
from reroute.services import tokens
from reroute.services.context import Context
from reroute.storage import tables
from tests.support import (
    create,
    facility_body,
    new_id,
    order_body,
    product_body,
    put_product,
    stocked,
)

MATRIX = Path(__file__).resolve().parents[2] / "docs" / "security.md"
COLUMNS = ("admin", "integration", "associate", "other associate", "anonymous")
WRITES = {"POST", "PUT", "PATCH", "DELETE"}
#: What stands for each path parameter when an unknown one is wanted.
UNKNOWN = {
    "facility_id": "F-unknown",
    "product_id": "P-unknown",
    "order_id": "O-unknown",
    "item_id": "98765",
    "shipment_id": "987654321",
    "reason_id": "R-unknown",
    "webhook_id": "wh_unknown",
    "delivery_id": "987654321",
    "token_id": "987654321",
}
_ROW = re.compile(r"^\|\s*`(GET|POST|PUT|PATCH|DELETE) (/api/v1/[^`]*)`\s*\|(.*)\|\s*$")


@dataclass(frozen=True)
class Cell:
    """`None` for access granted, else the status of the refusal."""

    refused: int | None

    @classmethod
    def parse(cls, text: str) -> Cell:
        word = text.strip().split(" ")[0]
        if word == "yes":
            return cls(None)
        assert re.fullmatch(r"40[134]", word), f"cell {text!r}: use 'yes' or 401, 403, 404"
        return cls(int(word))


def read_matrix(path: Path = MATRIX) -> dict[tuple[str, str], dict[str, Cell]]:
    """(method, path) to {column: cell}, from the table under "Roles: who may call what"."""
    section = path.read_text().split("## Roles: who may call what", 1)[1].split("\n## ", 1)[0]
    rows: dict[tuple[str, str], dict[str, Cell]] = {}
    for line in section.splitlines():
        match = _ROW.match(line)
        if match is None:
            continue
        method, route, rest = match.groups()
        cells = [c for c in rest.split("|")]
        assert len(cells) == len(COLUMNS), f"{method} {route}: {len(cells)} cells"
        assert (method, route) not in rows, f"{method} {route} is in the table twice"
        rows[(method, route)] = {
            column: Cell.parse(c) for column, c in zip(COLUMNS, cells, strict=True)
        }
    return rows


def api_routes(app: FastAPI) -> set[tuple[str, str]]:
    paths = app.openapi()["paths"]
    return {(m.upper(), p) for p, ops in paths.items() for m in ops if p.startswith("/api/")}


# A scene per endpoint: two stores, an order at the first, tokens for every column -------------


@dataclass
class Caller:
    headers: dict[str, str]
    #: How the refusal log names this caller.
    who: str


@dataclass
class Scene:
    store: str
    other: str
    product: str
    order_id: str
    shipment_id: str
    webhook_id: str
    delivery_id: int
    token_id: int
    reason_id: str = field(default_factory=lambda: new_id("R"))
    callers: dict[str, Caller] = field(default_factory=dict)

    def params(self) -> dict[str, str]:
        return {
            "facility_id": self.store,
            "product_id": self.product,
            "order_id": self.order_id,
            "item_id": "1",
            "shipment_id": self.shipment_id,
            "reason_id": self.reason_id,
            "webhook_id": self.webhook_id,
            "delivery_id": str(self.delivery_id),
            "token_id": str(self.token_id),
        }


def caller(context: Context, role: Role, facilities: list[str] | None = None) -> Caller:
    token, token_id = tokens.create_token(context, role, facilities or [], "matrix", SYSTEM)
    return Caller({"Authorization": f"Bearer {token}"}, f"token:{token_id}")


def build_scene(client: TestClient, context: Context) -> Scene:
    """Store A holds the order's shipment; store B (farther) holds stock and nothing else."""
    context.security = replace(context.security, allow_private_webhook_targets=True)
    admin = caller(context, Role.ADMIN)
    hook = client.post(
        "/api/v1/webhooks",
        json={"url": "http://127.0.0.1:9/hook", "event_types": ["ready_shipment"]},
        headers=admin.headers,
    )
    assert hook.status_code == 201, hook.text
    product = put_product(client, admin.headers)
    store = stocked(client, admin.headers, 1, {product: 5})
    other = stocked(client, admin.headers, 50, {product: 5})
    order = create(client, admin.headers, [(product, 1)])
    assert order["items"][0]["facility_id"] == store
    webhook_id = hook.json()["webhook_id"]
    with context.db.transaction(write=False) as conn:
        delivery_id = conn.execute(
            select(tables.deliveries.c.id).where(tables.deliveries.c.webhook_id == webhook_id)
        ).scalar_one()
    _, token_id = tokens.create_token(context, Role.INTEGRATION, [], "victim", SYSTEM)
    scene = Scene(
        store=store,
        other=other,
        product=product,
        order_id=order["order_id"],
        shipment_id=order["items"][0]["shipment_id"],
        webhook_id=webhook_id,
        delivery_id=delivery_id,
        token_id=token_id,
    )
    scene.callers = {
        "admin": admin,
        "integration": caller(context, Role.INTEGRATION),
        "associate": caller(context, Role.ASSOCIATE, [store]),
        "other associate": caller(context, Role.ASSOCIATE, [other]),
        "anonymous": Caller({}, "anonymous"),
    }
    return scene


def body_for(method: str, route: str, scene: Scene) -> Any:
    """A valid body for each endpoint that takes one (None: send no body)."""
    bodies: dict[str, Any] = {
        "PUT /api/v1/facilities/{facility_id}": facility_body(),
        "PUT /api/v1/products/{product_id}": product_body(),
        "PUT /api/v1/facilities/{facility_id}/inventory/{product_id}": {"quantity_on_hand": 5},
        "PUT /api/v1/facilities/{facility_id}/blocks/{product_id}": {"days": 1},
        "POST /api/v1/orders": order_body([(scene.product, 1)]),
        "POST /api/v1/shipments/{shipment_id}/items/{item_id}/reject": {"reason_id": "DAMAGED"},
        "POST /api/v1/shipments/{shipment_id}/reject": {"reason_id": "DAMAGED"},
        "PUT /api/v1/rejection-reasons/{reason_id}": {
            "label": "Matrix",
            "inventory_effect": "none",
            "decline_code": "101",
            "decline_description": "Matrix",
        },
        "PUT /api/v1/routing/rules": rules_to_json(default_rules()),
        "POST /api/v1/webhooks": {
            "url": "http://127.0.0.1:9/other",
            "event_types": ["cancel_item"],
        },
        "PATCH /api/v1/webhooks/{webhook_id}": {"active": True},
        "PATCH /api/v1/settings": {"partial_rejection": True},
        "POST /api/v1/tokens": {"role": "integration", "label": "matrix"},
    }
    return bodies.get(f"{method} {route}")


def send(
    client: TestClient,
    method: str,
    route: str,
    scene: Scene,
    who: Caller,
    params: dict[str, str] | None = None,
    body: Any = None,
) -> Any:
    path = route.format(**(params or scene.params()))
    payload = body if body is not None else body_for(method, route, scene)
    if payload is None:
        return client.request(method, path, headers=who.headers)
    return client.request(method, path, json=payload, headers=who.headers)


def refused_first(cells: dict[str, Cell]) -> list[str]:
    """Refusals before grants, so that a granted write cannot change what a refusal meets."""
    return sorted(cells, key=lambda column: cells[column].refused is None)


# The document and the application agree ----------------------------------------------------


def test_every_api_endpoint_is_in_the_roles_matrix_and_every_row_is_an_endpoint(
    app: FastAPI,
) -> None:
    documented = set(read_matrix())
    served = api_routes(app)
    assert sorted(served - documented) == [], "endpoints missing from docs/security.md"
    assert sorted(documented - served) == [], "rows of docs/security.md that are no endpoint"


def test_the_matrix_parser_reads_a_table_and_refuses_a_cell_it_cannot_read(
    tmp_path: Path,
) -> None:
    doc = tmp_path / "security.md"
    doc.write_text(
        "## Roles: who may call what\n\n"
        "| endpoint | a | b | c | d | e |\n|---|---|---|---|---|---|\n"
        "| `GET /api/v1/x/{id}` | yes | 403 | yes (theirs) | 404 | 401 |\n\n## Next\n"
        "| `GET /api/v1/not-in-the-section` | yes | yes | yes | yes | yes |\n"
    )
    cells = read_matrix(doc)
    assert list(cells) == [("GET", "/api/v1/x/{id}")]
    assert [c.refused for c in cells[("GET", "/api/v1/x/{id}")].values()] == [
        None,
        403,
        None,
        404,
        401,
    ]
    doc.write_text(
        "## Roles: who may call what\n| `GET /api/v1/x` | yes | maybe | yes | yes | 401 |\n"
    )
    with pytest.raises(AssertionError, match="maybe"):
        read_matrix(doc)


@pytest.mark.parametrize("endpoint", sorted(read_matrix()), ids=" ".join)
def test_each_role_gets_what_the_matrix_says(
    client: TestClient,
    context: Context,
    caplog: pytest.LogCaptureFixture,
    endpoint: tuple[str, str],
) -> None:
    method, route = endpoint
    cells = read_matrix()[endpoint]
    scene = build_scene(client, context)
    for column in refused_first(cells):
        who = scene.callers[column]
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="reroute.access"):
            response = send(client, method, route, scene, who)
        status, expected = response.status_code, cells[column].refused
        where = f"{method} {route} as {column}: {status} {response.text}"
        if expected is None:
            assert status not in (401, 403, 404) and status < 500, where
            continue
        assert status == expected, where
        assert response.headers["content-type"] == "application/problem+json", where
        logged = [r.getMessage() for r in caplog.records if r.name == "reroute.access"]
        assert any(who.who in m for m in logged), f"{where}: not logged as {who.who}: {logged}"
        if expected == 404:
            assert_as_absent(client, method, route, scene, response)


def assert_as_absent(
    client: TestClient, method: str, route: str, scene: Scene, refused: Any
) -> None:
    """A 404 of scope answers exactly as an unknown id: same status, same words."""
    real = scene.params()
    unknown = {**real, **{k: UNKNOWN[k] for k in ("shipment_id", "order_id") if k in real}}
    absent = send(client, method, route, scene, scene.callers["admin"], unknown)
    assert absent.status_code == 404, absent.text
    expected = absent.json()
    for key in ("shipment_id", "order_id"):
        expected["detail"] = expected["detail"].replace(unknown[key], real[key])
        expected["instance"] = expected["instance"].replace(unknown[key], real[key])
    assert refused.json() == expected
    assert scene.store not in refused.text
