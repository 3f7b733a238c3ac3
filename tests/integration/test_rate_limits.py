"""Per-token request limits (`requests_per_minute_per_token`), on both databases: the setting
and its bounds, a 429 problem+json with `Retry-After` past the limit that writes nothing, each
token and each signed-in user counted apart, the bucket filling again with time, and no
statement added to a request by the check."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from reroute.api import rate_limit
from reroute.api.rate_limit import RateLimiter
from reroute.domain.access import Role
from reroute.services.context import Context
from reroute.storage import tables
from tests.conftest import make_token
from tests.integration.test_statement_counts import counted
from tests.pages_support import cheap_hashes, person, sign_in
from tests.support import Headers, create, new_id, order_body, put_product, stocked

SETTINGS = "/api/v1/settings"
READ = "/api/v1/rejection-reasons"


class Clock:
    """The buckets' clock, moved by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    moved = Clock()
    monkeypatch.setattr(rate_limit, "monotonic", moved)
    return moved


def limit(client: TestClient, context: Context, per_minute: int) -> None:
    """Set the limit with a token of its own, so no test's token spends a request on it."""
    setter = make_token(context, Role.ADMIN)
    answer = client.patch(
        SETTINGS, json={"requests_per_minute_per_token": per_minute}, headers=setter
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["requests_per_minute_per_token"] == per_minute


def statuses(client: TestClient, headers: Headers, count: int) -> list[int]:
    return [client.get(READ, headers=headers).status_code for _ in range(count)]


def test_the_limit_is_a_setting_off_by_default_and_bounded(
    client: TestClient, admin: Headers
) -> None:
    shown = client.get(SETTINGS, headers=admin)
    assert shown.json()["requests_per_minute_per_token"] == 0
    for bad in (-1, 1_000_001, True, "60", 1.5):
        refused = client.patch(SETTINGS, json={"requests_per_minute_per_token": bad}, headers=admin)
        assert refused.status_code == 422, (bad, refused.text)
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["errors"][0]["path"] == "requests_per_minute_per_token"
    assert client.get(SETTINGS, headers=admin).json()["requests_per_minute_per_token"] == 0
    changed = client.patch(SETTINGS, json={"requests_per_minute_per_token": 600}, headers=admin)
    assert changed.json()["requests_per_minute_per_token"] == 600
    # Left out, it keeps its value.
    kept = client.patch(SETTINGS, json={"partial_rejection": True}, headers=admin)
    assert kept.json()["requests_per_minute_per_token"] == 600


def test_past_the_limit_a_token_gets_429_with_retry_after_and_other_tokens_go_on(
    client: TestClient, context: Context, clock: Clock
) -> None:
    limit(client, context, 3)
    first = make_token(context, Role.INTEGRATION)
    second = make_token(context, Role.INTEGRATION)
    assert statuses(client, first, 3) == [200, 200, 200]
    refused = client.get(READ, headers=first)
    assert refused.status_code == 429, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    problem = refused.json()
    assert (problem["status"], problem["title"]) == (429, "Too many requests")
    assert "3 requests a minute" in problem["detail"]
    # 3 a minute: one comes back every 20 seconds.
    assert refused.headers["Retry-After"] == "20"
    assert statuses(client, second, 3) == [200, 200, 200]

    clock.now += 10.5
    again = client.get(READ, headers=first)
    assert (again.status_code, again.headers["Retry-After"]) == (429, "10")
    clock.now += 9.5
    assert statuses(client, first, 2) == [200, 429]
    # A minute of quiet fills the bucket, never past the limit.
    clock.now += 3600
    assert statuses(client, first, 4) == [200, 200, 200, 429]


def test_a_refused_write_writes_nothing_and_its_idempotency_key_can_be_sent_again(
    client: TestClient, context: Context, clock: Clock
) -> None:
    admin = make_token(context, Role.ADMIN)
    product = put_product(client, admin)
    stocked(client, admin, 1, {product: 5})
    limit(client, context, 2)
    writer = make_token(context, Role.INTEGRATION)
    assert statuses(client, writer, 2) == [200, 200]
    body = order_body([(product, 1)])
    key = {"Idempotency-Key": new_id("key")}
    with context.db.transaction(write=False) as conn:
        before = _counts(conn)
    refused = client.post("/api/v1/orders", json=body, headers={**writer, **key})
    assert refused.status_code == 429, refused.text
    with context.db.transaction(write=False) as conn:
        assert _counts(conn) == before
    clock.now += 30
    created = client.post("/api/v1/orders", json=body, headers={**writer, **key})
    assert created.status_code == 201, created.text
    assert "Idempotent-Replayed" not in created.headers


def _counts(conn: Any) -> dict[str, int]:
    watched = (tables.orders, tables.order_items, tables.idempotency_keys, tables.outbox_events)
    return {t.name: conn.execute(select(func.count()).select_from(t)).scalar_one() for t in watched}


def test_zero_lifts_the_limit_at_once(client: TestClient, context: Context, clock: Clock) -> None:
    limit(client, context, 1)
    caller = make_token(context, Role.INTEGRATION)
    assert statuses(client, caller, 2) == [200, 429]
    limit(client, context, 0)
    assert statuses(client, caller, 30) == [200] * 30


@pytest.mark.usefixtures(cheap_hashes.__name__)
def test_a_signed_in_user_is_counted_as_one_caller_apart_from_tokens(
    client: TestClient, context: Context, clock: Clock
) -> None:
    limit(client, context, 2)
    sign_in(client, person(context, Role.ADMIN))
    assert [client.get(READ).status_code for _ in range(3)] == [200, 200, 429]
    token = make_token(context, Role.ADMIN)
    assert statuses(client, token, 2) == [200, 200]


def test_the_check_sends_no_statement(client: TestClient, context: Context, clock: Clock) -> None:
    admin = make_token(context, Role.ADMIN)
    product = put_product(client, admin)
    stocked(client, admin, 1, {product: 5})
    order = create(client, admin, [(product, 1)])
    path = f"/api/v1/orders/{order['order_id']}"
    assert client.get(path, headers=admin).status_code == 200  # caches warm
    with counted(context) as unlimited:
        assert client.get(path, headers=admin).status_code == 200
    limit(client, context, 1000)
    assert client.get(path, headers=admin).status_code == 200  # the new settings loaded
    with counted(context) as limited:
        assert client.get(path, headers=admin).status_code == 200
    assert len(limited) == len(unlimited), (unlimited, limited)


def test_the_buckets_are_bounded_forgetting_the_caller_idle_longest() -> None:
    buckets = RateLimiter(most_tracked=3)
    for who in ("a", "b", "c"):
        assert buckets.take(who, 1, 0.0) == 0.0
    assert buckets.take("a", 1, 1.0) > 0  # "a" used its one; now "b" is the idlest
    assert buckets.take("d", 1, 2.0) == 0.0
    assert len(buckets) == 3
    assert buckets.take("a", 1, 3.0) > 0  # still tracked, still empty
    assert buckets.take("b", 1, 3.0) == 0.0  # forgotten, so it came back full
    assert len(buckets) == 3
    assert buckets.take("anyone", 0, 3.0) == 0.0  # no limit: nothing tracked
    assert len(buckets) == 3
