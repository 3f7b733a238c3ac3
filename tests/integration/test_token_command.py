"""`reroute token create`: prints only the token, and binds an associate to its facilities."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from reroute.cli import app as cli
from tests.integration.test_access import assert_refused, bearer, tokens_listed

# The token command ------------------------------------------------------------------------


def run_cli(*args: str, env: dict[str, str] | None = None) -> Any:
    result = CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)
    return result


def test_token_create_prints_only_an_admin_token_that_works(
    client: TestClient, database_url: str
) -> None:
    result = run_cli("token", "create", "--role", "admin", "--database-url", database_url)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 1, result.stdout
    token = lines[0]
    assert token.startswith("rr_") and token.strip() == token
    response = client.post("/api/v1/tokens", json={"role": "integration"}, headers=bearer(token))
    assert response.status_code == 201


def test_token_create_reads_the_database_from_the_environment(
    client: TestClient, database_url: str
) -> None:
    result = run_cli(
        "token", "create", "--role", "integration", env={"REROUTE_DATABASE_URL": database_url}
    )
    assert result.exit_code == 0, result.output
    (token,) = result.stdout.splitlines()
    headers = bearer(token)
    assert client.get("/api/v1/facilities", headers=headers).status_code == 200
    assert_refused(client.get("/api/v1/tokens", headers=headers), 403)


def test_token_create_binds_an_associate_to_its_facilities(
    client: TestClient, database_url: str, two_stores: tuple[str, str, str]
) -> None:
    a, b, _ = two_stores
    result = run_cli(
        "token", "create", "--role", "associate", "--facility", a, "--database-url", database_url
    )
    assert result.exit_code == 0, result.output
    (token,) = result.stdout.splitlines()
    assert client.get(f"/api/v1/facilities/{a}/shipments", headers=bearer(token)).status_code == 200
    assert client.get(f"/api/v1/facilities/{b}/shipments", headers=bearer(token)).status_code == 403


def test_token_create_for_an_associate_without_a_facility_fails_and_prints_no_token(
    admin: dict[str, str], client: TestClient, database_url: str
) -> None:
    before = tokens_listed(client, admin)
    result = run_cli("token", "create", "--role", "associate", "--database-url", database_url)
    assert result.exit_code != 0
    assert result.stdout == ""
    assert "facility" in result.stderr
    assert tokens_listed(client, admin) == before
