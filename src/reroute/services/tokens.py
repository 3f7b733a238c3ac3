"""API tokens: created once and shown once, stored only as a hash."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from reroute.domain.access import Principal, Role
from reroute.domain.errors import Invalid, NotFound, Unauthenticated
from reroute.services.context import Context
from reroute.services.reference import current_version
from reroute.storage.repositories.access import TokenRecord
from reroute.storage.unit_of_work import UnitOfWork, unit_of_work

PREFIX = "rr_"


def hash_token(token: str) -> str:
    # Tokens carry 256 random bits, so a fast hash is enough; passwords get argon2.
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(
    ctx: Context, role: Role, facilities: list[str], label: str, actor: Principal
) -> tuple[str, int]:
    """Answers the new token (to show once) and its id."""
    actor.require_role(Role.ADMIN, action="create token")
    if role is Role.ASSOCIATE and not facilities:
        raise Invalid("An associate token needs at least one facility.")
    if role is not Role.ASSOCIATE and facilities:
        raise Invalid("Only associate tokens are bound to facilities.")
    token = PREFIX + secrets.token_urlsafe(32)
    with unit_of_work(ctx.db) as uow:
        missing = [f for f in facilities if uow.facilities.get(f) is None]
        if missing:
            raise NotFound(f"No facility {', '.join(missing)}.")
        token_id = uow.tokens.add(hash_token(token), str(role), facilities, label, uow.now)
    return token, token_id


#: Where each process keeps the tokens it has seen valid (`Context.cache`), and how many at most.
CACHE_KEY = "tokens"
MOST_CACHED = 10_000
REFUSED = "That API token is unknown or revoked."


@dataclass(frozen=True)
class _Seen:
    principal: Principal
    #: The `reference_version` read in the transaction that found the token valid: token
    #: changes move it, so while it stands the token is as it was.
    version: int


def authenticate(ctx: Context, token: str) -> Principal | None:
    """The token's principal, read from the database; a valid one is remembered (see
    `remembered`)."""
    digest = hash_token(token)
    with unit_of_work(ctx.db, write=False) as uow:
        version = current_version(uow)
        record = uow.tokens.find(digest)
    if record is None or record.revoked:
        return None
    principal = Principal(f"token:{record.id}", Role(record.role), frozenset(record.facilities))
    if version is not None:
        _remember(ctx, digest, _Seen(principal, version))
    return principal


def remembered(ctx: Context, token: str) -> tuple[Principal, Callable[[UnitOfWork], None]] | None:
    """A token this process found valid, without reading the database, and the check each
    transaction of the request must run first (`storage.unit_of_work.transaction_checks`): it
    costs nothing more than the reference version the transaction reads anyway, and reads the
    token again only when that version moved (a token was created or revoked anywhere)."""
    digest = hash_token(token)
    seen: _Seen | None = ctx.cache.get(CACHE_KEY, {}).get(digest)
    if seen is None:
        return None
    return seen.principal, partial(_still_valid, ctx, digest, seen)


def _still_valid(ctx: Context, digest: str, seen: _Seen, uow: UnitOfWork) -> None:
    version = current_version(uow)
    if version == seen.version:
        return
    record = uow.tokens.find(digest)
    if record is None or record.revoked:
        ctx.cache.get(CACHE_KEY, {}).pop(digest, None)
        raise Unauthenticated(REFUSED)
    if version is not None:
        _remember(ctx, digest, _Seen(seen.principal, version))


def _remember(ctx: Context, digest: str, seen: _Seen) -> None:
    known: dict[str, _Seen] = ctx.cache.setdefault(CACHE_KEY, {})
    if digest not in known and len(known) >= MOST_CACHED:
        known.clear()  # only valid tokens come here: a bound, not an eviction policy
    known[digest] = seen


def who_sent(ctx: Context, token: str) -> str:
    """Who a refused token names, for the log: a revoked token's id, never the token."""
    with unit_of_work(ctx.db, write=False) as uow:
        record = uow.tokens.find(hash_token(token))
    return f"token:{record.id} (revoked)" if record is not None else "an unknown token"


def list_tokens(ctx: Context, actor: Principal) -> list[TokenRecord]:
    actor.require_role(Role.ADMIN, action="list tokens")
    with unit_of_work(ctx.db, write=False) as uow:
        return uow.tokens.list()


def revoke_token(ctx: Context, token_id: int, actor: Principal) -> None:
    actor.require_role(Role.ADMIN, action="revoke token", target=f"token {token_id}")
    with unit_of_work(ctx.db) as uow:
        if not uow.tokens.revoke(token_id, uow.now):
            raise NotFound(f"No active token {token_id}.")
