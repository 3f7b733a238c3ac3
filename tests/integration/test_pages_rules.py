"""The routing rules editor: errors marked at their line beside line numbers, the text kept as
typed, a confirmation before the defaults, versions compared and restored, and a dry run on an
order that writes nothing."""

from __future__ import annotations

import html
import json
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import func, insert, select

from reroute.domain.access import Role
from reroute.domain.clock import utcnow
from reroute.domain.routing.rules import default_rules, rules_to_json
from reroute.services.context import Context
from reroute.storage.tables import routing_rule_versions
from tests.fingerprint import fingerprint
from tests.pages_support import cheap_hashes, person, post_form, sign_in, text_of, two_stores
from tests.support import order_body

pytestmark = pytest.mark.usefixtures(cheap_hashes.__name__)


@pytest.fixture
def signed_in(client: TestClient, context: Context) -> None:
    sign_in(client, person(context, Role.ADMIN))


def marked_lines(page: Response) -> list[int]:
    """The line numbers the gutter marks as holding an error."""
    return [int(n) for n in re.findall(r'<span class="bad" data-line="(\d+)">', page.text)]


def editor_text(page: Response) -> str:
    shown = re.search(r"<textarea[^>]*>([^<]*)</textarea>", page.text)
    assert shown is not None
    return html.unescape(shown.group(1))


def squeezed(line: str) -> str:
    return " ".join(html.unescape(line).split())


def test_each_error_is_marked_at_its_line_and_the_text_is_kept(
    client: TestClient, signed_in: None
) -> None:
    page = client.get("/admin/rules")
    text = editor_text(page)
    assert len(re.findall(r'<span data-line="\d+">', page.text)) == text.count("\n") + 1
    assert marked_lines(page) == []
    document = json.loads(text)
    document["routings"][1]["inventory_rules"][0]["sort"] = ["nearest"]
    document["routings"][0]["inventory_rules"][0]["max_shipments"] = 0
    typed = json.dumps(document, indent=4)  # not the page's own layout: lines of what was typed
    refused = post_form(client, page, "/admin/rules", document=typed)
    assert refused.status_code == 422
    assert editor_text(refused) == typed
    lines = typed.split("\n")
    marked = marked_lines(refused)
    assert len(marked) == 2
    assert {lines[n - 1].strip() for n in marked} == {'"nearest"', '"max_shipments": 0,'}
    for n in marked:  # the list names the same lines, and each takes the caret there
        assert f'data-line="{n}"><span class="line">line {n}</span>' in refused.text


def test_a_json_syntax_error_is_marked_at_its_line_and_column(
    client: TestClient, signed_in: None
) -> None:
    page = client.get("/admin/rules")
    typed = '{\n  "routings": [\n    {"name": "x",}\n  ]\n}'
    refused = post_form(client, page, "/admin/rules", document=typed)
    assert refused.status_code == 422
    assert marked_lines(refused) == [3]
    assert "line 3, column 18" in text_of(refused)  # the `}` after the comma
    assert editor_text(refused) == typed


def test_going_back_to_the_defaults_asks_first(client: TestClient, signed_in: None) -> None:
    page = client.get("/admin/rules")
    document = json.loads(editor_text(page))
    document["routings"][0]["name"] = "Pickup, as we do it"
    saved = post_form(client, page, "/admin/rules", document=json.dumps(document))
    assert "Saved the routing rules" in text_of(saved)
    assert 'href="/admin/rules/reset"' in saved.text
    assert 'action="/admin/rules/reset"' not in saved.text  # no one-click reset on the editor
    asked = client.get("/admin/rules/reset")
    assert asked.status_code == 200
    assert "Go back to the default rules?" in text_of(asked)
    assert "Pickup, as we do it" in editor_text(
        client.get("/admin/rules")
    )  # asking changed nothing
    done = post_form(client, asked, "/admin/rules/reset")
    assert "Back to the default routing rules" in text_of(done)
    assert "No rules were saved" in text_of(done)


