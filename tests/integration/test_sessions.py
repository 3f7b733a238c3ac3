"""Sessions the server can end, the cookie's flags, and sign-in under pressure: parallel guesses
against the pause, refusals that read alike, a bound on hashes at once, hostile form input."""

from __future__ import annotations

import hashlib
import json
import statistics
import threading
import time
from base64 import b64decode
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from reroute.app import create_app
from reroute.domain.access import SYSTEM, Role
from reroute.domain.clock import utcnow
from reroute.pages.session import COOKIE, came_over_https
from reroute.services import users
from reroute.services.context import Context
from reroute.storage.database import Database
from reroute.storage.tables import user_sessions
from reroute.storage.tables import users as users_table
from tests.pages_support import (
    PASSWORD,
    cheap_hashes,
    csrf_of,
    person,
    post_form,
    sign_in,
    text_of,
)
from tests.servers import servers
from tests.support import new_id

cheap = pytest.mark.usefixtures(cheap_hashes.__name__)
SECRET = "one secret for every process"
PAGE = "/admin/orders"
API = "/api/v1/facilities"


@pytest.fixture
def two_processes(context: Context) -> Iterator[tuple[TestClient, TestClient]]:
    """Two applications on one database and one session secret, sharing nothing in memory, as
    two `reroute serve` processes would."""
    other = Context(db=Database(context.db.url), defaults=context.defaults)
    with (
        TestClient(create_app(context, session_secret=SECRET)) as first,
        TestClient(create_app(other, session_secret=SECRET)) as second,
    ):
        yield first, second
    other.db.dispose()


def token_in(cookie: str) -> str:
    """The session token inside a signed cookie (base64 JSON, then timestamp and signature)."""
    token = json.loads(b64decode(cookie.split(".")[0]))["sid"]
    assert isinstance(token, str)
    return token


def signed_in_on(client: TestClient) -> bool:
    page = client.get(PAGE, follow_redirects=False)
    return page.status_code == 200


def session_cookie(answer_headers: list[str]) -> str:
    return next(h for h in answer_headers if h.startswith(f"{COOKIE}="))


@cheap
def test_signing_out_ends_the_session_so_the_old_cookie_is_refused_on_pages_and_the_api(
    client: TestClient, context: Context
) -> None:
    sign_in(client, person(context, Role.ADMIN))
    cookie = client.cookies[COOKIE]
    assert client.get(PAGE).status_code == 200 and client.get(API).status_code == 200
    assert post_form(client, client.get(PAGE), "/logout").url.path == "/login"

    client.cookies.clear()
    client.cookies.set(COOKIE, cookie)  # what someone who copied the cookie would send
    assert not signed_in_on(client)
    client.cookies.set(COOKIE, cookie)
    refused = client.get(API)
    assert refused.status_code == 401, refused.text
    with context.db.transaction(write=False) as conn:
        row = conn.execute(select(user_sessions)).one()
    assert row.ended_at is not None


@cheap
def test_the_server_keeps_only_a_hash_of_the_session_token(
    client: TestClient, context: Context
) -> None:
    sign_in(client, person(context, Role.ADMIN))
    token = token_in(client.cookies[COOKIE])
    with context.db.transaction(write=False) as conn:
        stored = conn.execute(select(user_sessions.c.token_hash)).scalars().all()
    assert stored == [hashlib.sha256(token.encode()).hexdigest()]
    assert token not in stored[0]


@cheap
def test_a_session_started_on_one_process_ends_on_every_process(
    two_processes: tuple[TestClient, TestClient], context: Context
) -> None:
    first, second = two_processes
    sign_in(first, person(context, Role.ADMIN))
    second.cookies.set(COOKIE, first.cookies[COOKIE])
    assert signed_in_on(second)
    assert post_form(second, second.get(PAGE), "/logout").url.path == "/login"
    assert not signed_in_on(first)
    assert first.get(API).status_code == 401


def test_two_server_processes_share_sessions_and_signing_out_on_one_ends_it_on_both(
    database_url: str, context: Context, tmp_path: Path
) -> None:
    email = person(context, Role.ADMIN)
    with servers(database_url, tmp_path, 2) as (one, two):
        with httpx.Client(base_url=one.url) as first:
            form = first.get("/login")
            data = {"email": email, "password": PASSWORD, "csrf_token": csrf_of(form)}
            assert first.post("/login", data=data).status_code == 303
            cookie = first.cookies[COOKIE]
        with httpx.Client(base_url=two.url, cookies={COOKIE: cookie}) as second:
            page = second.get(PAGE)
            assert page.status_code == 200
            assert second.post("/logout", data={"csrf_token": csrf_of(page)}).status_code == 303
        with httpx.Client(base_url=one.url, cookies={COOKIE: cookie}) as again:
            assert again.get(PAGE).status_code == 303
            assert again.get(API).status_code == 401
        assert one.error_count() == two.error_count() == 0


