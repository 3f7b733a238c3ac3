"""API tokens (stored as hashes) and idempotency records."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, insert, select, update

from reroute.storage.tables import api_tokens, idempotency_keys


@dataclass(frozen=True)
class TokenRecord:
    id: int
    role: str
    facilities: list[str]
    label: str
    revoked: bool


@dataclass(frozen=True)
class IdempotentAnswer:
    method: str
    path: str
    request_hash: str
    status_code: int
    body: bytes


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
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def get(self, principal: str, key: str) -> IdempotentAnswer | None:
        t = idempotency_keys
        row = self.conn.execute(select(t).where(t.c.principal == principal, t.c.key == key)).first()
        if row is None:
            return None
        return IdempotentAnswer(
            row.method, row.path, row.request_hash, row.status_code, row.response_body
        )

    def put(self, principal: str, key: str, answer: IdempotentAnswer, now: datetime) -> None:
        self.conn.execute(
            insert(idempotency_keys).values(
                principal=principal,
                key=key,
                method=answer.method,
                path=answer.path,
                request_hash=answer.request_hash,
                status_code=answer.status_code,
                response_body=answer.body,
                created_at=now,
            )
        )
