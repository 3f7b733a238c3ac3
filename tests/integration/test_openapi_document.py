"""`/openapi.json` says what the server does: its errors, its statuses, its headers, its ids,
an example for every request body, and the events under `webhooks`."""

from __future__ import annotations

import importlib
import json
import re
import uuid
from collections.abc import Iterator
from typing import Annotated, Any

import pytest
from fastapi import APIRouter, FastAPI, Header
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from pydantic import BaseModel, ConfigDict

from reroute.api import openapi
from reroute.api.deps import ActorDep
from reroute.api.openapi import api_routes, operation_id
from tests.conftest import IN_CI

PROBLEM = "application/problem+json"
PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
METHODS = ("get", "put", "post", "patch", "delete")
WRITES = ("put", "post", "patch", "delete")


def operations(doc: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in doc["paths"].items():
        for method in METHODS:
            if method in item:
                yield path, method, item[method]


def header_names(operation: dict[str, Any]) -> set[str]:
    return {p["name"].lower() for p in operation.get("parameters", []) if p["in"] == "header"}


@pytest.fixture
def doc(client: TestClient) -> dict[str, Any]:
    answer = client.get("/openapi.json")
    assert answer.status_code == 200
    document: dict[str, Any] = answer.json()
    return document


def test_every_error_answer_is_problem_json_with_the_one_problem_schema(
    doc: dict[str, Any],
) -> None:
    assert "HTTPValidationError" not in json.dumps(doc)
    assert "ValidationError" not in doc["components"]["schemas"]
    problem = doc["components"]["schemas"]["Problem"]
    assert set(problem["required"]) == {"type", "title", "status", "detail", "instance"}
    errors = problem["properties"]["errors"]
    assert errors["items"] == {"$ref": "#/components/schemas/ProblemError"}
    assert set(doc["components"]["schemas"]["ProblemError"]["required"]) == {"path", "message"}
    checked = 0
    for path, method, operation in operations(doc):
        for status, answer in operation["responses"].items():
            if int(status) >= 400:
                assert answer["content"] == {PROBLEM: {"schema": PROBLEM_REF}}, (
                    method,
                    path,
                    status,
                )
                assert answer["description"]
                checked += 1
    assert checked > 100


def test_each_operation_declares_the_statuses_it_can_answer(doc: dict[str, Any]) -> None:
    for path, method, operation in operations(doc):
        statuses = {int(s) for s in operation["responses"]}
        where = f"{method.upper()} {path}"
        assert {400, 503} <= statuses, where
        if path.startswith("/api/"):
            assert operation.get("security"), where
            assert {401, 403, 429} <= statuses, where
            assert operation["responses"]["401"]["headers"]["WWW-Authenticate"]
            assert operation["responses"]["429"]["headers"]["Retry-After"]
        if "{" in path:
            assert 404 in statuses, where
        if method in WRITES:
            assert {409, 413, 422} <= statuses, where
        if "requestBody" in operation:
            assert {413, 422} <= statuses, where
        # 412 exactly where If-Match is taken
        assert (412 in statuses) == ("if-match" in header_names(operation)), where


def test_200_and_201_are_both_declared_with_a_body_where_both_happen(
    doc: dict[str, Any],
) -> None:
    both = {
        operation["operationId"]
        for _, _, operation in operations(doc)
        if {"200", "201"} <= set(operation["responses"])
    }
    assert {"createOrder", "putFacility", "putProduct", "putReason"} <= both
    for _, _, operation in operations(doc):
        for status, answer in operation["responses"].items():
            if status.startswith("2") and status != "204":
                assert answer.get("content"), (operation["operationId"], status)


def test_idempotency_key_on_every_write_and_request_id_where_it_is_read(
    app: FastAPI, doc: dict[str, Any]
) -> None:
    for path, method, operation in operations(doc):
        headers = header_names(operation)
        if path.startswith("/api/") and method in WRITES:
            assert "idempotency-key" in headers, (method, path)
            for status, answer in operation["responses"].items():
                if status.startswith("2"):
                    assert "Idempotent-Replayed" in answer["headers"]
        else:
            assert "idempotency-key" not in headers, (method, path)
    with_request_id = {
        operation["operationId"]
        for _, _, operation in operations(doc)
        if "x-request-id" in header_names(operation)
    }
    assert {"createOrder", "rejectItem", "rejectShipment", "cancelOrder"} <= with_request_id
    assert "getOrder" not in with_request_id


def test_operation_ids_are_short_unique_and_camel_case(doc: dict[str, Any]) -> None:
    ids = [operation["operationId"] for _, _, operation in operations(doc)]
    ids += [
        operation["operationId"]
        for item in doc.get("webhooks", {}).values()
        for operation in item.values()
    ]
    assert len(ids) == len(set(ids))
    for op_id in ids:
        assert re.fullmatch(r"[a-z][A-Za-z0-9]{2,40}", op_id), op_id
    for expected in ("createOrder", "getOrder", "rejectItem", "putFacility", "fulfillShipment"):
        assert expected in ids


def test_each_operation_id_is_its_handler_name_in_camel_case(
    app: FastAPI, doc: dict[str, Any]
) -> None:
    """So a renamed handler shows as a changed id here, and no two handlers share a name."""
    for route in api_routes(app):
        for method in route.methods:
            operation = doc["paths"][route.path_format][method.lower()]
            assert operation["operationId"] == operation_id(route.name), route.name


def test_every_request_body_has_an_example_its_model_accepts(
    app: FastAPI, doc: dict[str, Any]
) -> None:
    bodies = 0
    for route in api_routes(app):
        if route.body_field is None:
            continue
        for method in route.methods:
            operation = doc["paths"][route.path_format][method.lower()]
            media = operation["requestBody"]["content"]["application/json"]
            assert "example" in media, operation["operationId"]
            _, errors = route.body_field.validate(media["example"], {}, loc=("body",))
            assert not errors, (operation["operationId"], errors)
            bodies += 1
    assert bodies >= 12


def test_every_tag_has_a_description(doc: dict[str, Any]) -> None:
    described = {t["name"]: t["description"] for t in doc["tags"]}
    for _, _, operation in operations(doc):
        for tag in operation.get("tags", []):
            assert described.get(tag), tag


def test_the_event_payloads_are_under_webhooks(doc: dict[str, Any]) -> None:
    try:
        events = importlib.import_module("reroute.api.schemas.events")
    except ImportError:
        if IN_CI:
            raise
        pytest.skip("reroute.api.schemas.events (EVENT_MODELS) is not there yet")
    models: dict[str, Any] = events.EVENT_MODELS
    assert set(doc["webhooks"]) == set(models)
    schemas = doc["components"]["schemas"]
    for event_type in models:
        operation = doc["webhooks"][event_type]["post"]
        media = operation["requestBody"]["content"]["application/json"]
        name = media["schema"]["$ref"].rsplit("/", 1)[-1]
        assert name in schemas
        assert {"webhook-id", "webhook-timestamp", "webhook-signature"} <= header_names(operation)


# What the server answers is what the document declares ----------------------------------------


def fresh_path(path: str) -> str:
    return re.sub(r"{(\w+)}", lambda _: f"t{uuid.uuid4().hex[:10]}", path)


def test_each_example_body_sent_at_fresh_ids_gets_a_declared_status(
    app: FastAPI, client: TestClient, admin: dict[str, str], doc: dict[str, Any]
) -> None:
    """Every PUT declaring 201 creates at a new id (201) and replaces on a repeat (200); every
    operation with a body answers its example with a status the document lists."""
    routes = {(m.lower(), r.path_format): r for r in api_routes(app) for m in r.methods}
    assert all(isinstance(r.original_route, APIRoute) for r in routes.values())
    skipped = {"createToken"}  # tokens have tests of their own; a new one is harmless anyway
    for path, method, operation in operations(doc):
        if "requestBody" not in operation or operation["operationId"] in skipped:
            continue
        example = operation["requestBody"]["content"]["application/json"]["example"]
        url = fresh_path(path)
        declared = set(operation["responses"])
        first = client.request(method.upper(), url, json=example, headers=admin)
        assert str(first.status_code) in declared, (method, path, first.status_code, first.text)
        if method == "put" and "201" in declared:
            assert first.status_code == 201, (path, first.text)
            again = client.request(method.upper(), url, json=example, headers=admin)
            assert again.status_code == 200, (path, again.text)


def test_the_examples_make_an_order_that_is_created_then_repeated(
    client: TestClient, admin: dict[str, str], doc: dict[str, Any]
) -> None:
    def example(path: str, method: str) -> Any:
        operation = doc["paths"][path][method]
        return operation["requestBody"]["content"]["application/json"]["example"]

    order = example("/api/v1/orders", "post")
    product = order["items"][0]["product_id"]
    put = client.put(
        f"/api/v1/products/{product}",
        json=example("/api/v1/products/{product_id}", "put"),
        headers=admin,
    )
    assert put.status_code in (200, 201), put.text
    first = client.post("/api/v1/orders", json=order, headers=admin)
    assert first.status_code == 201, first.text
    again = client.post("/api/v1/orders", json=order, headers=admin)
    assert again.status_code == 200
    assert again.json()["order_id"] == first.json()["order_id"]


def problem_matches(body: Any, schemas: dict[str, Any]) -> list[str]:
    """Where `body` departs from the Problem schema (the few JSON types it uses)."""
    schema = schemas["Problem"]
    types = {"string": str, "integer": int, "array": list}
    wrong = [f"missing {k}" for k in schema["required"] if k not in body]
    for key, value in body.items():
        declared = schema["properties"].get(key)
        if declared is None:
            continue
        if not isinstance(value, types[declared["type"]]):
            wrong.append(f"{key} is {type(value).__name__}")
    for error in body.get("errors", []):
        if set(error) != {"path", "message"}:
            wrong.append(f"errors item {error}")
    return wrong


def test_the_problems_the_server_sends_fit_the_problem_schema(
    client: TestClient, admin: dict[str, str], doc: dict[str, Any]
) -> None:
    schemas = doc["components"]["schemas"]
    bad_order = {"order_id": "x", "customer": {"name": "A", "email": "nope"}, "items": []}
    answers = {
        400: client.get("/api/v1/orders/x", headers={**admin, "X-Note": "a\x00b"}),
        401: client.get("/api/v1/orders/x"),
        404: client.get("/api/v1/orders/nowhere", headers=admin),
        413: client.post("/api/v1/orders", content=b"{" + b" " * 3_000_000 + b"}", headers=admin),
        422: client.post("/api/v1/orders", json=bad_order, headers=admin),
    }
    for status, answer in answers.items():
        assert answer.status_code == status, (status, answer.text)
        assert answer.headers["content-type"] == PROBLEM
        body = answer.json()
        assert not problem_matches(body, schemas), (status, body)
    assert answers[422].json()["errors"]


class _Shipped(BaseModel):
    carrier: str
    tracking_number: str


class _ShipmentEvent(BaseModel):
    """Sent when a shipment leaves."""

    type: str
    shipment: _Shipped

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"type": "x", "shipment": {"carrier": "UPS", "tracking_number": "1Z"}}]
        }
    )


