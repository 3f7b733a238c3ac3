"""What an associate and an admin do, in Chromium against a real server, on a phone (375 px)
and on a desktop: sign in, find an order, report an issue, read the order's history, and be
refused where one does not belong."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from tests.e2e.conftest import Live, new_page
from tests.e2e.live import DESKTOP, PHONE
from tests.e2e.scenario import PASSWORD

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.browser
WIDTHS = [pytest.param(PHONE, id="phone"), pytest.param(DESKTOP, id="desktop")]


def expect(target: Any) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(target)


def sign_in(page: Page, url: str, email: str) -> None:
    page.goto(f"{url}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def fits_the_width(page: Page) -> bool:
    """Nothing wider than the window: no sideways scrolling of the page itself."""
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


@pytest.mark.parametrize("viewport", WIDTHS)
def test_an_associate_reports_an_item_not_in_stock_and_an_admin_reads_its_history(
    live: Live, browser: Browser, viewport: dict[str, int]
) -> None:
    s = live.scenario
    page = new_page(browser, viewport)
    sign_in(page, live.url, s.associate)
    expect(page.get_by_role("heading", name="Andersonville")).to_be_visible()
    assert fits_the_width(page)

    page.get_by_role("link", name="In progress").click()
    page.get_by_label("Search").fill("ada")
    page.get_by_role("button", name="Search").click()
    card = page.get_by_role("article", name=f"Order {s.ada_order}")
    expect(card).to_be_visible()
    expect(card).to_contain_text("Ada Lovelace")
    expect(card).to_contain_text("LS-NAVY-M")
    expect(page.get_by_role("article")).to_have_count(1)
    assert fits_the_width(page)

    card.get_by_role("link", name="Report an issue").click()
    page.get_by_role("radiogroup", name="Reason").get_by_label("Not in stock").check()
    page.get_by_label("Comment").fill("Shelf is empty")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_text("Report Linen shirt, Navy")).to_be_visible()
    expect(
        page.get_by_text("1 other order with this product here will be taken back")
    ).to_be_visible()
    assert fits_the_width(page)
    page.get_by_role("button", name="Confirm").click()

    notice = page.get_by_role("status")
    expect(notice).to_contain_text("Reported Linen shirt, Navy")
    expect(notice).to_contain_text(f"Order {s.ada_order}, Linen shirt, Navy: now at Bucktown.")
    expect(notice).to_contain_text(f"Order {s.grace_order}, Linen shirt, Navy: now at Bucktown.")
    expect(page.get_by_role("article", name=f"Order {s.ada_order}")).to_have_count(0)
    expect(page.get_by_text("Nothing on In progress matches")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()

    sign_in(page, live.url, s.admin)
    page.get_by_label("Order id").fill(s.ada_order)
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("heading", name=f"Order {s.ada_order}")).to_be_visible()
    timeline = page.locator(".timeline")
    expect(timeline).to_contain_text("Rejected at Andersonville · Not in stock")
    expect(timeline).to_contain_text("“Shelf is empty”")
    expect(timeline).to_contain_text(f"by user:{s.associate}")
    expect(timeline.locator(".moment").last).to_contain_text("Bucktown")
    assert fits_the_width(page)
    page.context.close()


@pytest.mark.parametrize("viewport", WIDTHS)
def test_an_associate_is_refused_admin_pages_and_another_store(
    live: Live, browser: Browser, viewport: dict[str, int]
) -> None:
    page = new_page(browser, viewport)
    sign_in(page, live.url, live.scenario.associate)
    for path in ("/admin/orders", "/admin/rules", f"/store/{live.scenario.store_b}/open"):
        answer = page.goto(f"{live.url}{path}")
        assert answer is not None and answer.status == 403, path
        expect(page.get_by_role("heading", name="Forbidden")).to_be_visible()
        expect(page.get_by_text("This was refused and recorded")).to_be_visible()
    page.context.close()


def test_an_admin_moves_a_shipment_through_start_pack_and_fulfill(
    live: Live, browser: Browser
) -> None:
    s = live.scenario
    page = new_page(browser, PHONE)
    sign_in(page, live.url, s.admin)
    page.goto(f"{live.url}/store/{s.store_a}/open")
    page.get_by_role("button", name=f"Start order {s.grace_order}").click()
    expect(page.get_by_role("status")).to_contain_text(f"Order {s.grace_order} started")
    page.get_by_role("link", name="In progress").click()
    # Pack and Fulfill ask first, on a page of their own.
    page.get_by_role("button", name=f"Pack order {s.grace_order}").click()
    expect(page.get_by_role("heading", name=f"Pack order {s.grace_order}?")).to_be_visible()
    page.get_by_role("button", name=f"Pack order {s.grace_order}").click()
    page.get_by_role("link", name="Completed").click()
    page.get_by_role("button", name=f"Fulfill order {s.grace_order}").click()
    expect(page.get_by_role("heading", name=f"Fulfill order {s.grace_order}?")).to_be_visible()
    page.get_by_label("Carrier").fill("UPS")
    page.get_by_label("Tracking number").fill("1Z999AA10123456784")
    page.get_by_role("button", name=f"Fulfill order {s.grace_order}").click()
    expect(page.get_by_role("status")).to_contain_text(f"Order {s.grace_order} fulfilled")
    card = page.get_by_role("article", name=f"Order {s.grace_order}")
    expect(card).to_contain_text("fulfilled")
    page.context.close()


def test_a_wrong_password_is_answered_on_the_page(live: Live, browser: Browser) -> None:
    page = new_page(browser, PHONE)
    page.goto(f"{live.url}/login")
    page.get_by_label("Email").fill(live.scenario.associate)
    page.get_by_label("Password").fill("not my password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("Wrong email or password")
    expect(page.get_by_label("Email")).to_have_value(live.scenario.associate)
    page.context.close()


def test_every_admin_page_fits_a_phone(live: Live, browser: Browser) -> None:
    page = new_page(browser, PHONE)
    sign_in(page, live.url, live.scenario.admin)
    page.goto(f"{live.url}/admin/webhooks")
    page.get_by_label("URL").fill("https://a-rather-long-host-name.example.com/hooks/reroute/v1")
    page.get_by_role("button", name="Subscribe").click()
    expect(page.get_by_label("Signing secret")).to_contain_text("whsec_")
    assert fits_the_width(page)
    for path in (
        f"/admin/orders/{live.scenario.grace_order}",
        "/admin/orders",
        "/admin/reasons",
        "/admin/rules",
        "/admin/facilities",
        f"/admin/facilities/{live.scenario.store_a}",
        "/admin/analytics",
        "/admin/webhooks",
        f"/store/{live.scenario.store_a}/open",
    ):
        answer = page.goto(f"{live.url}{path}")
        assert answer is not None and answer.ok, path
        assert fits_the_width(page), path
    page.context.close()
