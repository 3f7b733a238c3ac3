"""People who sign in to the pages: their password hashes, roles and failed attempts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, select, update
from sqlalchemy.dialects import postgresql, sqlite

from reroute.domain.clock import as_utc
from reroute.storage.tables import users


@dataclass(frozen=True)
class UserRecord:
    id: int
    email: str
    password_hash: str
    role: str
    facilities: list[str]
    active: bool
    failed_attempts: int
    locked_until: datetime | None


def _user(row: Row[Any]) -> UserRecord:
    return UserRecord(
        id=row.id,
        email=row.email,
        password_hash=row.password_hash,
        role=row.role,
        facilities=list(row.facilities),
        active=row.active,
        failed_attempts=row.failed_attempts,
        locked_until=as_utc(row.locked_until) if row.locked_until is not None else None,
    )


class UserRepository:
    def __init__(self, conn: Connection, *, postgres: bool) -> None:
        self.conn = conn
        self.postgres = postgres

    def add(
        self, email: str, password_hash: str, role: str, facilities: list[str], now: datetime
    ) -> int | None:
        """Write a new user; answers its id, or None (writing nothing) when the email is taken."""
        dialect_insert = postgresql.insert if self.postgres else sqlite.insert
        result = self.conn.execute(
            dialect_insert(users)
            .on_conflict_do_nothing()
            .values(
                email=email,
                password_hash=password_hash,
                role=role,
                facilities=facilities,
                active=True,
                failed_attempts=0,
                created_at=now,
                updated_at=now,
            )
            .returning(users.c.id)
        )
        row = result.first()
        return int(row.id) if row is not None else None

    def get(self, user_id: int) -> UserRecord | None:
        row = self.conn.execute(select(users).where(users.c.id == user_id)).first()
        return _user(row) if row else None

    def by_email(self, email: str) -> UserRecord | None:
        row = self.conn.execute(select(users).where(users.c.email == email)).first()
        return _user(row) if row else None

    def list(self) -> list[UserRecord]:
        return [_user(r) for r in self.conn.execute(select(users).order_by(users.c.email))]

    def record_failure(self, user_id: int, lock_after: int, locked_until: datetime) -> int:
        """Count a failed sign-in; the `lock_after`-th in a row locks the account until
        `locked_until` and starts the count again. Answers the count after this one."""
        count = self.conn.execute(
            update(users)
            .where(users.c.id == user_id)
            .values(failed_attempts=users.c.failed_attempts + 1)
            .returning(users.c.failed_attempts)
        ).scalar_one()
        if count >= lock_after:
            self.conn.execute(
                update(users)
                .where(users.c.id == user_id)
                .values(failed_attempts=0, locked_until=locked_until)
            )
        return int(count)

    def record_success(self, user_id: int, now: datetime, password_hash: str | None) -> None:
        values: dict[str, Any] = {"failed_attempts": 0, "locked_until": None}
        if password_hash is not None:
            values.update(password_hash=password_hash, updated_at=now)
        self.conn.execute(update(users).where(users.c.id == user_id).values(**values))

    def set_password(self, user_id: int, password_hash: str, now: datetime) -> None:
        self.conn.execute(
            update(users)
            .where(users.c.id == user_id)
            .values(
                password_hash=password_hash, failed_attempts=0, locked_until=None, updated_at=now
            )
        )