@cheap
def test_deactivating_a_user_ends_all_its_sessions_on_pages_and_the_api(
    app: FastAPI, context: Context
) -> None:
    email = person(context, Role.ADMIN)
    other = person(context, Role.ADMIN)
    with TestClient(app) as phone, TestClient(app) as desk, TestClient(app) as colleague:
        for client, who in ((phone, email), (desk, email), (colleague, other)):
            sign_in(client, who)
            assert signed_in_on(client)
        kept = {id(c): c.cookies[COOKIE] for c in (phone, desk)}
        users.deactivate_user(context, email, SYSTEM)
        assert not signed_in_on(phone) and desk.get(API).status_code == 401
        assert signed_in_on(colleague), "another user's session ended too"

        with context.db.transaction(write=True) as conn:  # switched on again: still ended
            conn.execute(
                update(users_table).where(users_table.c.email == email).values(active=True)
            )
        for client in (phone, desk):
            client.cookies.set(COOKIE, kept[id(client)])
            assert not signed_in_on(client)


@cheap
def test_a_new_password_ends_every_session_and_only_it_signs_in(
    client: TestClient, context: Context
) -> None:
    email = person(context, Role.ADMIN)
    sign_in(client, email)
    cookie = client.cookies[COOKIE]
    users.set_password(context, email, "marble otter lantern", SYSTEM)
    assert not signed_in_on(client)
    client.cookies.set(COOKIE, cookie)
    assert client.get(API).status_code == 401
    client.cookies.clear()
    assert sign_in(client, email, PASSWORD).status_code == 401
    assert sign_in(client, email, "marble otter lantern").url.path == PAGE


@cheap
def test_an_expired_session_is_no_session(client: TestClient, context: Context) -> None:
    sign_in(client, person(context, Role.ADMIN))
    assert signed_in_on(client)
    with context.db.transaction(write=True) as conn:
        conn.execute(update(user_sessions).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert not signed_in_on(client)


@cheap
def test_signing_in_again_ends_the_session_the_cookie_had(
    client: TestClient, context: Context
) -> None:
    sign_in(client, person(context, Role.ADMIN))
    first = client.cookies[COOKIE]
    sign_in(client, person(context, Role.ADMIN))
    second = client.cookies[COOKIE]
    assert token_in(first) != token_in(second) and signed_in_on(client)
    client.cookies.set(COOKIE, first)
    assert not signed_in_on(client)


@pytest.mark.parametrize(
    ("base_url", "trusted", "headers", "secure"),
    [
        ("http://testserver", (), {}, False),
        ("https://testserver", (), {}, True),
        ("http://testserver", ("x-forwarded-proto",), {"X-Forwarded-Proto": "https"}, True),
        ("http://testserver", ("x-forwarded-proto",), {"X-Forwarded-Proto": "http"}, False),
        ("http://testserver", (), {"X-Forwarded-Proto": "https"}, False),
        ("http://testserver", ("x-forwarded-ssl",), {"X-Forwarded-Proto": "https"}, False),
        ("http://testserver", ("forwarded",), {"Forwarded": "for=1.2.3.4;proto=https"}, True),
    ],
)
def test_the_cookie_is_http_only_lax_and_secure_exactly_when_the_request_came_over_https(
    context: Context,
    base_url: str,
    trusted: tuple[str, ...],
    headers: dict[str, str],
    secure: bool,
) -> None:
    context.security = replace(context.security, trusted_proxy_headers=trusted)
    app = create_app(context, session_secret=SECRET)
    with TestClient(app, base_url=base_url) as client:
        answer = client.get("/login", headers=headers)
    cookie = session_cookie(answer.headers.get_list("set-cookie"))
    flags = [f.strip().lower() for f in cookie.split(";")]
    assert "httponly" in flags and "samesite=lax" in flags
    assert ("secure" in flags) is secure, flags


def test_only_named_proxy_headers_say_https() -> None:
    def scope(scheme: str, *headers: tuple[str, str]) -> dict[str, object]:
        return {"scheme": scheme, "headers": [(k.encode(), v.encode()) for k, v in headers]}

    proto = ("x-forwarded-proto", "https, http")
    assert came_over_https(scope("https"), ())
    assert not came_over_https(scope("http", proto), ())
    assert came_over_https(scope("http", proto), ("x-forwarded-proto",))
    assert not came_over_https(scope("http", ("x-forwarded-proto", "http")), ("x-forwarded-proto",))
    assert not came_over_https(scope("http", ("x-forwarded-host", "https")), ("x-forwarded-proto",))
    forwarded = ("forwarded", 'for=1.2.3.4;proto="https"')
    assert came_over_https(scope("http", forwarded), ("forwarded",))
    assert not came_over_https(scope("http", ("forwarded", "proto=http")), ("forwarded",))


class Checks:
    """Counts the passwords verified against the account's own hash (the others meet the
    decoy); with `hold`, those checks wait until every guess has reached a hash."""

    def __init__(self, real_hash: str, guesses: int, hold: bool) -> None:
        self.real_hash = real_hash
        self.guesses = guesses
        self.checked: list[str] = []
        self.decoys = 0
        self.lock = threading.Lock()
        self.release = threading.Event()
        if not hold:
            self.release.set()
        self.verify: Callable[[str, str], bool] = users._verify

    def __call__(self, password_hash: str, password: str) -> bool:
        real = password_hash == self.real_hash
        with self.lock:
            if real:
                self.checked.append(password)
            else:
                self.decoys += 1
        if real:
            assert self.release.wait(10), "the guesses never all reached a hash"
        return self.verify(password_hash, password)

    def wait_for_all(self) -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.checked) + self.decoys >= self.guesses:
                    break
            time.sleep(0.01)
        self.release.set()


