"""Settings an admin changed at run time, stored as key and JSON value."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, select

from reroute.storage.tables import settings


class SettingsRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def all(self) -> dict[str, Any]:
        return {r.key: r.value for r in self.conn.execute(select(settings))}

    def put(self, values: dict[str, Any], now: datetime) -> None:
        if not values:
            return
        self.conn.execute(delete(settings).where(settings.c.key.in_(list(values))))
        self.conn.execute(
            insert(settings), [{"key": k, "value": v, "updated_at": now} for k, v in values.items()]
        )
