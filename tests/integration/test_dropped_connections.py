"""PostgreSQL without a ping on every checkout: a connection the server dropped still fails no
request, whether it dropped while idle in the pool or just before a use case took it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text

from reroute.storage import database
from reroute.storage.database import Database
from reroute.storage.unit_of_work import UnitOfWork, transact, unit_of_work

pytestmark = pytest.mark.postgres


@pytest.fixture
def db(postgres_url: str) -> Iterator[Database]:
    db = Database(postgres_url, pool_size=1)
    yield db
    db.dispose()


def backend(uow: UnitOfWork) -> int:
    return int(uow.conn.execute(text("SELECT pg_backend_pid()")).scalar_one())


def pooled_backend(db: Database) -> int:
    with unit_of_work(db, write=False) as uow:
        return backend(uow)


def drop(postgres_url: str, pid: int) -> None:
    admin = create_engine(postgres_url)
    with admin.begin() as conn:
        assert conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar()
    admin.dispose()


def test_the_pool_does_not_ping_on_every_checkout(db: Database) -> None:
    assert not db.engine.pool._pre_ping


def test_a_use_case_on_a_dropped_connection_runs_again_on_a_fresh_one(
    db: Database, postgres_url: str
) -> None:
    pid = pooled_backend(db)
    drop(postgres_url, pid)
    assert transact(db, backend) != pid


def test_a_connection_dropped_while_idle_is_replaced_before_use(
    db: Database, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    pid = pooled_backend(db)
    drop(postgres_url, pid)
    monkeypatch.setattr(database, "IDLE_CHECK_SECONDS", 0.0)
    assert pooled_backend(db) != pid  # a read, which no retry would save
