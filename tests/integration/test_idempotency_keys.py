"""`Idempotency-Key` (SPEC 7, 9): authentication first, one effect per key and principal, no
secret kept, keys that expire, and hostile header bytes answered 4xx; on both databases, the
races in real threads."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import ASGITransport, AsyncClient, Response
from sqlalchemy import func, insert, select, update
from starlette.types import ASGIApp, Receive, Scope, Send

from reroute.api import idempotency
from reroute.app import create_app
from reroute.domain.access import SYSTEM, Role
from reroute.domain.clock import utcnow
from reroute.services import catalog, tokens
from reroute.services.context import Context, Security
from reroute.storage.repositories.access import IdempotencyRepository
from reroute.storage.tables import api_tokens, idempotency_keys, orders, products, webhooks
from tests.pages_support import cheap_hashes, csrf_of, person, sign_in
from tests.support import (
    count_stock,
    new_id,
    order_body,
    product_body,
    put_facility,
    put_product,
    run_coroutine_alone,
)

Rows = list[dict[str, Any]]


def key_rows(context: Context) -> Rows:
    with context.db.transaction(write=False) as conn:
        return [dict(r._mapping) for r in conn.execute(select(idempotency_keys))]


def count(context: Context, table: Any) -> int:
    with context.db.transaction(write=False) as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def new_admin(context: Context) -> tuple[dict[str, str], int]:
    token, token_id = tokens.create_token(context, Role.ADMIN, [], "test", SYSTEM)
    return {"Authorization": f"Bearer {token}"}, token_id


def keyed(headers: dict[str, str], key: str | None = None) -> dict[str, str]:
    return {**headers, "Idempotency-Key": key or new_id("key")}


def token_body() -> dict[str, Any]:
    return {"role": "integration", "label": new_id("label")}


def at_once(
    client: TestClient, path: str, body: dict[str, Any], headers: dict[str, str], n: int = 6
) -> list[Response]:
    """`n` POSTs of one request from `n` threads, released together."""
    start = threading.Barrier(n, timeout=10)

    def one() -> Response:
        start.wait()
        return client.post(path, json=body, headers=headers)

    with ThreadPoolExecutor(n) as pool:
        return [f.result(timeout=30) for f in [pool.submit(one) for _ in range(n)]]


def assert_problem(response: Response, status: int, detail: str | None = None) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status and body["title"] and body["detail"]
    if detail is not None:
        assert body["detail"] == detail


@pytest.fixture
def webhook_client(context: Context) -> Iterator[TestClient]:
    """The app with webhook targets on 127.0.0.1 allowed (nothing is delivered: no worker)."""
    permissive = Context(
        db=context.db,
        defaults=context.defaults,
        security=Security(allow_private_webhook_targets=True),
    )
    with TestClient(create_app(permissive), raise_server_exceptions=False) as client:
        yield client


def webhook_body() -> dict[str, Any]:
    return {"url": f"http://127.0.0.1:9/{new_id('hook')}", "event_types": ["ready_shipment"]}


# Authentication first -----------------------------------------------------------------------


def test_a_revoked_token_gets_401_where_its_key_would_replay_a_stored_answer(
    client: TestClient, context: Context
) -> None:
    headers, token_id = new_admin(context)
    path, body, key = f"/api/v1/products/{new_id('P')}", product_body(), new_id("key")
    assert client.put(path, json=body, headers=keyed(headers, key)).status_code == 201
    tokens.revoke_token(context, token_id, SYSTEM)
    stored = key_rows(context)
    again = client.put(path, json=body, headers=keyed(headers, key))
    assert_problem(again, 401)
    assert "idempotent-replayed" not in again.headers
    assert body["sku"] not in again.text
    assert key_rows(context) == stored


def test_a_revoked_admin_token_repeating_a_token_creation_gets_401_and_no_token(
    client: TestClient, context: Context
) -> None:
    headers, token_id = new_admin(context)
    key, body = new_id("key"), token_body()
    assert client.post("/api/v1/tokens", json=body, headers=keyed(headers, key)).status_code == 201
    tokens.revoke_token(context, token_id, SYSTEM)
    made = count(context, api_tokens)
    again = client.post("/api/v1/tokens", json=body, headers=keyed(headers, key))
    assert_problem(again, 401)
    assert "rr_" not in again.text
    assert count(context, api_tokens) == made


@pytest.fixture
def key_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every read or write of a key row, even one undone before the answer."""
    touched: list[str] = []
    for name in ("claim", "get", "answer", "release"):
        real = getattr(IdempotencyRepository, name)

        def spy(*args: Any, _real: Any = real, _name: str = name, **kwargs: Any) -> Any:
            touched.append(_name)
            return _real(*args, **kwargs)

        monkeypatch.setattr(IdempotencyRepository, name, spy)
    return touched


