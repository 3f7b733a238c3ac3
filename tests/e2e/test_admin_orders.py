"""An admin at a desktop (1366 by 900), and the search on a phone (390 by 844), in Chromium
against a real server: find an order by part of a name, read what its rejection did to stock
and how its notification was delivered, drill from an analytics bar down to the rejections
behind it, and download the CSV of what is shown."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import func, select

from reroute.delivery.worker import DeliveryWorker
from reroute.domain.access import SYSTEM
from reroute.domain.settings import RuntimeSettings
from reroute.services import orders, rejection, webhooks
from reroute.services.context import Context, Security
from reroute.storage.database import Database
from reroute.storage.tables import deliveries
from tests.conftest import IN_CI, MFG_ID
from tests.e2e.live import serving
from tests.e2e.scenario import PASSWORD, Scenario, seed
from tests.integration.receiver import Receiver, deliver_until, fast_settings

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 900}


def expect(target: Any) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(target)


@dataclass(frozen=True)
class Served:
    url: str
    scenario: Scenario
    context: Context
    receiver: Receiver


@pytest.fixture
def served(database_url: str, browser: Browser, cheap_hashes: None) -> Iterator[Served]:
    """The scenario served over HTTP, with a webhook to a local receiver subscribed first (so
    private targets are allowed here)."""
    context = Context(
        db=Database(database_url),
        defaults=RuntimeSettings(mfg_id=MFG_ID),
        security=Security(allow_private_webhook_targets=True),
    )
    try:
        with Receiver() as receiver:
            hook = webhooks.create_webhook(
                context, receiver.url, ["StoreDeclineEvent", "ready_shipment"], SYSTEM
            )
            receiver.secret = hook.secret
            scenario = seed(context)
            with serving(context) as url:
                yield Served(url, scenario, context, receiver)
    finally:
        context.db.dispose()


def sign_in(page: Page, url: str, email: str) -> None:
    page.goto(f"{url}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def new_page(browser: Browser, viewport: dict[str, int]) -> Page:
    page: Page = browser.new_context(viewport=viewport, accept_downloads=True).new_page()
    return page


def fits_the_width(page: Page) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def pending(context: Context) -> int:
    with context.db.transaction(write=False) as conn:
        waiting = select(func.count()).where(deliveries.c.status == "pending")
        return int(conn.execute(waiting).scalar_one())


def reject_grace(served: Served) -> None:
    """Grace's item reported not in stock at Andersonville: it zeroes the stock there and
    takes Ada's item along; the notifications go out to the receiver."""
    view = orders.get_order(served.context, served.scenario.grace_order, SYSTEM)
    shipment = view.order.items[0].shipment_id
    assert shipment is not None
    rejection.reject_item(served.context, shipment, "1", "NOT_IN_STOCK", None, SYSTEM)
    worker = DeliveryWorker(served.context, fast_settings())
    try:
        assert deliver_until(worker, lambda: not pending(served.context), 10)
    finally:
        worker.stop()


@pytest.mark.parametrize(
    "viewport", [pytest.param(PHONE, id="phone"), pytest.param(DESKTOP, id="desktop")]
)
def test_a_search_by_part_of_a_name_finds_the_order(
    served: Served, browser: Browser, viewport: dict[str, int]
) -> None:
    s = served.scenario
    page = new_page(browser, viewport)
    sign_in(page, served.url, s.admin)
    page.goto(f"{served.url}/admin/orders")
    page.get_by_label("Order id, customer name or email").fill("lovel")
    page.get_by_role("button", name="Search").click()
    results = page.get_by_role("table", name="Orders found")
    expect(results.get_by_role("link", name=s.ada_order)).to_be_visible()
    expect(results.get_by_role("row")).to_have_count(2)  # the header and Ada's
    expect(results).to_contain_text("Ada Lovelace")
    expect(page.get_by_label("Order id, customer name or email")).to_have_value("lovel")
    assert fits_the_width(page)

    page.get_by_label("Item state").select_option("ready")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_text("No order matches “lovel” with an item ready")).to_be_visible()
    page.get_by_label("Item state").select_option("in_progress")
    page.get_by_role("button", name="Search").click()
    results.get_by_role("link", name=s.ada_order).click()
    expect(page.get_by_role("heading", name=f"Order {s.ada_order}")).to_be_visible()
    page.context.close()


