"""An admin at a desktop (1366 px) edits the routing rules and minds the webhooks, in Chromium
against a real server: an error marked at its line, a dry run that places items and writes
nothing, a version restored, a switch-off that asks first, a delivery sent now."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import pytest

from reroute.api.schemas.orders import OrderIn
from reroute.domain.access import SYSTEM
from reroute.services import orders, settings, webhooks
from reroute.services.context import Security
from tests.e2e.conftest import Live, new_page
from tests.e2e.scenario import PASSWORD
from tests.integration.test_pages_rules import fingerprint
from tests.support import new_id

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.browser
ADMIN_DESKTOP = {"width": 1366, "height": 900}


def expect(target: Any) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(target)


def admin_page(live: Live, browser: Browser, path: str) -> Page:
    page: Page = new_page(browser, ADMIN_DESKTOP)
    page.goto(f"{live.url}/login")
    page.get_by_label("Email").fill(live.scenario.admin)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    page.goto(f"{live.url}{path}")
    return page


def editor_document(page: Page) -> dict[str, Any]:
    return dict(json.loads(page.get_by_label("Rules document (JSON)").input_value()))


def test_an_error_is_marked_at_its_line(live: Live, browser: Browser) -> None:
    page = admin_page(live, browser, "/admin/rules")
    editor = page.get_by_label("Rules document (JSON)")
    gutter = page.locator("#rules-gutter span")
    document = editor_document(page)
    document["routings"][1]["inventory_rules"][0]["sort"] = ["nearest"]
    typed = json.dumps(document, indent=2)
    editor.fill(typed)
    expect(gutter).to_have_count(typed.count("\n") + 1)  # the numbers follow the typing
    page.get_by_role("button", name="Save the rules").click()

    expect(page.get_by_role("alert")).to_contain_text("Not saved: 1 problem")
    marked = page.locator("#rules-gutter span.bad")
    expect(marked).to_have_count(1)
    line = int(marked.get_attribute("data-line") or 0)
    assert typed.split("\n")[line - 1].strip() == '"nearest"'
    expect(editor).to_have_value(typed)  # kept as typed
    page.get_by_role("link", name=f"line {line}").click()
    expect(editor).to_be_focused()
    caret_line = page.evaluate(
        "() => { const t = document.getElementById('document');"
        " return t.value.slice(0, t.selectionStart).split('\\n').length; }"
    )
    assert caret_line == line
    box = page.get_by_role("link", name=f"line {line}").bounding_box()
    assert box is not None and box["height"] >= 44


def test_a_dry_run_shows_placements_and_writes_nothing(live: Live, browser: Browser) -> None:
    context = live.context
    settings.change_settings(context, {"route_on_create": False}, SYSTEM)
    body = OrderIn.model_validate(
        {
            "order_id": new_id("W"),
            "customer": {"name": "Mary Jackson", "email": "mary@example.com"},
            "shipping_method": "standard",
            "ship_to": {"city": "Chicago", "latitude": 41.92, "longitude": -87.68},
            "items": [{"item_id": "1", "product_id": _product(live), "quantity": 1}],
        }
    )
    orders.create_order(context, body.to_domain(), body.body_hash(), SYSTEM)
    page = admin_page(live, browser, "/admin/rules")
    before = fingerprint(context)

    page.get_by_label("Order id").fill(body.order_id)
    page.get_by_role("button", name="Try on this order").click()
    result = page.get_by_role("region", name=f"Dry run on order {body.order_id}")
    expect(result).to_be_visible()
    row = result.get_by_role("row").filter(has_text="Linen shirt, Navy")
    expect(row).to_contain_text("Bucktown")  # nearest to the ship-to address
    expect(row).to_contain_text("km")
    expect(row).to_contain_text("Nearest facility with everything")

    # Rules not saved, only typed: the dry run takes them as they are.
    document = editor_document(page)
    for routing in document["routings"]:
        for rule in routing["inventory_rules"]:
            rule["facility_filter"]["facility_ids"] = [live.scenario.store_a]
    page.get_by_label("Rules document (JSON)").fill(json.dumps(document, indent=2))
    page.get_by_role("button", name="Try on this order").click()
    expect(result.get_by_role("row").filter(has_text="Linen shirt, Navy")).to_contain_text(
        "Andersonville"
    )
    assert fingerprint(context) == before


def _product(live: Live) -> str:
    found = orders.get_order(live.context, live.scenario.ada_order, SYSTEM)
    return found.order.items[0].product_id


def test_restore_a_version(live: Live, browser: Browser) -> None:
    page = admin_page(live, browser, "/admin/rules")
    document = editor_document(page)
    document["routings"][0]["name"] = "Pickup, first try"
    page.get_by_label("Rules document (JSON)").fill(json.dumps(document, indent=2))
    page.get_by_role("button", name="Save the rules").click()
    expect(page.get_by_role("status")).to_contain_text("Saved the routing rules")
    document["routings"][0]["name"] = "Pickup, second try"
    page.get_by_label("Rules document (JSON)").fill(json.dumps(document, indent=2))
    page.get_by_role("button", name="Save the rules").click()
    expect(page.get_by_role("status")).to_contain_text("Saved the routing rules")

    versions = page.get_by_role("link", name="Compare version")
    expect(versions).to_have_count(2)
    versions.first.click()
    expect(page.locator(".diff-removed")).to_contain_text('"name": "Pickup, first try"')
    expect(page.locator(".diff-added")).to_contain_text('"name": "Pickup, second try"')
    page.get_by_role("button", name="Restore version").click()
    expect(page.get_by_role("status")).to_contain_text("Restored version")
    assert editor_document(page)["routings"][0]["name"] == "Pickup, first try"
    expect(page.get_by_role("link", name="Compare version")).to_have_count(3)


def _webhook(live: Live) -> str:
    """An endpoint on this machine (allowed for the test only); nothing delivers here: the
    server under test runs no delivery worker, so deliveries stay pending."""
    lenient = replace(live.context, security=Security(allow_private_webhook_targets=True))
    made = webhooks.create_webhook(lenient, "http://127.0.0.1:9/hooks", ["ready_shipment"], SYSTEM)
    return made.id


def test_pause_asks_for_confirmation(live: Live, browser: Browser) -> None:
    _webhook(live)
    page = admin_page(live, browser, "/admin/webhooks")
    page.get_by_role("link", name="Switch off… http://127.0.0.1:9/hooks").click()
    expect(page.get_by_role("heading", name="Switch off http://127.0.0.1:9/hooks?")).to_be_visible()
    page.get_by_role("link", name="Keep it on").click()
    expect(page.get_by_role("link", name="Switch off… http://127.0.0.1:9/hooks")).to_be_visible()

    page.get_by_role("link", name="Switch off… http://127.0.0.1:9/hooks").click()
    page.get_by_label("Why (optional, shown on the list)").fill("Receiver moving hosts")
    page.get_by_role("button", name="Switch it off").click()
    expect(page.get_by_role("status")).to_contain_text("is off")
    expect(page.get_by_text("Off: Receiver moving hosts")).to_be_visible()
    expect(page.get_by_role("button", name="Switch on http://127.0.0.1:9/hooks")).to_be_visible()


def test_send_now(live: Live, browser: Browser) -> None:
    webhook = _webhook(live)
    sent = webhooks.ping(live.context, webhook, SYSTEM)
    page = admin_page(live, browser, f"/admin/webhooks/{webhook}")
    button = page.get_by_role("button", name=f"Send now delivery {sent['id']}")
    expect(button).to_be_visible()
    box = button.bounding_box()
    assert box is not None and box["height"] >= 44
    button.click()
    expect(page.get_by_role("status")).to_contain_text(f"Delivery {sent['id']} is being sent now")
    expect(page.locator(f"#delivery-{sent['id']}")).to_contain_text("0 attempts")
