"""Near-static data kept in memory per process: a change made by another process is seen by the
next transaction, nothing is read again while nothing changed, and every insert, update and
delete of that data moves the version (database triggers), on SQLite and on PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Table, delete, event, insert, select, update

from reroute.domain.access import SYSTEM, Role
from reroute.domain.facilities import Capability, Facility, FacilityKind, Product
from reroute.domain.inventory import InventoryLevel
from reroute.domain.reasons import InventoryEffect, Reason
from reroute.domain.routing.rules import default_rules, rules_to_json
from reroute.services import tokens
from reroute.services.context import Context
from reroute.services.facility_cache import facilities
from reroute.services.reference import Reference, reference
from reroute.storage import tables
from reroute.storage.database import Database
from reroute.storage.repositories.webhooks import Webhook
from reroute.storage.unit_of_work import UnitOfWork, unit_of_work
from tests.support import new_id

NOW = datetime(2026, 12, 9, 10, 0, tzinfo=UTC)


@pytest.fixture
def other(context: Context) -> Iterator[Context]:
    """A second process on the same database: its own engine, its own memory."""
    second = Context(db=Database(context.db.url), defaults=context.defaults)
    yield second
    second.db.dispose()


def seen(ctx: Context) -> Reference:
    with unit_of_work(ctx.db, write=False) as uow:
        return reference(ctx, uow)


def version(db: Database) -> int | None:
    with unit_of_work(db, write=False) as uow:
        return uow.settings.reference_version()


@contextmanager
def statements(db: Database) -> Iterator[list[str]]:
    """The SQL statements `db` runs inside the block (transaction control left out)."""
    ran: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.strip().upper() not in ("BEGIN", "BEGIN IMMEDIATE"):
            ran.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield ran
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def a_facility(facility_id: str, name: str = "Store") -> Facility:
    return Facility(
        facility_id,
        name,
        FacilityKind.STORE,
        new_id("loc"),
        "70125",
        41.9,
        -87.6,
        [Capability.SHIP],
    )


def a_reason(reason_id: str, label: str) -> Reason:
    return Reason(
        reason_id, label, InventoryEffect.DECREASE_ATP, False, "101", "Declined", 990, True
    )


def a_webhook(webhook_id: str, event_types: list[str]) -> Webhook:
    return Webhook(webhook_id, "https://example.com/hook", event_types, "s" * 32, True, None, None)


# A change through another process is seen ------------------------------------------------------


def change_settings(uow: UnitOfWork) -> None:
    uow.settings.put({"partial_rejection": False, "mfg_id": "22222"}, uow.now)


def saw_settings(known: Reference) -> bool:
    return known.settings.mfg_id == "22222" and known.settings.partial_rejection is False


def change_reasons(uow: UnitOfWork) -> None:
    uow.rejections.save_reason(a_reason("R-cache", "Seen elsewhere"), uow.now)


def saw_reasons(known: Reference) -> bool:
    reason = known.reason("R-cache")
    return reason is not None and reason.label == "Seen elsewhere" and reason in known.reasons


RENAMED = rules_to_json(default_rules())
RENAMED["routings"][0]["name"] = "Renamed by another process"


def change_rules(uow: UnitOfWork) -> None:
    uow.routing.save_rules(RENAMED, "admin", uow.now)


def saw_rules(known: Reference) -> bool:
    return (
        known.saved_rules == RENAMED
        and known.rules.routings[0].name == RENAMED["routings"][0]["name"]
    )


def change_webhooks(uow: UnitOfWork) -> None:
    uow.webhooks.add(a_webhook("W-cache", ["STORE_DECLINE"]), uow.now)


def saw_webhooks(known: Reference) -> bool:
    return ("W-cache", ["STORE_DECLINE"]) in known.subscribers and known.subscribers_of(
        "STORE_DECLINE"
    ) == ("W-cache",)


def change_facilities(uow: UnitOfWork) -> None:
    uow.facilities.save(a_facility("F-cache", "Opened elsewhere"), uow.now)


def saw_facilities(known: Reference) -> bool:
    facility = known.facilities.by_id.get("F-cache")
    return facility is not None and "F-cache" in known.facilities.sites.sites


KINDS: dict[str, tuple[Callable[[UnitOfWork], None], Callable[[Reference], bool]]] = {
    "settings": (change_settings, saw_settings),
    "reasons": (change_reasons, saw_reasons),
    "rules": (change_rules, saw_rules),
    "webhooks": (change_webhooks, saw_webhooks),
    "facilities": (change_facilities, saw_facilities),
}


@pytest.mark.parametrize("kind", list(KINDS))
def test_a_change_made_by_another_process_is_seen_by_the_next_transaction(
    context: Context, other: Context, kind: str
) -> None:
    change, saw = KINDS[kind]
    before = seen(context)
    assert not saw(before)
    assert seen(context) is before  # kept in memory

    with unit_of_work(other.db) as uow:
        change(uow)

    after = seen(context)
    assert saw(after)
    assert after.version != before.version


def test_settings_read_through_the_context_follow_another_process(
    context: Context, other: Context
) -> None:
    with unit_of_work(context.db, write=False) as uow:
        assert context.settings(uow).partial_rejection is True
    with unit_of_work(other.db) as uow:
        change_settings(uow)
    with unit_of_work(context.db, write=False) as uow:
        assert context.settings(uow).partial_rejection is False
        assert facilities(context, uow) is reference(context, uow).facilities


# Nothing read again while nothing changed ------------------------------------------------------


def test_while_nothing_changes_a_transaction_runs_only_the_version_check(
    context: Context,
) -> None:
    with statements(context.db) as first:
        loaded = seen(context)
    assert len(first) > 1  # the version, then the data

    with statements(context.db) as second, unit_of_work(context.db) as uow:
        assert reference(context, uow) is loaded
        assert context.settings(uow) is loaded.settings
        assert facilities(context, uow) is loaded.facilities
    assert len(second) == 1
    assert "reference_version" in second[0]


def test_a_transaction_checks_the_version_once_however_often_it_asks(
    context: Context,
) -> None:
    seen(context)
    with unit_of_work(context.db) as uow, statements(context.db) as ran:
        for _ in range(3):
            reference(context, uow)
            context.settings(uow)
    assert len(ran) == 1


def test_a_change_this_process_makes_is_seen_by_its_next_transaction(context: Context) -> None:
    seen(context)
    with unit_of_work(context.db) as uow:
        change_reasons(uow)
        assert saw_reasons(reference(context, uow))  # its own change, not yet committed
    with statements(context.db) as ran:
        assert saw_reasons(seen(context))
    assert len(ran) == 1  # the copy loaded by the committed transaction was kept


def test_a_copy_loaded_by_a_transaction_that_rolled_back_is_never_used(
    context: Context, other: Context
) -> None:
    """The rolled-back change moved the version to the same number the next committed change
    takes: the copy that saw the rolled-back change must not stand for it."""
    seen(context)
    with pytest.raises(RuntimeError), unit_of_work(context.db) as uow:
        uow.settings.put({"mfg_id": "rolled back"}, uow.now)
        assert context.settings(uow).mfg_id == "rolled back"
        raise RuntimeError("abandon the transaction")
    with unit_of_work(other.db) as uow:
        uow.settings.put({"mfg_id": "committed"}, uow.now)
    assert seen(context).settings.mfg_id == "committed"


def test_threads_of_one_process_share_one_copy(context: Context, other: Context) -> None:
    seen(context)
    with unit_of_work(other.db) as uow:
        change_settings(uow)
    results: list[Reference] = []
    lock = threading.Lock()

    def work() -> None:
        for _ in range(5):
            known = seen(context)
            with lock:
                results.append(known)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 20
    assert all(saw_settings(known) for known in results)
    assert seen(context) in results


def test_without_the_version_row_nothing_is_kept_and_the_next_change_brings_it_back(
    context: Context, other: Context
) -> None:
    with context.db.transaction(write=True) as conn:
        conn.execute(delete(tables.reference_version))
    assert version(context.db) is None
    assert seen(context) is not seen(context)  # read afresh each time, never trusted
    with unit_of_work(other.db) as uow:
        change_settings(uow)
    assert version(context.db) is not None
    assert saw_settings(seen(context))
    assert seen(context) is seen(context)


# Triggers --------------------------------------------------------------------------------------


ROWS: dict[str, tuple[Table, dict[str, Any], dict[str, Any]]] = {
    "settings": (tables.settings, {"key": "k", "value": 1, "updated_at": NOW}, {"value": 2}),
    "rejection_reasons": (
        tables.rejection_reasons,
        {
            "id": "R-trigger",
            "label": "x",
            "inventory_effect": "decrease_atp",
            "cascade": False,
            "decline_code": "101",
            "decline_description": "x",
            "sequence": 1,
            "active": True,
            "updated_at": NOW,
        },
        {"label": "y"},
    ),
    "routing_rules": (
        tables.routing_rules,
        {"id": 1, "document": {}, "updated_by": "a", "updated_at": NOW},
        {"updated_by": "b"},
    ),
    "webhooks": (
        tables.webhooks,
        {
            "id": "W-trigger",
            "url": "https://example.com",
            "event_types": [],
            "secret": "s",
            "active": True,
            "created_at": NOW,
            "updated_at": NOW,
        },
        {"active": False},
    ),
    "facilities": (
        tables.facilities,
        {
            "id": "F-trigger",
            "name": "x",
            "kind": "store",
            "external_location_id": "l",
            "fulfiller_id": "f",
            "latitude": 0.0,
            "longitude": 0.0,
            "capabilities": [],
            "safety_stock": 0,
            "active": True,
            "created_at": NOW,
            "updated_at": NOW,
        },
        {"name": "y"},
    ),
}


@pytest.mark.parametrize("name", list(ROWS))
def test_every_insert_update_and_delete_moves_the_version(context: Context, name: str) -> None:
    table, row, changes = ROWS[name]
    key = next(iter(table.primary_key.columns))
    where = key == row[key.name]
    if name == "routing_rules":
        with context.db.transaction(write=True) as conn:
            conn.execute(delete(table))
    steps = (
        insert(table).values(row),
        update(table).where(where).values(changes),
        delete(table).where(where),
    )
    for statement in steps:
        before = version(context.db)
        assert before is not None
        with context.db.transaction(write=True) as conn:
            conn.execute(statement)
        assert version(context.db) == before + 1, statement
    with context.db.transaction(write=False) as conn:
        assert conn.execute(select(table).where(where)).first() is None


def test_other_tables_leave_the_version_alone(context: Context) -> None:
    product_id, facility_id = new_id("P"), new_id("F")
    with unit_of_work(context.db) as uow:
        uow.products.save(Product(product_id, new_id("SKU"), "0001", "part", "Shirt"), uow.now)
        uow.facilities.save(
            Facility(facility_id, "Store", FacilityKind.STORE, "1", "70125", 41.9, -87.6), uow.now
        )
    before = version(context.db)
    with unit_of_work(context.db) as uow:  # stock moves all day: it is not reference data
        uow.inventory.save(InventoryLevel(facility_id, product_id, 3, 3, 0), [], uow.now)
    assert version(context.db) == before


def test_tokens_move_the_version(context: Context) -> None:
    before = version(context.db)
    assert before is not None
    tokens.create_token(context, Role.ADMIN, [], "a new token", SYSTEM)
    assert version(context.db) == before + 1


def test_a_product_change_moves_the_version_and_its_cached_copy_is_read_again(
    context: Context,
) -> None:
    product_id = new_id("P")
    with unit_of_work(context.db) as uow:
        uow.products.save(Product(product_id, new_id("SKU"), "0001", "part", "Shirt"), uow.now)
    with unit_of_work(context.db, write=False) as uow:
        assert reference(context, uow).products_of(uow, [product_id])[product_id].name == "Shirt"
    before = version(context.db)
    with unit_of_work(context.db) as uow:
        uow.products.save(Product(product_id, new_id("SKU"), "0001", "part", "Hat"), uow.now)
    assert version(context.db) == (before or 0) + 1
    with unit_of_work(context.db, write=False) as uow:
        assert reference(context, uow).products_of(uow, [product_id])[product_id].name == "Hat"
