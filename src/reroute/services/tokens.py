"""API tokens: created once and shown once, stored only as a hash."""

from __future__ import annotations

import hashlib
import secrets

from reroute.domain.access import Principal, Role
from reroute.domain.errors import Invalid, NotFound
from reroute.services.context import Context
from reroute.storage.repositories.access import TokenRecord
from reroute.storage.unit_of_work import unit_of_work

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


def authenticate(ctx: Context, token: str) -> Principal | None:
    with unit_of_work(ctx.db, write=False) as uow:
        record = uow.tokens.find(hash_token(token))
    if record is None or record.revoked:
        return None
    return Principal(f"token:{record.id}", Role(record.role), frozenset(record.facilities))


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
