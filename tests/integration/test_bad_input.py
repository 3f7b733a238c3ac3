"""Hostile and unlucky input never answers 5xx and never writes: NUL in any text (PostgreSQL
cannot store it), header values that are not UTF-8, JSON nested too deeply to read, bodies over
the size limit (with Content-Length and chunked), rules documents too big to route by, and
search text with LIKE wildcards in it."""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.exc import DataError

from reroute.domain.access import Role
from reroute.services.context import Context
from reroute.services.rejection_preview import SYSTEM_REASONS
from reroute.storage.tables import metadata
from tests.e2e.live import serving
from tests.pages_support import Store, cheap_hashes, csrf_of, person, sign_in, two_stores
from tests.support import (
    count_stock,
    facility_body,
    new_id,
    order_body,
    product_body,
    put_facility,
    put_product,
    run_coroutine_alone,
)

pytestmark = pytest.mark.usefixtures(cheap_hashes.__name__)

NUL = "\x00"
LIMIT = 1_048_576  # the default REROUTE_MAX_BODY_BYTES
Headers = dict[str, str]


def row_counts(context: Context) -> dict[str, int]:
    """Rows in every table: what a refused request must leave as it was."""
    with context.db.transaction(write=False) as conn:
        return {
            t.name: int(conn.execute(select(func.count()).select_from(t)).scalar_one())
            for t in metadata.sorted_tables
        }


def assert_problem(response: httpx.Response, *statuses: int) -> dict[str, Any]:
    assert response.status_code in statuses, (response.status_code, response.text[:300])
    assert response.headers["content-type"] == "application/problem+json", response.text[:300]
    body: dict[str, Any] = response.json()
    assert body["status"] == response.status_code and body["title"] and body["detail"]
    return body


def assert_refused_page(response: httpx.Response, *statuses: int) -> None:
    assert response.status_code in statuses, (response.status_code, response.text[:300])
    assert response.headers["content-type"].startswith("text/html"), response.text[:300]


@pytest.fixture
def store(client: TestClient, admin: Headers) -> Store:
    """Two stores holding a product, and an order of it at the first one."""
    return two_stores(client, admin, orders=1)


def shipment_of(client: TestClient, admin: Headers, order_id: str) -> str:
    order = client.get(f"/api/v1/orders/{order_id}", headers=admin).json()
    shipment_id: str = order["shipments"][0]["shipment_id"]
    return shipment_id


def a_reason(client: TestClient, admin: Headers) -> str:
    listed = client.get("/api/v1/rejection-reasons?active=true", headers=admin).json()
    reason_id: str = next(r["reason_id"] for r in listed if r["reason_id"] not in SYSTEM_REASONS)
    return reason_id


def over_asgi(
    app: FastAPI,
    method: str,
    path: str,
    headers: list[tuple[bytes, bytes]],
    content: bytes | AsyncIterator[bytes] | None = None,
) -> httpx.Response:
    """One request handed to the application as given: header bytes unchanged (TestClient would
    re-encode them), and an async iterator body sent chunked, without Content-Length."""

    async def exchange() -> httpx.Response:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            response = await c.request(method, path, headers=headers, content=content)
            await response.aread()
            return response

    return run_coroutine_alone(exchange)


def raw_bearer(admin: Headers) -> list[tuple[bytes, bytes]]:
    return [(b"authorization", admin["Authorization"].encode())]


# NUL in API bodies ------------------------------------------------------------------------------


