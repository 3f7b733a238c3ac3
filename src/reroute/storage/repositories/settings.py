"""Settings an admin changed at run time, stored as key and JSON value; and the version of
all near-static data, which moves with every change to it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, delete, insert, select

from reroute.storage.tables import reference_version, settings

#: Built once: nearly every transaction that reads near-static data runs it.
_REFERENCE_VERSION = select(reference_version.c.version).where(reference_version.c.id == 1)
_ALL = select(settings.c.key, settings.c.value)
_DROP = delete(settings).where(settings.c.key.in_(bindparam("keys", expanding=True)))
_PUT = insert(settings)


class SettingsRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def all(self) -> dict[str, Any]:
        return {r.key: r.value for r in self.conn.execute(_ALL)}

    def put(self, values: dict[str, Any], now: datetime) -> None:
        if not values:
            return
        self.conn.execute(_DROP, {"keys": list(values)})
        self.conn.execute(
            _PUT, [{"key": k, "value": v, "updated_at": now} for k, v in values.items()]
        )

    def reference_version(self) -> int | None:
        """The counter every change to near-static data moves (database triggers bump it)."""
        version: int | None = self.conn.execute(_REFERENCE_VERSION).scalar()
        return version
