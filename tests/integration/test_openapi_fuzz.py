"""Generated requests for every operation of `/openapi.json`: never a 5xx, every refusal is
problem+json.

Each operation gets a bounded number of cases that fit the schema and of cases that do not.
Path ids are sometimes those of a facility, product and order that exist, so that the cases reach
past the 404 into the code that reads and writes.
"""

from __future__ import annotations

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