def test_nul_in_a_text_of_any_json_body_answers_422_naming_the_field_and_writes_nothing(
    client: TestClient,
    admin: Headers,
    context: Context,
    store: Store,
    subtests: pytest.Subtests,
) -> None:
    order_id = store.orders[0]
    shipment = shipment_of(client, admin, order_id)
    reason = {
        "label": "Torn",
        "inventory_effect": "none",
        "decline_code": "101",
        "decline_description": "Torn",
    }
    cases: list[tuple[str, str, dict[str, Any], str]] = [
        (
            "POST",
            "/api/v1/orders",
            order_body([(store.product, 1)], customer={"name": "Ada\x00", "email": "a@x.io"}),
            "customer.name",
        ),
        (
            "POST",
            "/api/v1/orders",
            order_body([(store.product, 1)], ship_to={"line1": "1 Main\x00St", "city": "X"}),
            "ship_to.line1",
        ),
        ("PUT", f"/api/v1/facilities/{new_id('F')}", facility_body(name="Store\x00"), "name"),
        ("PUT", f"/api/v1/products/{new_id('P')}", product_body(name="Shirt\x00"), "name"),
        ("PUT", f"/api/v1/products/{new_id('P')}", product_body(sku="S\x00"), "sku"),
        (
            "PUT",
            f"/api/v1/rejection-reasons/{new_id('R').upper().replace('-', '_')}",
            {**reason, "decline_description": "Torn\x00"},
            "decline_description",
        ),
        (
            "POST",
            "/api/v1/webhooks",
            {"url": "https://hooks.example.com/\x00", "event_types": ["StoreDeclineEvent"]},
            "url",
        ),
        (
            "POST",
            f"/api/v1/shipments/{shipment}/items/1/reject",
            {"comment": "broken\x00zip"},
            "comment",
        ),
        ("POST", f"/api/v1/shipments/{shipment}/reject", {"comment": "\x00"}, "comment"),
        ("POST", f"/api/v1/orders/{order_id}/cancel", {"reason_id": "R\x00"}, "reason_id"),
        ("POST", "/api/v1/tokens", {"role": "integration", "label": "ci\x00"}, "label"),
        ("PATCH", "/api/v1/settings", {"mfg_id": "1\x00"}, "mfg_id"),
    ]
    before = row_counts(context)
    for method, path, body, field in cases:
        with subtests.test(method=method, path=path, field=field):
            problem = assert_problem(client.request(method, path, json=body, headers=admin), 422)
            assert field in [e["path"] for e in problem["errors"]], problem
    assert row_counts(context) == before


def test_a_nul_refusal_says_that_nul_is_what_is_wrong(client: TestClient, admin: Headers) -> None:
    body = {"role": "integration", "label": "ci\x00"}
    problem = assert_problem(client.post("/api/v1/tokens", json=body, headers=admin), 422)
    assert "NUL" in problem["errors"][0]["message"]


def test_nul_in_the_rules_document_answers_422_at_its_path_and_saves_nothing(
    client: TestClient, admin: Headers
) -> None:
    document = {"routings": [{"name": "Web\x00", "inventory_rules": [{"name": "Near"}]}]}
    problem = assert_problem(client.put("/api/v1/routing/rules", json=document, headers=admin), 422)
    assert [e["path"] for e in problem["errors"]] == ["routings.0.name"]
    assert client.get("/api/v1/routing/rules", headers=admin).json()["default"] is True


def test_should_a_nul_reach_the_database_its_refusal_answers_422_not_500(app: FastAPI) -> None:
    def refused_by_the_driver(nul: bool) -> None:
        reason = "text fields cannot contain NUL (0x00) bytes" if nul else "numeric overflow"
        raise DataError("INSERT INTO x VALUES (%s)", {}, Exception(reason))

    app.add_api_route("/api/v1/test-nul", lambda: refused_by_the_driver(True))
    app.add_api_route("/api/v1/test-overflow", lambda: refused_by_the_driver(False))
    with TestClient(app, raise_server_exceptions=False) as client:
        problem = assert_problem(client.get("/api/v1/test-nul"), 422)
        assert "NUL" in problem["detail"]
        assert_problem(client.get("/api/v1/test-overflow"), 500)


# NUL in path ids and query values ----------------------------------------------------------------


