"""Managing API tokens, on both databases: the list (who each is for, when made, last used and
expiring; never the token or its hash), revoking, an expiry set at creation (an expired token is
refused with 401 like a revoked one, however long the process has cached it), the last use kept
in `token_uses` at most once a minute per token per process without moving the reference
version, and `reroute token list` and `reroute token revoke`."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, func, select
from typer.testing import CliRunner

from reroute.cli import app as cli
from reroute.domain.access import SYSTEM, Role
from reroute.services import tokens
from reroute.services.context import Context
from reroute.storage import tables
from tests.support import new_id, order_body, put_product

Headers = dict[str, str]


def bearer(token: str) -> Headers:
    return {"Authorization": f"Bearer {token}"}


def listed(client: TestClient, admin: Headers) -> dict[int, Any]:
    response = client.get("/api/v1/tokens", headers=admin)
    assert response.status_code == 200, response.text
    return {t["token_id"]: t for t in response.json()}


def create(client: TestClient, admin: Headers, **body: Any) -> Any:
    response = client.post("/api/v1/tokens", json={"role": "integration", **body}, headers=admin)
    assert response.status_code == 201, response.text
    return response.json()


def reference_version(context: Context) -> int:
    with context.db.transaction(write=False) as conn:
        return int(conn.execute(select(tables.reference_version.c.version)).scalar_one())


def stored_use(context: Context, token_id: int) -> datetime | None:
    with context.db.transaction(write=False) as conn:
        found = conn.execute(
            select(tables.token_uses.c.last_used_at).where(tables.token_uses.c.token_id == token_id)
        ).scalar_one_or_none()
    return found if found is None or found.tzinfo else found.replace(tzinfo=UTC)


@contextmanager
def statements(context: Context, word: str) -> Iterator[list[str]]:
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if word in statement:
            seen.append(statement)

    event.listen(context.db.engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(context.db.engine, "before_cursor_execute", count)


# The list ---------------------------------------------------------------------------------------


def test_the_list_shows_each_token_but_never_the_token_or_its_hash(
    client: TestClient, admin: Headers, context: Context
) -> None:
    started = datetime.now(UTC)
    made = create(client, admin, label="storefront sync", expires_in_days=30)
    forever = create(client, admin, label="loader")
    shown = listed(client, admin)
    mine = shown[made["token_id"]]
    assert set(mine) == {
        "token_id",
        "role",
        "facilities",
        "label",
        "revoked",
        "created_at",
        "last_used_at",
        "expires_at",
        "expired",
    }
    assert (mine["role"], mine["facilities"], mine["label"]) == (
        "integration",
        [],
        "storefront sync",
    )
    created_at = datetime.fromisoformat(mine["created_at"])
    assert started - timedelta(seconds=2) <= created_at <= datetime.now(UTC)
    expires = datetime.fromisoformat(mine["expires_at"])
    assert abs(expires - (created_at + timedelta(days=30))) < timedelta(seconds=5)
    assert made["expires_at"] == mine["expires_at"]
    assert (mine["last_used_at"], mine["revoked"], mine["expired"]) == (None, False, False)
    assert shown[forever["token_id"]]["expires_at"] is None
    with context.db.transaction(write=False) as conn:
        hashes = list(conn.execute(select(tables.api_tokens.c.token_hash)).scalars())
    text = client.get("/api/v1/tokens", headers=admin).text
    assert made["token"] not in text and forever["token"] not in text
    assert all(h not in text for h in hashes)


def test_a_use_is_recorded_in_token_uses_without_moving_the_reference_version(
    client: TestClient, admin: Headers, context: Context
) -> None:
    made = create(client, admin)
    version = reference_version(context)
    before = datetime.now(UTC)
    with statements(context, "api_tokens") as token_writes:
        for _ in range(2):  # read from the database, then from this process's cache
            response = client.get("/api/v1/facilities", headers=bearer(made["token"]))
            assert response.status_code == 200
    assert [s for s in token_writes if not s.lstrip().upper().startswith("SELECT")] == []
    used = stored_use(context, made["token_id"])
    assert used is not None and before - timedelta(seconds=1) <= used <= datetime.now(UTC)
    assert reference_version(context) == version, "a use must not empty every cache"
    shown = listed(client, admin)[made["token_id"]]
    assert datetime.fromisoformat(shown["last_used_at"]) == used


def test_a_use_is_recorded_at_most_once_a_minute_per_token(
    client: TestClient, admin: Headers, context: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = create(client, admin)
    headers = bearer(made["token"])
    with statements(context, "token_uses") as writes:
        for _ in range(5):
            assert client.get("/api/v1/facilities", headers=headers).status_code == 200
    assert len(writes) == 1
    first = stored_use(context, made["token_id"])
    # A minute later (on this process's clock) the next use is recorded again, once.
    later = time.monotonic() + tokens.USE_EVERY + 1
    monkeypatch.setattr(tokens, "monotonic", lambda: later)
    with statements(context, "token_uses") as writes:
        for _ in range(3):
            assert client.get("/api/v1/facilities", headers=headers).status_code == 200
    assert len(writes) == 1
    second = stored_use(context, made["token_id"])
    assert first is not None and second is not None and second > first


# Expiry -----------------------------------------------------------------------------------------


def test_a_token_that_expired_is_refused_like_a_revoked_one_and_writes_nothing(
    client: TestClient, admin: Headers, context: Context
) -> None:
    product = put_product(client, admin)
    soon = datetime.now(UTC) + timedelta(seconds=1.5)
    made = create(client, admin, expires_at=soon.isoformat())
    headers = bearer(made["token"])
    assert client.get("/api/v1/facilities", headers=headers).status_code == 200  # cached now
    time.sleep(max(0.0, (soon - datetime.now(UTC)).total_seconds()) + 0.1)
    refused = client.get("/api/v1/facilities", headers=headers)
    assert refused.status_code == 401, refused.text
    assert refused.headers["www-authenticate"] == "Bearer"
    assert refused.headers["content-type"].startswith("application/problem+json")
    order_id = new_id("O")
    body = order_body([(product, 1)], order_id=order_id)
    assert client.post("/api/v1/orders", json=body, headers=headers).status_code == 401
    with context.db.transaction(write=False) as conn:
        orders = conn.execute(
            select(func.count()).select_from(tables.orders).where(tables.orders.c.id == order_id)
        ).scalar_one()
    assert orders == 0
    shown = listed(client, admin)[made["token_id"]]
    assert (shown["expired"], shown["revoked"]) == (True, False)


def test_the_cache_does_not_keep_an_expired_token_alive(
    client: TestClient, admin: Headers, context: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = create(client, admin, expires_in_days=1)
    headers = bearer(made["token"])
    for _ in range(2):
        assert client.get("/api/v1/facilities", headers=headers).status_code == 200
    assert tokens.remembered(context, made["token"]) is not None
    in_two_days = datetime.now(UTC) + timedelta(days=2)
    monkeypatch.setattr(tokens, "utcnow", lambda: in_two_days)
    assert client.get("/api/v1/facilities", headers=headers).status_code == 401
    assert tokens.remembered(context, made["token"]) is None
    assert tokens.who_sent(context, made["token"]) == f"token:{made['token_id']} (expired)"


BAD_EXPIRIES: list[dict[str, Any]] = [
    {"expires_in_days": 0},
    {"expires_in_days": -1},
    {"expires_in_days": 3651},
    {"expires_in_days": "soon"},
    {"expires_in_days": 1.5},
    {"expires_at": "2020-01-01T00:00:00Z"},
    {"expires_at": "2999-01-01T00:00:00"},  # no time zone
    {"expires_at": "tomorrow"},
    {"expires_at": "2027-01-01T00:00:00Z", "expires_in_days": 5},
]


def test_a_bad_expiry_is_refused_and_creates_nothing(client: TestClient, admin: Headers) -> None:
    before = set(listed(client, admin))
    for body in BAD_EXPIRIES:
        response = client.post(
            "/api/v1/tokens", json={"role": "integration", **body}, headers=admin
        )
        assert response.status_code == 422, (body, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
    assert set(listed(client, admin)) == before
    ahead = (datetime.now(UTC) + timedelta(days=7)).replace(microsecond=0)
    made = create(client, admin, expires_at=ahead.isoformat())
    assert datetime.fromisoformat(made["expires_at"]) == ahead


# Revoking ---------------------------------------------------------------------------------------


def test_delete_revokes_a_token_everywhere_and_it_stays_listed_as_revoked(
    client: TestClient, admin: Headers
) -> None:
    made = create(client, admin, label="old script")
    headers = bearer(made["token"])
    assert client.get("/api/v1/facilities", headers=headers).status_code == 200
    assert client.delete(f"/api/v1/tokens/{made['token_id']}", headers=admin).status_code == 204
    assert client.get("/api/v1/facilities", headers=headers).status_code == 401
    assert listed(client, admin)[made["token_id"]]["revoked"] is True
    assert client.delete(f"/api/v1/tokens/{made['token_id']}", headers=admin).status_code == 404
    for bad in ("0", "-1", "x", str(2**63)):
        assert client.delete(f"/api/v1/tokens/{bad}", headers=admin).status_code == 422, bad


# The command line -------------------------------------------------------------------------------


def run_cli(*args: str) -> Any:
    """The command, in a terminal wide enough for the table's rows to stay on one line."""
    return CliRunner().invoke(cli, list(args), env={"COLUMNS": "200"}, catch_exceptions=False)


