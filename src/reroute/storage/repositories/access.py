"""API tokens (stored as hashes) and idempotency records."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Connection, delete, insert, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite

from reroute.storage.tables import api_tokens, idempotency_keys


@dataclass(frozen=True)
class TokenRecord:
    id: int
    role: str
    facilities: list[str]
    label: str
    revoked: bool


class KeyState(StrEnum):
    IN_PROGRESS = "in_progress"
    ANSWERED = "answered"
    #: Answered with a secret, shown once: kept without its body and never replayed.
    WITHHELD = "withheld"


@dataclass(frozen=True)
class IdempotentRequest:
    """What a key is bound to: the request hash decides, method and path are for people."""

    method: str
    path: str
    request_hash: str


@dataclass(frozen=True)
class IdempotencyRecord:
    claim_id: str
    request_hash: str
    state: KeyState
    status_code: int | None
    content_type: str | None
    body: bytes | None


class TokenRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(
        self, token_hash: str, role: str, facilities: list[str], label: str, now: datetime
    ) -> int:
        result = self.conn.execute(
            insert(api_tokens)
            .values(
                token_hash=token_hash,
                role=role,
                facilities=facilities,
                label=label,
                created_at=now,
            )
            .returning(api_tokens.c.id)
        )
        return int(result.scalar_one())

    def find(self, token_hash: str) -> TokenRecord | None:
        row = self.conn.execute(
            select(api_tokens).where(api_tokens.c.token_hash == token_hash)
        ).first()
        if row is None:
            return None
        return TokenRecord(
            row.id, row.role, list(row.facilities), row.label, row.revoked_at is not None
        )

    def list(self) -> list[TokenRecord]:
        rows = self.conn.execute(select(api_tokens).order_by(api_tokens.c.id))
        return [
            TokenRecord(r.id, r.role, list(r.facilities), r.label, r.revoked_at is not None)
            for r in rows
        ]

    def revoke(self, token_id: int, now: datetime) -> bool:
        result = self.conn.execute(
            update(api_tokens)
            .where(api_tokens.c.id == token_id, api_tokens.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        return result.rowcount > 0


class IdempotencyRepository:
    """Keys per principal. Expired rows count as absent; `claim` replaces them."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def claim(
        self,
        principal: str,
        key: str,
        claim_id: str,
        request: IdempotentRequest,
        now: datetime,
        expires_at: datetime,
    ) -> bool:
        """Write the key as in progress, unless a live row holds it: the unique key decides a
        race (on PostgreSQL the loser waits for the winner's commit, then inserts nothing)."""
        t = idempotency_keys
        self.conn.execute(delete(t).where(t.c.principal == principal, t.c.expires_at <= now))
        values = {
            "principal": principal,
            "key": key,
            "claim_id": claim_id,
            "method": request.method,
            "path": request.path,
            "request_hash": request.request_hash,
            "state": str(KeyState.IN_PROGRESS),
            "created_at": now,
            "expires_at": expires_at,
        }
        dialect = postgresql if self.conn.dialect.name == "postgresql" else sqlite
        statement = (
            dialect.insert(t).values(**values).on_conflict_do_nothing().returning(t.c.claim_id)
        )
        return self.conn.execute(statement).first() is not None

    def get(self, principal: str, key: str, now: datetime) -> IdempotencyRecord | None:
        t = idempotency_keys
        row = self.conn.execute(
            select(t).where(t.c.principal == principal, t.c.key == key, t.c.expires_at > now)
        ).first()
        if row is None:
            return None
        return IdempotencyRecord(
            row.claim_id,
            row.request_hash,
            KeyState(row.state),
            row.status_code,
            row.content_type,
            row.response_body,
        )

    def answer(
        self,
        principal: str,
        key: str,
        claim_id: str,
        status_code: int,
        content_type: str | None,
        body: bytes | None,
    ) -> None:
        """Keep the answer of our claim; without a body, the key is withheld."""
        t = idempotency_keys
        state = KeyState.ANSWERED if body is not None else KeyState.WITHHELD
        self.conn.execute(
            update(t)
            .where(t.c.principal == principal, t.c.key == key, t.c.claim_id == claim_id)
            .values(
                state=str(state),
                status_code=status_code,
                content_type=content_type,
                response_body=body,
            )
        )

    def release(self, principal: str, key: str, claim_id: str) -> None:
        """Forget our claim, so the request can be sent again under the same key."""
        t = idempotency_keys
        self.conn.execute(
            delete(t).where(
                t.c.principal == principal,
                t.c.key == key,
                t.c.claim_id == claim_id,
                t.c.state == str(KeyState.IN_PROGRESS),
            )
        )

    def sweep(self, now: datetime, limit: int) -> int:
        """Delete up to `limit` expired rows of any principal; answers how many went."""
        t = idempotency_keys
        expired = select(t.c.principal, t.c.key).where(t.c.expires_at <= now).limit(limit)
        result = self.conn.execute(delete(t).where(tuple_(t.c.principal, t.c.key).in_(expired)))
        return int(result.rowcount)