def test_nul_in_a_path_id_answers_4xx_problem_json_on_reads_and_writes(
    client: TestClient,
    admin: Headers,
    context: Context,
    store: Store,
    subtests: pytest.Subtests,
) -> None:
    shipment = shipment_of(client, admin, store.orders[0])
    cases: list[tuple[str, str, dict[str, Any] | None]] = [
        ("GET", "/api/v1/orders/a%00b", None),
        ("GET", "/api/v1/facilities/x%00/inventory/p", None),
        ("PUT", "/api/v1/facilities/x%00/inventory/p", {"quantity_on_hand": 1}),
        ("PUT", f"/api/v1/facilities/{store.store_a}/inventory/p%00", {"quantity_on_hand": 1}),
        ("GET", f"/api/v1/facilities/{store.store_a}/inventory/p%00/ledger", None),
        ("PUT", "/api/v1/facilities/f%00", facility_body()),
        ("PUT", "/api/v1/products/p%00", product_body()),
        ("GET", "/api/v1/shipments/s%00", None),
        ("POST", "/api/v1/shipments/s%00/start", None),
        ("POST", f"/api/v1/shipments/{shipment}/items/%00/reject", {}),
        ("POST", "/api/v1/orders/o%00/cancel", {}),
        ("PUT", "/api/v1/rejection-reasons/R%00", {"label": "x"}),
        ("PATCH", "/api/v1/webhooks/wh%00", {"active": False}),
        ("DELETE", "/api/v1/webhooks/wh%00", None),
        ("GET", "/api/v1/facilities/f%00/shipments", None),
        ("GET", f"/api/v1/facilities/{store.store_a}/shipments?q=%00", None),
        ("GET", "/api/v1/rejections?facility_id=%00", None),
        ("GET", "/api/v1/nothing%00here", None),
    ]
    before = row_counts(context)
    for method, path, body in cases:
        with subtests.test(method=method, path=path):
            response = client.request(method, path, json=body, headers=admin)
            assert_problem(response, 404, 422)
    assert row_counts(context) == before


# NUL in pages ---------------------------------------------------------------------------------


def test_nul_in_a_page_form_or_query_answers_a_4xx_page_and_writes_nothing(
    client: TestClient,
    admin: Headers,
    context: Context,
    store: Store,
    subtests: pytest.Subtests,
) -> None:
    shipment = shipment_of(client, admin, store.orders[0])
    reason = a_reason(client, admin)
    sign_in(client, person(context, Role.ADMIN))
    token = csrf_of(client.get("/admin/reasons"))
    report = f"/store/{store.store_a}/shipments/{shipment}/items/1/report"
    rules = json.dumps({"routings": [{"name": "R", "inventory_rules": [{"name": "a\x00"}]}]})
    posts: list[tuple[str, dict[str, str]]] = [
        (report, {"reason_id": reason, "comment": "broken\x00"}),
        (report + "/confirm", {"reason_id": reason, "comment": "broken\x00"}),
        (report, {"reason_id": reason + NUL}),
        (f"/store/{store.store_a}/shipments/{shipment}/start", {"back": "/store/\x00"}),
        (
            "/admin/reasons/new",
            {
                "reason_id": "TORN",
                "label": "Torn\x00",
                "inventory_effect": "none",
                "decline_code": "101",
                "decline_description": "Torn",
            },
        ),
        (f"/admin/reasons/{reason}", {"label": "x\x00", "inventory_effect": "none"}),
        ("/admin/rules", {"document": rules.replace("\\u0000", NUL)}),
        (
            "/admin/webhooks",
            {"url": "https://hooks.example.com/\x00", "event_types": "StoreDeclineEvent"},
        ),
    ]
    gets = [
        f"/store/{store.store_a}/open?q=a%00b",
        f"/store/{store.store_a}/completed?q=%00",
        f"/admin/facilities/{store.store_a}?q=a%00",
        "/admin/orders?q=%00",
        "/store/go?facility=%00",
        report + "?back=%00",
    ]
    before = row_counts(context)
    for path, data in posts:
        with subtests.test(method="POST", path=path, fields=sorted(data)):
            response = client.post(path, data={"csrf_token": token, **data})
            assert_refused_page(response, 422)
            assert "NUL" in response.text
    for path in gets:
        with subtests.test(method="GET", path=path):
            assert_refused_page(client.get(path), 422)
    assert row_counts(context) == before


def test_nul_in_a_page_path_answers_404_and_writes_nothing(
    client: TestClient, admin: Headers, context: Context, store: Store, subtests: pytest.Subtests
) -> None:
    shipment = shipment_of(client, admin, store.orders[0])
    sign_in(client, person(context, Role.ADMIN))
    token = csrf_of(client.get("/admin/reasons"))
    before = row_counts(context)
    for path in (
        "/store/s%00/open",
        f"/store/{store.store_a}/shipments/{shipment}/items/%00/report",
        "/admin/orders/o%00",
        "/admin/facilities/f%00",
        "/admin/webhooks/w%00",
        "/static/a%00.css",
    ):
        with subtests.test(method="GET", path=path):
            assert_refused_page(client.get(path), 404)
    for path in (
        f"/store/{store.store_a}/shipments/%00/start",
        "/admin/reasons/R%00",
        "/admin/reasons/R%00/move",
    ):
        with subtests.test(method="POST", path=path):
            response = client.post(path, data={"csrf_token": token, "direction": "up"})
            assert_refused_page(response, 404)
    assert row_counts(context) == before


