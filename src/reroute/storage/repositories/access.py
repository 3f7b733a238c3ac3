"""API tokens (stored as hashes) and idempotency records."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, Integer, bindparam, delete, insert, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite

from reroute.domain.clock import as_utc
from reroute.storage.tables import api_tokens, idempotency_keys, token_uses


@dataclass(frozen=True)
class TokenRecord:
    id: int
    role: str
    facilities: list[str]
    label: str
    revoked: bool
    created_at: datetime | None = None
    #: None: it does not expire.
    expires_at: datetime | None = None
    #: Filled by `list` only (a token's use is kept apart, in `token_uses`).
    last_used_at: datetime | None = None

    def expired(self, now: datetime) -> bool:
        return self.expires_at is not None and now >= self.expires_at

    def valid(self, now: datetime) -> bool:
        return not self.revoked and not self.expired(now)


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
_ALL_TOKENS = (
    select(_tokens, token_uses.c.last_used_at)
    .outerjoin(token_uses, token_uses.c.token_id == _tokens.c.id)
    .order_by(_tokens.c.id)
)
_USE_VALUES: dict[str, Any] = {
    "token_id": bindparam("token_id"),
    "last_used_at": bindparam("used_at"),
}
# A use is kept in `token_uses`, never in `api_tokens`: that table's triggers move the
# reference version, which would empty every process's caches.


def _use_upsert(dialect: Any) -> Any:
    """Insert the use, or move an existing one later (never earlier)."""
    new = dialect.insert(token_uses).values(_USE_VALUES)
    return new.on_conflict_do_update(
        index_elements=[token_uses.c.token_id],
        set_={"last_used_at": new.excluded.last_used_at},
        where=token_uses.c.last_used_at < new.excluded.last_used_at,
    )


_USED_PG = _use_upsert(postgresql)
_USED_SQLITE = _use_upsert(sqlite)
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
        self,
        token_hash: str,
        role: str,
        facilities: list[str],
        label: str,
        now: datetime,
        expires_at: datetime | None = None,
    ) -> int:
        result = self.conn.execute(
            _ADD_TOKEN,
            {
                "token_hash": token_hash,
                "role": role,
                "facilities": facilities,
                "label": label,
                "created_at": now,
                "expires_at": expires_at,
            },
        )
        return int(result.scalar_one())

    def find(self, token_hash: str) -> TokenRecord | None:
        row = self.conn.execute(_TOKEN_BY_HASH, {"token_hash": token_hash}).first()
        if row is None:
            return None
        return _record(row, None)

    def get(self, token_id: int) -> TokenRecord | None:
        row = self.conn.execute(_ALL_TOKENS.where(_tokens.c.id == token_id)).first()
        return _record(row, row.last_used_at) if row is not None else None

    def list(self) -> list[TokenRecord]:
        rows = self.conn.execute(_ALL_TOKENS)
        return [_record(r, r.last_used_at) for r in rows]

    def record_use(self, token_id: int, used_at: datetime) -> None:
        """When the token was last used (a later time only: uses recorded out of order keep
        the latest)."""
        statement = _USED_PG if self.conn.dialect.name == "postgresql" else _USED_SQLITE
        self.conn.execute(statement, {"token_id": token_id, "used_at": used_at})

    def revoke(self, token_id: int, now: datetime) -> bool:
        result = self.conn.execute(_REVOKE, {"token_id": token_id, "revoked_at": now})
        return result.rowcount > 0


def _record(row: Any, last_used_at: datetime | None) -> TokenRecord:
    return TokenRecord(
        row.id,
        row.role,
        list(row.facilities),
        row.label,
        row.revoked_at is not None,
        as_utc(row.created_at),
        as_utc(row.expires_at) if row.expires_at is not None else None,
        as_utc(last_used_at) if last_used_at is not None else None,
    )


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
