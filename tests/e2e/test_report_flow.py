"""The store's report flow in Chromium on a phone (390x844) and a desktop (1366x900), on
both databases: a whole shipment and marked items rejected from the pages, Back after a report
landing on a normal page, and the confirmation's numbers equal to what the rejection did."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import select

from reroute.api.schemas.orders import OrderIn
from reroute.domain.access import SYSTEM
from reroute.domain.facilities import Product
from reroute.services import catalog, inventory, orders
from reroute.storage.tables import rejections
from tests.e2e.conftest import Live, new_page
from tests.e2e.scenario import PASSWORD
from tests.support import new_id

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 900}
#: The smallest height of anything one taps.
TAP = 44


def expect(target: Any) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(target)


def sign_in(page: Page, url: str, email: str) -> None:
    page.goto(f"{url}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def short_targets(page: Page) -> list[str]:
    """Links, buttons and choices of the page's content lower than a finger (there are some
    to measure: an empty page would pass for nothing)."""
    shown = page.locator("main a:visible, main button:visible, main .choice:visible")
    assert shown.count() >= 3
    found: list[str] = page.evaluate(
        """(tap) => [...document.querySelectorAll('main a, main button, main .choice')]
             .filter((e) => e.offsetParent !== null && e.getBoundingClientRect().height < tap)
             .map((e) => e.textContent.trim() + ' ' + e.getBoundingClientRect().height)""",
        TAP,
    )
    return found


def fits_the_width(page: Page) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def order_of_three(live: Live) -> tuple[str, list[str]]:
    """An order of three products held at both stores: routed to the nearer, Andersonville.
    Answers its id and the product names, item 1 first."""
    names = ["Wool scarf", "Felt hat", "Silk tie"]
    ids = []
    for name in names:
        product = Product(new_id("P"), new_id("SKU"), new_id("U"), new_id("N"), name)
        catalog.put_product(live.context, product, SYSTEM)
        for store in (live.scenario.store_a, live.scenario.store_b):
            inventory.count_stock(live.context, store, product.id, 3, SYSTEM)
        ids.append(product.id)
    body = OrderIn.model_validate(
        {
            "order_id": new_id("W"),
            "customer": {"name": "Katherine Johnson", "email": "kj@example.com"},
            "shipping_method": "standard",
            "ship_to": {"city": "Chicago", "latitude": 41.88, "longitude": -87.63},
            "items": [
                {"item_id": str(n), "product_id": p, "quantity": 1}
                for n, p in enumerate(ids, start=1)
            ],
        }
    )
    orders.create_order(live.context, body.to_domain(), body.body_hash(), SYSTEM)
    placed = orders.get_order(live.context, body.order_id, SYSTEM).order
    assert {i.facility_id for i in placed.items} == {live.scenario.store_a}
    return body.order_id, names


def where_items_are(live: Live, order_id: str) -> dict[str, str | None]:
    order = orders.get_order(live.context, order_id, SYSTEM).order
    return {i.item_id: i.facility_id for i in order.items}


def open_card(page: Page, live: Live, order_id: str) -> Any:
    page.goto(f"{live.url}/store/{live.scenario.store_a}/open?q={order_id}")
    card = page.get_by_role("article", name=f"Order {order_id}")
    expect(card).to_be_visible()
    return card


@pytest.mark.parametrize(
    "viewport", [pytest.param(PHONE, id="phone"), pytest.param(DESKTOP, id="desktop")]
)
def test_a_whole_shipment_is_rejected_from_the_pages(
    live: Live, browser: Browser, viewport: dict[str, int]
) -> None:
    order_id, names = order_of_three(live)
    page = new_page(browser, viewport)
    sign_in(page, live.url, live.scenario.associate)
    card = open_card(page, live, order_id)
    card.get_by_role("link", name=f"Report items of order {order_id}").click()

    expect(page.get_by_role("heading", name="Report an issue")).to_be_visible()
    for name in names:
        expect(page.get_by_role("checkbox", name=name)).to_be_checked()
    expect(page.get_by_text("3 on hand · 2 available")).to_have_count(3)
    assert fits_the_width(page) and short_targets(page) == []
    page.get_by_role("radiogroup", name="Reason").get_by_label("Mismatch").check()
    page.get_by_role("button", name="Continue").click()

    expect(page.get_by_text(f"Report the whole shipment of order {order_id}")).to_be_visible()
    for name in names:
        expect(page.get_by_text(f"{name}: stock 3 → 2")).to_be_visible()
    assert fits_the_width(page) and short_targets(page) == []
    page.get_by_role("button", name="Confirm").click()

    notice = page.get_by_role("status")
    expect(notice).to_contain_text(f"Reported 3 items of order {order_id}")
    for name in names:
        expect(notice).to_contain_text(f"Order {order_id}, {name}: now at Bucktown.")
    expect(page.get_by_role("article", name=f"Order {order_id}")).to_have_count(0)
    assert set(where_items_are(live, order_id).values()) == {live.scenario.store_b}
    page.context.close()


def test_marked_items_leave_and_the_unmarked_one_stays(live: Live, browser: Browser) -> None:
    order_id, names = order_of_three(live)
    page = new_page(browser, PHONE)
    sign_in(page, live.url, live.scenario.associate)
    card = open_card(page, live, order_id)
    card.get_by_role("link", name=f"Report items of order {order_id}").click()
    page.get_by_role("checkbox", name=names[1]).uncheck()
    page.get_by_role("radiogroup", name="Reason").get_by_label("Damage").check()
    page.get_by_label("Comment").fill("Both torn at the seam")
    page.get_by_role("button", name="Continue").click()

    expect(page.get_by_text(f"Report 2 items of order {order_id} as Damage?")).to_be_visible()
    items = page.locator(".confirm-items li")
    expect(items).to_have_count(2)
    expect(items.first).to_contain_text(names[0])
    expect(items.last).to_contain_text(names[2])
    expect(page.get_by_text("“Both torn at the seam”")).to_be_visible()
    page.get_by_role("button", name="Confirm").click()

    expect(page.get_by_role("status")).to_contain_text(f"Reported 2 items of order {order_id}")
    card = open_card(page, live, order_id)
    expect(card).to_contain_text(names[1])
    expect(card).not_to_contain_text(names[0])
    store_a, store_b = live.scenario.store_a, live.scenario.store_b
    assert where_items_are(live, order_id) == {"1": store_b, "2": store_a, "3": store_b}
    page.context.close()


def test_back_after_a_report_lands_on_a_normal_page(live: Live, browser: Browser) -> None:
    s = live.scenario
    page = new_page(browser, PHONE)
    sign_in(page, live.url, s.associate)
    card = open_card(page, live, s.grace_order)
    card.get_by_role("link", name="Report an issue").click()
    page.get_by_role("radiogroup", name="Reason").get_by_label("Damage").check()
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name="Confirm the issue")).to_be_visible()
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("status")).to_contain_text(f"Reported {s.product_name}")

    answer = page.go_back()
    assert answer is not None and answer.ok, answer
    expect(page.get_by_role("heading", name="Andersonville")).to_be_visible()
    notice = page.get_by_role("status")
    expect(notice).to_contain_text("Nothing to report here any more. Nothing was changed.")
    expect(notice).to_contain_text("no longer open at this store")
    expect(page.get_by_role("alert")).to_have_count(0)
    with live.context.db.transaction(write=False) as conn:
        assert len(conn.execute(select(rejections.c.id)).all()) == 1
    page.context.close()


def test_the_confirmations_numbers_equal_what_the_rejection_did(
    live: Live, browser: Browser
) -> None:
    s = live.scenario
    page = new_page(browser, PHONE)
    sign_in(page, live.url, s.associate)
    page.goto(f"{live.url}/store/{s.store_a}/in-progress")
    card = page.get_by_role("article", name=f"Order {s.ada_order}")
    card.get_by_role("link", name="Report an issue").click()
    expect(page.get_by_text("4 on hand · 2 available")).to_be_visible()
    page.get_by_role("radiogroup", name="Reason").get_by_label("Not in stock").check()
    page.get_by_role("button", name="Continue").click()

    change = page.locator(".stock-change")
    expect(change).to_have_text(f"{s.product_name}: stock 4 → 0 · available 2 → 0")
    cascade = page.locator(".cascade-count")
    expect(cascade).to_contain_text("1 other order with this product here will be taken back")
    shown_after = int(change.inner_text().split("stock 4 → ")[1].split(" ")[0])
    shown_orders = int(cascade.inner_text().split(" ")[0])
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("status")).to_contain_text(f"Reported {s.product_name}")

    product = orders.get_order(live.context, s.ada_order, SYSTEM).order.items[0].product_id
    level = inventory.get_level(live.context, s.store_a, product, SYSTEM)
    assert level.quantity_on_hand == shown_after
    with live.context.db.transaction(write=False) as conn:
        rows = conn.execute(select(rejections.c.order_id, rejections.c.cascaded)).all()
    assert len({o for o, cascaded in rows if cascaded and o != s.ada_order}) == shown_orders
    page.context.close()
