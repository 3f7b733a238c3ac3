"""People who sign in: argon2 hashes, the pause after repeated failures, `reroute user create`."""

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


def test_a_wrong_password_and_an_unknown_email_get_the_same_clear_answer(
    context: Context,
) -> None:
    email = person(context, Role.ADMIN)
    answers = []
    for who, password in ((email, "wrong password"), ("nobody@example.com", PASSWORD)):
        with pytest.raises(users.SignInRefused) as refused:
            users.authenticate(context, who, password)
        answers.append(refused.value.detail)
    assert answers[0] == answers[1] == "Wrong email or password. Check both and try again."


def test_five_wrong_passwords_pause_the_account_for_a_minute_even_for_the_right_one(
    context: Context,
) -> None:
    email = person(context, Role.ADMIN)
    details = []
    for _ in range(users.LOCK_AFTER):
        with pytest.raises(users.SignInRefused) as refused:
            users.authenticate(context, email, "wrong password")
        details.append(refused.value.detail)
    assert "2 more wrong attempts" in details[2] and "1 more wrong attempt " in details[3]
    assert "paused" in details[-1] and "60 seconds" in details[-1]
    with pytest.raises(users.SignInRefused) as refused:
        users.authenticate(context, email, PASSWORD)
    assert "paused" in refused.value.detail

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
    for _ in range(users.LOCK_AFTER - 1):
        with pytest.raises(users.SignInRefused):
            users.authenticate(context, email, "wrong password")
    users.authenticate(context, email, PASSWORD)
    with pytest.raises(users.SignInRefused) as refused:
        users.authenticate(context, email, "wrong password")
    assert "paused" not in refused.value.detail and "more wrong" not in refused.value.detail


def test_a_deactivated_user_cannot_sign_in_and_its_session_ends(context: Context) -> None:
    email = person(context, Role.ADMIN)
    user = users.find_user(context, email)
    assert user is not None and users.signed_in(context, user.id) is not None
    with context.db.transaction(write=True) as conn:
        conn.execute(update(users_table).where(users_table.c.id == user.id).values(active=False))
    assert users.signed_in(context, user.id) is None
    with pytest.raises(users.SignInRefused):
        users.authenticate(context, email, PASSWORD)


def test_set_password_replaces_the_old_one_and_lifts_a_pause(context: Context) -> None:
    email = person(context, Role.ADMIN)
    for _ in range(users.LOCK_AFTER):
        with pytest.raises(users.SignInRefused):
            users.authenticate(context, email, "wrong password")
    users.set_password(context, email, "a brand new one", SYSTEM)
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
        weak = runner.invoke(cli, [*weak_args, "--password", "short", "--database-url", url])
        assert weak.exit_code == 2 and "password: Use at least 8 characters" in weak.stderr
    finally:
        context.db.dispose()