def test_the_order_page_shows_a_rejection_s_stock_effect_and_its_notifications(
    served: Served, browser: Browser
) -> None:
    s = served.scenario
    reject_grace(served)
    page = new_page(browser, DESKTOP)
    sign_in(page, served.url, s.admin)
    page.goto(f"{served.url}/admin/orders")
    page.get_by_label("Order id, customer name or email").fill(s.grace_order)
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("heading", name=f"Order {s.grace_order}")).to_be_visible()

    effects = page.get_by_role("table", name="Rejections and their stock effect")
    expect(effects).to_contain_text("Not in stock")
    expect(effects).to_contain_text("stock 4 → 0 at Andersonville")
    sent = page.get_by_role("table", name="Notifications sent")
    decline = sent.get_by_role("row").filter(has_text="StoreDeclineEvent")
    expect(decline).to_contain_text(f"{served.receiver.url}: delivered · 1 attempt")
    expect(sent.get_by_role("row").filter(has_text="ready_shipment")).to_have_count(2)

    page.goto(f"{served.url}/admin/orders/{s.ada_order}")  # taken along: no correction of its own
    effects = page.get_by_role("table", name="Rejections and their stock effect")
    expect(effects).to_contain_text("(taken along)")
    expect(effects).to_contain_text("reservation given back")
    page.context.close()


def test_an_analytics_bar_leads_to_the_rejections_behind_it(
    served: Served, browser: Browser
) -> None:
    s = served.scenario
    reject_grace(served)
    today = datetime.now(UTC).date().isoformat()
    page = new_page(browser, DESKTOP)
    sign_in(page, served.url, s.admin)
    page.goto(f"{served.url}/admin/analytics")
    expect(page.get_by_text("2 items rejected in the last 7 days")).to_be_visible()
    page.get_by_role("link", name=f"2 rejected on {today}").click()
    expect(page.get_by_role("heading", name=f"Rejections on {today}")).to_be_visible()
    rows = page.locator("table.rejection-list tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.filter(has_text=s.grace_order)).to_contain_text("Not in stock")
    expect(rows.filter(has_text=s.ada_order)).to_contain_text("(taken along)")

    page.get_by_role("link", name="Analytics").first.click()
    page.locator("figure").filter(has_text="By facility").get_by_role(
        "link", name="Andersonville"
    ).click()
    expect(page.get_by_role("heading", name="at Andersonville")).to_be_visible()
    expect(rows).to_have_count(2)
    page.context.close()


def read_download(page: Page, link_name: str) -> list[list[str]]:
    with page.expect_download() as info:
        page.get_by_role("link", name=link_name).click()
    path = info.value.path()
    return list(csv.reader(io.StringIO(Path(path).read_text(encoding="utf-8"))))


def test_the_csv_downloads_with_the_rows_shown(served: Served, browser: Browser) -> None:
    reject_grace(served)
    page = new_page(browser, DESKTOP)
    sign_in(page, served.url, served.scenario.admin)
    page.goto(f"{served.url}/admin/analytics")
    rows = read_download(page, "Download CSV")
    assert rows[0] == ["chart", "key", "label", "items"]
    shown_days = page.locator("a.column")
    expect(shown_days).to_have_count(7)
    assert len([r for r in rows if r[0] == "day"]) == 7
    by_facility = page.locator("figure").filter(has_text="By facility").locator("tbody tr")
    shown = [
        (r.locator("th").inner_text(), r.locator("td.n").inner_text()) for r in by_facility.all()
    ]
    assert [(r[2], r[3]) for r in rows if r[0] == "facility"] == shown == [("Andersonville", "2")]

    page.get_by_role("link", name="Andersonville").click()
    listed = read_download(page, "Download CSV")
    assert listed[0][:2] == ["rejected_at", "order_id"]
    orders_shown = page.locator("table.rejection-list tbody tr td:nth-child(2) a").all_inner_texts()
    assert [r[1] for r in listed[1:]] == orders_shown
    assert len(orders_shown) == 2
    page.context.close()


@pytest.mark.parametrize(
    "viewport", [pytest.param(PHONE, id="phone"), pytest.param(DESKTOP, id="desktop")]
)
def test_the_pages_with_results_pass_the_accessibility_check(
    served: Served, browser: Browser, viewport: dict[str, int]
) -> None:
    from tests.e2e.axe import axe_problem, describe, serious_violations

    problem = axe_problem()
    if problem:
        if IN_CI:
            pytest.fail(f"CI=true and {problem}")
        pytest.skip(problem)
    s = served.scenario
    reject_grace(served)
    # The check is injected as a script: the pages' own policy would refuse it.
    page = browser.new_context(viewport=viewport, bypass_csp=True).new_page()
    sign_in(page, served.url, s.admin)
    found = []
    for path in (
        "/admin/orders?q=lovelace",
        "/admin/orders?state=lost",
        f"/admin/orders/{s.grace_order}",
        f"/admin/orders/{s.ada_order}",
        "/admin/analytics?from=2026-01-01&to=2026-01-31",
        "/admin/analytics?from=2026-02-01&to=2026-01-01",
        f"/admin/analytics/rejections?facility={s.store_a}",
    ):
        page.goto(f"{served.url}{path}")
        found += [describe(path, [v]) for v in serious_violations(page)]
    assert not found, "\n".join(found)
    page.context.close()
