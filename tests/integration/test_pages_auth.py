"""Signing in to the pages: the session cookie, CSRF on every form, refusals as logged 403s."""

from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient

from reroute.domain.access import Role
from reroute.pages.session import COOKIE
from reroute.services.context import Context
from tests.pages_support import (
    PASSWORD,
    cheap_hashes,
    csrf_of,
    person,
    post_form,
    sign_in,
    text_of,
    two_stores,
)
from tests.support import new_id

pytestmark = pytest.mark.usefixtures(cheap_hashes.__name__)


def test_signing_in_sets_a_signed_http_only_cookie_and_lands_on_the_home_page(
    client: TestClient, context: Context, admin: dict[str, str]
) -> None:
    store = two_stores(client, admin, orders=0)
    associate = person(context, Role.ASSOCIATE, [store.store_a])
    answer = sign_in(client, associate)
    assert answer.status_code == 200
    assert answer.url.path == f"/store/{store.store_a}/open"
    cookie = next(h for h in answer.history[0].headers.get_list("set-cookie") if COOKIE in h)
    assert "httponly" in cookie.lower() and "samesite=lax" in cookie.lower()
    assert associate in answer.text and "Sign out" in answer.text

    boss = person(context, Role.ADMIN)
    client.cookies.clear()
    assert sign_in(client, boss).url.path == "/admin/orders"


def test_a_wrong_password_answers_401_with_a_clear_message_and_keeps_the_email(
    client: TestClient, context: Context
) -> None:
    email = person(context, Role.ADMIN)
    answer = sign_in(client, email, "not it")
    assert answer.status_code == 401
    assert "Wrong email or password" in text_of(answer)
    assert f'value="{email}"' in answer.text
    assert client.get("/admin/orders").url.path == "/login"


def test_the_fifth_wrong_password_pauses_sign_in_and_the_page_reads_as_for_an_unknown_email(
    client: TestClient, context: Context
) -> None:
    email = person(context, Role.ADMIN)
    for _ in range(5):
        sign_in(client, email, "not it")
    paused = sign_in(client, email, PASSWORD)
    nobody = f"{new_id('nobody')}@example.com"
    unknown = sign_in(client, nobody, PASSWORD)
    assert paused.status_code == unknown.status_code == 401
    assert "pauses for a minute" in text_of(paused)
    assert paused.text.replace(email, "E") == unknown.text.replace(nobody, "E")
    assert client.get("/admin/orders").url.path == "/login"