def test_a_rules_document_with_an_escaped_nul_is_refused_on_the_page_at_its_path(
    client: TestClient, admin: Headers, context: Context
) -> None:
    sign_in(client, person(context, Role.ADMIN))
    token = csrf_of(client.get("/admin/rules"))
    document = json.dumps({"routings": [{"name": "Web\x00", "inventory_rules": [{}]}]})
    assert "\\u0000" in document
    response = client.post("/admin/rules", data={"csrf_token": token, "document": document})
    assert_refused_page(response, 422)
    assert "routings.0.name" in response.text
    assert client.get("/api/v1/routing/rules", headers=admin).json()["default"] is True


# Header values that are not UTF-8 ---------------------------------------------------------------

BAD_VALUE = b"\xff\xfe bad"


@pytest.mark.parametrize(
    "header", [b"x-request-id", b"authorization", b"cookie", b"idempotency-key", b"x-csrf-token"]
)
def test_a_header_value_that_is_not_utf8_answers_400_and_writes_nothing(
    app: FastAPI, client: TestClient, admin: Headers, context: Context, header: bytes
) -> None:
    product = new_id("P")
    body = json.dumps(product_body()).encode()
    before = row_counts(context)
    for method, path, content in (
        ("PUT", f"/api/v1/products/{product}", body),
        ("GET", "/api/v1/facilities", None),
        ("GET", "/login", None),
        ("POST", "/admin/rules/reset", b"csrf_token=x"),
    ):
        headers = [(k, v) for k, v in raw_bearer(admin) if k != header]
        headers += [(header, BAD_VALUE), (b"content-type", b"application/json")]
        response = over_asgi(app, method, path, headers, content)
        assert response.status_code == 400, (method, path, response.text)
        assert header.decode() in response.text
        if path.startswith("/api/"):
            assert_problem(response, 400)
    assert row_counts(context) == before
    assert client.get(f"/api/v1/products/{product}", headers=admin).status_code == 404


def test_the_same_request_with_utf8_headers_is_served(
    app: FastAPI, client: TestClient, admin: Headers
) -> None:
    """The check above refuses the bytes, not the headers: the same request with text passes."""
    product = new_id("P")
    headers = [*raw_bearer(admin), (b"x-request-id", "café".encode())]
    headers += [(b"idempotency-key", new_id("k").encode()), (b"content-type", b"application/json")]
    body = json.dumps(product_body()).encode()
    response = over_asgi(app, "PUT", f"/api/v1/products/{product}", headers, body)
    assert response.status_code == 201, response.text
    assert client.get(f"/api/v1/products/{product}", headers=admin).status_code == 200


# Deep JSON ------------------------------------------------------------------------------------

DEPTH = 100_000


@pytest.mark.parametrize(
    "deep",
    ["[" * DEPTH + "]" * DEPTH, '{"a":' * DEPTH + "1" + "}" * DEPTH],
    ids=["arrays", "objects"],
)
@pytest.mark.parametrize(
    ("method", "path"), [("PUT", "/api/v1/routing/rules"), ("POST", "/api/v1/orders")]
)
def test_json_nested_too_deeply_answers_422_problem_json(
    client: TestClient, admin: Headers, context: Context, method: str, path: str, deep: str
) -> None:
    before = row_counts(context)
    headers = {**admin, "content-type": "application/json"}
    problem = assert_problem(client.request(method, path, content=deep, headers=headers), 422)
    assert "deeply" in problem["detail"]
    assert row_counts(context) == before


def test_a_rules_document_deeper_than_python_reads_is_refused_on_the_rules_page(
    client: TestClient, context: Context
) -> None:
    sign_in(client, person(context, Role.ADMIN))
    token = csrf_of(client.get("/admin/rules"))
    for document in (
        "[" * 99_000 + "]" * 99_000,
        '{"routings":' + "[" * 90_000 + "]" * 90_000 + "}",
    ):
        response = client.post("/admin/rules", data={"csrf_token": token, "document": document})
        assert_refused_page(response, 422)
        assert "too deeply" in response.text


