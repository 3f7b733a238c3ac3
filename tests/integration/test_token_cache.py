"""A token seen valid is not read again for every request: each transaction of the request
checks it against the reference version it reads anyway, and reads it again only when that
version moved. A token revoked anywhere (another process) is refused at its next request, with
nothing written."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, func, select

from reroute.domain.access import SYSTEM, Role
from reroute.services import tokens
from reroute.services.context import Context
from reroute.storage import tables
from reroute.storage.database import Database
from tests.support import new_id, order_body, put_product, stocked


@pytest.fixture
def token(context: Context) -> tuple[str, int]:
    return tokens.create_token(context, Role.ADMIN, [], "cached", SYSTEM)


@contextmanager
def token_reads(context: Context) -> Iterator[list[str]]:
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if "api_tokens" in statement:
            seen.append(statement)

    event.listen(context.db.engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(context.db.engine, "before_cursor_execute", count)


def test_a_token_seen_valid_is_not_read_again(
    client: TestClient, context: Context, token: tuple[str, int]
) -> None:
    headers = {"Authorization": f"Bearer {token[0]}"}
    assert client.get("/api/v1/settings", headers=headers).status_code == 200
    with token_reads(context) as seen:
        for _ in range(3):
            assert client.get("/api/v1/settings", headers=headers).status_code == 200
    assert seen == []


def test_a_token_revoked_by_another_process_is_refused_at_once_and_writes_nothing(
    client: TestClient, context: Context, database_url: str, token: tuple[str, int]
) -> None:
    headers = {"Authorization": f"Bearer {token[0]}"}
    product = put_product(client, headers)
    stocked(client, headers, 1, {product: 5})
    assert client.get("/api/v1/settings", headers=headers).status_code == 200  # cached now

    other = Context(db=Database(database_url))  # another process on the same database
    try:
        tokens.revoke_token(other, token[1], SYSTEM)
    finally:
        other.db.dispose()

    order_id = new_id("O")
    body = order_body([(product, 1)], order_id=order_id)
    refused = client.post("/api/v1/orders", json=body, headers=headers)
    assert refused.status_code == 401, refused.text
    assert refused.headers["www-authenticate"] == "Bearer"
    assert refused.headers["content-type"].startswith("application/problem+json")
    with context.db.transaction(write=False) as conn:
        count = conn.execute(
            select(func.count()).select_from(tables.orders).where(tables.orders.c.id == order_id)
        ).scalar_one()
    assert count == 0
    assert client.get("/api/v1/settings", headers=headers).status_code == 401


def test_unknown_tokens_are_not_remembered(client: TestClient, context: Context) -> None:
    before = len(context.cache.get(tokens.CACHE_KEY, {}))
    for n in range(20):
        headers = {"Authorization": f"Bearer rr_unknown{n}"}
        assert client.get("/api/v1/settings", headers=headers).status_code == 401
    assert len(context.cache.get(tokens.CACHE_KEY, {})) == before
