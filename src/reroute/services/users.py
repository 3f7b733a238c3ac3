"""People who sign in to the pages: created with an argon2 hash, paused after repeated failures,
signed in with sessions the server can end.

Integrations use API tokens; only admins and associates sign in. Hashing happens outside any
transaction, so a slow hash never holds SQLite's one writer, and only a few hashes run at once
(`Security.max_parallel_hashes`), so a crowd of sign-ins cannot exhaust memory.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timedelta
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from reroute.domain.access import Principal, Role
from reroute.domain.errors import Conflict, DomainError, FieldError, Invalid, NotFound
from reroute.services import passwords
from reroute.services.context import Context
from reroute.storage.repositories.users import UserRecord
from reroute.storage.unit_of_work import unit_of_work

#: Failed sign-ins in a row that pause an account, and for how long.
LOCK_AFTER = 5
LOCK_FOR = timedelta(minutes=1)
#: A session lasts a working day, then the person signs in again.
SESSION_FOR = timedelta(hours=12)
#: How long a sign-in waits for a free hashing slot before it is told to come back.
HASH_WAIT_S = 1.5
RETRY_AFTER_S = 2
PEOPLE = (Role.ADMIN, Role.ASSOCIATE)
#: Every refused sign-in reads the same, so the answer tells nothing about the account.
WRONG = (
    "Wrong email or password. Check both and try again; after 5 wrong passwords in a row, "
    "sign-in pauses for a minute."
)
_EMAIL = re.compile(r"[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+\.[^@\s\x00-\x1f\x7f]+")
_hasher = PasswordHasher()
_slots_made = threading.Lock()


class SignInRefused(DomainError):
    title = "Sign-in refused"


class HashingBusy(DomainError):
    """Every hashing slot stayed taken: the caller should try again after `RETRY_AFTER_S`."""

    title = "Busy"
    retry_after = RETRY_AFTER_S


@cache
def _decoy_hash(hasher: PasswordHasher) -> str:
    """Verified against when no account may be tried (unknown, deactivated, paused), so every
    refusal takes as long as a wrong password."""
    return hasher.hash("not a password anyone has")


def normal_email(email: str) -> str:
    return email.strip().lower()


def principal_of(user: UserRecord) -> Principal:
    return Principal(f"user:{user.email}", Role(user.role), frozenset(user.facilities))


def _password_problem(email: str, password: str) -> str | None:
    return passwords.problem(password, email, email.partition("@")[0])


def _access_problems(role: Role, facilities: list[str]) -> list[FieldError]:
    problems = []
    if role not in PEOPLE:
        problems.append(FieldError("role", "People are admins or associates; use API tokens."))
    if role is Role.ASSOCIATE and not facilities:
        problems.append(FieldError("facilities", "An associate needs at least one facility."))
    if role is not Role.ASSOCIATE and facilities:
        problems.append(FieldError("facilities", "Only associates are bound to facilities."))
    return problems


def _check_new(email: str, password: str, role: Role, facilities: list[str]) -> None:
    problems = []
    if not _EMAIL.fullmatch(email):
        problems.append(FieldError("email", "Give an email address like name@example.com."))
    password_problem = _password_problem(email, password)
    if password_problem:
        problems.append(FieldError("password", password_problem))
    problems += _access_problems(role, facilities)
    if problems:
        raise Invalid("The user cannot be created.", problems)


@contextmanager
def _hash_slot(ctx: Context) -> Iterator[None]:
    """One of this process's `max_parallel_hashes` slots (argon2 takes 64 MiB a hash), or
    `HashingBusy` when none frees up within `HASH_WAIT_S`."""
    limit = ctx.security.max_parallel_hashes
    key = f"users.hash_slots.{limit}"
    slots = ctx.cache.get(key)
    if not isinstance(slots, threading.BoundedSemaphore):
        with _slots_made:
            slots = ctx.cache.setdefault(key, threading.BoundedSemaphore(limit))
    if not slots.acquire(timeout=HASH_WAIT_S):
        raise HashingBusy(
            f"Many people are signing in at once. Try again in {RETRY_AFTER_S} seconds."
        )
    try:
        yield
    finally:
        slots.release()


def _hash(ctx: Context, password: str) -> str:
    with _hash_slot(ctx):
        return _hasher.hash(password)


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
    password_hash = _hash(ctx, password)
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
    """A new password (and no pause) for an existing user; every session of theirs ends, so
    whoever knew the old one is signed out too."""
    actor.require_role(Role.ADMIN)
    email = normal_email(email)
    problem = _password_problem(email, password)
    if problem:
        raise Invalid("The password cannot be used.", [FieldError("password", problem)])
    password_hash = _hash(ctx, password)
    with unit_of_work(ctx.db) as uow:
        user = uow.users.by_email(email)
        if user is None:
            raise NotFound(f"No user {email}.")
        uow.users.set_password(user.id, password_hash, uow.now)
        uow.users.end_sessions_of(user.id, uow.now)


def deactivate_user(ctx: Context, email: str, actor: Principal) -> None:
    """The user can no longer sign in, and every session of theirs ends now."""
    actor.require_role(Role.ADMIN)
    with unit_of_work(ctx.db) as uow:
        user = uow.users.by_email(normal_email(email))
        if user is None:
            raise NotFound(f"No user {email}.")
        if _is_self(actor, user):
            raise Conflict("You cannot deactivate yourself. Ask another admin to do it.")
        uow.users.deactivate(user.id, uow.now)
        uow.users.end_sessions_of(user.id, uow.now)


def _is_self(actor: Principal, user: UserRecord) -> bool:
    return actor.id == f"user:{user.email}"


def list_users(ctx: Context, actor: Principal) -> list[tuple[UserRecord, datetime | None]]:
    """Every person who signs in, by email, with when each last signed in (None: never)."""
    actor.require_role(Role.ADMIN, action="list users")
    with unit_of_work(ctx.db, write=False) as uow:
        found = uow.users.list()
        last = uow.users.last_sign_ins()
    return [(user, last.get(user.id)) for user in found]


def get_user(ctx: Context, user_id: int, actor: Principal) -> UserRecord:
    actor.require_role(Role.ADMIN, action="read user")
    with unit_of_work(ctx.db, write=False) as uow:
        user = uow.users.get(user_id)
    if user is None:
        raise NotFound(f"No user {user_id}.")
    return user


def change_access(
    ctx: Context, email: str, role: Role, facilities: list[str], actor: Principal
) -> UserRecord:
    """A new role and facilities for a user, effective on their next request (sessions read
    the user each time). An admin cannot take away their own admin role: someone must keep
    it, and another admin can do it if it is meant."""
    actor.require_role(Role.ADMIN, action="change user")
    facilities = list(dict.fromkeys(facilities))
    problems = _access_problems(role, facilities)
    if problems:
        raise Invalid("The user's access cannot be changed.", problems)
    with unit_of_work(ctx.db) as uow:
        user = uow.users.by_email(normal_email(email))
        if user is None:
            raise NotFound(f"No user {email}.")
        if _is_self(actor, user) and role is not Role.ADMIN:
            raise Conflict("You cannot take away your own admin role. Ask another admin to do it.")
        missing = [f for f in facilities if uow.facilities.get(f) is None]
        if missing:
            raise NotFound(f"No facility {', '.join(missing)}.")
        uow.users.set_access(user.id, str(role), facilities, uow.now)
        changed = uow.users.get(user.id)
    assert changed is not None
    return changed


def reactivate_user(ctx: Context, email: str, actor: Principal) -> None:
    """The user can sign in again with their password (no pause left from before)."""
    actor.require_role(Role.ADMIN, action="reactivate user")
    with unit_of_work(ctx.db) as uow:
        user = uow.users.by_email(normal_email(email))
        if user is None:
            raise NotFound(f"No user {email}.")
        uow.users.reactivate(user.id, uow.now)


def find_user(ctx: Context, email: str) -> UserRecord | None:
    with unit_of_work(ctx.db, write=False) as uow:
        return uow.users.by_email(normal_email(email))


def authenticate(ctx: Context, email: str, password: str) -> UserRecord:
    """The user whose password this is; else `SignInRefused`, the same for every reason.

    The attempt is counted before the password is checked, in one statement, so however many
    guesses arrive at once only `LOCK_AFTER` are checked before the account pauses for
    `LOCK_FOR`; the right password lifts the count. Unknown, deactivated and paused accounts
    run the same statement and verify a decoy hash, so they answer alike and as slowly."""
    for field, value in (("email", email), ("password", password)):
        if "\x00" in value:
            message = f"Remove the NUL character from the {field}: it cannot be part of it."
            raise Invalid("The sign-in form cannot be read.", [FieldError(field, message)])
    with _hash_slot(ctx):
        with unit_of_work(ctx.db) as uow:
            user = uow.users.claim_attempt(
                normal_email(email), uow.now, LOCK_AFTER, uow.now + LOCK_FOR
            )
        if user is None:
            _verify(_decoy_hash(_hasher), password)
            raise SignInRefused(WRONG)
        if not _verify(user.password_hash, password):
            raise SignInRefused(WRONG)
        stale = _hasher.check_needs_rehash(user.password_hash)
        rehashed = _hasher.hash(password) if stale else None
    with unit_of_work(ctx.db) as uow:
        uow.users.record_success(user.id, uow.now, rehashed)
    return replace(
        user,
        failed_attempts=0,
        locked_until=None,
        password_hash=rehashed or user.password_hash,
    )


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(ctx: Context, user: UserRecord) -> str:
    """A new session for a user who just signed in; answers the token for the cookie (the
    server keeps only its hash)."""
    token = secrets.token_urlsafe(32)
    with unit_of_work(ctx.db) as uow:
        uow.users.start_session(_token_hash(token), user.id, uow.now, uow.now + SESSION_FOR)
    return token


def session_user(ctx: Context, token: str) -> UserRecord | None:
    """The user behind a session token, while the session is open and the account active."""
    with unit_of_work(ctx.db, write=False) as uow:
        return uow.users.session_user(_token_hash(token), uow.now)


def end_session(ctx: Context, token: str) -> None:
    """Sign out: the token is refused from now on, by every process."""
    with unit_of_work(ctx.db) as uow:
        uow.users.end_session(_token_hash(token), uow.now)
