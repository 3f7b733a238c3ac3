"""SQLite group commit: use cases of several threads share the one writer's transactions, each
in its own savepoint; one failing rolls back only itself, and nobody hears back before the
COMMIT that holds their work."""

from __future__ import annotations

import shutil
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import text

from reroute.domain.facilities import Product
from reroute.storage.database import Database
from reroute.storage.group_commit import GroupCommit
from reroute.storage.unit_of_work import UnitOfWork, transact, unit_of_work
from tests.support import all_at_once, new_id


@pytest.fixture
def path(sqlite_template: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "reroute.db"
    shutil.copy(sqlite_template, copy)
    return copy


@pytest.fixture
def db(path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{path}")
    yield database
    database.dispose()


def group(db: Database) -> GroupCommit:
    assert db.group_commit is not None
    return db.group_commit


def committed(path: Path, product_id: str) -> bool:
    """Whether another connection (as another process would) sees the product."""
    with sqlite3.connect(path) as other:
        return (
            other.execute("SELECT 1 FROM products WHERE id = ?", (product_id,)).fetchone()
            is not None
        )


def add_product(product_id: str) -> Callable[[UnitOfWork], str]:
    def work(uow: UnitOfWork) -> str:
        uow.products.save(Product(product_id, "SKU", "UPC", "PN", "Linen shirt"), uow.now)
        return product_id

    return work


def until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 30
    while not condition():
        assert time.monotonic() < deadline, "the callers never queued"
        time.sleep(0.001)


def blocked_batch(
    db: Database, pool: ThreadPoolExecutor, works: list[Callable[[UnitOfWork], str]]
) -> list[Future[str]]:
    """Hold the writer in a first work until every one of `works` is queued behind it, so the
    next batch holds them all."""
    release = threading.Event()
    first = new_id("P")

    def holding(uow: UnitOfWork) -> str:
        release.wait(timeout=30)
        return add_product(first)(uow)

    held = pool.submit(transact, db, holding)
    until(lambda: group(db).leading)
    futures = [pool.submit(transact, db, work) for work in works]
    until(lambda: group(db).queued == len(works))
    release.set()
    assert held.result(timeout=30) == first
    return futures


def test_many_threads_writing_at_once_each_get_their_own_result_once_committed(
    db: Database, path: Path
) -> None:
    per_thread = 20

    def write_many(thread: int) -> list[str]:
        answers = []
        for n in range(per_thread):
            product_id = f"P-{thread}-{n}"
            answer = transact(db, add_product(product_id))
            assert answer == product_id
            assert committed(path, product_id)  # answered only after its COMMIT
            answers.append(answer)
        return answers

    answers = all_at_once(16, write_many)
    assert answers == [[f"P-{t}-{n}" for n in range(per_thread)] for t in range(16)]
    assert group(db).committed_works == 16 * per_thread
    assert group(db).commits <= 16 * per_thread


def test_queued_works_are_committed_together_in_one_batch(db: Database, path: Path) -> None:
    ids = [new_id("P") for _ in range(6)]
    with ThreadPoolExecutor(max_workers=len(ids) + 1) as pool:
        futures = blocked_batch(db, pool, [add_product(i) for i in ids])
        assert [f.result(timeout=30) for f in futures] == ids
    assert group(db).commits == 2  # the holding work alone, then the six together
    assert group(db).largest_batch == len(ids)
    assert all(committed(path, i) for i in ids)


def test_a_work_that_raises_rolls_back_only_itself_and_its_callbacks_never_run(
    db: Database, path: Path
) -> None:
    ids = [new_id("P") for _ in range(5)]
    ran: list[tuple[str, bool]] = []  # (product, committed when its callback ran)

    def well(product_id: str) -> Callable[[UnitOfWork], str]:
        def work(uow: UnitOfWork) -> str:
            uow.after_commit.append(lambda: ran.append((product_id, committed(path, product_id))))
            return add_product(product_id)(uow)

        return work

    def failing(uow: UnitOfWork) -> str:
        well(ids[2])(uow)  # writes, asks for a callback, then fails
        raise ValueError("refused")

    works = [well(i) for i in ids]
    works[2] = failing
    with ThreadPoolExecutor(max_workers=len(ids) + 1) as pool:
        futures = blocked_batch(db, pool, works)
        with pytest.raises(ValueError, match="refused"):
            futures[2].result(timeout=30)
        others = [f.result(timeout=30) for n, f in enumerate(futures) if n != 2]
    assert group(db).largest_batch == len(ids)  # the failing work was in the same batch
    assert others == ids[:2] + ids[3:]
    assert [committed(path, i) for i in ids] == [True, True, False, True, True]
    assert sorted(ran) == sorted((i, True) for i in others)


def test_a_failing_commit_fails_every_work_of_its_batch_and_writes_nothing(
    db: Database, path: Path
) -> None:
    ids = [new_id("P") for _ in range(4)]

    def breaking_the_commit(uow: UnitOfWork) -> str:
        # A deferred foreign key is checked at COMMIT: the savepoint is released, the COMMIT fails.
        uow.conn.execute(text("PRAGMA defer_foreign_keys = ON"))
        uow.conn.execute(
            text(
                "INSERT INTO inventory_levels (facility_id, product_id, quantity_on_hand, "
                "available_to_promise, reserved, updated_at) "
                "VALUES ('F-none', 'P-none', 0, 0, 0, '2024-01-01')"
            )
        )
        return "broken"

    works = [add_product(i) for i in ids] + [breaking_the_commit]
    with ThreadPoolExecutor(max_workers=len(works) + 1) as pool:
        futures = blocked_batch(db, pool, works)
        for future in futures:
            with pytest.raises(Exception, match="FOREIGN KEY"):
                future.result(timeout=30)
    assert not any(committed(path, i) for i in ids)
    assert transact(db, add_product(ids[0])) == ids[0]  # the writer carries on
    assert committed(path, ids[0])


def test_unit_of_work_used_directly_still_reads_and_writes_beside_group_commit(
    db: Database, path: Path
) -> None:
    product_id = new_id("P")

    def direct(n: int) -> str:
        if n % 2:
            return transact(db, add_product(f"{product_id}-{n}"))
        with unit_of_work(db) as uow:
            add_product(f"{product_id}-{n}")(uow)
        with unit_of_work(db, write=False) as uow:
            assert uow.products.get(f"{product_id}-{n}") is not None
        return f"{product_id}-{n}"

    assert all_at_once(8, direct) == [f"{product_id}-{n}" for n in range(8)]
    assert all(committed(path, f"{product_id}-{n}") for n in range(8))
