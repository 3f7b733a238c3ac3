"""Taking a row lock out of the agreed order: wait for it, but only briefly.

Writers lock rows in one order (orders, then inventory levels by facility and product). A
transaction that must take a row sorting before one it already holds (a re-plan, a rejection's
re-route) could close a cycle with a writer holding that row while waiting for ours. Waiting a
moment lets the usual case (the other writer simply finishing) pass; past that, PostgreSQL
refuses with lock_not_available and the transaction starts over (`transact`), long before its
deadlock detector would step in.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, text

BRIEF_WAIT_MS = 100
_PATIENT = "reroute_patient"


@contextmanager
def patience(conn: Connection, patient: bool) -> Iterator[None]:
    """Within the block, a `patient` transaction (a last attempt, see `transact`) waits for
    every lock. The mark lives on the pooled connection, so it is taken off again after."""
    if patient:
        conn.info[_PATIENT] = True
    try:
        yield
    finally:
        if not conn.invalidated:  # a dropped connection is discarded, its mark with it
            conn.info.pop(_PATIENT, None)


@contextmanager
def waiting_briefly(conn: Connection, *, enabled: bool = True) -> Iterator[None]:
    """Within the block, a PostgreSQL lock wait longer than BRIEF_WAIT_MS fails (55P03),
    unless the transaction is a patient last attempt."""
    if not enabled or conn.dialect.name != "postgresql" or conn.info.get(_PATIENT):
        yield
        return
    conn.execute(text(f"SET LOCAL lock_timeout = '{BRIEF_WAIT_MS}ms'"))
    yield  # on an error the transaction is rolled back whole: nothing to put back
    conn.execute(text("SET LOCAL lock_timeout = DEFAULT"))