def test_requests_without_valid_credentials_answer_401_and_never_touch_a_key(
    client: TestClient, context: Context, subtests: pytest.Subtests, key_reads: list[str]
) -> None:
    revoked, token_id = new_admin(context)
    tokens.revoke_token(context, token_id, SYSTEM)
    callers: dict[str, dict[str, str]] = {
        "no credentials": {},
        "unknown token": {"Authorization": "Bearer rr_unknown"},
        "revoked token": revoked,
        "another scheme": {"Authorization": "Basic YWRtaW46YWRtaW4="},
        "a forged cookie": {"Cookie": "reroute_session=forged"},
    }
    for name, headers in callers.items():
        with subtests.test(name):
            for _ in range(3):
                path = f"/api/v1/products/{new_id('P')}"
                answer = client.put(path, json=product_body(), headers=keyed(headers, "k1"))
                assert_problem(answer, 401)
            assert key_rows(context) == []
            assert key_reads == []
            assert count(context, products) == 0


@pytest.mark.usefixtures(cheap_hashes.__name__)
def test_a_signed_in_session_without_its_csrf_header_writes_no_key_and_with_it_binds_the_user(
    client: TestClient, context: Context
) -> None:
    email = person(context, Role.ADMIN)
    sign_in(client, email)
    path, body, key = f"/api/v1/products/{new_id('P')}", product_body(), new_id("key")
    assert_problem(client.put(path, json=body, headers={"Idempotency-Key": key}), 401)
    assert key_rows(context) == []
    csrf = {"X-CSRF-Token": csrf_of(client.get("/admin")), "Idempotency-Key": key}
    first = client.put(path, json=body, headers=csrf)
    assert first.status_code == 201, first.text
    again = client.put(path, json=body, headers=csrf)
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    assert [r["principal"] for r in key_rows(context)] == [f"user:{email}"]


def test_a_key_is_bound_to_the_token_not_to_how_its_header_is_written(
    client: TestClient, context: Context
) -> None:
    headers, token_id = new_admin(context)
    path, body, key = f"/api/v1/products/{new_id('P')}", product_body(), new_id("key")
    assert client.put(path, json=body, headers=keyed(headers, key)).status_code == 201
    respelled = {"Authorization": headers["Authorization"].replace("Bearer ", "bearer  ")}
    again = client.put(path, json=body, headers=keyed(respelled, key))
    assert again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert [r["principal"] for r in key_rows(context)] == [f"token:{token_id}"]


# A key takes effect once ------------------------------------------------------------------


def test_requests_at_once_with_one_key_create_one_token_and_the_others_get_409(
    client: TestClient, admin: dict[str, str], context: Context
) -> None:
    for _ in range(4):
        headers, body = keyed(admin), token_body()
        before = count(context, api_tokens)
        answers = at_once(client, "/api/v1/tokens", body, headers)
        assert sorted(a.status_code for a in answers) == [201] + [409] * 5
        for refused in (a for a in answers if a.status_code == 409):
            assert refused.json()["detail"] in (idempotency.IN_PROGRESS, idempotency.WITHHELD)
        assert count(context, api_tokens) == before + 1


def test_requests_at_once_with_one_key_create_one_webhook(
    webhook_client: TestClient, admin: dict[str, str], context: Context
) -> None:
    for _ in range(3):
        headers, body = keyed(admin), webhook_body()
        before = count(context, webhooks)
        answers = at_once(webhook_client, "/api/v1/webhooks", body, headers)
        assert sorted(a.status_code for a in answers) == [201] + [409] * 5
        assert count(context, webhooks) == before + 1