def test_pages_need_a_session_and_send_people_to_sign_in_then_back(
    client: TestClient, context: Context
) -> None:
    answer = client.get("/admin/reasons", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/login?next=/admin/reasons"
    assert client.get("/").url.path == "/login"
    form = client.get("/login?next=/admin/reasons")
    data = {"email": person(context, Role.ADMIN), "password": PASSWORD, "next": "/admin/reasons"}
    landed = post_form(client, form, "/login", **data)
    assert landed.url.path == "/admin/reasons"


def test_next_never_leads_off_the_site(client: TestClient, context: Context) -> None:
    email = person(context, Role.ADMIN)
    for target in ("//evil.example/x", "https://evil.example", "/\\evil.example"):
        client.cookies.clear()
        form = client.get("/login")
        data = {"email": email, "password": PASSWORD, "next": target}
        assert post_form(client, form, "/login", **data).url.path == "/admin/orders"


def test_every_form_post_without_the_session_token_is_refused_with_a_logged_403(
    client: TestClient, context: Context, admin: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    store = two_stores(client, admin, orders=1)
    email = person(context, Role.ADMIN)
    form = client.get("/login")
    refused = client.post("/login", data={"email": email, "password": PASSWORD})
    assert refused.status_code == 403 and "form has expired" in text_of(refused)
    forged = client.post(
        "/login", data={"email": email, "password": PASSWORD, "csrf_token": "forged"}
    )
    assert forged.status_code == 403
    assert sign_in(client, email).status_code == 200
    page = client.get(f"/store/{store.store_a}/open")
    shipment_forms = [p for p in page.text.split('action="') if "/start" in p.split('"')[0]]
    start = shipment_forms[0].split('"')[0]
    with caplog.at_level(logging.WARNING, logger="reroute.pages"):
        for path in (start, "/admin/reasons/NOT_IN_STOCK/move", "/admin/rules/reset", "/logout"):
            answer = client.post(path, data={"direction": "up"})
            assert answer.status_code == 403, path
            answer = client.post(path, data={"direction": "up", "csrf_token": csrf_of(form)})
            assert answer.status_code == 403, f"{path} accepted the token of another session"
    refusals = [r.getMessage() for r in caplog.records if "form has expired" in r.getMessage()]
    assert len(refusals) == 2 + 8  # the two sign-in forms, then each path twice
    assert client.get(f"/store/{store.store_a}/open").text.count("Order ") >= 1  # still signed in
    started = post_form(client, page, start, back=f"/store/{store.store_a}/open")
    assert "started" in text_of(started)


def test_signing_out_ends_the_session(client: TestClient, context: Context) -> None:
    sign_in(client, person(context, Role.ADMIN))
    page = client.get("/admin/orders")
    assert page.status_code == 200
    assert post_form(client, page, "/logout").url.path == "/login"
    assert client.get("/admin/orders").url.path == "/login"


def test_a_tampered_session_cookie_is_no_session(client: TestClient, context: Context) -> None:
    sign_in(client, person(context, Role.ADMIN))
    value = client.cookies[COOKIE]
    client.cookies.clear()
    client.cookies.set(COOKIE, value[:-3] + ("AAA" if not value.endswith("AAA") else "BBB"))
    assert client.get("/admin/orders").url.path == "/login"


def test_an_associate_is_refused_admin_pages_and_other_stores_and_it_is_logged(
    client: TestClient, context: Context, admin: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    store = two_stores(client, admin, orders=1)
    associate = person(context, Role.ASSOCIATE, [store.store_a])
    sign_in(client, associate)
    with caplog.at_level(logging.WARNING, logger="reroute.pages"):
        for path in (
            "/admin/orders",
            f"/admin/orders/{store.orders[0]}",
            "/admin/reasons",
            "/admin/rules",
            "/admin/facilities",
            "/admin/analytics",
            f"/store/{store.store_b}/open",
            f"/store/{store.store_b}/completed",
        ):
            answer = client.get(path)
            assert answer.status_code == 403, path
            assert answer.headers["content-type"].startswith("text/html")
            assert "refused and recorded" in text_of(answer)
    refusals = [r.getMessage() for r in caplog.records if r.name == "reroute.pages"]
    assert len(refusals) == 8
    assert all(f"user:{associate}" in r for r in refusals)
    assert any(store.store_b in r for r in refusals)


def test_the_api_takes_the_session_and_its_writes_need_the_csrf_header(
    client: TestClient, context: Context, admin: dict[str, str]
) -> None:
    store = two_stores(client, admin, orders=1)
    sign_in(client, person(context, Role.ASSOCIATE, [store.store_a]))
    listed = client.get(f"/api/v1/facilities/{store.store_a}/shipments")
    assert listed.status_code == 200
    shipment = listed.json()["items"][0]["shipment_id"]
    assert client.get(f"/api/v1/facilities/{store.store_b}/shipments").status_code == 403
    assert client.post(f"/api/v1/shipments/{shipment}/start").status_code == 401
    token = csrf_of(client.get(f"/store/{store.store_a}/open"))
    started = client.post(f"/api/v1/shipments/{shipment}/start", headers={"X-CSRF-Token": token})
    assert started.status_code == 200, started.text
    assert started.json()["state"] == "in_progress"


def test_pages_are_not_in_the_api_document_and_send_protective_headers(
    client: TestClient,
) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert not [p for p in paths if not p.startswith("/api/")]
    page = client.get("/login")
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    assert client.get("/static/app.css").status_code == 200
