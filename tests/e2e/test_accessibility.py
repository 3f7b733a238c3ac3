"""Every page passes axe-core with no serious or critical violation, on a phone (390 x 844) and
on a desktop (1366 x 900), on each database.

The pages are listed once, in `PAGES`, in the order they are visited (the last ones change the
scenario: the report is confirmed). A new page is one more `Visit` line.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import pytest

from reroute.domain.access import SYSTEM
from reroute.domain.orders import ShipmentState
from reroute.services import shipments, webhooks
from tests.conftest import IN_CI
from tests.e2e.axe import axe_problem, describe, serious_violations
from tests.e2e.conftest import Live
from tests.e2e.live import DESKTOP, PHONE
from tests.e2e.scenario import PASSWORD

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.browser
WIDTHS = [pytest.param(PHONE, id="phone"), pytest.param(DESKTOP, id="desktop")]


def _report_and_continue(page: Page) -> None:
    page.get_by_role("radiogroup", name="Reason").get_by_label("Not in stock").check()
    page.get_by_label("Comment").fill("Shelf is empty")
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("button", name="Confirm").wait_for()


def _confirm_report(page: Page) -> None:
    _report_and_continue(page)
    page.get_by_role("button", name="Confirm").click()
    page.get_by_role("status").wait_for()


def _dry_run(page: Page) -> None:
    """Try the rules on the order named in the address (`?order=`): placements shown."""
    order_id = parse_qs(urlsplit(page.url).query)["order"][0]
    page.get_by_label("Order id").fill(order_id)
    page.get_by_role("button", name="Try on this order").click()
    page.locator(".dry-run-result").wait_for()


def _save_rules(page: Page) -> None:
    """Save the rules as shown: the defaults become a version, and its page is opened."""
    page.get_by_role("button", name="Save the rules").click()
    page.get_by_role("status").wait_for()
    page.locator('a[href^="/admin/rules/versions/"]').first.click()
    page.wait_for_url(lambda address: "/admin/rules/versions/" in address)


def _bad_webhook(page: Page) -> None:
    page.get_by_label("URL").fill("not a web address")
    page.get_by_role("button", name="Subscribe").click()
    page.get_by_label("URL").wait_for()


def _simulate(page: Page) -> None:
    """Replay the last week under the live rules: the figures are shown below the form."""
    page.get_by_label("Last days to replay").fill("7")
    page.get_by_role("button", name="Run the simulation").click()
    page.locator("#sim-result").wait_for()


@dataclass(frozen=True)
class Visit:
    """A page to check: who looks at it, its path (formatted with the `Where` fields), what
    they do there first, if anything, and the status it answers with."""

    name: str
    who: str  # "associate", "admin" or "nobody"
    path: str
    then: Callable[[Page], None] | None = None
    status: int = 200


PAGES = [
    Visit("login", "nobody", "/login"),
    Visit("store open", "associate", "/store/{store_a}/open"),
    Visit("store in progress", "associate", "/store/{store_a}/in-progress"),
    Visit("store completed", "associate", "/store/{store_a}/completed"),
    Visit("store search, nothing found", "associate", "/store/{store_a}/open?q=nobody-here"),
    Visit("report an issue", "associate", "{report}"),
    Visit("report the whole shipment", "associate", "{shipment}/report"),
    Visit("pack confirmation", "associate", "{shipment}/pack"),
    Visit("blocked products", "associate", "/store/{store_a}/blocks"),
    Visit("admin orders", "admin", "/admin/orders"),
    Visit("admin order", "admin", "/admin/orders/{ada_order}"),
    Visit("store list as admin", "admin", "/store/{store_b}/open"),
    Visit("reasons", "admin", "/admin/reasons"),
    Visit("rules", "admin", "/admin/rules"),
    Visit("facilities", "admin", "/admin/facilities"),
    Visit("facility", "admin", "/admin/facilities/{store_a}"),
    Visit("facility edit", "admin", "/admin/facilities/{store_a}/edit"),
    Visit("product at a facility", "admin", "/admin/facilities/{store_a}/products/{product}"),
    Visit("analytics", "admin", "/admin/analytics"),
    Visit("analytics drill-down", "admin", "/admin/analytics/rejections"),
    Visit("simulate", "admin", "/admin/simulate"),
    Visit("simulation figures", "admin", "/admin/simulate", _simulate),
    Visit("rules back to defaults", "admin", "/admin/rules/reset"),
    Visit("rules dry run", "admin", "/admin/rules?order={ada_order}", _dry_run),
    Visit("a saved rules version", "admin", "/admin/rules", _save_rules),
    Visit("orders search", "admin", "/admin/orders?q=a"),
    Visit("settings", "admin", "/admin/settings"),
    Visit("users", "admin", "/admin/users"),
    Visit("webhooks", "admin", "/admin/webhooks"),
    Visit("webhook", "admin", "/admin/webhooks/{webhook}"),
    Visit("webhook switch off", "admin", "/admin/webhooks/{webhook}/pause"),
    Visit("webhook rotate secret", "admin", "/admin/webhooks/{webhook}/rotate"),
    Visit("webhooks, bad input kept", "admin", "/admin/webhooks", _bad_webhook),
    Visit("error: not found", "admin", "/admin/orders/no-such-order", status=404),
    Visit("error: not allowed", "associate", "/admin/orders", status=403),
    Visit("report confirmation", "associate", "{report}", _report_and_continue),
    Visit("report done", "associate", "{report}", _confirm_report),
]


@dataclass(frozen=True)
class Where:
    store_a: str
    store_b: str
    ada_order: str
    shipment: str
    report: str
    product: str
    webhook: str


def _where(live: Live) -> Where:
    s = live.scenario
    ada = shipments.store_list(
        live.context, s.store_a, [ShipmentState.IN_PROGRESS], SYSTEM, text="Ada"
    ).shipments[0]
    hook = webhooks.create_webhook(
        live.context, "https://oms.example.com/hooks/reroute", ["ready_shipment"], SYSTEM
    )
    shipment = f"/store/{s.store_a}/shipments/{ada.shipment.id}"
    item = ada.items[0]
    report = f"{shipment}/items/{item.item_id}/report"
    return Where(s.store_a, s.store_b, s.ada_order, shipment, report, item.product_id, hook.id)


@pytest.fixture
def axe_ready() -> None:
    problem = axe_problem()
    if problem:
        if IN_CI:
            pytest.fail(f"CI=true and {problem}")
        pytest.skip(problem)


def _signed_in(browser: Browser, viewport: dict[str, int], url: str, email: str | None) -> Any:
    # The check is injected as a script: the pages' own policy would refuse it.
    page = browser.new_context(viewport=viewport, bypass_csp=True).new_page()
    if email is not None:
        page.goto(f"{url}/login")
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(lambda address: "/login" not in address)
    return page


@pytest.mark.usefixtures("axe_ready")
@pytest.mark.parametrize("viewport", WIDTHS)
def test_every_page_has_no_serious_or_critical_accessibility_violation(
    live: Live, browser: Browser, viewport: dict[str, int]
) -> None:
    where = _where(live)
    people = {
        "nobody": None,
        "associate": live.scenario.associate,
        "admin": live.scenario.admin,
    }
    pages = {who: _signed_in(browser, viewport, live.url, email) for who, email in people.items()}
    found: list[str] = []
    for visit in PAGES:
        page = pages[visit.who]
        answer = page.goto(live.url + visit.path.format(**vars(where)))
        if answer is None or answer.status != visit.status:
            status = answer and answer.status
            found.append(f"{visit.name}: answered {status}, not {visit.status}; unchecked")
            continue
        if visit.then is not None:
            visit.then(page)
        violations = serious_violations(page)
        if violations:
            found.append(describe(f"{visit.name} ({page.url})", violations))
    for page in pages.values():
        page.context.close()
    assert not found, "\n".join(found)


@pytest.mark.usefixtures("axe_ready")
def test_the_check_reports_a_serious_violation_with_its_rule_impact_help_and_element(
    browser: Browser,
) -> None:
    """The check is not blind: a button without a name and a field without a label fail it."""
    page = browser.new_context(viewport=PHONE).new_page()
    page.set_content(
        '<!doctype html><html lang="en"><head><title>Bad</title></head><body><main>'
        '<h1>Bad</h1><button id="nameless"></button><input id="unlabelled"></main></body></html>'
    )
    violations = serious_violations(page)
    page.context.close()
    by_rule = {v["id"]: v for v in violations}
    assert {"button-name", "label"} <= by_rule.keys()
    assert by_rule["button-name"]["targets"] == ["#nameless"]
    message = describe("bad page", violations)
    assert "bad page: button-name (critical)" in message and "#nameless" in message
