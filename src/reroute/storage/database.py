"""Engines for SQLite and PostgreSQL, and how a transaction begins on each.

SQLite allows one writer at a time. Rather than let threads race for the file lock (a storm of
busy retries with a long tail), write transactions in this process queue on one lock and then
`BEGIN IMMEDIATE`; other processes on the same file wait on SQLite's busy timeout. Use cases
(`transact`) go further and share that writer's transactions (`group_commit`). PostgreSQL
needs no such lock: services lock rows in a fixed order instead.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, InvalidatePoolError
from sqlalchemy.pool import ConnectionPoolEntry, NullPool

from reroute.domain.clock import utcnow
from reroute.storage.group_commit import GroupCommit

WRITE_OPTION = "reroute_write"
#: A pooled PostgreSQL connection idle longer than this is checked before use (see
#: `_postgres_engine`); one in steady use is not.
IDLE_CHECK_SECONDS = 10.0
_CHECKED_IN_AT = "reroute_checked_in_at"
_AT_COMMIT = "reroute_at_commit"
#: `Connection.info` key: how many statements other than SELECT the connection has sent.
WRITES = "reroute_writes"


def writes_sent(conn: Connection) -> int:
    """A counter that moves with every statement other than a SELECT on this connection: a
    value read before it moved is still what this transaction would read again."""
    return int(conn.info.get(WRITES, 0))


def _count_writes(conn: Connection, _cursor: Any, statement: str, *_: Any) -> None:
    if not statement.startswith("SELECT"):
        conn.info[WRITES] = conn.info.get(WRITES, 0) + 1


class Database:
    def __init__(self, url: str, *, pool_size: int = 10, echo: bool = False) -> None:
        self.url = url
        parsed = make_url(url)
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        self.is_postgres = parsed.get_backend_name() == "postgresql"
        if self.is_sqlite:
            self.engine = _sqlite_engine(url, pool_size=pool_size, echo=echo)
        else:
            self.engine = _postgres_engine(url, pool_size=pool_size, echo=echo)
        event.listen(self.engine, "before_cursor_execute", _count_writes)
        self._write_lock = threading.Lock() if self.is_sqlite else None
        #: What "now" is for every transaction on this database: tests move it on instead of
        #: sleeping (idle times, holds and blocks that end, schedules that come due).
        self.clock: Callable[[], datetime] = utcnow
        #: SQLite's shared write transactions; None on PostgreSQL, where each use case has its own.
        self.group_commit = (
            GroupCommit(lambda: self.transaction(write=True)) if self.is_sqlite else None
        )

    @contextmanager
    def transaction(self, *, write: bool) -> Iterator[Connection]:
        """One transaction: committed when the block ends normally, rolled back otherwise."""
        if self._write_lock is not None and write:
            with self._write_lock, self._begin(write) as conn:
                yield conn
        else:
            with self._begin(write) as conn:
                yield conn

    @contextmanager
    def _begin(self, write: bool) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            conn.execution_options(**{WRITE_OPTION: write})
            committing = False
            try:
                with conn.begin():
                    yield conn
                    committing = True
            except DBAPIError as exc:
                if committing:
                    setattr(exc, _AT_COMMIT, True)  # a mark on this one error
                raise

    def dispose(self) -> None:
        self.engine.dispose()


def lost_before_commit(exc: DBAPIError) -> bool:
    """Whether the connection dropped before COMMIT was sent. The server then rolled the
    transaction back, so it may be run again; a drop during COMMIT leaves the outcome unknown."""
    return bool(exc.connection_invalidated) and not getattr(exc, _AT_COMMIT, False)


def _postgres_engine(url: str, *, pool_size: int, echo: bool) -> Engine:
    """A pool that does not ping on every checkout (a round trip per request). What drops
    connections in practice is time: a server or proxy closing idle sessions, a restart in a
    quiet hour. So a connection idle longer than IDLE_CHECK_SECONDS is pinged when taken out,
    and on failure the whole pool is refreshed; connections in steady use go straight to work.
    A drop that surprises a transaction anyway (a restart under load) invalidates the pool
    too, and `transact` runs that use case again once on a fresh connection."""
    engine = create_engine(url, pool_size=pool_size, max_overflow=pool_size * 2, echo=echo)

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        record.info[_CHECKED_IN_AT] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: ConnectionPoolEntry, _proxy: Any) -> None:
        checked_in_at = record.info.get(_CHECKED_IN_AT)
        if checked_in_at is None or time.monotonic() - checked_in_at < IDLE_CHECK_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
            dbapi_connection.rollback()  # the ping opened a transaction; start clean
        except Exception as exc:
            raise InvalidatePoolError(f"an idle connection was closed: {exc}") from exc

    return engine


def _sqlite_engine(url: str, *, pool_size: int, echo: bool) -> Engine:
    parsed = make_url(url)
    in_memory = parsed.database in (None, "", ":memory:")
    kwargs: dict[str, Any] = {"echo": echo, "connect_args": {"check_same_thread": False}}
    if in_memory:
        kwargs["poolclass"] = NullPool
    else:
        kwargs["pool_size"] = pool_size
        kwargs["max_overflow"] = pool_size
    engine = create_engine(url, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event below decide how each transaction starts (this is
        # also what makes SAVEPOINT part of the enclosing transaction with this driver).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        write = conn.get_execution_options().get(WRITE_OPTION, True)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine
