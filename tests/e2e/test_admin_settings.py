"""An admin at a desktop (1366 x 900) in Chromium against a real server: changes a setting,
creates a user and deactivates them after the confirmation, edits a facility's capacity, and
counts stock and reads the count in the product's ledger."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from reroute.domain.access import SYSTEM
from reroute.services import catalog, inventory, settings, users
from tests.e2e.conftest import Live, new_page
from tests.e2e.scenario import PASSWORD

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.browser
WIDE = {"width": 1366, "height": 900}
NEW_PASSWORD = "velvet lantern orbit"
#: What a person taps on these pages: each at least 44 px high.
TAPPABLE = "main a, main button, main label.choice, main label.check, main input, main select"


def expect(target: Any) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(target)


def admin_page(browser: Browser, live: Live) -> Page:
    page = new_page(browser, WIDE)
    page.goto(f"{live.url}/login")
    page.get_by_label("Email").fill(live.scenario.admin)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("navigation", name="Admin")).to_be_visible()
    return page


def short_targets(page: Page) -> list[str]:
    """Visible tap targets under 44 px high (checkboxes and radios count by their label)."""
    found: list[str] = page.evaluate(
        """(selector) => [...document.querySelectorAll(selector)]
            .filter((el) => el.offsetParent !== null && el.type !== 'hidden')
            .filter((el) => !(el.matches('input[type=checkbox], input[type=radio]')
                              && el.closest('label')))
            .filter((el) => el.getBoundingClientRect().height < 44)
            .map((el) => el.outerHTML.slice(0, 90))""",
        TAPPABLE,
    )
    return found


def fits_the_width(page: Page) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def test_an_admin_changes_a_setting(live: Live, browser: Browser) -> None:
    page = admin_page(browser, live)
    page.get_by_role("navigation", name="Admin").get_by_role("link", name="Settings").click()
    expect(page.get_by_role("heading", name="Settings")).to_be_visible()
    assert short_targets(page) == [] and fits_the_width(page)
    partial = page.get_by_label("Partial rejection")
    expect(partial).to_be_checked()
    partial.uncheck()
    page.get_by_label("Requests per minute per token").fill("ten")
    page.get_by_role("button", name="Save settings").click()
    # refused in plain words, the form as typed
    expect(page.get_by_text("Give a whole number, like 12.")).to_be_visible()
    expect(page.get_by_label("Requests per minute per token")).to_have_value("ten")
    expect(page.get_by_label("Partial rejection")).not_to_be_checked()
    assert settings.get_settings(live.context, SYSTEM).partial_rejection is True

    page.get_by_label("Requests per minute per token").fill("600")
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_role("status")).to_contain_text("Saved the settings.")
    expect(page.get_by_label("Partial rejection")).not_to_be_checked()
    expect(page.get_by_label("Requests per minute per token")).to_have_value("600")
    saved = settings.get_settings(live.context, SYSTEM)
    assert (saved.partial_rejection, saved.requests_per_minute_per_token) == (False, 600)
    page.reload()  # the page was reached by GET: a reload sends nothing again
    expect(page.get_by_role("heading", name="Settings")).to_be_visible()


def test_an_admin_creates_a_user_then_deactivates_them_after_a_confirmation(
    live: Live, browser: Browser
) -> None:
    page = admin_page(browser, live)
    page.get_by_role("navigation", name="Admin").get_by_role("link", name="Users").click()
    expect(page.get_by_role("heading", name="Users")).to_be_visible()
    email = "new.associate@example.com"
    form = page.get_by_role("form", name="Add a user")
    form.get_by_label("Email").fill(email)
    form.get_by_label("Store associate").check()
    form.get_by_label("Andersonville").check()
    form.get_by_label("Initial password").fill(NEW_PASSWORD)
    form.get_by_role("button", name="Add user").click()
    expect(page.get_by_role("status")).to_contain_text(f"Created {email}.")
    row = page.get_by_role("row").filter(has_text=email)
    expect(row).to_contain_text("Store associate")
    expect(row).to_contain_text("never")
    assert short_targets(page) == [] and fits_the_width(page)

    row.get_by_role("link", name=email).click()
    expect(page.get_by_role("heading", name=email)).to_be_visible()
    page.get_by_role("link", name="Deactivate…").click()
    confirmation = page.get_by_role("alertdialog", name=f"Deactivate {email}?")
    expect(confirmation).to_be_visible()
    expect(confirmation).to_contain_text("signed out everywhere")
    found = users.find_user(live.context, email)
    assert found is not None and found.active  # asking wrote nothing
    assert short_targets(page) == []
    confirmation.get_by_role("button", name="Deactivate").click()
    expect(page.get_by_role("status")).to_contain_text(f"Deactivated {email}.")
    active = page.get_by_role("row").filter(has_text=email).get_by_role("cell").nth(3)
    expect(active).to_have_text("no")
    found = users.find_user(live.context, email)
    assert found is not None and not found.active


def test_an_admin_edits_a_facility_s_capacity(live: Live, browser: Browser) -> None:
    page = admin_page(browser, live)
    page.get_by_role("navigation", name="Admin").get_by_role("link", name="Facilities").click()
    page.get_by_role("link", name="Edit Andersonville").click()
    expect(page.get_by_role("heading", name="Edit Andersonville")).to_be_visible()
    assert short_targets(page) == [] and fits_the_width(page)
    capacity = page.get_by_label("Daily capacity")
    capacity.fill("-5")
    page.get_by_role("button", name="Save facility").click()
    expect(page.get_by_text("Nothing was saved")).to_be_visible()
    expect(capacity).to_have_value("-5")
    capacity.fill("35")
    page.get_by_role("button", name="Save facility").click()
    expect(page.get_by_role("status")).to_contain_text("Saved Andersonville.")
    expect(page.get_by_role("heading", name="Andersonville")).to_be_visible()
    expect(page.get_by_text("daily capacity 35")).to_be_visible()
    facility = catalog.get_facility(live.context, live.scenario.store_a, SYSTEM)
    assert facility.daily_capacity == 35 and facility.active


def test_an_admin_counts_stock_and_sees_the_ledger_row(live: Live, browser: Browser) -> None:
    s = live.scenario
    page = admin_page(browser, live)
    page.goto(f"{live.url}/admin/facilities/{s.store_a}")
    page.get_by_role("link", name=f"Count and ledger of {s.product_name}").click()
    expect(page.get_by_role("heading", name=s.product_name)).to_be_visible()
    assert short_targets(page) == [] and fits_the_width(page)
    ledger = page.get_by_role("table", name="Ledger")
    rows_before = ledger.get_by_role("row").count()
    page.get_by_label("Counted on hand").fill("0")
    page.get_by_role("button", name="Record count").click()
    # two orders hold one each here: a count of 0 leaves ATP below 0, and the page says so
    notice = page.get_by_role("alert").filter(has_text="ATP went below 0")
    expect(notice).to_contain_text("Counted 0 of")
    expect(ledger.get_by_role("row")).to_have_count(rows_before + 1)
    newest = ledger.get_by_role("row").nth(1)
    expect(newest).to_contain_text("Stock count")
    expect(newest).to_contain_text("-4")
    level = inventory.get_level(live.context, s.store_a, _product_of(live), SYSTEM)
    assert (level.quantity_on_hand, level.available_to_promise) == (0, -2)


def _product_of(live: Live) -> str:
    facility = live.scenario.store_a
    levels, _ = inventory.stock_at(live.context, facility, SYSTEM, limit=1)
    return levels[0][0].id