class Problem(BaseModel):
    """An event payload whose name an API schema has already."""

    order_id: str


def test_webhooks_are_built_from_the_event_models(
    monkeypatch: pytest.MonkeyPatch, app: FastAPI
) -> None:
    monkeypatch.setattr(
        openapi,
        "event_models",
        lambda: {"fulfilled_shipment": _ShipmentEvent, "cancel_shipment": Problem},
    )
    doc = openapi.document(app)
    schemas = doc["components"]["schemas"]
    shipped = doc["webhooks"]["fulfilled_shipment"]["post"]
    assert shipped["operationId"] == "onFulfilledShipment"
    assert shipped["description"] == "Sent when a shipment leaves."
    media = shipped["requestBody"]["content"]["application/json"]
    assert media["schema"] == {"$ref": "#/components/schemas/_ShipmentEvent"}
    assert media["example"]["shipment"]["carrier"] == "UPS"
    nested = schemas["_ShipmentEvent"]["properties"]["shipment"]
    assert nested == {"$ref": "#/components/schemas/_Shipped"}
    # the API's Problem stays; the payload of the same name gets another
    canceled = doc["webhooks"]["cancel_shipment"]["post"]
    ref = canceled["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert ref == "#/components/schemas/ProblemEvent"
    assert "order_id" in schemas["ProblemEvent"]["properties"]
    assert schemas["ProblemEvent"]["title"] == "ProblemEvent"
    assert "detail" in schemas["Problem"]["properties"]
    assert canceled["operationId"] == "onCancelShipment"


def test_412_is_declared_where_if_match_is_taken() -> None:
    router = APIRouter()

    @router.put("/api/v1/things/{thing_id}")
    def put_thing(
        thing_id: str, actor: ActorDep, if_match: Annotated[str | None, Header()] = None
    ) -> dict[str, str]:
        return {}

    @router.get("/api/v1/things/{thing_id}")
    def get_thing(thing_id: str, actor: ActorDep) -> dict[str, str]:
        return {}

    app = FastAPI(docs_url=None, redoc_url=None)
    app.include_router(router)
    openapi.install(app)
    paths = openapi.document(app)["paths"]["/api/v1/things/{thing_id}"]
    assert "412" in paths["put"]["responses"]
    assert "412" not in paths["get"]["responses"]
    assert paths["put"]["operationId"] == "putThing"