def test_token_list_and_revoke_on_the_command_line(
    client: TestClient, context: Context, database_url: str
) -> None:
    token, token_id = tokens.create_token(
        context, Role.INTEGRATION, [], "nightly", SYSTEM, expires_in_days=10
    )
    other, other_id = tokens.create_token(context, Role.ADMIN, [], "ops", SYSTEM)
    assert client.get("/api/v1/facilities", headers=bearer(other)).status_code == 200
    result = run_cli("token", "list", "--database-url", database_url)
    assert result.exit_code == 0, result.output
    rows = {line.split("│")[1].strip(): line for line in result.stdout.splitlines() if "│" in line}
    assert "nightly" in rows[str(token_id)] and "integration" in rows[str(token_id)]
    assert "never" in rows[str(token_id)] and "active" in rows[str(token_id)]
    assert "ops" in rows[str(other_id)] and "UTC" in rows[str(other_id)]
    assert token not in result.stdout and other not in result.stdout

    result = run_cli("token", "revoke", str(token_id), "--database-url", database_url)
    assert result.exit_code == 0, result.output
    assert client.get("/api/v1/facilities", headers=bearer(token)).status_code == 401
    result = run_cli("token", "list", "--database-url", database_url)
    assert "revoked" in result.stdout
    again = run_cli("token", "revoke", str(token_id), "--database-url", database_url)
    assert again.exit_code == 2 and f"No active token {token_id}" in again.stderr
    unknown = run_cli("token", "revoke", "999999999", "--database-url", database_url)
    assert unknown.exit_code == 2


def test_token_create_takes_an_expiry_on_the_command_line(
    client: TestClient, admin: Headers, database_url: str
) -> None:
    result = run_cli(
        "token", "create", "--role", "integration", "--expires-in-days", "3",
        "--database-url", database_url,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    (token,) = result.stdout.splitlines()
    assert client.get("/api/v1/facilities", headers=bearer(token)).status_code == 200
    [newest] = [t for t in client.get("/api/v1/tokens", headers=admin).json() if t["expires_at"]]
    expires = datetime.fromisoformat(newest["expires_at"])
    assert abs(expires - (datetime.now(UTC) + timedelta(days=3))) < timedelta(minutes=1)
