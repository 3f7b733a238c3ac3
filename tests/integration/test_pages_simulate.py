"""The simulation admin page: admins only, bad input answered on the form in plain words with
nothing written, and a run that shows the rule sets' figures side by side and downloads them as
one page."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from markupsafe import escape

from reroute.domain.access import Role
from reroute.domain.clock import utcnow
from reroute.domain.routing.rules import default_rules, rules_to_json
from reroute.pages import simulation
from reroute.services.context import Context
from tests.fingerprint import fingerprint
from tests.pages_support import cheap_hashes, csrf_of, person, post_form, sign_in, text_of
from tests.support import Headers, create, put_facility, put_product, stocked

pytestmark = pytest.mark.usefixtures(cheap_hashes.__name__)


@pytest.fixture
def signed_in(client: TestClient, context: Context) -> None:
    sign_in(client, person(context, Role.ADMIN))


@pytest.fixture
def world(client: TestClient, context: Context, admin: Headers) -> dict[str, Any]:
    """Stores 1 and 40 km north, stocked days ago, before any day a page replays; the near
    one runs short, so the last orders go far."""
    context.db.clock = lambda: utcnow() - timedelta(days=simulation.MAX_DAYS + 1)
    try:
        product = put_product(client, admin)
        near = stocked(client, admin, 1, {product: 3}, name="Near <b>store</b>")
        far = stocked(client, admin, 40, {product: 20}, name="Far store")
    finally:
        context.db.clock = utcnow
    orders = [create(client, admin, [(product, 1)]) for _ in range(5)]
    return {"product": product, "near": near, "far": far, "orders": orders}


def only_at(facility_id: str) -> str:
    """The default rules, with every rule sending to one facility."""
    document = rules_to_json(default_rules())
    for routing in document["routings"]:
        for rule in routing["inventory_rules"]:
            rule["facility_filter"]["facility_ids"] = [facility_id]
    return json.dumps(document)


def test_the_page_is_for_admins_only(client: TestClient, context: Context, admin: Headers) -> None:
    anonymous = client.get("/admin/simulate", follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")
    assert client.post("/admin/simulate", data={"days": "7"}).status_code == 403
    sign_in(client, person(context, Role.ASSOCIATE, [put_facility(client, admin)]))
    assert client.get("/admin/simulate").status_code == 403
    home = client.get("/store")
    assert "/admin/simulate" not in home.text
    for path in ("/admin/simulate", "/admin/simulate/report.html"):
        refused = post_form(client, client.get("/login"), path, days="7")
        assert refused.status_code == 403, path


def test_the_form_offers_the_kept_versions_and_the_nav_names_the_page(
    client: TestClient, admin: Headers, signed_in: None
) -> None:
    saved = client.put("/api/v1/routing/rules", json=rules_to_json(default_rules()), headers=admin)
    assert saved.status_code == 200, saved.text
    page = client.get("/admin/simulate")
    assert page.status_code == 200
    assert '<a href="/admin/simulate" aria-current="page">Simulate</a>' in page.text
    assert 'name="days" type="text" inputmode="numeric" value="7"' in page.text
    assert '<option value="version-' in page.text and "(defaults)" in page.text
    for name in ("versus", "document", "rejections", "seed", "cost_per_shipment", "cost_per_km"):
        assert f'name="{name}"' in page.text, name
    assert "The figures" not in text_of(page)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"days": "seven"}, "Give the number of days as a whole number from 1 to 31."),
        ({"days": "0"}, "Give the number of days from 1 to 31."),
        ({"days": "32"}, "Give the number of days from 1 to 31."),
        ({"seed": "-1"}, "Give the seed from 0 to 2,147,483,647."),
        ({"cost_per_km": "cheap"}, "Give the cost per km as a number from 0 to 1,000,000"),
        ({"cost_per_shipment": "nan"}, "Give the cost per shipment as a number"),
        ({"rejections": "sometimes"}, "Choose how stores reject"),
        ({"versus": "version-999999"}, "That version of the rules is no longer kept"),
        ({"versus": "pasted", "document": "{nope"}, "Not JSON: Expecting property name"),
        ({"versus": "pasted", "document": " "}, "Paste a rules document to compare"),
        ({"versus": "pasted", "document": '{"routings": 3}'}, "A rules document cannot be used."),
    ],
)
def test_bad_input_is_answered_on_the_form_and_writes_nothing(
    client: TestClient,
    context: Context,
    world: dict[str, Any],
    signed_in: None,
    fields: dict[str, str],
    message: str,
) -> None:
    page = client.get("/admin/simulate")
    before = fingerprint(context)
    for path in ("/admin/simulate", "/admin/simulate/report.html"):
        refused = post_form(client, page, path, **{"days": "7", **fields})
        assert refused.status_code == 422, refused.text
        assert refused.headers["content-type"].startswith("text/html")
        assert message in text_of(refused)
        assert 'aria-invalid="true"' in refused.text
        assert "Not simulated" in text_of(refused) and "The figures" not in text_of(refused)
        for name, value in fields.items():  # what was typed is kept (a choice is a choice)
            if name not in ("versus", "rejections"):
                assert str(escape(value)) in refused.text
    assert fingerprint(context) == before


def test_more_orders_than_a_page_replays_are_refused(
    client: TestClient,
    context: Context,
    world: dict[str, Any],
    signed_in: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(simulation, "MAX_ORDERS", 3)
    refused = post_form(client, client.get("/admin/simulate"), "/admin/simulate", days="1")
    assert refused.status_code == 422
    assert "More than 3 orders in that time: choose a shorter one." in text_of(refused)


def test_a_run_shows_both_rule_sets_side_by_side_and_writes_nothing(
    client: TestClient, context: Context, world: dict[str, Any], signed_in: None
) -> None:
    page = client.get("/admin/simulate")
    before = fingerprint(context)
    asked = {
        "days": "2",
        "versus": "pasted",
        "document": only_at(world["far"]),
        "rejections": "none",
        "seed": "3",
        "cost_per_shipment": "10",
        "cost_per_km": "1",
    }
    shown = post_form(client, page, "/admin/simulate", **asked)
    assert shown.status_code == 200, shown.text
    words = text_of(shown)
    assert "Figure live pasted pasted \N{MINUS SIGN} live" in words
    assert "Orders replayed 5" in words and "Seed 3" in words and "no store rejects" in words
    assert "Items 5 5 0" in words and "Items placed 5 5 0" in words
    # live sends three to the near store (1 km) and two far (40 km); the pasted rules, all far
    assert "Distance 83.0 km 200.0 km +117.0 km" in words
    assert "Cost 133.00 250.00 +117.00" in words  # 5 shipments at 10, and 1 a km
    assert "Near &lt;b&gt;store&lt;/b&gt;" in shown.text and "<b>store" not in shown.text
    assert words.count("Far store") == 2
    assert (
        "Rejections 0 0 0" in words and "First-attempt acceptance 100.0% 100.0% 0.0 points" in words
    )
    assert shown.text.count('<svg class="sim-bars" role="img"') == 9
    assert fingerprint(context) == before

    download = post_form(client, shown, "/admin/simulate/report.html", **asked)
    assert download.status_code == 200
    assert download.headers["content-type"].startswith("text/html")
    assert download.headers["content-disposition"].startswith("attachment;")
    report = download.text
    assert report.startswith("<!doctype html>") and "<title>Simulation report" in report
    assert "<script" not in report and 'href="/static' not in report
    assert "Figure live pasted pasted \N{MINUS SIGN} live" in text_of(download)
    assert fingerprint(context) == before


def test_the_download_replays_the_window_shown(
    client: TestClient, admin: Headers, world: dict[str, Any], signed_in: None
) -> None:
    shown = post_form(client, client.get("/admin/simulate"), "/admin/simulate", days="1")
    assert shown.status_code == 200 and "Orders replayed 5" in text_of(shown)
    until = shown.text.split('name="until" value="', 1)[1].split('"', 1)[0]
    assert until
    create(client, admin, [(world["product"], 1)])  # after the run: not in its window
    later = post_form(client, shown, "/admin/simulate/report.html", days="1", until=until)
    assert "Orders replayed 5" in text_of(later)
    future = post_form(
        client, shown, "/admin/simulate/report.html", days="1", until="2999-01-01T00:00:00+00:00"
    )
    assert future.status_code == 422 and "run again" in text_of(future)


@pytest.mark.parametrize(
    "body",
    [
        {"days": "7\x00"},
        {"seed": "\x00"},
        {"cost_per_km": "1\x00"},
        {"until": "2026-12-01\x00"},
        {"versus": "pasted", "document": '{"routings": "\x00"}'},
        {"versus": "\x00"},
        {"days": "9" * 5000},
        {"seed": "9" * 5000},
        {"cost_per_shipment": "1e999999"},
        {"versus": "pasted", "document": " " * 2_000_000},
    ],
)
def test_nul_huge_and_odd_input_is_refused_with_a_4xx_and_writes_nothing(
    client: TestClient,
    context: Context,
    world: dict[str, Any],
    signed_in: None,
    body: dict[str, str],
) -> None:
    page = client.get("/admin/simulate")
    before = fingerprint(context)
    for path in ("/admin/simulate", "/admin/simulate/report.html"):
        refused = post_form(client, page, path, **{"days": "7", **body})
        assert 400 <= refused.status_code < 500, (body, refused.status_code)
    assert fingerprint(context) == before


def test_a_form_that_is_not_utf8_is_refused_with_a_4xx(
    client: TestClient, context: Context, world: dict[str, Any], signed_in: None
) -> None:
    token = csrf_of(client.get("/admin/simulate"))
    before = fingerprint(context)
    refused = client.post(
        "/admin/simulate",
        content=b"csrf_token=" + token.encode() + b"&days=%FF%FE&document=\xff\xfe",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert 400 <= refused.status_code < 500, refused.status_code
    assert fingerprint(context) == before