def test_a_rules_document_python_reads_but_nested_deep_lists_its_errors_on_the_page_and_api(
    client: TestClient, admin: Headers, context: Context
) -> None:
    document = '{"routings": [' + "[" * 600 + "]" * 600 + "]}"
    problem = assert_problem(
        client.put(
            "/api/v1/routing/rules",
            content=document,
            headers={**admin, "content-type": "application/json"},
        ),
        422,
    )
    assert [e["path"] for e in problem["errors"]] == ["routings.0", "routings.0.inventory_rules"]
    sign_in(client, person(context, Role.ADMIN))
    token = csrf_of(client.get("/admin/rules"))
    response = client.post("/admin/rules", data={"csrf_token": token, "document": document})
    assert_refused_page(response, 422)
    assert "routings.0" in response.text


def test_a_body_that_is_not_utf8_json_answers_422(client: TestClient, admin: Headers) -> None:
    headers = {**admin, "content-type": "application/json"}
    response = client.post("/api/v1/orders", content=b'{"order_id": "\xff"}', headers=headers)
    assert_problem(response, 422)


# Body size --------------------------------------------------------------------------------------


def two_mib_order() -> bytes:
    body = order_body([(new_id("P"), 1)], ship_to={"line2": "x" * (2 * LIMIT)})
    return json.dumps(body).encode()


def test_a_body_over_the_limit_with_content_length_answers_413_problem_json(
    client: TestClient, admin: Headers, context: Context
) -> None:
    before = row_counts(context)
    headers = {**admin, "content-type": "application/json", "Idempotency-Key": new_id("k")}
    response = client.post("/api/v1/orders", content=two_mib_order(), headers=headers)
    problem = assert_problem(response, 413)
    assert str(LIMIT) in problem["detail"]
    assert row_counts(context) == before


def test_a_chunked_body_over_the_limit_is_cut_off_while_it_streams_in(
    app: FastAPI, admin: Headers, context: Context
) -> None:
    chunk, sent = b"x" * 65_536, []

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(32):  # 2 MiB
            sent.append(len(chunk))
            yield chunk

    before = row_counts(context)
    headers = [*raw_bearer(admin), (b"content-type", b"application/json")]
    response = over_asgi(app, "POST", "/api/v1/orders", headers, chunks())
    assert "content-length" not in response.request.headers
    assert response.request.headers["transfer-encoding"] == "chunked"
    problem = assert_problem(response, 413)
    assert str(LIMIT) in problem["detail"]
    assert sum(sent) <= LIMIT + len(chunk)  # read up to the limit, then no further
    assert row_counts(context) == before


def test_a_chunked_body_under_the_limit_is_read_whole(
    app: FastAPI, client: TestClient, admin: Headers
) -> None:
    product = new_id("P")
    body = json.dumps(product_body(name="Chunked " + "y" * 150)).encode()

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 7):
            yield body[start : start + 7]

    headers = [*raw_bearer(admin), (b"content-type", b"application/json")]
    response = over_asgi(app, "PUT", f"/api/v1/products/{product}", headers, chunks())
    assert response.status_code == 201, response.text
    assert client.get(f"/api/v1/products/{product}", headers=admin).json()["name"].endswith("y")


def test_a_page_form_over_the_limit_answers_413(client: TestClient, context: Context) -> None:
    sign_in(client, person(context, Role.ADMIN))
    token = csrf_of(client.get("/admin/rules"))
    response = client.post("/admin/rules", data={"csrf_token": token, "document": "x" * 2 * LIMIT})
    assert response.status_code == 413
    assert client.get("/admin/rules").status_code == 200


def test_a_get_with_a_body_over_the_limit_answers_413(client: TestClient, admin: Headers) -> None:
    response = client.request(
        "GET", "/api/v1/facilities", content=b"x" * (LIMIT + 1), headers=admin
    )
    assert_problem(response, 413)


# Over the wire: a real server, raw bytes ---------------------------------------------------------


