"""One use case, one transaction: the repositories a service needs, on one connection."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from typing import TypeVar

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError

from reroute.domain.clock import utcnow
from reroute.domain.errors import Busy
from reroute.storage.database import Database, lost_before_commit
from reroute.storage.group_commit import GroupCommit
from reroute.storage.locks import patience
from reroute.storage.repositories.access import IdempotencyRepository, TokenRepository
from reroute.storage.repositories.blocks import BlockRepository
from reroute.storage.repositories.facilities import FacilityRepository, ProductRepository
from reroute.storage.repositories.idle import IdleRepository
from reroute.storage.repositories.inventory import InventoryRepository
from reroute.storage.repositories.jobs import JobRepository
from reroute.storage.repositories.order_list import OrderListRepository, SyncClock
from reroute.storage.repositories.orders import OrderRepository
from reroute.storage.repositories.outbox import OutboxRepository
from reroute.storage.repositories.rejections import RejectionRepository
from reroute.storage.repositories.routing import RoutingRepository
from reroute.storage.repositories.settings import SettingsRepository
from reroute.storage.repositories.users import UserRepository
from reroute.storage.repositories.webhooks import WebhookRepository

#: Checks every transaction of the current request runs first, before its work: the API puts
#: there the check that a token it took from its cache is still valid (`services.tokens`).
#: A check that raises refuses the work before anything is written.
transaction_checks: ContextVar[tuple[Callable[[UnitOfWork], None], ...]] = ContextVar(
    "transaction_checks", default=()
)


class UnitOfWork:
    """Everything one transaction touches. Committed when the `with` block ends without error."""

    def __init__(self, conn: Connection, *, postgres: bool, now: datetime) -> None:
        self.conn = conn
        self.now = now
        self.postgres = postgres
        self.facilities = FacilityRepository(conn)
        self.products = ProductRepository(conn)
        self.inventory = InventoryRepository(conn, postgres=postgres)
        self.orders = OrderRepository(conn, postgres=postgres)
        self.order_list = OrderListRepository(conn)
        self.sync_clock = SyncClock(conn, postgres=postgres)
        self.routing = RoutingRepository(conn, postgres=postgres)
        self.rejections = RejectionRepository(conn, postgres=postgres)
        self.blocks = BlockRepository(conn, postgres=postgres)
        self.idle = IdleRepository(conn)
        self.jobs = JobRepository(conn, postgres=postgres)
        self.outbox = OutboxRepository(conn)
        self.webhooks = WebhookRepository(conn, postgres=postgres)
        self.tokens = TokenRepository(conn)
        self.users = UserRepository(conn, postgres=postgres)
        self.settings = SettingsRepository(conn)
        self.idempotency = IdempotencyRepository(conn)
        self.after_commit: list[Callable[[], None]] = []

    def finish(self) -> None:
        """What a transaction writes last: the rows kept for one statement each, then the day
        counters (so that each counter row is locked once, in order), then, last of all, the
        update time of the orders it changed (each change writes a history row), from the sync
        clock held until COMMIT: an order sync by update time sees stamps in commit order."""
        changed = {row["order_id"] for row in self.orders._history}
        self.inventory.flush()
        self.orders.flush()
        self.routing.write_counts()
        self.sync_clock.stamp(changed, self.now)


@contextmanager
def unit_of_work(
    db: Database, *, write: bool = True, patient: bool = False
) -> Iterator[UnitOfWork]:
    """One transaction. A `patient` one waits for every lock as long as it takes (PostgreSQL's
    deadlock detector settles a true cycle), out-of-order ones included (`storage.locks`)."""
    callbacks: list[Callable[[], None]] = []
    with db.transaction(write=write) as conn, patience(conn, patient):
        uow = UnitOfWork(conn, postgres=db.is_postgres, now=db.clock())
        for check in transaction_checks.get():
            check(uow)
        yield uow
        uow.finish()
        callbacks = uow.after_commit
    for callback in callbacks:
        callback()


log = logging.getLogger("reroute.storage")

T = TypeVar("T")
#: PostgreSQL's deadlock_detected, serialization_failure and lock_not_available (a row locked
#: with NOWAIT was busy): the transaction may simply be re-run.
RETRYABLE_SQLSTATES = {"40P01", "40001", "55P03"}
BUSY = (
    "Other requests held the same stock or orders at every try; nothing was changed. "
    "Send the request again in a moment."
)


def transact(db: Database, work: Callable[[UnitOfWork], T], *, attempts: int = 8) -> T:
    """Run `work` in a write transaction, again from the start if PostgreSQL chose it as the
    victim of a deadlock (or found a row it would not wait for busy); `work` must therefore only
    touch the database through its argument. Each retry waits a random, growing while, so
    writers that collided do not collide again in step; when every attempt collided, the
    caller is told the service is busy (nothing was written) rather than given an error.
    A connection found dropped before COMMIT costs one more attempt, on a fresh connection.
    On SQLite the work shares a transaction with other callers' (`group_commit`)."""
    if db.group_commit is not None:
        return _grouped(db.group_commit, work, attempts, db.clock)
    reconnected = False
    attempt = 1
    while True:
        try:
            # The last attempt waits its turn at every lock rather than give up early.
            with unit_of_work(db, patient=attempt == attempts) as uow:
                return work(uow)
        except DBAPIError as exc:
            if not reconnected and lost_before_commit(exc):
                reconnected = True
                log.warning("connection lost before commit, running again: %s", exc.orig)
                continue
            sqlstate = getattr(exc.orig, "sqlstate", None)
            if sqlstate not in RETRYABLE_SQLSTATES:
                raise
            if attempt == attempts:
                log.warning(
                    "gave up after %d attempts, each refused (%s): %s",
                    attempts,
                    sqlstate,
                    " | ".join(str(exc.orig).splitlines())[:1000],
                )
                raise Busy(BUSY) from exc
            time.sleep(random.uniform(0, min(0.25, 0.005 * 2**attempt)))
            attempt += 1


def _grouped(
    group: GroupCommit,
    work: Callable[[UnitOfWork], T],
    attempts: int,
    clock: Callable[[], datetime] = utcnow,
) -> T:
    """`work` as one savepoint of a shared SQLite transaction: its own clock, its own counter
    rows, and its callbacks run here once the COMMIT holding it is done. A work refused with a
    retryable state (its savepoint rolled back) runs again in a later savepoint, as `transact`
    would run it again."""

    checks = transaction_checks.get()  # the caller's: the leader runs this on its own thread

    def in_savepoint(conn: Connection) -> tuple[T, list[Callable[[], None]]]:
        uow = UnitOfWork(conn, postgres=False, now=clock())
        for check in checks:
            check(uow)
        result = work(uow)
        uow.finish()  # as in `unit_of_work`
        return result, uow.after_commit

    for attempt in range(1, attempts + 1):
        try:
            result, callbacks = group.run(in_savepoint)
        except DBAPIError as exc:
            if getattr(exc.orig, "sqlstate", None) not in RETRYABLE_SQLSTATES:
                raise
            if attempt == attempts:
                raise Busy(BUSY) from exc
            continue
        for callback in callbacks:
            callback()
        return result
    raise AssertionError("unreachable")
