"""The store's lists in Chromium, on a phone (390 x 844) and a desktop (1366 x 900): stock on
each card, compact cards, Pack and Fulfill behind a confirmation (Fulfill asking for carrier and
tracking, keeping what was typed when it is wrong), words found in any order, paging that keeps
the search, the product's picture, every target a finger high, and an admin sent back to the
very search and page it acted from."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import pytest

from reroute.api.schemas.orders import OrderIn
from reroute.domain.access import SYSTEM
from reroute.domain.facilities import Product
from reroute.services import catalog, inventory, orders
from tests.e2e.conftest import Live, new_page
from tests.e2e.live import DESKTOP, PHONE
from tests.e2e.scenario import PASSWORD
from tests.support import new_id

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.browser
WIDTHS = [pytest.param(PHONE, id="phone"), pytest.param(DESKTOP, id="desktop")]
#: A small picture carried in its address: nothing is fetched from elsewhere.
PICTURE = "data:image/svg+xml," + quote(
    "<svg xmlns='http://www.w3.org/2000/svg' width='40' height='40'>"
    "<rect width='40' height='40' fill='#c84'/></svg>"
)
#: Carlos's orders: more than a page, and still more than a page after one is started.
CARLOS_ORDERS = 13


def expect(target: Any) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(target)


@dataclass(frozen=True)
class Tote:
    product: str
    name: str
    orders: list[str]


def carlos_buys_totes(live: Live) -> Tote:
    """A pictured product held only at Andersonville, and Carlos Brown's orders of it there
    (the newest first, as the lists show them)."""
    ctx = live.context
    product = Product(new_id("P"), "TOTE-CNV", "084512000099", "31400099", "Canvas tote", PICTURE)
    catalog.put_product(ctx, product, SYSTEM)
    inventory.count_stock(ctx, live.scenario.store_a, product.id, 30, SYSTEM)
    placed = []
    for _ in range(CARLOS_ORDERS):
        body = OrderIn.model_validate(
            {
                "order_id": new_id("W"),
                "customer": {"name": "Carlos Brown", "email": "carlos@example.com"},
                "shipping_method": "standard",
                "ship_to": {"city": "Chicago", "latitude": 41.88, "longitude": -87.63},
                "items": [{"item_id": "1", "product_id": product.id, "quantity": 1}],
            }
        )
        orders.create_order(ctx, body.to_domain(), body.body_hash(), SYSTEM)
        placed.append(body.order_id)
    return Tote(product.id, product.name, placed[::-1])


def sign_in(page: Page, url: str, email: str) -> None:
    page.goto(f"{url}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def short_targets(page: Page) -> list[tuple[str, float]]:
    """Every visible link, button, summary and submit input under 44 px high, with its words."""
    found: list[tuple[str, float]] = page.evaluate(
        """() => [...document.querySelectorAll('a, button, summary, input[type=submit]')]
          .filter(e => { const r = e.getBoundingClientRect();
                         return r.width > 0 && r.height > 0
                           && getComputedStyle(e).visibility !== 'hidden'; })
          .map(e => [(e.innerText || e.value || e.getAttribute('aria-label') || e.tagName)
                       .trim().slice(0, 40), e.getBoundingClientRect().height])
          .filter(([, h]) => h < 44 - 0.01)"""
    )
    return found


def fits_the_width(page: Page) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


@pytest.mark.parametrize("viewport", WIDTHS)
def test_an_associate_sees_stock_packs_and_fulfils_after_confirming(
    live: Live, browser: Browser, viewport: dict[str, int]
) -> None:
    s = live.scenario
    page = new_page(browser, viewport)
    sign_in(page, live.url, s.associate)
    page.get_by_role("link", name="In progress").click()
    card = page.get_by_role("article", name=f"Order {s.ada_order}")
    # 4 counted; Ada's and Grace's orders hold one each
    expect(card).to_contain_text("4 on hand · 2 available")

    card.get_by_role("button", name=f"Pack order {s.ada_order}").click()
    expect(page.get_by_role("heading", name=f"Pack order {s.ada_order}?")).to_be_visible()
    expect(page.get_by_text("The order moves to the Completed list")).to_be_visible()
    assert fits_the_width(page)
    page.get_by_role("button", name=f"Pack order {s.ada_order}").click()
    expect(page.get_by_role("status")).to_contain_text(f"Order {s.ada_order} packed")
    expect(page.get_by_role("article", name=f"Order {s.ada_order}")).to_have_count(0)

    page.get_by_role("link", name="Completed").click()
    page.get_by_role("button", name=f"Fulfill order {s.ada_order}").click()
    expect(page.get_by_role("heading", name=f"Fulfill order {s.ada_order}?")).to_be_visible()
    expect(page.get_by_text("Stock of Linen shirt, Navy here: 4 → 3 on hand.")).to_be_visible()
    page.get_by_label("Tracking number").fill("1Z999AA10123456784")
    page.get_by_role("button", name=f"Fulfill order {s.ada_order}").click()
    expect(page.get_by_role("alert")).to_contain_text("Add the carrier of this tracking number")
    expect(page.get_by_label("Tracking number")).to_have_value("1Z999AA10123456784")
    assert fits_the_width(page)
    page.get_by_label("Carrier").fill("UPS")
    page.get_by_role("button", name=f"Fulfill order {s.ada_order}").click()
    expect(page.get_by_role("status")).to_contain_text(f"Order {s.ada_order} fulfilled")
    done = page.get_by_role("article", name=f"Order {s.ada_order}")
    expect(done).to_contain_text("Tracking UPS 1Z999AA10123456784")
    expect(done).to_contain_text("3 on hand · 2 available")
    page.context.close()


@pytest.mark.parametrize("viewport", WIDTHS)
def test_cancel_on_a_confirmation_changes_nothing(
    live: Live, browser: Browser, viewport: dict[str, int]
) -> None:
    s = live.scenario
    page = new_page(browser, viewport)
    sign_in(page, live.url, s.associate)
    page.get_by_role("link", name="In progress").click()
    page.get_by_role("button", name=f"Pack order {s.ada_order}").click()
    page.get_by_role("link", name="Cancel").click()
    expect(page.get_by_role("article", name=f"Order {s.ada_order}")).to_be_visible()
    expect(page.get_by_role("link", name="In progress 1")).to_be_visible()
    page.context.close()


@pytest.mark.parametrize("viewport", WIDTHS)
def test_search_in_any_order_pages_that_keep_it_and_pictures(
    live: Live, browser: Browser, viewport: dict[str, int]
) -> None:
    tote = carlos_buys_totes(live)
    page = new_page(browser, viewport)
    sign_in(page, live.url, live.scenario.associate)
    page.get_by_label("Search").fill("Brown Carlos")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_text(f"{CARLOS_ORDERS} orders matching “Brown Carlos”")).to_be_visible()
    expect(page.get_by_role("article")).to_have_count(10)
    picture = page.get_by_role("article", name=f"Order {tote.orders[0]}").get_by_role(
        "img", name="Canvas tote"
    )
    expect(picture).to_be_visible()
    assert picture.evaluate("img => img.complete && img.naturalWidth > 0")
    expect(page.get_by_role("article", name=f"Order {tote.orders[0]}")).to_contain_text(
        f"30 on hand · {30 - CARLOS_ORDERS} available"
    )

    page.get_by_role("link", name="Next").click()
    expect(page.get_by_text("Page 2 of 2")).to_be_visible()
    expect(page.get_by_label("Search")).to_have_value("Brown Carlos")
    expect(page.get_by_role("article")).to_have_count(CARLOS_ORDERS - 10)
    expect(page.get_by_role("article", name=f"Order {tote.orders[-1]}")).to_be_visible()
    page.get_by_role("link", name="Previous").click()
    expect(page.get_by_text("Page 1 of 2")).to_be_visible()
    expect(page.get_by_role("article", name=f"Order {tote.orders[0]}")).to_be_visible()
    # The pictureless shirt shows no picture and no stand-in.
    page.get_by_label("Search").fill("navy linen")
    page.get_by_role("button", name="Search").click()
    grace = page.get_by_role("article", name=f"Order {live.scenario.grace_order}")
    expect(grace).to_be_visible()
    expect(grace.get_by_role("img")).to_have_count(0)
    assert fits_the_width(page)
    page.context.close()


def test_ten_orders_fit_in_under_three_phone_screens(live: Live, browser: Browser) -> None:
    """10 orders were five phone screens (a card was 322 px high): now each card is under
    200 px and the whole page under three screens."""
    carlos_buys_totes(live)
    page = new_page(browser, PHONE)
    sign_in(page, live.url, live.scenario.associate)
    page.goto(f"{live.url}/store/{live.scenario.store_a}/open?q=carlos")
    expect(page.get_by_role("article")).to_have_count(10)
    heights = page.locator("li.card").evaluate_all(
        "cards => cards.map(c => c.getBoundingClientRect().height)"
    )
    assert len(heights) == 10 and max(heights) < 200, heights
    assert page.evaluate("document.documentElement.scrollHeight") < 3 * PHONE["height"]
    page.context.close()


def test_every_target_on_the_main_pages_is_44_px_high_on_a_phone(
    live: Live, browser: Browser
) -> None:
    s = live.scenario
    page = new_page(browser, PHONE)
    page.goto(f"{live.url}/login")
    assert short_targets(page) == [], "/login"
    sign_in(page, live.url, s.associate)
    short = {}
    for tab in ("open", "in-progress", "completed"):
        page.goto(f"{live.url}/store/{s.store_a}/{tab}")
        short[tab] = short_targets(page)
    page.goto(f"{live.url}/store/{s.store_a}/in-progress")
    page.get_by_role("button", name=f"Pack order {s.ada_order}").click()
    expect(page.get_by_role("heading", name=f"Pack order {s.ada_order}?")).to_be_visible()
    short["pack"] = short_targets(page)
    page.get_by_role("button", name=f"Pack order {s.ada_order}").click()
    page.get_by_role("link", name="Completed").click()
    page.get_by_role("button", name=f"Fulfill order {s.ada_order}").click()
    expect(page.get_by_label("Carrier")).to_be_visible()
    short["fulfill"] = short_targets(page)
    page.goto(f"{live.url}/store/{s.store_a}/open")
    page.get_by_role("link", name="Report an issue").first.click()
    expect(page.get_by_role("heading", name="Report an issue")).to_be_visible()
    short["report"] = short_targets(page)
    page.get_by_role("button", name="Sign out").click()

    sign_in(page, live.url, s.admin)
    for path in (
        "/store",
        f"/store/{s.store_a}/open",
        "/admin/orders",
        f"/admin/orders/{s.grace_order}",
        "/admin/reasons",
        "/admin/rules",
        "/admin/facilities",
        f"/admin/facilities/{s.store_a}",
        "/admin/analytics",
        "/admin/webhooks",
    ):
        answer = page.goto(f"{live.url}{path}")
        assert answer is not None and answer.ok, path
        short[path] = short_targets(page)
    assert {where: found for where, found in short.items() if found} == {}
    page.context.close()


@pytest.mark.parametrize("viewport", WIDTHS)
def test_an_admin_acting_on_a_store_page_keeps_the_search_and_page(
    live: Live, browser: Browser, viewport: dict[str, int]
) -> None:
    tote = carlos_buys_totes(live)
    page = new_page(browser, viewport)
    sign_in(page, live.url, live.scenario.admin)
    here = f"/store/{live.scenario.store_a}/open?q=carlos+brown&page=2"
    page.goto(f"{live.url}{here}")
    expect(page.get_by_text("Page 2 of 2")).to_be_visible()
    oldest = tote.orders[-1]
    page.get_by_role("button", name=f"Start order {oldest}").click()
    expect(page.get_by_role("status")).to_contain_text(f"Order {oldest} started")
    assert page.url == f"{live.url}{here}"
    expect(page.get_by_text("Page 2 of 2")).to_be_visible()
    expect(page.get_by_label("Search")).to_have_value("carlos brown")
    expect(page.get_by_role("article", name=f"Order {oldest}")).to_have_count(0)

    page.goto(f"{live.url}/store/{live.scenario.store_a}/in-progress?q=carlos+brown")
    page.get_by_role("button", name=f"Pack order {oldest}").click()
    page.get_by_role("button", name=f"Pack order {oldest}").click()
    expect(page.get_by_role("status")).to_contain_text(f"Order {oldest} packed")
    assert page.url.endswith("/in-progress?q=carlos+brown")
    page.context.close()
