"""One use case, one transaction: the repositories a service needs, on one connection."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy import Connection

from reroute.domain.clock import utcnow
from reroute.storage.database import Database
from reroute.storage.repositories.access import IdempotencyRepository, TokenRepository
from reroute.storage.repositories.facilities import FacilityRepository, ProductRepository
from reroute.storage.repositories.inventory import InventoryRepository
from reroute.storage.repositories.orders import OrderRepository
from reroute.storage.repositories.settings import SettingsRepository


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
        self.tokens = TokenRepository(conn)
        self.settings = SettingsRepository(conn)
        self.idempotency = IdempotencyRepository(conn)
        self.after_commit: list[Callable[[], None]] = []


@contextmanager
def unit_of_work(db: Database, *, write: bool = True) -> Iterator[UnitOfWork]:
    callbacks: list[Callable[[], None]] = []
    with db.transaction(write=write) as conn:
        uow = UnitOfWork(conn, postgres=db.is_postgres, now=utcnow())
        yield uow
        callbacks = uow.after_commit
    for callback in callbacks:
        callback()