def guess_in_parallel(
    context: Context, email: str, guesses: list[str], checks: Checks
) -> list[str]:
    """Every guess in its own thread, all let go at once; answers the passwords that signed in."""
    start = threading.Barrier(len(guesses), timeout=10)
    signed: list[str] = []
    problems: list[BaseException] = []

    def guess(password: str) -> None:
        start.wait()
        try:
            users.authenticate(context, email, password)
            signed.append(password)
        except users.SignInRefused:
            pass
        except BaseException as exc:
            problems.append(exc)

    threads = [threading.Thread(target=guess, args=(g,)) for g in guesses]
    for thread in threads:
        thread.start()
    checks.wait_for_all()
    for thread in threads:
        thread.join(15)
    assert not [t for t in threads if t.is_alive()], "a guess never finished"
    assert not problems, problems
    return signed


@pytest.fixture
def guessed(context: Context, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Checks]:
    """Counting checks on a new admin's account, with room for every guess to hash at once."""
    context.security = replace(context.security, max_parallel_hashes=16)

    def make(email: str, guesses: int, hold: bool) -> Checks:
        user = users.find_user(context, email)
        assert user is not None
        checks = Checks(user.password_hash, guesses, hold)
        monkeypatch.setattr(users, "_verify", checks)
        return checks

    return make


@cheap
def test_sixteen_parallel_wrong_guesses_check_five_and_then_the_right_password_is_refused(
    context: Context, guessed: Callable[..., Checks]
) -> None:
    email = person(context, Role.ADMIN)
    checks = guessed(email, 16, hold=False)
    wrong = [f"wrong guess {n}" for n in range(16)]
    assert guess_in_parallel(context, email, wrong, checks) == []
    assert len(checks.checked) == users.LOCK_AFTER, checks.checked
    assert checks.decoys == 16 - users.LOCK_AFTER
    with pytest.raises(users.SignInRefused) as refused:
        users.authenticate(context, email, PASSWORD)
    assert refused.value.detail == users.WRONG
    assert PASSWORD not in checks.checked


@cheap
def test_parallel_guesses_with_the_right_one_among_them_check_only_five(
    context: Context, guessed: Callable[..., Checks]
) -> None:
    email = person(context, Role.ADMIN)
    checks = guessed(email, 16, hold=True)  # no check ends before every guess has been counted
    guesses = [f"wrong guess {n}" for n in range(15)] + [PASSWORD]
    signed = guess_in_parallel(context, email, guesses, checks)
    assert len(checks.checked) == users.LOCK_AFTER, checks.checked
    assert checks.decoys == 16 - users.LOCK_AFTER
    assert signed == ([PASSWORD] if PASSWORD in checks.checked else [])