def test_saves_keep_versions_that_compare_and_restore(
    client: TestClient, context: Context, admin: dict[str, str], signed_in: None
) -> None:
    page = client.get("/admin/rules")
    assert "No versions yet" in text_of(page)
    document = json.loads(editor_text(page))
    document["routings"][0]["name"] = "Pickup <first>"
    first = post_form(client, page, "/admin/rules", document=json.dumps(document))
    versions = re.findall(r'href="/admin/rules/versions/(\d+)"', first.text)
    assert len(versions) == 1 and "(defaults)" in text_of(first)
    document["routings"][0]["name"] = "Pickup second"
    second = post_form(client, page, "/admin/rules", document=json.dumps(document))
    newest = re.findall(r'href="/admin/rules/versions/(\d+)"', second.text)[0]

    compared = client.get(f"/admin/rules/versions/{newest}")
    assert compared.status_code == 200
    removed = re.findall(r'<span class="diff-removed">([^<]*)</span>', compared.text)
    added = re.findall(r'<span class="diff-added">([^<]*)</span>', compared.text)
    assert [squeezed(r) for r in removed] == ['\N{MINUS SIGN} "name": "Pickup <first>",']
    assert [squeezed(a) for a in added] == ['+ "name": "Pickup second",']
    assert "<first>" not in compared.text  # escaped, never markup

    restored = post_form(client, compared, f"/admin/rules/versions/{newest}/restore")
    assert f"Restored version {newest}" in text_of(restored)
    assert json.loads(editor_text(restored))["routings"][0]["name"] == "Pickup <first>"
    assert len(re.findall(r'href="/admin/rules/versions/(\d+)"', restored.text)) == 3
    in_force = client.get("/api/v1/routing/rules", headers=admin).json()
    assert in_force["document"]["routings"][0]["name"] == "Pickup <first>"


def test_restoring_the_defaults_version_forgets_the_saved_rules(
    client: TestClient, signed_in: None
) -> None:
    page = client.get("/admin/rules")
    document = json.loads(editor_text(page))
    document["routings"][0]["name"] = "Changed"
    saved = post_form(client, page, "/admin/rules", document=json.dumps(document))
    defaults = re.findall(r'href="/admin/rules/versions/(\d+)"', saved.text)[0]
    compared = client.get(f"/admin/rules/versions/{defaults}")
    restored = post_form(client, compared, f"/admin/rules/versions/{defaults}/restore")
    assert "No rules were saved" in text_of(restored)
    assert json.loads(editor_text(restored)) == rules_to_json(default_rules())


def test_an_unknown_version_is_a_404_page(client: TestClient, signed_in: None) -> None:
    answer = client.get("/admin/rules/versions/999999")
    assert answer.status_code == 404 and "No version 999999" in text_of(answer)
    assert client.get("/admin/rules/versions/99999999999999999999").status_code == 422


def waiting_order(client: TestClient, admin: dict[str, str]) -> tuple[Any, str]:
    """Two stores with stock and an order of theirs left queued (routing on create is off)."""
    store = two_stores(client, admin, orders=0)
    answer = client.patch("/api/v1/settings", json={"route_on_create": False}, headers=admin)
    assert answer.status_code == 200, answer.text
    body = order_body([(store.product, 2)], customer={"name": "Ada", "email": "a@x.io"})
    created = client.post("/api/v1/orders", json=body, headers=admin)
    assert created.status_code == 201, created.text
    assert created.json()["items"][0]["state"] == "queued"
    return store, body["order_id"]


def test_a_dry_run_shows_where_each_item_would_go_and_writes_nothing(
    client: TestClient, context: Context, admin: dict[str, str], signed_in: None
) -> None:
    store, order_id = waiting_order(client, admin)
    page = client.get("/admin/rules")
    before = fingerprint(context)
    tried = post_form(
        client, page, "/admin/rules/try", document=editor_text(page), order_id=order_id
    )
    assert tried.status_code == 200, tried.text
    words = text_of(tried)
    assert f"Dry run on order {order_id}" in words
    assert f"{store.product_name} \N{MULTIPLICATION SIGN} 2" in words
    assert "Andersonville" in words and "Nearest facility with everything" in words
    assert re.search(r"\d+\.\d km", words)

    # Unsaved rules that admit only Bucktown: the dry run uses the text as typed.
    document = json.loads(editor_text(page))
    for routing in document["routings"]:
        for rule in routing["inventory_rules"]:
            rule["facility_filter"]["facility_ids"] = [store.store_b]
    typed = json.dumps(document, indent=2)
    elsewhere = post_form(client, page, "/admin/rules/try", document=typed, order_id=order_id)
    assert elsewhere.status_code == 200
    assert "Bucktown" in text_of(elsewhere) and "Andersonville" not in text_of(elsewhere)
    assert editor_text(elsewhere) == typed and f'value="{order_id}"' in elsewhere.text
    assert fingerprint(context) == before
    item = client.get(f"/api/v1/orders/{order_id}", headers=admin).json()["items"][0]
    assert item["state"] == "queued" and item["facility_id"] is None