def exchange(base_url: str, head: bytes, body: list[bytes] | None = None) -> bytes:
    """Send `head` (and `body` chunks) on one connection; answers all that came back until the
    server closed it (10 s at most)."""
    address = urlsplit(base_url)
    with socket.create_connection((address.hostname, address.port), timeout=10) as connection:
        connection.sendall(head)
        for part in body or []:
            connection.sendall(part)
        received = b""
        while len(received) < 1_000_000:
            try:
                part = connection.recv(65_536)
            except TimeoutError:
                break
            if not part:
                break
            received += part
        return received


def status_of(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


def test_over_the_wire_oversized_bodies_and_undecodable_headers_are_refused(
    context: Context, admin: Headers
) -> None:
    bearer = admin["Authorization"].encode()
    with serving(context) as base_url:
        # Only the headers are sent: the 413 comes without waiting for a body.
        head = (
            b"POST /api/v1/orders HTTP/1.1\r\nHost: localhost\r\nAuthorization: " + bearer + b"\r\n"
            b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % (2 * LIMIT)
        )
        answer = exchange(base_url, head)
        assert status_of(answer) == 413 and b"application/problem+json" in answer

        # Chunked, no end in sight: cut off once the limit is passed.
        head = (
            b"POST /api/v1/orders HTTP/1.1\r\nHost: localhost\r\nAuthorization: " + bearer + b"\r\n"
            b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        chunk = b"x" * 65_536
        chunks = [b"%x\r\n%s\r\n" % (len(chunk), chunk)] * (LIMIT // len(chunk)) + [b"1\r\nx\r\n"]
        answer = exchange(base_url, head, chunks)
        assert status_of(answer) == 413 and b"application/problem+json" in answer

        head = b"GET /api/v1/facilities HTTP/1.1\r\nHost: localhost\r\nX-Request-ID: \xff\xfe\r\n"
        answer = exchange(base_url, head + b"Connection: close\r\n\r\n")
        assert status_of(answer) == 400 and b"x-request-id" in answer.lower()

        head = b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
        assert status_of(exchange(base_url, head)) == 200


# The rules document is bounded -------------------------------------------------------------------


def test_a_rules_document_of_20001_routings_is_refused_at_routings(
    client: TestClient, admin: Headers, context: Context
) -> None:
    document = {"routings": [{"inventory_rules": [{}]} for _ in range(20_001)]}
    before = row_counts(context)
    problem = assert_problem(client.put("/api/v1/routing/rules", json=document, headers=admin), 422)
    assert [e["path"] for e in problem["errors"]] == ["routings"]
    assert "20001" in problem["errors"][0]["message"]
    assert row_counts(context) == before
    assert client.get("/api/v1/routing/rules", headers=admin).json()["default"] is True


def test_a_rules_document_with_too_many_inventory_rules_is_refused_on_the_page(
    client: TestClient, context: Context
) -> None:
    sign_in(client, person(context, Role.ADMIN))
    token = csrf_of(client.get("/admin/rules"))
    document = json.dumps({"routings": [{"inventory_rules": [{}] * 51}]})
    response = client.post("/admin/rules", data={"csrf_token": token, "document": document})
    assert_refused_page(response, 422)
    assert "routings.0.inventory_rules" in response.text


# The admin stock search takes % and _ literally --------------------------------------------------


def test_the_admin_stock_search_takes_percent_and_underscore_literally(
    client: TestClient, admin: Headers, context: Context
) -> None:
    tag = new_id("t")
    facility = put_facility(client, admin)
    names = {
        "percent": f"50% off {tag}",
        "plain": f"5000 off {tag}",
        "underscore": f"linen_shirt {tag}",
        "other": f"linenXshirt {tag}",
    }
    for name in names.values():
        count_stock(client, admin, facility, put_product(client, admin, name=name), 3)
    sign_in(client, person(context, Role.ADMIN))

    def found(q: str) -> set[str]:
        page = client.get(f"/admin/facilities/{facility}", params={"q": q})
        assert page.status_code == 200, page.text
        return {key for key, name in names.items() if name in page.text}

    assert found("%") == {"percent"}
    assert found("0% off") == {"percent"}
    assert found("n_s") == {"underscore"}
    assert found("_") == {"underscore"}
    assert found(tag) == set(names)
    assert found("\\") == set()
