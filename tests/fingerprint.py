"""What a read-only use case must leave as it found: every table's rows, counted and checksummed."""

from __future__ import annotations

import hashlib

from sqlalchemy import func, select

from reroute.services.context import Context
from reroute.storage.tables import metadata
from reroute.storage.unit_of_work import unit_of_work


def fingerprint(context: Context) -> dict[str, tuple[int, str]]:
    """Every table's row count and a checksum of its rows, in a fixed order."""
    found = {}
    with unit_of_work(context.db, write=False) as uow:
        for name, table in sorted(metadata.tables.items()):
            count = uow.conn.execute(select(func.count()).select_from(table)).scalar_one()
            rows = sorted(repr(tuple(r)) for r in uow.conn.execute(select(table)))
            digest = hashlib.sha256("\n".join(rows).encode()).hexdigest()
            found[name] = (int(count), digest)
    return found
