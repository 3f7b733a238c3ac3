"""The admin pages: an order's timeline, reasons, routing rules, facilities and stock, analytics."""

from __future__ import annotations

import html
import json
import re

import pytest
from fastapi.testclient import TestClient

from reroute.domain.access import Role
from reroute.services.context import Context
from tests.pages_support import (
    Store,
    cheap_hashes,
    person,
    post_form,
    sign_in,
    text_of,
    two_stores,
)

pytestmark = pytest.mark.usefixtures(cheap_hashes.__name__)


@pytest.fixture
def store(client: TestClient, context: Context, admin: dict[str, str]) -> Store:
    made = two_stores(client, admin)
    sign_in(client, person(context, Role.ADMIN))
    return made


def reject(client: TestClient, admin: dict[str, str], order_id: str, reason: str) -> None:
    order = client.get(f"/api/v1/orders/{order_id}", headers=admin).json()
    shipment = order["items"][0]["shipment_id"]
    body = {"reason_id": reason, "comment": "box was empty"}
    answer = client.post(f"/api/v1/shipments/{shipment}/items/1/reject", json=body, headers=admin)
    assert answer.status_code == 200, answer.text


def test_the_order_page_shows_a_shipment_s_tracking_as_a_link(
    client: TestClient, admin: dict[str, str], store: Store
) -> None:
    order = client.get(f"/api/v1/orders/{store.orders[0]}", headers=admin).json()
    shipment = order["items"][0]["shipment_id"]
    for step in ("start", "pack"):
        assert client.post(f"/api/v1/shipments/{shipment}/{step}", headers=admin).is_success
    tracking = {
        "carrier": "UPS",
        "tracking_number": "1Z<b>9",
        "tracking_url": "https://track.example.com/1Z?x=1&y=2",
    }
    done = client.post(f"/api/v1/shipments/{shipment}/fulfill", json=tracking, headers=admin)
    assert done.status_code == 200, done.text
    shown = client.get(f"/admin/orders/{store.orders[0]}")
    assert "UPS 1Z<b>9" in text_of(shown)
    assert "1Z&lt;b&gt;9" in shown.text  # escaped, never markup
    assert 'href="https://track.example.com/1Z?x=1&amp;y=2"' in shown.text


def test_an_order_opens_by_id_and_shows_its_history_as_a_timeline(
    client: TestClient, admin: dict[str, str], store: Store
) -> None:
    reject(client, admin, store.orders[0], "DAMAGED")
    found = client.get("/admin/orders", params={"q": store.orders[0]})
    assert found.url.path == f"/admin/orders/{store.orders[0]}"
    words = text_of(found)
    assert f"Order {store.orders[0]}" in words and "Grace 0" in words
    moments = re.findall(r'<li class="moment event-(\w+)"', found.text)
    assert moments == ["created", "assigned", "rejected", "assigned"]
    assert "Rejected at Andersonville · Damage" in words
    assert "“box was empty”" in words and "ready → queued" in words
    assert f"Item 1 ({store.product_name}): queued → ready" in words
    assert "Bucktown" in words

    missing = client.get("/admin/orders", params={"q": "no-such-order"})
    assert "No order no-such-order" in text_of(missing)
    listed = client.get("/admin/orders")
    assert f"/admin/orders/{store.orders[0]}" in listed.text and "Damage" in text_of(listed)


def test_reasons_can_be_added_edited_reordered_and_deactivated(
    client: TestClient, store: Store
) -> None:
    page = client.get("/admin/reasons")
    bad = post_form(
        client,
        page,
        "/admin/reasons/new",
        reason_id="wrong size!",
        label="",
        inventory_effect="none",
        decline_code="abc",
        decline_description="Wrong size",
    )
    assert bad.status_code == 422
    assert 'id="err-id-new"' in bad.text and 'id="err-decline_code-new"' in bad.text
    assert 'id="err-label-new"' in bad.text
    added = post_form(
        client,
        page,
        "/admin/reasons/new",
        reason_id="wrong_size",
        label="Wrong size",
        inventory_effect="none",
        decline_code="107",
        decline_description="Wrong size",
    )
    assert "Added the reason Wrong size" in text_of(added)
    order = re.findall(r'<li class="card reason[^"]*" id="reason-(\w+)"', added.text)
    assert order[-1] == "WRONG_SIZE" and order[0] == "NOT_IN_STOCK"

    moved = post_form(client, added, "/admin/reasons/WRONG_SIZE/move", direction="up")
    order = re.findall(r'id="reason-(\w+)"', moved.text)
    assert order.index("WRONG_SIZE") == len(order) - 2

    saved = post_form(
        client,
        moved,
        "/admin/reasons/DAMAGED",
        label="Damaged in store",
        inventory_effect="decrease_atp",
        decline_code="104",
        decline_description="Damaged",
        sequence="5",
    )
    assert "no longer offered to associates" in text_of(saved)
    reasons = client.get("/api/v1/rejection-reasons", params={"active": True}).json()
    assert "DAMAGED" not in [r["reason_id"] for r in reasons]
    inactive = client.get("/api/v1/rejection-reasons").json()
    damaged = next(r for r in inactive if r["reason_id"] == "DAMAGED")
    assert (damaged["label"], damaged["sequence"], damaged["active"]) == (
        "Damaged in store",
        5,
        False,
    )


