"""People who sign in to the pages: created with an argon2 hash, paused after repeated failures.

Integrations use API tokens; only admins and associates sign in. Hashing happens outside any
transaction, so a slow hash never holds SQLite's one writer.
"""

from __future__ import annotations

import re
from datetime import timedelta
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from reroute.domain.access import Principal, Role
from reroute.domain.clock import utcnow
from reroute.domain.errors import Conflict, DomainError, FieldError, Invalid, NotFound
from reroute.services.context import Context
from reroute.storage.repositories.users import UserRecord
from reroute.storage.unit_of_work import unit_of_work

#: Failed sign-ins in a row that pause an account, and for how long.
LOCK_AFTER = 5
LOCK_FOR = timedelta(minutes=1)
MIN_PASSWORD = 8
PEOPLE = (Role.ADMIN, Role.ASSOCIATE)
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_hasher = PasswordHasher()


class SignInRefused(DomainError):
    title = "Sign-in refused"


@cache
def _decoy_hash() -> str:
    """Verified against when the email is unknown, so both answers take as long."""
    return _hasher.hash("not a password anyone has")


def normal_email(email: str) -> str:
    return email.strip().lower()


def principal_of(user: UserRecord) -> Principal:
    return Principal(f"user:{user.email}", Role(user.role), frozenset(user.facilities))


def _check_new(email: str, password: str, role: Role, facilities: list[str]) -> None:
    problems = []
    if not _EMAIL.fullmatch(email):
        problems.append(FieldError("email", "Give an email address like name@example.com."))
    if len(password) < MIN_PASSWORD:
        problems.append(FieldError("password", f"Use at least {MIN_PASSWORD} characters."))
    if role not in PEOPLE:
        problems.append(FieldError("role", "People are admins or associates; use API tokens."))
    if role is Role.ASSOCIATE and not facilities:
        problems.append(FieldError("facilities", "An associate needs at least one facility."))
    if role is not Role.ASSOCIATE and facilities:
        problems.append(FieldError("facilities", "Only associates are bound to facilities."))
    if problems:
        raise Invalid("The user cannot be created.", problems)


def create_user(
    ctx: Context,
    email: str,
    password: str,
    role: Role,
    facilities: list[str],
    actor: Principal,
) -> UserRecord:
    actor.require_role(Role.ADMIN)
    email = normal_email(email)
    facilities = list(dict.fromkeys(facilities))
    _check_new(email, password, role, facilities)
    password_hash = _hasher.hash(password)
    with unit_of_work(ctx.db) as uow:
        missing = [f for f in facilities if uow.facilities.get(f) is None]
        if missing:
            raise NotFound(f"No facility {', '.join(missing)}.")
        user_id = uow.users.add(email, password_hash, str(role), facilities, uow.now)
        if user_id is None:
            raise Conflict(f"A user {email} already exists.")
        user = uow.users.get(user_id)
    assert user is not None
    return user


def set_password(ctx: Context, email: str, password: str, actor: Principal) -> None:
    """A new password (and no pause) for an existing user."""
    actor.require_role(Role.ADMIN)
    if len(password) < MIN_PASSWORD:
        raise Invalid(
            "The password is too short.",
            [FieldError("password", f"Use at least {MIN_PASSWORD} characters.")],
        )
    password_hash = _hasher.hash(password)
    with unit_of_work(ctx.db) as uow:
        user = uow.users.by_email(normal_email(email))
        if user is None:
            raise NotFound(f"No user {email}.")
        uow.users.set_password(user.id, password_hash, uow.now)


def find_user(ctx: Context, email: str) -> UserRecord | None:
    with unit_of_work(ctx.db, write=False) as uow:
        return uow.users.by_email(normal_email(email))


def signed_in(ctx: Context, user_id: int) -> UserRecord | None:
    """The user behind a session, while the account is still active."""
    with unit_of_work(ctx.db, write=False) as uow:
        user = uow.users.get(user_id)
    return user if user is not None and user.active else None


def authenticate(ctx: Context, email: str, password: str) -> UserRecord:
    """The user whose password this is; else `SignInRefused` saying what to do. The fifth
    wrong password in a row pauses the account for a minute."""
    wrong = SignInRefused("Wrong email or password. Check both and try again.")
    user = find_user(ctx, email)
    if user is None or not user.active:
        _verify(_decoy_hash(), password)
        raise wrong
    now = utcnow()
    if user.locked_until is not None and user.locked_until > now:
        raise _paused(int((user.locked_until - now).total_seconds()) + 1)
    if not _verify(user.password_hash, password):
        with unit_of_work(ctx.db) as uow:
            count = uow.users.record_failure(user.id, LOCK_AFTER, uow.now + LOCK_FOR)
        if count >= LOCK_AFTER:
            raise _paused(int(LOCK_FOR.total_seconds()))
        left = LOCK_AFTER - count
        if left <= 2:
            plural = "s" if left != 1 else ""
            wrong.detail += f" After {left} more wrong attempt{plural} sign-in pauses for a minute."
        raise SignInRefused(wrong.detail)
    rehashed = _hasher.hash(password) if _hasher.check_needs_rehash(user.password_hash) else None
    with unit_of_work(ctx.db) as uow:
        uow.users.record_success(user.id, uow.now, rehashed)
    return user


def _paused(seconds: int) -> SignInRefused:
    return SignInRefused(
        f"Too many wrong passwords: sign-in for this account is paused. "
        f"Try again in {seconds} seconds."
    )


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