def test_a_dry_run_refuses_bad_rules_or_an_unknown_order_in_plain_words(
    client: TestClient, context: Context, admin: dict[str, str], signed_in: None
) -> None:
    _, order_id = waiting_order(client, admin)
    page = client.get("/admin/rules")
    before = fingerprint(context)
    document = json.loads(editor_text(page))
    document["routings"][0]["inventory_rules"][0]["sort"] = ["nearest"]
    typed = json.dumps(document, indent=2)
    bad = post_form(client, page, "/admin/rules/try", document=typed, order_id=order_id)
    assert bad.status_code == 422 and "Not tried: 1 problem" in text_of(bad)
    assert typed.split("\n")[marked_lines(bad)[0] - 1].strip() == '"nearest"'
    unknown = post_form(
        client, page, "/admin/rules/try", document=editor_text(page), order_id="W-nope"
    )
    assert unknown.status_code == 404 and "There is no order W-nope" in text_of(unknown)
    assert 'value="W-nope"' in unknown.text
    blank = post_form(client, page, "/admin/rules/try", document=editor_text(page), order_id=" ")
    assert blank.status_code == 422 and "Type the id of the order" in text_of(blank)
    assert fingerprint(context) == before


def test_a_dry_run_on_an_order_with_nothing_waiting_says_so(
    client: TestClient, admin: dict[str, str], signed_in: None
) -> None:
    store = two_stores(client, admin, orders=1)
    page = client.get("/admin/rules")
    tried = post_form(
        client, page, "/admin/rules/try", document=editor_text(page), order_id=store.orders[0]
    )
    assert tried.status_code == 200
    words = text_of(tried)
    assert "No item of this order waits for routing" in words
    assert "Not waiting for routing, so left as they are" in words


def test_the_number_of_versions_kept_is_bounded_and_said(
    client: TestClient,
    context: Context,
    signed_in: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from reroute.services import routing_rules

    monkeypatch.setattr(routing_rules, "KEPT_VERSIONS", 3)
    page = client.get("/admin/rules")
    document = json.loads(editor_text(page))
    for n in range(5):
        document["routings"][0]["name"] = f"Pickup {n}"
        post_form(client, page, "/admin/rules", document=json.dumps(document))
    listed = client.get("/admin/rules")
    assert "The newest 3 are kept" in text_of(listed)
    assert len(re.findall(r'href="/admin/rules/versions/(\d+)"', listed.text)) == 3
    with context.db.transaction(write=False) as conn:
        kept = conn.execute(select(func.count()).select_from(routing_rule_versions)).scalar()
    assert kept == 3


def test_a_version_the_rules_no_longer_accept_is_not_restored_and_nothing_is_written(
    client: TestClient, context: Context, signed_in: None
) -> None:
    """A version naming a facility that is gone (written here as such a version would be)."""
    document = rules_to_json(default_rules())
    document["routings"][0]["inventory_rules"][0]["facility_filter"]["facility_ids"] = ["gone"]
    with context.db.transaction(write=True) as conn:
        version = conn.execute(
            insert(routing_rule_versions)
            .values(
                document=document,
                was_default=False,
                written_by="user:someone@example.com",
                written_at=utcnow(),
                replaced_by="user:someone@example.com",
                replaced_at=utcnow(),
            )
            .returning(routing_rule_versions.c.id)
        ).scalar_one()
    page = client.get(f"/admin/rules/versions/{version}")
    before = fingerprint(context)
    refused = post_form(client, page, f"/admin/rules/versions/{version}/restore")
    assert refused.status_code == 422
    assert "Not restored" in text_of(refused) and "gone" in text_of(refused)
    assert fingerprint(context) == before
