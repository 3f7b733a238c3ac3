"""Generated requests for every operation of `/openapi.json`: never a 5xx, every refusal is
problem+json.

Each operation gets a bounded number of cases that fit the schema and of cases that do not.
Path ids are sometimes those of a facility, product and order that exist, so that the cases reach
past the 404 into the code that reads and writes.
"""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from tests.support import count_stock, order_body, put_facility, put_product

EXAMPLES = 10
#: Revoking tokens at random would revoke the fuzzer's own; tokens have tests of their own.
SKIPPED = {("DELETE", "/api/v1/tokens/{token_id}")}


def test_the_openapi_document_and_the_interactive_docs_are_served(client: TestClient) -> None:
    document = client.get("/openapi.json")
    assert document.status_code == 200
    paths = document.json()["paths"]
    for path in (
        "/api/v1/facilities/{facility_id}",
        "/api/v1/products/{product_id}",
        "/api/v1/facilities/{facility_id}/inventory/{product_id}",
        "/api/v1/facilities/{facility_id}/inventory/{product_id}/ledger",
        "/api/v1/orders",
        "/api/v1/orders/{order_id}",
        "/api/v1/facilities/{facility_id}/shipments",
        "/api/v1/settings",
        "/api/v1/tokens",
    ):
        assert path in paths, path
    docs = client.get("/docs")
    assert docs.status_code == 200
    assert "text/html" in docs.headers["content-type"]


def known_ids(client: TestClient, admin: dict[str, str]) -> dict[str, str]:
    facility, product = put_facility(client, admin), put_product(client, admin)
    count_stock(client, admin, facility, product, 20)
    order = order_body([(product, 1)])
    assert client.post("/api/v1/orders", json=order, headers=admin).status_code == 201
    return {"facility_id": facility, "product_id": product, "order_id": order["order_id"]}


def test_generated_requests_never_answer_5xx_and_every_refusal_is_problem_json(
    app: FastAPI, client: TestClient, admin: dict[str, str]
) -> None:
    known = known_ids(client, admin)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if (operation.method.upper(), operation.path) in SKIPPED:
            continue
        operations += 1
        names = set(re.findall(r"{(\w+)}", operation.path))
        fixed = {name: known[name] for name in names if name in known}
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            cases = operation.as_strategy(generation_mode=mode)
            if fixed and mode is GenerationMode.POSITIVE:
                cases = st.one_of(
                    cases, operation.as_strategy(generation_mode=mode, path_parameters=fixed)
                )
            run_cases(cases, admin, failures)
    assert operations >= 12
    assert not failures, "\n".join(failures[:20])


def run_cases(cases: Any, admin: dict[str, str], failures: list[str]) -> None:
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=cases)
    def check(case: Any) -> None:
        case.headers = {**(case.headers or {}), **admin}
        response = case.call()
        content_type = (response.headers.get("content-type") or [""])[0]
        bad = response.status_code >= 500 or (
            response.status_code >= 400 and content_type != "application/problem+json"
        )
        if bad:
            failures.append(
                f"{case.method} {case.formatted_path} query={case.query!r} "
                f"body={case.body!r:.300} -> {response.status_code} {content_type} "
                f"{response.content[:200]!r}"
            )

    check()


@pytest.fixture(autouse=True)
def quiet_refusal_log(caplog: pytest.LogCaptureFixture) -> None:
    """Refusals are logged at warning level; hundreds of them are noise here."""
    caplog.set_level("ERROR", logger="reroute.api")


# Hostile input at every operation -------------------------------------------------------------

#: Path ids no record can have, as sent: NUL, bytes that are not UTF-8, far too long.
HOSTILE_IDS = ("a%00b", "%FF%FE", "x" * 3000)
HOSTILE_BODIES = (
    b'{"name": "\xff\xfe"}',  # not UTF-8
    b'{"name": "a\\u0000b", "url": "https://a.example/\\u0000"}',
    b'{"name": "' + b"n" * 900_000 + b'"}',
    b"[" * 50_000 + b"]" * 50_000,
    b'{"a\\u0000": 1}',
)
#: Texts of one generated body that get a NUL, one at a time.
NUL_SPOTS = 6


def text_spots(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Where the texts of a JSON value are."""
    if isinstance(value, str):
        return [path]
    if isinstance(value, dict):
        return [s for key, item in value.items() for s in text_spots(item, (*path, key))]
    if isinstance(value, list):
        return [s for i, item in enumerate(value) for s in text_spots(item, (*path, i))]
    return []


def with_nul_at(value: Any, spot: tuple[Any, ...]) -> Any:
    copied = copy.deepcopy(value)
    holder = copied
    for key in spot[:-1]:
        holder = holder[key]
    holder[spot[-1]] += "\x00"
    return copied


def test_hostile_input_at_every_operation_never_answers_5xx(
    app: FastAPI, client: TestClient, admin: dict[str, str]
) -> None:
    """Every operation gets hostile path ids and query values, hostile bodies, and bodies that
    fit its schema but for one NUL in one text (which must be refused before it is stored)."""
    known = known_ids(client, admin)
    order = client.get(f"/api/v1/orders/{known['order_id']}", headers=admin).json()
    known |= {"shipment_id": order["shipments"][0]["shipment_id"], "item_id": "1"}
    failures: list[str] = []
    sent = 0

    def check(method: str, path: str, response: Any, what: str) -> None:
        nonlocal sent
        sent += 1
        content_type = response.headers.get("content-type") or ""
        if isinstance(content_type, list):  # schemathesis keeps every value of a header
            content_type = content_type[0] if content_type else ""
        if response.status_code >= 500 or (
            response.status_code >= 400 and content_type != "application/problem+json"
        ):
            failures.append(
                f"{method} {path[:120]} {what[:160]} -> {response.status_code} {content_type} "
                f"{response.text[:200]!r}"
            )

    def send(method: str, path: str, body: bytes | None = None) -> None:
        headers = {**admin, "content-type": "application/json"}
        check(method, path, client.request(method, path, content=body, headers=headers), "")

    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    for result in schema.get_all_operations():
        operation = result.ok()
        method, template = operation.method.upper(), operation.path
        if (method, template) in SKIPPED:
            continue
        names = re.findall(r"{(\w+)}", template)
        ids = {n: known.get(n, "1") for n in names}
        usual = template.format(**ids)
        for name in names:
            for hostile in HOSTILE_IDS:
                send(method, template.format(**(ids | {name: hostile})))
        for parameter in operation.query:
            for hostile in HOSTILE_IDS:
                send(method, f"{usual}?{parameter.name}={hostile}")
        if operation.body:
            for body in HOSTILE_BODIES:
                send(method, usual, body)
            one_nul_at_a_time(operation, ids, admin, check)
    assert sent >= 200
    assert not failures, "\n".join(failures[:20])


def one_nul_at_a_time(
    operation: Any, ids: dict[str, str], admin: dict[str, str], check: Any
) -> None:
    fixed = {
        n: v
        for n, v in ids.items()
        if n in ("facility_id", "product_id", "order_id", "shipment_id", "item_id")
    }
    cases = operation.as_strategy(generation_mode=GenerationMode.POSITIVE, path_parameters=fixed)

    @settings(
        max_examples=3,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=cases)
    def send_variants(case: Any) -> None:
        if not isinstance(case.body, dict | list):
            return
        original = case.body
        for spot in text_spots(original)[:NUL_SPOTS]:
            case.body = with_nul_at(original, spot)
            case.headers = {**(case.headers or {}), **admin}
            response = case.call()
            check(case.method, case.formatted_path, response, f"NUL at {spot}: {case.body!r}")

    send_variants()
