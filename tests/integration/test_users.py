"""People who sign in: argon2 hashes, the password policy, the pause after repeated failures,
`reroute user create`."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update
from typer.testing import CliRunner

from reroute.cli import app as cli
from reroute.domain.access import SYSTEM, Principal, Role
from reroute.domain.clock import utcnow
from reroute.domain.errors import Conflict, Forbidden, Invalid, NotFound
from reroute.services import catalog, users
from reroute.services.context import Context
from reroute.storage.database import Database
from reroute.storage.tables import users as users_table
from tests.pages_support import PASSWORD, cheap_hashes, person
from tests.support import new_id

pytestmark = pytest.mark.usefixtures(cheap_hashes.__name__)


@pytest.fixture
def store(context: Context) -> str:
    from reroute.domain.facilities import Capability, Facility, FacilityKind

    facility = Facility(new_id("F"), "Store", FacilityKind.STORE, "1", "70125", 41.9, -87.6)
    facility.capabilities = [Capability.SHIP]
    catalog.put_facility(context, facility, SYSTEM)
    return facility.id


def stored_hash(context: Context, email: str) -> str:
    with context.db.transaction(write=False) as conn:
        return str(
            conn.execute(
                select(users_table.c.password_hash).where(users_table.c.email == email)
            ).scalar_one()
        )


def test_a_user_is_stored_with_an_argon2id_hash_not_the_password(
    context: Context, store: str
) -> None:
    email = person(context, Role.ASSOCIATE, [store])
    password_hash = stored_hash(context, email)
    assert password_hash.startswith("$argon2id$")
    assert PASSWORD not in password_hash
    user = users.authenticate(context, email.upper() + "  ", PASSWORD)
    assert users.principal_of(user) == Principal(
        f"user:{email}", Role.ASSOCIATE, frozenset({store})
    )


def test_creating_a_user_checks_every_field_at_once(context: Context) -> None:
    with pytest.raises(Invalid) as refused:
        users.create_user(context, "not-an-email", "short", Role.INTEGRATION, ["F1"], SYSTEM)
    assert {e.path for e in refused.value.errors} == {"email", "password", "role", "facilities"}
    with pytest.raises(Invalid) as refused:
        users.create_user(context, "a@example.com", PASSWORD, Role.ASSOCIATE, [], SYSTEM)
    assert [e.path for e in refused.value.errors] == ["facilities"]


def test_a_taken_email_an_unknown_facility_and_a_non_admin_are_refused(
    context: Context, store: str
) -> None:
    email = person(context, Role.ADMIN)
    with pytest.raises(Conflict):
        users.create_user(context, email.upper(), PASSWORD, Role.ADMIN, [], SYSTEM)
    with pytest.raises(NotFound):
        users.create_user(context, "b@example.com", PASSWORD, Role.ASSOCIATE, ["nope"], SYSTEM)
    associate = Principal("user:x", Role.ASSOCIATE, frozenset({store}))
    with pytest.raises(Forbidden):
        users.create_user(context, "c@example.com", PASSWORD, Role.ADMIN, [], associate)


def test_passwords_need_twelve_characters_and_must_not_be_common(context: Context) -> None:
    email = f"{new_id('pat')}@example.com"
    refusals = {
        "x7#kq9!vm2w": "at least 12 characters",  # 11 characters
        "password1234": "harder to guess",
        "qwertyuiopas": "harder to guess",
        "iloveyou2024": "harder to guess",
        "aaaaaaaaaaaa": "harder to guess",
        email + "1": "harder to guess",
        "with a \x00 in it": "NUL",
    }
    for password, reason in refusals.items():
        with pytest.raises(Invalid) as refused:
            users.create_user(context, email, password, Role.ADMIN, [], SYSTEM)
        assert [e.path for e in refused.value.errors] == ["password"], password
        assert reason in refused.value.errors[0].message, password
    assert users.find_user(context, email) is None
    users.create_user(context, email, "x7#kq9!vm2wz", Role.ADMIN, [], SYSTEM)  # 12 will do
    for password in refusals:
        with pytest.raises(Invalid):
            users.set_password(context, email, password, SYSTEM)
    assert users.authenticate(context, email, "x7#kq9!vm2wz").email == email


def test_a_wrong_password_and_an_unknown_email_get_the_same_clear_answer(
    context: Context,
) -> None:
    email = person(context, Role.ADMIN)
    answers = []
    for who, password in ((email, "wrong password"), ("nobody@example.com", PASSWORD)):
        with pytest.raises(users.SignInRefused) as refused:
            users.authenticate(context, who, password)
        answers.append(refused.value.detail)
    assert answers[0] == answers[1] == users.WRONG
    assert "Wrong email or password" in users.WRONG


def test_five_wrong_passwords_pause_the_account_for_a_minute_even_for_the_right_one(
    context: Context,
) -> None:
    email = person(context, Role.ADMIN)
    for _ in range(users.LOCK_AFTER):
        with pytest.raises(users.SignInRefused) as refused:
            users.authenticate(context, email, "wrong password")
        assert refused.value.detail == users.WRONG
    paused = users.find_user(context, email)
    assert paused is not None and paused.locked_until is not None
    assert timedelta(seconds=50) < paused.locked_until - utcnow() <= users.LOCK_FOR
    with pytest.raises(users.SignInRefused) as refused:
        users.authenticate(context, email, PASSWORD)
    assert refused.value.detail == users.WRONG

    # A minute later the right password works again, and the count starts over.
    with context.db.transaction(write=True) as conn:
        conn.execute(
            update(users_table)
            .where(users_table.c.email == email)
            .values(locked_until=utcnow() - timedelta(seconds=1))
        )
    assert users.authenticate(context, email, PASSWORD).failed_attempts == 0
    assert users.find_user(context, email).failed_attempts == 0  # type: ignore[union-attr]


def test_a_right_password_clears_earlier_failures(context: Context) -> None:
    email = person(context, Role.ADMIN)
    for _ in range(2):
        for _ in range(users.LOCK_AFTER - 1):
            with pytest.raises(users.SignInRefused):
                users.authenticate(context, email, "wrong password")
        assert users.authenticate(context, email, PASSWORD).email == email
    assert users.find_user(context, email).locked_until is None  # type: ignore[union-attr]


def test_a_deactivated_user_cannot_sign_in_and_its_sessions_end(context: Context) -> None:
    email = person(context, Role.ADMIN)
    user = users.authenticate(context, email, PASSWORD)
    tokens = [users.start_session(context, user) for _ in range(2)]
    assert all(users.session_user(context, t) == users.find_user(context, email) for t in tokens)
    users.deactivate_user(context, email.upper(), SYSTEM)
    assert [users.session_user(context, t) for t in tokens] == [None, None]
    with pytest.raises(users.SignInRefused) as refused:
        users.authenticate(context, email, PASSWORD)
    assert refused.value.detail == users.WRONG
    with pytest.raises(NotFound):
        users.deactivate_user(context, "nobody@example.com", SYSTEM)
    with pytest.raises(Forbidden):
        users.deactivate_user(context, email, Principal("user:x", Role.ASSOCIATE, frozenset()))


def test_an_account_switched_off_in_the_database_is_no_session_either(context: Context) -> None:
    email = person(context, Role.ADMIN)
    token = users.start_session(context, users.authenticate(context, email, PASSWORD))
    with context.db.transaction(write=True) as conn:
        conn.execute(update(users_table).where(users_table.c.email == email).values(active=False))
    assert users.session_user(context, token) is None


def test_set_password_replaces_the_old_one_lifts_a_pause_and_ends_every_session(
    context: Context,
) -> None:
    email = person(context, Role.ADMIN)
    token = users.start_session(context, users.authenticate(context, email, PASSWORD))
    for _ in range(users.LOCK_AFTER):
        with pytest.raises(users.SignInRefused):
            users.authenticate(context, email, "wrong password")
    users.set_password(context, email, "a brand new one", SYSTEM)
    assert users.session_user(context, token) is None
    assert users.authenticate(context, email, "a brand new one").email == email
    with pytest.raises(users.SignInRefused):
        users.authenticate(context, email, PASSWORD)


def test_reroute_user_create_makes_an_associate_that_can_sign_in(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    runner = CliRunner()
    made = runner.invoke(
        cli,
        [
            "user",
            "create",
            "--email",
            "Pat@Example.com",
            "--password",
            PASSWORD,
            "--role",
            "associate",
            "--facility",
            "S1",
            "--database-url",
            url,
        ],
    )
    assert made.exit_code == 2, made.output  # no facility S1 yet
    assert "No facility S1" in made.stderr

    context = Context(db=Database(url))
    try:
        from reroute.domain.facilities import Facility, FacilityKind

        store = Facility("S1", "Store", FacilityKind.STORE, "1", "70125", 41.9, -87.6)
        catalog.put_facility(context, store, SYSTEM)
        args = ["user", "create", "--email", "Pat@Example.com", "--role", "associate"]
        args += ["--facility", "S1", "--database-url", url]
        made = runner.invoke(cli, args, input=f"{PASSWORD}\n{PASSWORD}\n")
        assert made.exit_code == 0, made.output
        assert "Created associate pat@example.com at S1" in made.stderr
        assert made.stdout.count(PASSWORD) == 0
        assert users.authenticate(context, "pat@example.com", PASSWORD).facilities == ["S1"]
        again = runner.invoke(cli, [*args, "--password", PASSWORD])
        assert again.exit_code == 2 and "already exists" in again.stderr
        weak_args = ["user", "create", "--email", "x@example.com", "--role", "admin"]
        weak_args += ["--database-url", url]
        short = runner.invoke(cli, [*weak_args, "--password", "x7#kq9!vm2w"])
        assert short.exit_code == 2 and "password: Use at least 12 characters" in short.stderr
        common = runner.invoke(cli, [*weak_args, "--password", "password1234"])
        assert common.exit_code == 2 and "password: Choose a password that is harder" in (
            common.stderr
        )
        assert users.find_user(context, "x@example.com") is None
    finally:
        context.db.dispose()


def test_reroute_user_deactivate_locks_out_and_ends_the_sessions(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    runner = CliRunner()
    unknown = runner.invoke(
        cli, ["user", "deactivate", "nobody@example.com", "--database-url", url]
    )
    assert unknown.exit_code == 2 and "No user nobody@example.com" in unknown.stderr
    context = Context(db=Database(url))
    try:
        user = users.create_user(context, "lee@example.com", PASSWORD, Role.ADMIN, [], SYSTEM)
        session = users.start_session(context, user)
        assert users.session_user(context, session) is not None
        done = runner.invoke(cli, ["user", "deactivate", "Lee@Example.com", "--database-url", url])
        assert done.exit_code == 0, done.output
        assert "Deactivated" in done.stderr
        assert users.session_user(context, session) is None
        with pytest.raises(users.SignInRefused):
            users.authenticate(context, "lee@example.com", PASSWORD)
    finally:
        context.db.dispose()
