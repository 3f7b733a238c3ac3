"""Migrations build exactly the schema the code declares, on SQLite and on PostgreSQL, and
`reroute db upgrade` is safe to run again and again."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, select, text
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from reroute.cli import app as cli
from reroute.domain.facilities import Facility, FacilityKind
from reroute.storage.database import Database
from reroute.storage.migrate import current_revision, head_revision, upgrade
from reroute.storage.tables import facilities, metadata
from reroute.storage.unit_of_work import unit_of_work
from tests.support import new_id


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with no tables at all, not even the migrations' own."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    server_url: str = request.getfixturevalue("postgres_url")
    name = f"reroute_fresh_{uuid.uuid4().hex[:10]}"
    server = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with server.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    with server.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    server.dispose()


def differences(db: Database) -> list[Any]:
    with db.engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "render_as_batch": True}
        )
        found = list(compare_metadata(context, metadata))
    if db.engine.dialect.name == "sqlite":
        found = [d for d in found if not _left_alone_on_sqlite(d)]
    return found


def _left_alone_on_sqlite(difference: Any) -> bool:
    """Migration 0009 widens order and item ids and makes `orders.updated_at` required on
    PostgreSQL only: SQLite enforces neither VARCHAR lengths nor, without a table rebuild, a
    new NOT NULL. Only those exact differences are let through."""
    if not isinstance(difference, list) or len(difference) != 1:
        return False
    kind, _, table, column, _info, old, new = difference[0]
    if kind == "modify_type":
        widened = {(t, c) for t, c in WIDENED_ON_POSTGRES_ONLY}
        return (table, column) in widened and getattr(new, "length", None) in (255, 600, 2000)
    if kind == "modify_nullable":
        return (table, column) == ("orders", "updated_at") and old is True and new is False
    return False


WIDENED_ON_POSTGRES_ONLY = (
    *(
        (table, column)
        for table in ("orders", "order_items", "shipments", "order_history", "rejections")
        for column in ("id", "order_id", "item_id")
    ),
    ("item_exclusions", "order_id"),
    ("item_exclusions", "item_id"),
    ("outbox_events", "order_id"),
    ("deliveries", "order_id"),
    ("idempotency_keys", "path"),
    ("inventory_ledger", "reference"),
)


def table_names(db: Database) -> set[str]:
    return set(inspect(db.engine).get_table_names())


def test_a_fresh_database_migrates_to_exactly_the_declared_tables(
    empty_database_url: str,
) -> None:
    db = Database(empty_database_url)
    try:
        assert table_names(db) == set()
        assert current_revision(db) is None
        upgrade(db)
        assert table_names(db) == set(metadata.tables) | {"alembic_version"}
        assert current_revision(db) == head_revision(db)
        assert head_revision(db) is not None
    finally:
        db.dispose()


def test_the_migrated_schema_matches_the_declared_schema_column_for_column(
    empty_database_url: str,
) -> None:
    db = Database(empty_database_url)
    try:
        upgrade(db)
        assert differences(db) == []
    finally:
        db.dispose()


def test_compare_finds_a_difference_when_there_is_one(empty_database_url: str) -> None:
    """The check above can fail: drop an index the code declares and it is reported."""
    db = Database(empty_database_url)
    try:
        upgrade(db)
        before = {(d[0], getattr(d[1], "name", None)) for d in differences(db)}
        with db.transaction(write=True) as conn:
            conn.execute(text("DROP INDEX ix_inventory_ledger_level"))
        after = {(d[0], getattr(d[1], "name", None)) for d in differences(db)}
        assert after - before == {("add_index", "ix_inventory_ledger_level")}
    finally:
        db.dispose()


def test_db_upgrade_twice_is_harmless_and_keeps_the_data(empty_database_url: str) -> None:
    runner = CliRunner()
    first = runner.invoke(cli, ["db", "upgrade", "--database-url", empty_database_url])
    assert first.exit_code == 0, first.output
    assert first.stdout == ""
    db = Database(empty_database_url)
    try:
        facility_id = new_id("F")
        with unit_of_work(db) as uow:
            uow.facilities.save(
                Facility(facility_id, "Store", FacilityKind.STORE, "L-1", "70125", 41.88, -87.63),
                uow.now,
            )
        again = runner.invoke(
            cli, ["db", "upgrade"], env={"REROUTE_DATABASE_URL": empty_database_url}
        )
        assert again.exit_code == 0, again.output
        assert current_revision(db) == head_revision(db)
        with db.transaction(write=False) as conn:
            assert conn.execute(select(facilities.c.id)).scalars().all() == [facility_id]
        assert differences(db) == []
    finally:
        db.dispose()


def test_the_test_databases_are_at_the_head_revision(database_url: str) -> None:
    db = Database(database_url)
    try:
        assert current_revision(db) == head_revision(db)
        upgrade(db)  # nothing to do, and no harm done
        assert current_revision(db) == head_revision(db)
    finally:
        db.dispose()