def test_an_unknown_email_and_a_paused_account_answer_alike_and_as_slowly(
    context: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With argon2 costly enough to dominate a database round trip: a paused account must not
    answer sooner than an unknown email (or than a wrong password), or the pause tells that
    the account exists."""
    hasher = PasswordHasher(time_cost=2, memory_cost=16 * 1024, parallelism=1)
    monkeypatch.setattr(users, "_hasher", hasher)
    paused = person(context, Role.ADMIN)
    active = person(context, Role.ADMIN)
    for _ in range(users.LOCK_AFTER):
        with pytest.raises(users.SignInRefused):
            users.authenticate(context, paused, "wrong password")
    cases = {"unknown": f"{new_id('nobody')}@example.com", "paused": paused, "wrong": active}
    answers: dict[str, set[str]] = {name: set() for name in cases}
    times: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(5):
        for name, email in cases.items():
            begun = time.perf_counter()
            with pytest.raises(users.SignInRefused) as refused:
                users.authenticate(context, email, PASSWORD if name != "wrong" else "not it")
            times[name].append(time.perf_counter() - begun)
            answers[name].add(refused.value.detail)
        with context.db.transaction(write=True) as conn:  # keep `active` from pausing too
            conn.execute(
                update(users_table).where(users_table.c.email == active).values(failed_attempts=0)
            )
    assert answers["unknown"] == answers["paused"] == answers["wrong"] == {users.WRONG}
    medians = {name: statistics.median(t) for name, t in times.items()}
    assert medians["paused"] > medians["unknown"] / 2, medians
    assert medians["paused"] > medians["wrong"] / 2, medians
    assert medians["unknown"] > medians["paused"] / 2, medians


@cheap
def test_no_more_hashes_run_at_once_than_the_setting_allows(
    context: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    context.security = replace(context.security, max_parallel_hashes=2)
    emails = [person(context, Role.ADMIN) for _ in range(6)]
    running, most = 0, 0
    lock = threading.Lock()
    verify = users._verify

    def slow_verify(password_hash: str, password: str) -> bool:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        time.sleep(0.05)
        with lock:
            running -= 1
        return verify(password_hash, password)

    monkeypatch.setattr(users, "_verify", slow_verify)
    signed: list[str] = []
    start = threading.Barrier(len(emails), timeout=10)

    def sign(email: str) -> None:
        start.wait()
        signed.append(users.authenticate(context, email, PASSWORD).email)

    threads = [threading.Thread(target=sign, args=(e,)) for e in emails]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(15)
    assert sorted(signed) == sorted(emails)
    assert 1 <= most <= 2, most


@cheap
def test_a_sign_in_that_finds_every_hash_slot_taken_gets_429_with_retry_after(
    client: TestClient, context: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    email = person(context, Role.ADMIN)
    context.security = replace(context.security, max_parallel_hashes=1)
    monkeypatch.setattr(users, "HASH_WAIT_S", 0.2)
    with users._hash_slot(context):  # the one slot, held
        begun = time.monotonic()
        busy = sign_in(client, email)
        waited = time.monotonic() - begun
    assert busy.status_code == 429, busy.text
    assert busy.headers["retry-after"] == str(users.RETRY_AFTER_S)
    assert "Try again in" in busy.text and waited < 5
    assert users.find_user(context, email).failed_attempts == 0  # type: ignore[union-attr]
    assert sign_in(client, email).url.path == PAGE


@cheap
@pytest.mark.parametrize(
    ("field", "value"),
    [("email", "ad\x00min@example.com"), ("password", "correct\x00horse")],
)
def test_a_nul_in_the_sign_in_form_answers_422_saying_what_to_remove(
    client: TestClient, context: Context, field: str, value: str
) -> None:
    email = person(context, Role.ADMIN)
    form = client.get("/login")
    data = {"email": email, "password": PASSWORD, "csrf_token": csrf_of(form), field: value}
    answer = client.post("/login", data=data)
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"].startswith("text/html")
    words = text_of(answer)
    assert "NUL character" in words and field in words, words
    assert "\x00" not in answer.text
    assert users.find_user(context, email).failed_attempts == 0  # type: ignore[union-attr]


@cheap
def test_bytes_that_are_not_utf8_in_the_sign_in_form_are_a_wrong_sign_in_not_an_error(
    client: TestClient, context: Context
) -> None:
    token = csrf_of(client.get("/login"))
    bodies = [
        f"email=%FF%FEx%40example.com&password=%C3%28xx&csrf_token={token}".encode(),
        b"email=\xff\xfe@example.com&password=\xc3\x28&csrf_token=" + token.encode(),
    ]
    for body in bodies:
        answer = client.post(
            "/login",
            content=body,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert answer.status_code == 401, answer.text
        assert "Wrong email or password" in answer.text
    multipart = client.post(
        "/login",
        files={
            "email": (None, b"\xff\xfe@example.com"),
            "password": (None, b"\xc3\x28"),
            "csrf_token": (None, token.encode()),
        },
    )
    assert multipart.status_code == 401, multipart.text
    nul_next = client.post(
        "/login",
        data={"email": "a@example.com", "password": "x", "csrf_token": token, "next": "/\x00"},
    )
    assert nul_next.status_code == 422
