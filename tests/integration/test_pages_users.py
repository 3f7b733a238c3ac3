"""The Users page: list people, create one (the password rules checked), change role and
facilities, set a new password (their sessions end), deactivate after a confirmation and
reactivate. An admin cannot deactivate or demote themself, and every refusal writes nothing."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from reroute.domain.access import SYSTEM, Role
from reroute.domain.facilities import Facility, FacilityKind
from reroute.services import catalog, users
from reroute.services.context import Context
from reroute.storage.repositories.users import UserRecord
from tests.pages_support import PASSWORD, cheap_hashes, person, post_form, sign_in, text_of
from tests.support import new_id

pytestmark = pytest.mark.usefixtures(cheap_hashes.__name__)
NEW_PASSWORD = "velvet lantern orbit"


@pytest.fixture
def stores(context: Context) -> list[str]:
    made = []
    for name in ("Andersonville", "Bucktown"):
        facility = Facility(new_id("f"), name, FacilityKind.STORE, new_id("L"), "F1", 41.9, -87.6)
        catalog.put_facility(context, facility, SYSTEM)
        made.append(facility.id)
    return made


@pytest.fixture
def me(client: TestClient, context: Context) -> str:
    email = person(context, Role.ADMIN)
    sign_in(client, email)
    return email


def record(context: Context, email: str) -> UserRecord:
    found = users.find_user(context, email)
    assert found is not None
    return found


def everyone(context: Context) -> list[tuple[str, str, list[str], bool]]:
    return [(u.email, u.role, u.facilities, u.active) for u, _ in users.list_users(context, SYSTEM)]


def test_the_list_shows_email_role_facilities_active_and_last_sign_in(
    client: TestClient, context: Context, me: str, stores: list[str]
) -> None:
    never = person(context, Role.ASSOCIATE, [stores[0]])
    page = client.get("/admin/users")
    assert page.status_code == 200
    rows = {
        text_of_row(row): row for row in re.findall(r"<tr[^>]*>\s*<td>.*?</tr>", page.text, re.S)
    }
    mine = next(r for r in rows if r.startswith(me))
    assert "Admin" in mine and "all (admin)" in mine and "yes" in mine and "never" not in mine
    theirs = next(r for r in rows if r.startswith(never))
    assert f"Store associate {stores[0]} yes never" in theirs


def text_of_row(row: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row)).strip()


def test_creating_a_user_lists_them_and_they_can_sign_in(
    client: TestClient, context: Context, me: str, stores: list[str]
) -> None:
    email = f"{new_id('new')}@example.com"
    page = client.get("/admin/users")
    made = post_form(
        client,
        page,
        "/admin/users",
        email=email,
        role="associate",
        password=NEW_PASSWORD,
        facilities=[stores[1]],
    )
    assert made.status_code == 200 and made.url.path == "/admin/users"
    assert len(made.history) == 1 and made.history[0].status_code == 303
    assert f"Created {email}." in text_of(made)
    assert (email, "associate", [stores[1]], True) in everyone(context)
    with TestClient(client.app) as other:
        signed = sign_in(other, email, NEW_PASSWORD)
        assert signed.status_code in (200, 303)
        assert other.get(f"/store/{stores[1]}").status_code == 200


@pytest.mark.parametrize(
    ("form", "field", "words"),
    [
        ({"email": "not-an-email"}, "email", "Give an email address like name@example.com."),
        ({"password": "short"}, "password", "Use at least 12 characters."),
        ({"password": "password1234"}, "password", "harder to guess"),
        ({"facilities": []}, "facilities", "An associate needs at least one facility."),
        ({"role": "integration"}, "role", "Choose a store associate or an admin."),
    ],
)
def test_a_refused_new_user_keeps_the_form_says_why_and_writes_nothing(
    client: TestClient,
    context: Context,
    me: str,
    stores: list[str],
    form: dict[str, object],
    field: str,
    words: str,
) -> None:
    before = everyone(context)
    email = f"{new_id('keep')}@example.com"
    sent = {
        "email": email,
        "role": "associate",
        "password": NEW_PASSWORD,
        "facilities": [stores[0]],
        **form,
    }
    refused = post_form(client, client.get("/admin/users"), "/admin/users", **sent)
    assert refused.status_code == 422
    assert re.search(
        rf'<p class="field-error" id="err-{field}">[^<]*{re.escape(words)}', refused.text
    )
    assert f'value="{sent["email"]}"' in refused.text
    assert NEW_PASSWORD not in refused.text  # a password is never written back into a page
    if sent["facilities"]:
        assert re.search(rf'value="{stores[0]}" checked', refused.text)
    assert everyone(context) == before


def test_a_taken_email_is_refused_plainly(client: TestClient, context: Context, me: str) -> None:
    refused = post_form(
        client,
        client.get("/admin/users"),
        "/admin/users",
        email=me.upper(),
        role="admin",
        password=NEW_PASSWORD,
    )
    assert refused.status_code == 409
    assert f"A user {me} already exists." in text_of(refused)


def test_role_and_facilities_change_and_apply_at_the_next_request(
    client: TestClient, context: Context, me: str, stores: list[str]
) -> None:
    email = person(context, Role.ASSOCIATE, [stores[0]])
    user = record(context, email)
    with TestClient(client.app) as theirs:
        sign_in(theirs, email)
        assert theirs.get(f"/store/{stores[1]}").status_code == 403
        page = client.get(f"/admin/users/{user.id}")
        changed = post_form(
            client,
            page,
            f"/admin/users/{user.id}/access",
            role="associate",
            facilities=[stores[0], stores[1]],
        )
        assert changed.status_code == 200 and changed.url.path == f"/admin/users/{user.id}"
        assert "is now store associate at" in text_of(changed)
        assert record(context, email).facilities == [stores[0], stores[1]]
        assert theirs.get(f"/store/{stores[1]}").status_code == 200

        promoted = post_form(client, changed, f"/admin/users/{user.id}/access", role="admin")
        assert promoted.status_code == 200
        assert (record(context, email).role, record(context, email).facilities) == ("admin", [])
        assert theirs.get("/admin/users").status_code == 200


def test_an_admin_cannot_demote_or_deactivate_themself(
    client: TestClient, context: Context, me: str, stores: list[str]
) -> None:
    mine = record(context, me)
    page = client.get(f"/admin/users/{mine.id}")
    assert "You cannot deactivate yourself" in text_of(page)
    assert f'href="/admin/users/{mine.id}/deactivate"' not in page.text
    demoted = post_form(
        client, page, f"/admin/users/{mine.id}/access", role="associate", facilities=[stores[0]]
    )
    assert demoted.status_code == 409
    assert "You cannot take away your own admin role." in text_of(demoted)
    asked = client.get(f"/admin/users/{mine.id}/deactivate")
    assert asked.status_code == 409 and "You cannot deactivate yourself" in text_of(asked)
    refused = post_form(client, page, f"/admin/users/{mine.id}/deactivate")
    assert refused.status_code == 409
    assert "You cannot deactivate yourself. Ask another admin to do it." in text_of(refused)
    after = record(context, me)
    assert (after.role, after.active, after.facilities) == ("admin", True, [])
    assert client.get("/admin/users").status_code == 200  # still signed in


def test_deactivation_asks_first_then_signs_them_out_and_reactivation_lets_them_back(
    client: TestClient, context: Context, me: str, stores: list[str]
) -> None:
    email = person(context, Role.ASSOCIATE, [stores[0]])
    user = record(context, email)
    with TestClient(client.app) as theirs:
        sign_in(theirs, email)
        assert theirs.get(f"/store/{stores[0]}").status_code == 200
        asked = client.get(f"/admin/users/{user.id}/deactivate")
        assert asked.status_code == 200 and record(context, email).active  # asking changes nothing
        assert f"Deactivate {email}?" in text_of(asked)
        assert "signed out everywhere" in text_of(asked)
        done = post_form(client, asked, f"/admin/users/{user.id}/deactivate")
        assert done.status_code == 200 and done.url.path == "/admin/users"
        assert f"Deactivated {email}." in text_of(done)
        assert not record(context, email).active
        assert theirs.get(f"/store/{stores[0]}", follow_redirects=False).status_code == 303

        page = client.get(f"/admin/users/{user.id}")
        back = post_form(client, page, f"/admin/users/{user.id}/reactivate")
        assert back.status_code == 200 and f"Reactivated {email}." in text_of(back)
        assert record(context, email).active
        sign_in(theirs, email)
        assert theirs.get(f"/store/{stores[0]}").status_code == 200


def test_a_new_password_replaces_the_old_one_and_ends_their_sessions(
    client: TestClient, context: Context, me: str, stores: list[str]
) -> None:
    email = person(context, Role.ASSOCIATE, [stores[0]])
    user = record(context, email)
    with TestClient(client.app) as theirs:
        sign_in(theirs, email)
        assert theirs.get(f"/store/{stores[0]}").status_code == 200
        page = client.get(f"/admin/users/{user.id}")
        weak = post_form(client, page, f"/admin/users/{user.id}/password", password="abc")
        assert weak.status_code == 422 and "Use at least 12 characters." in text_of(weak)
        assert theirs.get(f"/store/{stores[0]}").status_code == 200  # nothing changed
        done = post_form(client, page, f"/admin/users/{user.id}/password", password=NEW_PASSWORD)
        assert done.status_code == 200 and f"Set a new password for {email}." in text_of(done)
        assert theirs.get(f"/store/{stores[0]}", follow_redirects=False).status_code == 303
        assert sign_in(theirs, email, PASSWORD).status_code == 401
        sign_in(theirs, email, NEW_PASSWORD)
        assert theirs.get(f"/store/{stores[0]}").status_code == 200


def test_only_admins_reach_the_users_pages(
    client: TestClient, context: Context, stores: list[str]
) -> None:
    sign_in(client, person(context, Role.ASSOCIATE, [stores[0]]))
    refused = client.get("/admin/users")
    assert refused.status_code == 403
    made = post_form(
        client,
        refused,
        "/admin/users",
        email="x@example.com",
        role="admin",
        password=NEW_PASSWORD,
    )
    assert made.status_code == 403 and users.find_user(context, "x@example.com") is None


def test_an_unknown_user_is_a_plain_404(client: TestClient, me: str) -> None:
    missing = client.get("/admin/users/987654")
    assert missing.status_code == 404 and "No user 987654." in text_of(missing)
    assert client.get("/admin/users/0").status_code == 422


def test_an_admin_setting_their_own_password_signs_in_again_with_it(
    client: TestClient, context: Context, me: str
) -> None:
    mine = record(context, me)
    page = client.get(f"/admin/users/{mine.id}")
    done = post_form(client, page, f"/admin/users/{mine.id}/password", password=NEW_PASSWORD)
    assert done.status_code == 200 and done.url.path == "/login"
    assert client.get("/admin/users", follow_redirects=False).status_code == 303
    assert sign_in(client, me, PASSWORD).status_code == 401
    sign_in(client, me, NEW_PASSWORD)
    assert client.get("/admin/users").status_code == 200
