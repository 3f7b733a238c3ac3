"""SQLite group commit: the one writer commits several requests' transactions together.

SQLite writes one transaction at a time, so under load requests queue for the write lock and
each pays its own BEGIN IMMEDIATE, COMMIT and lock hand-over. Here a caller queues its work
instead; whoever finds no commit in progress leads: it takes what is queued (at most
`MAX_BATCH`), runs each work in its own SAVEPOINT in one transaction, commits, and wakes each
caller with its outcome. Works queued meanwhile go to the next leader, so batches grow with
the load and nobody waits on a timer.

- A work that raises is rolled back to its savepoint (ROLLBACK TO): the others keep theirs.
- No caller returns before the COMMIT that holds its work; a failing COMMIT, or an error that
  made SQLite roll the whole transaction back (it may on SQLITE_FULL, IOERR, BUSY, NOMEM),
  fails every work of the batch that had not failed already: nothing of theirs was written.
- The leader runs other callers' works on its own thread; a work must therefore only touch
  the database through the connection it is given (as `transact` already requires).

The leader is one of the callers rather than a thread of its own: a lone request runs on its
own thread as before, and there is no thread to start, stop or lose across a fork.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any, Generic, TypeVar

from sqlalchemy import Connection

T = TypeVar("T")

#: Works per transaction at most: a bound on how long one failure's batch-mates wait.
MAX_BATCH = 32


class _Work(Generic[T]):
    """One caller's work and, once its batch is settled, its outcome."""

    __slots__ = ("done", "error", "result", "run")

    def __init__(self, run: Callable[[Connection], T]) -> None:
        self.run = run
        self.result: T | None = None
        self.error: BaseException | None = None
        self.done = False

    def attempt(self, conn: Connection) -> None:
        """Run in a savepoint; on an error roll back to it, unless the transaction is gone."""
        savepoint = conn.begin_nested()
        try:
            self.result = self.run(conn)
        except Exception as exc:
            self.error = exc
            if not _alive(conn):
                raise  # the batch is lost with it
            savepoint.rollback()
            return
        savepoint.commit()  # RELEASE: the work now stands or falls with the COMMIT

    def outcome(self) -> T:
        if self.error is not None:
            raise self.error
        return self.result  # type: ignore[return-value]


class GroupCommit:
    """Write transactions of one process, committed in batches (see the module docstring).

    `begin` opens the process's write transaction (write lock, BEGIN IMMEDIATE; COMMIT when
    the block ends normally). The counters say what happened: `commits` batches committed,
    holding `committed_works` works, the largest `largest_batch` works."""

    def __init__(
        self,
        begin: Callable[[], AbstractContextManager[Connection]],
        *,
        max_batch: int = MAX_BATCH,
    ) -> None:
        self._begin = begin
        self._max_batch = max_batch
        self._state = threading.Condition()
        self._queue: deque[_Work[Any]] = deque()
        self._leading = False
        self.commits = 0
        self.committed_works = 0
        self.largest_batch = 0

    @property
    def leading(self) -> bool:
        """Whether a caller is committing a batch now."""
        with self._state:
            return self._leading

    @property
    def queued(self) -> int:
        """Works waiting for a leader to take them."""
        with self._state:
            return len(self._queue)

    def run(self, work: Callable[[Connection], T]) -> T:
        """Run `work` in a savepoint of a shared write transaction; answer once committed."""
        mine = _Work(work)
        with self._state:
            self._queue.append(mine)
            while self._leading and not mine.done:
                self._state.wait()
            lead = not mine.done
            self._leading = self._leading or lead
        if lead:
            try:
                while not mine.done:  # mine is queued: every batch taken before is settled
                    self._commit_next()
            finally:
                with self._state:
                    self._leading = False
                    self._state.notify_all()
        return mine.outcome()

    def _commit_next(self) -> None:
        with self._state:
            count = min(len(self._queue), self._max_batch)
            batch = [self._queue.popleft() for _ in range(count)]
        lost: BaseException | None = None
        try:
            with self._begin() as conn:
                for work in batch:
                    work.attempt(conn)
        except BaseException as exc:
            lost = exc
        with self._state:
            for work in batch:
                if lost is not None and (work.error is None or work.error is lost):
                    work.result, work.error = None, lost
                work.done = True
            if lost is None:
                self.commits += 1
                self.committed_works += sum(1 for w in batch if w.error is None)
                self.largest_batch = max(self.largest_batch, len(batch))
            self._state.notify_all()
        if lost is not None and not isinstance(lost, Exception):
            raise lost  # an interrupt of the leader's own thread: its callers were told


def _alive(conn: Connection) -> bool:
    """Whether the connection still holds its transaction (SQLite rolls it all back on some
    errors, and then ROLLBACK TO has nothing to go back to)."""
    if conn.invalidated:
        return False
    return bool(getattr(conn.connection.dbapi_connection, "in_transaction", True))
