"""Fixtures shared by every test: the same tests run on SQLite and on PostgreSQL.

PostgreSQL tests use a fresh database per session (tables emptied between tests). Where no server
answers they skip with the reason, except under CI=true, where they must run.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from reroute.app import create_app
from reroute.domain.access import SYSTEM, Role
from reroute.domain.settings import RuntimeSettings
from reroute.services import tokens
from reroute.services.context import Context, Security
from reroute.storage.database import Database
from reroute.storage.migrate import upgrade
from reroute.storage.tables import metadata

IN_CI = os.environ.get("CI") == "true"
PG_URL = os.environ.get(
    "REROUTE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
MFG_ID = "11111"
#: Tables whose rows come from migrations rather than from tests.
SEEDED_TABLES = ("rejection_reasons",)
_SEEDED: dict[str, dict[str, list[dict[str, object]]]] = {}


def _postgres_problem() -> str | None:
    try:
        engine = create_engine(PG_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        engine.dispose()
    except Exception as exc:
        return f"PostgreSQL at {make_url(PG_URL).render_as_string()} is not reachable: {exc}"
    return None


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    problem = _postgres_problem()
    if problem:
        if IN_CI:
            pytest.fail(f"CI=true and {problem}")
        pytest.skip(problem)
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    name = f"reroute_test_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    db = Database(url)
    upgrade(db)
    with db.engine.connect() as conn:  # what migrations seed, put back after every test
        _SEEDED[url] = {
            name: [dict(r._mapping) for r in conn.execute(metadata.tables[name].select())]
            for name in SEEDED_TABLES
        }
    db.dispose()
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "reroute.db"
    db = Database(f"sqlite:///{path}")
    upgrade(db)
    db.dispose()  # the last connection to close checkpoints the WAL into the file
    return path


def _empty_postgres(url: str) -> None:
    engine = create_engine(url)
    # Deleting table by table is ten times quicker than TRUNCATE on tables this small; ids
    # do not restart, which no test relies on (they use random ids).
    with engine.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            conn.execute(table.delete())
        for table, rows in _SEEDED.get(url, {}).items():
            if rows:
                conn.execute(metadata.tables[table].insert(), rows)
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty database of each kind."""
    if request.param == "sqlite":
        path = tmp_path / "reroute.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("postgres_url")
    _empty_postgres(url)
    return url


@pytest.fixture
def context(database_url: str) -> Iterator[Context]:
    # The tests' webhook receivers listen on 127.0.0.1: private targets are allowed here, and
    # the tests of that policy switch it off.
    ctx = Context(
        db=Database(database_url),
        defaults=RuntimeSettings(mfg_id=MFG_ID),
        security=Security(allow_private_webhook_targets=True),
    )
    yield ctx
    ctx.db.dispose()


@pytest.fixture
def app(context: Context) -> FastAPI:
    return create_app(context)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def make_token(context: Context, role: Role, facilities: list[str] | None = None) -> dict[str, str]:
    """Authorization headers for a new token of `role`."""
    token, _ = tokens.create_token(context, role, facilities or [], "test", SYSTEM)
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def admin(context: Context) -> dict[str, str]:
    return make_token(context, Role.ADMIN)


@pytest.fixture
def integration(context: Context) -> dict[str, str]:
    return make_token(context, Role.INTEGRATION)
