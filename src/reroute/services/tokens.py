"""API tokens: created once and shown once, stored only as a hash; optionally expiring."""

from __future__ import annotations

import hashlib
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from sqlalchemy.exc import SQLAlchemyError

from reroute.domain.access import Principal, Role
from reroute.domain.clock import utcnow
from reroute.domain.errors import FieldError, Invalid, NotFound, Unauthenticated
from reroute.services.context import Context
from reroute.services.reference import current_version
from reroute.storage.repositories.access import TokenRecord
from reroute.storage.unit_of_work import UnitOfWork, unit_of_work

PREFIX = "rr_"
log = logging.getLogger("reroute.tokens")


def hash_token(token: str) -> str:
    # Tokens carry 256 random bits, so a fast hash is enough; passwords get argon2.
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(
    ctx: Context,
    role: Role,
    facilities: list[str],
    label: str,
    actor: Principal,
    *,
    expires_at: datetime | None = None,
    expires_in_days: int | None = None,
) -> tuple[str, int]:
    """Answers the new token (to show once) and its id. With `expires_at` (a future, aware
    time) or `expires_in_days`, it is refused like a revoked one from then on."""
    actor.require_role(Role.ADMIN, action="create token")
    if role is Role.ASSOCIATE and not facilities:
        raise Invalid("An associate token needs at least one facility.")
    if role is not Role.ASSOCIATE and facilities:
        raise Invalid("Only associate tokens are bound to facilities.")
    if expires_at is not None and expires_in_days is not None:
        raise Invalid("Give expires_at or expires_in_days, not both.")
    now = utcnow()
    if expires_in_days is not None:
        expires_at = now + timedelta(days=expires_in_days)
    if expires_at is not None:
        if expires_at.tzinfo is None:
            raise Invalid(
                "The expiry needs a time zone.",
                [FieldError("expires_at", "Give a time zone, e.g. 2027-01-31T00:00:00Z.")],
            )
        if expires_at <= now:
            raise Invalid(
                "A token cannot expire before it is made.",
                [FieldError("expires_at", "Give a time in the future.")],
            )
    token = PREFIX + secrets.token_urlsafe(32)
    with unit_of_work(ctx.db) as uow:
        missing = [f for f in facilities if uow.facilities.get(f) is None]
        if missing:
            raise NotFound(f"No facility {', '.join(missing)}.")
        token_id = uow.tokens.add(
            hash_token(token), str(role), facilities, label, uow.now, expires_at
        )
    return token, token_id


#: Where each process keeps the tokens it has seen valid (`Context.cache`), and how many at most.
CACHE_KEY = "tokens"
MOST_CACHED = 10_000
REFUSED = "That API token is unknown, revoked or expired."
#: Where each process keeps when it last recorded each token's use (`time.monotonic()`), and
#: how often at most it records one token's use.
USES_KEY = "token_uses"
USE_EVERY = 60.0
#: The clock of that bound (tests move it).
monotonic = time.monotonic


@dataclass(frozen=True)
class _Seen:
    principal: Principal
    #: The `reference_version` read in the transaction that found the token valid: token
    #: changes move it, so while it stands the token is as it was.
    version: int
    token_id: int
    #: When it stops working, whatever the version says (None: never).
    expires_at: datetime | None


def authenticate(ctx: Context, token: str) -> Principal | None:
    """The token's principal, read from the database; a valid one is remembered (see
    `remembered`)."""
    digest = hash_token(token)
    with unit_of_work(ctx.db, write=False) as uow:
        version = current_version(uow)
        record = uow.tokens.find(digest)
    if record is None or not record.valid(utcnow()):
        return None
    principal = Principal(f"token:{record.id}", Role(record.role), frozenset(record.facilities))
    if version is not None:
        _remember(ctx, digest, _Seen(principal, version, record.id, record.expires_at))
    return principal