def test_orders_at_once_with_one_key_make_one_order_and_the_duplicates_replay_its_answer(
    client: TestClient, admin: dict[str, str], context: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(idempotency, "CLAIM_WAIT_S", 15.0)  # a slow machine still replays
    product = put_product(client, admin)
    for _ in range(3):
        headers, body = keyed(admin), order_body([(product, 1)])
        before = count(context, orders)
        answers = at_once(client, "/api/v1/orders", body, headers)
        assert [a.status_code for a in answers] == [201] * 6
        replayed = [a.headers.get("idempotent-replayed") for a in answers]
        assert sorted(replayed, key=str) == [None] + ["true"] * 5
        assert len({a.content for a in answers}) == 1
        assert count(context, orders) == before + 1


def test_a_repeat_sent_right_after_the_answer_replays_it(
    client: TestClient, admin: dict[str, str], context: Context
) -> None:
    store, product = put_facility(client, admin), put_product(client, admin)
    path = f"/api/v1/facilities/{store}/inventory/{product}"
    for quantity in range(1, 6):
        headers = keyed(admin)
        first = client.put(path, json={"quantity_on_hand": quantity}, headers=headers)
        again = client.put(path, json={"quantity_on_hand": quantity}, headers=headers)
        assert (first.status_code, again.status_code) == (200, 200)
        assert again.headers["idempotent-replayed"] == "true"
        assert again.content == first.content
    ledger = client.get(path + "/ledger", headers=admin).json()["items"]
    assert len(ledger) == 5


def test_a_duplicate_sent_while_the_first_runs_waits_for_its_answer_and_replays_it(
    client: TestClient, admin: dict[str, str], context: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    running, go_on = threading.Event(), threading.Event()
    real = catalog.put_product

    def slow(*args: Any, **kwargs: Any) -> Any:
        running.set()
        go_on.wait(timeout=10)
        return real(*args, **kwargs)

    monkeypatch.setattr(catalog, "put_product", slow)
    path, body, headers = f"/api/v1/products/{new_id('P')}", product_body(), keyed(admin)
    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(lambda: client.put(path, json=body, headers=headers))
        assert running.wait(timeout=10)
        duplicate = pool.submit(lambda: client.put(path, json=body, headers=headers))
        assert not duplicate.done()
        go_on.set()
        answers = first.result(timeout=10), duplicate.result(timeout=10)
    assert [a.status_code for a in answers] == [201, 201]
    assert answers[1].headers["idempotent-replayed"] == "true"
    assert answers[1].json() == answers[0].json()


def test_a_duplicate_that_waited_too_long_gets_409_with_retry_after_and_changes_nothing(
    client: TestClient, admin: dict[str, str], context: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(idempotency, "CLAIM_WAIT_S", 0.2)
    running, go_on = threading.Event(), threading.Event()
    real = catalog.put_product
    calls: list[str] = []

    def slow(*args: Any, **kwargs: Any) -> Any:
        calls.append("run")
        running.set()
        go_on.wait(timeout=10)
        return real(*args, **kwargs)

    monkeypatch.setattr(catalog, "put_product", slow)
    path, body, headers = f"/api/v1/products/{new_id('P')}", product_body(), keyed(admin)
    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(lambda: client.put(path, json=body, headers=headers))
        assert running.wait(timeout=10)
        duplicate = client.put(path, json=body, headers=headers)
        go_on.set()
        assert first.result(timeout=10).status_code == 201
    assert_problem(duplicate, 409, idempotency.IN_PROGRESS)
    assert duplicate.headers["retry-after"] == "1"
    assert calls == ["run"]
    assert client.put(path, json=body, headers=headers).headers["idempotent-replayed"] == "true"


def test_a_failed_request_releases_its_key_so_it_can_be_sent_again(
    client: TestClient, admin: dict[str, str], context: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = catalog.put_product

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the disk is on fire")

    monkeypatch.setattr(catalog, "put_product", broken)
    path, body, headers = f"/api/v1/products/{new_id('P')}", product_body(), keyed(admin)
    assert client.put(path, json=body, headers=headers).status_code == 500
    assert key_rows(context) == []
    monkeypatch.setattr(catalog, "put_product", real)
    again = client.put(path, json=body, headers=headers)
    assert again.status_code == 201
    assert "idempotent-replayed" not in again.headers
    assert [r["state"] for r in key_rows(context)] == ["answered"]


def test_the_same_key_on_another_query_answers_422(
    client: TestClient, admin: dict[str, str]
) -> None:
    path, body, headers = f"/api/v1/products/{new_id('P')}", product_body(), keyed(admin)
    assert client.put(path, json=body, headers=headers).status_code == 201
    problem = client.put(path + "?again=1", json=body, headers=headers)
    assert_problem(problem, 422, idempotency.MISMATCH)


# No secret is kept ----------------------------------------------------------------------------


def assert_withheld(row: dict[str, Any], secret: str) -> None:
    assert (row["state"], row["status_code"], row["response_body"]) == ("withheld", 201, None)
    assert secret not in repr(row)


def test_a_new_token_is_kept_without_its_body_and_a_repeat_answers_409(
    client: TestClient, admin: dict[str, str], context: Context
) -> None:
    headers, body = keyed(admin), token_body()
    made = client.post("/api/v1/tokens", json=body, headers=headers)
    assert made.status_code == 201
    assert made.headers["cache-control"] == "no-store"
    (row,) = key_rows(context)
    assert_withheld(row, made.json()["token"])
    tokens_made = count(context, api_tokens)
    again = client.post("/api/v1/tokens", json=body, headers=headers)
    assert_problem(again, 409, idempotency.WITHHELD)
    assert made.json()["token"] not in again.text
    assert count(context, api_tokens) == tokens_made


def test_a_new_webhook_secret_is_kept_without_its_body_and_a_repeat_answers_409(
    webhook_client: TestClient, admin: dict[str, str], context: Context
) -> None:
    headers, body = keyed(admin), webhook_body()
    made = webhook_client.post("/api/v1/webhooks", json=body, headers=headers)
    assert made.status_code == 201, made.text
    assert made.headers["cache-control"] == "no-store"
    (row,) = key_rows(context)
    assert_withheld(row, made.json()["secret"])
    again = webhook_client.post("/api/v1/webhooks", json=body, headers=headers)
    assert_problem(again, 409, idempotency.WITHHELD)
    assert count(context, webhooks) == 1


def test_answers_with_a_secret_say_no_store_and_others_do_not(
    webhook_client: TestClient, admin: dict[str, str]
) -> None:
    secret_bearing = [
        webhook_client.post("/api/v1/tokens", json=token_body(), headers=admin),
        webhook_client.post("/api/v1/webhooks", json=webhook_body(), headers=admin),
    ]
    assert [a.status_code for a in secret_bearing] == [201, 201]
    assert [a.headers.get("cache-control") for a in secret_bearing] == ["no-store"] * 2
    listed = webhook_client.get("/api/v1/webhooks", headers=admin)
    assert "no-store" not in listed.headers.get("cache-control", "")


# Keys expire ----------------------------------------------------------------------------------


def expire_every_key(context: Context) -> None:
    with context.db.transaction(write=True) as conn:
        conn.execute(update(idempotency_keys).values(expires_at=utcnow() - timedelta(seconds=1)))


def test_an_expired_key_is_new_again(
    client: TestClient, admin: dict[str, str], context: Context
) -> None:
    store, product = put_facility(client, admin), put_product(client, admin)
    path = f"/api/v1/facilities/{store}/inventory/{product}"
    headers = keyed(admin)
    assert client.put(path, json={"quantity_on_hand": 5}, headers=headers).status_code == 200
    count_stock(client, admin, store, product, 3)
    expire_every_key(context)
    again = client.put(path, json={"quantity_on_hand": 5}, headers=headers)
    assert again.status_code == 200
    assert "idempotent-replayed" not in again.headers
    assert client.get(path, headers=admin).json()["quantity_on_hand"] == 5
    (row,) = key_rows(context)
    assert row["state"] == "answered"
    replayed = client.put(path, json={"quantity_on_hand": 5}, headers=headers)
    assert replayed.headers["idempotent-replayed"] == "true"


def test_an_expired_key_may_be_used_for_another_request(
    client: TestClient, admin: dict[str, str], context: Context
) -> None:
    headers = keyed(admin)
    first = f"/api/v1/products/{new_id('P')}"
    assert client.put(first, json=product_body(), headers=headers).status_code == 201
    expire_every_key(context)
    other = f"/api/v1/products/{new_id('P')}"
    assert client.put(other, json=product_body(), headers=headers).status_code == 201
    assert [r["path"] for r in key_rows(context)] == [other]


def test_a_key_lives_as_long_as_the_setting_says(context: Context, admin: dict[str, str]) -> None:
    short = Context(
        db=context.db, defaults=context.defaults, security=Security(idempotency_ttl_hours=2)
    )
    with TestClient(create_app(short)) as client:
        path = f"/api/v1/products/{new_id('P')}"
        assert client.put(path, json=product_body(), headers=keyed(admin)).status_code == 201
    (row,) = key_rows(context)
    assert row["expires_at"] - row["created_at"] == timedelta(hours=2)


def test_expired_keys_go_when_their_principal_claims_one_and_in_a_sweep_of_every_principal(
    client: TestClient, admin: dict[str, str], context: Context
) -> None:
    def write(app_client: TestClient) -> str:
        headers = keyed(admin)
        path = f"/api/v1/products/{new_id('P')}"
        assert app_client.put(path, json=product_body(), headers=headers).status_code == 201
        return headers["Idempotency-Key"]

    live = {write(client)}  # this app's first keyed write: its sweep is done for a while
    (own,) = key_rows(context)
    past = utcnow() - timedelta(days=2)
    own_stale = {**own, "key": new_id("old"), "expires_at": past}
    others_stale = [
        {**own, "principal": "token:0", "key": new_id("old"), "expires_at": past},
        {**own, "principal": "user:gone@example.com", "key": new_id("old"), "expires_at": past},
    ]
    with context.db.transaction(write=True) as conn:
        conn.execute(insert(idempotency_keys), [own_stale, *others_stale])
    live.add(write(client))
    others = {r["key"] for r in others_stale}
    assert {r["key"] for r in key_rows(context)} == live | others
    with TestClient(create_app(context)) as fresh:  # a new process sweeps on its first write
        live.add(write(fresh))
    assert {r["key"] for r in key_rows(context)} == live


# Hostile header bytes -------------------------------------------------------------------------


def send_raw(app: ASGIApp, path: str, headers: list[tuple[bytes, bytes]]) -> Response:
    """A PUT with header bytes exactly as given (the test client would re-encode them)."""
    body = json.dumps(product_body()).encode()
    raw = [(b"content-type", b"application/json"), *headers]

    async def put() -> Response:
        transport = ASGITransport(app=app)
        async with AsyncClient(transport=transport, base_url="http://testserver") as client:
            return await client.put(path, content=body, headers=raw)

    return run_coroutine_alone(put)


BAD_KEYS: list[tuple[str, bytes]] = [
    ("not UTF-8", b"\xff\xfe-key"),
    ("a lone continuation byte", b"key-\x80"),
    ("a NUL byte", b"key\x00one"),
    ("a control character", b"key\x1bone"),
    ("empty", b""),
    ("too long", b"k" * 201),
    ("too long in characters", "\u00e9".encode() * 201),
]


def test_a_key_that_is_not_short_utf8_text_gets_a_4xx_problem_and_writes_nothing(
    app: FastAPI, admin: dict[str, str], context: Context, subtests: pytest.Subtests
) -> None:
    token = admin["Authorization"].encode()
    for name, raw in BAD_KEYS:
        with subtests.test(name):
            path = f"/api/v1/products/{new_id('P')}"
            answer = send_raw(app, path, [(b"authorization", token), (b"idempotency-key", raw)])
            assert answer.status_code in (400, 422), answer.text
            assert_problem(answer, answer.status_code)
            assert "dempotency-key" in answer.json()["detail"].lower()
            assert key_rows(context) == []
            assert count(context, products) == 0


def test_header_bytes_that_are_not_utf8_never_cause_a_5xx_nor_write_a_key(
    app: FastAPI, admin: dict[str, str], context: Context, subtests: pytest.Subtests
) -> None:
    token = admin["Authorization"].encode()
    cases: dict[str, list[tuple[bytes, bytes]]] = {
        "a token": [(b"authorization", b"Bearer rr_\xff\xfe"), (b"idempotency-key", b"k1")],
        "a key without credentials": [(b"idempotency-key", b"\xff")],
        "another header": [
            (b"authorization", token),
            (b"idempotency-key", b"k2"),
            (b"x-note", b"\xff\xfe"),
        ],
        "a request id": [
            (b"authorization", token),
            (b"idempotency-key", b"k3"),
            (b"x-request-id", b"\xe9t\xe9"),
        ],
    }
    for name, headers in cases.items():
        with subtests.test(name):
            answer = send_raw(app, f"/api/v1/products/{new_id('P')}", headers)
            assert 400 <= answer.status_code < 500, answer.text
            assert_problem(answer, answer.status_code)
            assert key_rows(context) == []


def test_the_middleware_alone_refuses_an_undecodable_key_and_passes_an_undecodable_token_on(
    context: Context, admin: dict[str, str]
) -> None:
    """Without the input limits in front of it, it still answers 4xx and never a 5xx."""
    reached: list[str] = []

    async def endpoint(scope: Scope, receive: Receive, send: Send) -> None:
        reached.append(scope["path"])
        await send({"type": "http.response.start", "status": 401, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    alone = idempotency.IdempotencyMiddleware(endpoint, context)
    token = admin["Authorization"].encode()
    refused = send_raw(
        alone, "/api/v1/x", [(b"authorization", token), (b"idempotency-key", b"\xff")]
    )
    assert_problem(refused, 422, "Idempotency-Key must be UTF-8 text.")
    assert reached == []
    passed = send_raw(
        alone, "/api/v1/y", [(b"authorization", b"Bearer \xff\xfe"), (b"idempotency-key", b"k")]
    )
    assert passed.status_code == 401
    assert reached == ["/api/v1/y"]
    assert key_rows(context) == []