def test_the_rules_page_shows_each_error_with_its_path_and_line_and_saves_a_valid_document(
    client: TestClient, store: Store
) -> None:
    page = client.get("/admin/rules")
    assert "No rules were saved" in text_of(page)
    shown = re.search(r"<textarea[^>]*>([^<]*)</textarea>", page.text)
    assert shown is not None
    document = json.loads(html.unescape(shown.group(1)))
    document["routings"][1]["inventory_rules"][0]["sort"] = ["nearest"]
    document["routings"][2]["inventory_rules"][1]["max_shipments"] = 0
    text = json.dumps(document, indent=2)
    refused = post_form(client, page, "/admin/rules", document=text)
    assert refused.status_code == 422
    errors = re.findall(r'<span class="line">line (\d+)</span> <code>([^<]+)</code>', refused.text)
    lines = text.split("\n")
    assert {path for _, path in errors} == {
        "routings.1.inventory_rules.0.sort.0",
        "routings.2.inventory_rules.1.max_shipments",
    }
    where = {
        "routings.1.inventory_rules.0.sort.0": '"nearest"',
        "routings.2.inventory_rules.1.max_shipments": '"max_shipments": 0',
    }
    for line, path in errors:  # each error names the line that holds the bad value
        assert lines[int(line) - 1].strip().startswith(where[path]), (line, path)
    assert "nearest" in refused.text  # the text stays as typed

    broken = post_form(client, page, "/admin/rules", document='{"routings": [}')
    assert (
        broken.status_code == 422 and "Not JSON" in text_of(broken) and "line 1" in text_of(broken)
    )

    document["routings"][1]["inventory_rules"][0]["sort"] = ["distance"]
    document["routings"][2]["inventory_rules"][1]["max_shipments"] = 2
    saved = post_form(client, page, "/admin/rules", document=json.dumps(document))
    assert "Saved the routing rules" in text_of(saved) and "No rules were saved" not in saved.text
    reset = post_form(client, saved, "/admin/rules/reset")
    assert "default routing rules" in text_of(reset) and "No rules were saved" in text_of(reset)


def test_facilities_list_and_a_facilitys_stock_levels_searchable(
    client: TestClient, admin: dict[str, str], store: Store
) -> None:
    page = client.get("/admin/facilities")
    assert "Andersonville" in text_of(page) and "Bucktown" in text_of(page)
    stock = client.get(f"/admin/facilities/{store.store_a}")
    words = text_of(stock)
    assert "1 product counted here" in words
    row = re.search(
        r"<tr[^>]*>\s*<td>" + re.escape(store.product_name) + r".*?</tr>", stock.text, re.S
    )
    assert row is not None
    assert re.findall(r"<td>(-?\d+)</td>", row.group(0)) == ["5", "3", "2"]
    assert "0 products" in text_of(
        client.get(f"/admin/facilities/{store.store_a}", params={"q": "nothing like it"})
    )


def test_analytics_count_rejections_by_facility_reason_and_product_with_bars(
    client: TestClient, admin: dict[str, str], store: Store
) -> None:
    empty = client.get("/admin/analytics")
    assert "0 items rejected in the last 7 days" in text_of(empty)
    reject(client, admin, store.orders[0], "NOT_IN_STOCK")  # takes the second order along
    page = client.get("/admin/analytics", params={"window": "24h"})
    words = text_of(page)
    assert "2 items rejected in the last 24 hours" in words
    for chart in ("By facility", "By reason", "By product"):
        assert chart in words
    assert "Andersonville 2" in words and store.product_name + " 2" in words
    assert "Not in stock 1" in words and "Same product rejected at this store 1" in words
    assert page.text.count("<rect") == 1 + 2 + 1
    assert client.get("/admin/analytics", params={"window": "1y"}).status_code == 422
