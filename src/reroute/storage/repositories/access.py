"""API tokens (stored as hashes) and idempotency records."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Connection, Integer, bindparam, delete, insert, select, tuple_, update
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


# Statements built once: SQLAlchemy then keeps each one's cache key instead of building the
# statement, coercing its clauses and keying it again on every call (a token is looked up on
# every request).
_tokens = api_tokens
_ADD_TOKEN = insert(_tokens).returning(_tokens.c.id)
_TOKEN_BY_HASH = select(_tokens).where(_tokens.c.token_hash == bindparam("token_hash"))
_ALL_TOKENS = select(_tokens).order_by(_tokens.c.id)
_REVOKE = (
    update(_tokens)
    .where(_tokens.c.id == bindparam("token_id"), _tokens.c.revoked_at.is_(None))
    .values(revoked_at=bindparam("revoked_at"))
)

_keys = idempotency_keys
_EXPIRED_OF = delete(_keys).where(
    _keys.c.principal == bindparam("principal"), _keys.c.expires_at <= bindparam("now")
)
_CLAIM_PG = postgresql.insert(_keys).on_conflict_do_nothing().returning(_keys.c.claim_id)
_CLAIM_SQLITE = sqlite.insert(_keys).on_conflict_do_nothing().returning(_keys.c.claim_id)
_LIVE_KEY = select(_keys).where(
    _keys.c.principal == bindparam("principal"),
    _keys.c.key == bindparam("b_key"),
    _keys.c.expires_at > bindparam("now"),
)
# Bound names apart from the column names: those of the SET clause are SQLAlchemy's own.
_OURS = (
    _keys.c.principal == bindparam("b_principal"),
    _keys.c.key == bindparam("b_key"),
    _keys.c.claim_id == bindparam("b_claim_id"),
)
_ANSWER = (
    update(_keys)
    .where(*_OURS)
    .values(
        state=bindparam("state"),
        status_code=bindparam("status_code"),
        content_type=bindparam("content_type"),
        response_body=bindparam("response_body"),
    )
)
_RELEASE = delete(_keys).where(*_OURS, _keys.c.state == str(KeyState.IN_PROGRESS))
_SWEEP = delete(_keys).where(
    tuple_(_keys.c.principal, _keys.c.key).in_(
        select(_keys.c.principal, _keys.c.key)
        .where(_keys.c.expires_at <= bindparam("now"))
        .limit(bindparam("limit", type_=Integer))
    )
)


class TokenRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(
        self, token_hash: str, role: str, facilities: list[str], label: str, now: datetime
    ) -> int:
        result = self.conn.execute(
            _ADD_TOKEN,
            {
                "token_hash": token_hash,
                "role": role,
                "facilities": facilities,
                "label": label,
                "created_at": now,
            },
        )
        return int(result.scalar_one())

    def find(self, token_hash: str) -> TokenRecord | None:
        row = self.conn.execute(_TOKEN_BY_HASH, {"token_hash": token_hash}).first()
        if row is None:
            return None
        return TokenRecord(
            row.id, row.role, list(row.facilities), row.label, row.revoked_at is not None
        )

    def list(self) -> list[TokenRecord]:
        rows = self.conn.execute(_ALL_TOKENS)
        return [
            TokenRecord(r.id, r.role, list(r.facilities), r.label, r.revoked_at is not None)
            for r in rows
        ]

    def revoke(self, token_id: int, now: datetime) -> bool:
        result = self.conn.execute(_REVOKE, {"token_id": token_id, "revoked_at": now})
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
        self.conn.execute(_EXPIRED_OF, {"principal": principal, "now": now})
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
        statement = _CLAIM_PG if self.conn.dialect.name == "postgresql" else _CLAIM_SQLITE
        return self.conn.execute(statement, values).first() is not None

    def get(self, principal: str, key: str, now: datetime) -> IdempotencyRecord | None:
        row = self.conn.execute(
            _LIVE_KEY, {"principal": principal, "b_key": key, "now": now}
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
        state = KeyState.ANSWERED if body is not None else KeyState.WITHHELD
        self.conn.execute(
            _ANSWER,
            {
                "b_principal": principal,
                "b_key": key,
                "b_claim_id": claim_id,
                "state": str(state),
                "status_code": status_code,
                "content_type": content_type,
                "response_body": body,
            },
        )

    def release(self, principal: str, key: str, claim_id: str) -> None:
        """Forget our claim, so the request can be sent again under the same key."""
        self.conn.execute(
            _RELEASE, {"b_principal": principal, "b_key": key, "b_claim_id": claim_id}
        )

    def sweep(self, now: datetime, limit: int) -> int:
        """Delete up to `limit` expired rows of any principal; answers how many went."""
        result = self.conn.execute(_SWEEP, {"now": now, "limit": limit})
        return int(result.rowcount)
