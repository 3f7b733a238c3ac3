"""People who sign in to the pages: their password hashes, roles, failed attempts and sessions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, case, delete, func, literal, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from reroute.domain.clock import as_utc
from reroute.storage.tables import user_sessions, users


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

    def claim_attempt(
        self, email: str, now: datetime, lock_after: int, locked_until: datetime
    ) -> UserRecord | None:
        """Count a sign-in attempt as failed before its password is checked, in one statement,
        so parallel guesses cannot all pass the check. The `lock_after`-th attempt in a row
        pauses the account until `locked_until` (and starts the count again). Answers the
        active, unpaused user, or None: unknown, deactivated and paused look alike."""
        after = users.c.failed_attempts + 1
        locks = after >= lock_after
        row = self.conn.execute(
            update(users)
            .where(
                users.c.email == email,
                users.c.active.is_(True),
                or_(users.c.locked_until.is_(None), users.c.locked_until <= now),
            )
            .values(
                failed_attempts=case((locks, 0), else_=after),
                locked_until=case(
                    (locks, literal(locked_until, users.c.locked_until.type)), else_=None
                ),
            )
            .returning(*users.c)
        ).first()
        return _user(row) if row else None

    def record_success(self, user_id: int, now: datetime, password_hash: str | None) -> None:
        """The right password: the attempts counted so far (and a pause they set) are lifted."""
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

    def deactivate(self, user_id: int, now: datetime) -> None:
        self.conn.execute(
            update(users).where(users.c.id == user_id).values(active=False, updated_at=now)
        )

    def start_session(
        self, token_hash: str, user_id: int, now: datetime, expires_at: datetime
    ) -> None:
        """A new session; the user's ended and expired ones go, so the table holds little
        more than the sessions in use."""
        self.conn.execute(
            delete(user_sessions).where(
                user_sessions.c.user_id == user_id,
                or_(user_sessions.c.ended_at.is_not(None), user_sessions.c.expires_at <= now),
            )
        )
        self.conn.execute(
            user_sessions.insert().values(
                token_hash=token_hash, user_id=user_id, created_at=now, expires_at=expires_at
            )
        )

    def session_user(self, token_hash: str, now: datetime) -> UserRecord | None:
        """The active user of a session that has neither ended nor expired."""
        row = self.conn.execute(
            select(users)
            .join(user_sessions, user_sessions.c.user_id == users.c.id)
            .where(
                user_sessions.c.token_hash == token_hash,
                user_sessions.c.ended_at.is_(None),
                user_sessions.c.expires_at > now,
                users.c.active.is_(True),
            )
        ).first()
        return _user(row) if row else None

    def end_session(self, token_hash: str, now: datetime) -> None:
        self.conn.execute(
            update(user_sessions)
            .where(user_sessions.c.token_hash == token_hash, user_sessions.c.ended_at.is_(None))
            .values(ended_at=now)
        )

    def end_sessions_of(self, user_id: int, now: datetime) -> int:
        """End every open session of the user; answers how many there were."""
        result = self.conn.execute(
            update(user_sessions)
            .where(user_sessions.c.user_id == user_id, user_sessions.c.ended_at.is_(None))
            .values(ended_at=now)
        )
        return int(result.rowcount)

    def set_access(self, user_id: int, role: str, facilities: Sequence[str], now: datetime) -> None:
        self.conn.execute(
            update(users)
            .where(users.c.id == user_id)
            .values(role=role, facilities=[*facilities], updated_at=now)
        )

    def reactivate(self, user_id: int, now: datetime) -> None:
        """Active again, with no failed attempts or pause left from before."""
        self.conn.execute(
            update(users)
            .where(users.c.id == user_id)
            .values(active=True, failed_attempts=0, locked_until=None, updated_at=now)
        )

    def last_sign_ins(self) -> dict[int, datetime]:
        """When each user last signed in, from the newest session kept (a new session
        deletes only older ended ones, so the latest start stays)."""
        query = select(user_sessions.c.user_id, func.max(user_sessions.c.created_at)).group_by(
            user_sessions.c.user_id
        )
        return {int(r[0]): as_utc(r[1]) for r in self.conn.execute(query) if r[1] is not None}