def remembered(ctx: Context, token: str) -> tuple[Principal, Callable[[UnitOfWork], None]] | None:
    """A token this process found valid, without reading the database, and the check each
    transaction of the request must run first (`storage.unit_of_work.transaction_checks`): it
    costs nothing more than the reference version the transaction reads anyway, and reads the
    token again only when that version moved (a token was created or revoked anywhere).

    None (read it with `authenticate`) for a token not seen, and for one past its expiry (it is
    forgotten: the cache never keeps an expired token alive).

    The check also notes the token's use, at most once a minute per token per process: after
    the transaction commits, so that a refused request writes nothing."""
    digest = hash_token(token)
    known: dict[str, _Seen] = ctx.cache.get(CACHE_KEY, {})
    seen = known.get(digest)
    if seen is None:
        return None
    if seen.expires_at is not None and utcnow() >= seen.expires_at:
        known.pop(digest, None)
        return None
    return seen.principal, partial(_still_valid, ctx, digest, seen)


def _still_valid(ctx: Context, digest: str, seen: _Seen, uow: UnitOfWork) -> None:
    if seen.expires_at is not None and uow.now >= seen.expires_at:
        ctx.cache.get(CACHE_KEY, {}).pop(digest, None)
        raise Unauthenticated(REFUSED)
    version = current_version(uow)
    if version != seen.version:
        record = uow.tokens.find(digest)
        if record is None or not record.valid(uow.now):
            ctx.cache.get(CACHE_KEY, {}).pop(digest, None)
            raise Unauthenticated(REFUSED)
        if version is not None:
            _remember(ctx, digest, _Seen(seen.principal, version, record.id, record.expires_at))
    if _use_due(ctx, seen.token_id):
        uow.after_commit.append(partial(_record_use, ctx, seen.token_id, uow.now))


def _remember(ctx: Context, digest: str, seen: _Seen) -> None:
    known: dict[str, _Seen] = ctx.cache.setdefault(CACHE_KEY, {})
    if digest not in known and len(known) >= MOST_CACHED:
        known.clear()  # only valid tokens come here: a bound, not an eviction policy
    known[digest] = seen


def _use_due(ctx: Context, token_id: int) -> bool:
    recorded: dict[int, float] = ctx.cache.get(USES_KEY, {})
    last = recorded.get(token_id)
    return last is None or monotonic() - last >= USE_EVERY


def _record_use(ctx: Context, token_id: int, used_at: datetime) -> None:
    """Write when the token was used, in `token_uses` (its own small transaction, never
    `api_tokens`, whose triggers would move the reference version), unless another
    transaction of this process did within the minute. Not recording it never refuses the
    request: it is tried again a minute later."""
    if not _use_due(ctx, token_id):
        return
    recorded: dict[int, float] = ctx.cache.setdefault(USES_KEY, {})
    if len(recorded) >= MOST_CACHED:
        recorded.clear()
    recorded[token_id] = monotonic()
    try:
        with unit_of_work(ctx.db) as uow:
            uow.tokens.record_use(token_id, used_at)
    except SQLAlchemyError as exc:
        log.warning("could not record the use of token %s: %s", token_id, exc)


def who_sent(ctx: Context, token: str) -> str:
    """Who a refused token names, for the log: a revoked or expired token's id, never the
    token."""
    with unit_of_work(ctx.db, write=False) as uow:
        record = uow.tokens.find(hash_token(token))
    if record is None:
        return "an unknown token"
    return f"token:{record.id} ({'revoked' if record.revoked else 'expired'})"


def list_tokens(ctx: Context, actor: Principal) -> list[TokenRecord]:
    """Every token, revoked and expired ones too, with when each was last used."""
    actor.require_role(Role.ADMIN, action="list tokens")
    with unit_of_work(ctx.db, write=False) as uow:
        return uow.tokens.list()


def get_token(ctx: Context, token_id: int, actor: Principal) -> TokenRecord:
    actor.require_role(Role.ADMIN, action="read token", target=f"token {token_id}")
    with unit_of_work(ctx.db, write=False) as uow:
        found = uow.tokens.get(token_id)
    if found is None:
        raise NotFound(f"No token {token_id}.")
    return found


def revoke_token(ctx: Context, token_id: int, actor: Principal) -> None:
    actor.require_role(Role.ADMIN, action="revoke token", target=f"token {token_id}")
    with unit_of_work(ctx.db) as uow:
        if not uow.tokens.revoke(token_id, uow.now):
            raise NotFound(f"No active token {token_id}.")
