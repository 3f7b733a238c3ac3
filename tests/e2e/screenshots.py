"""Screenshots of the main pages on a phone (390 x 844) and a desktop (1366 x 900), for the README.

    .venv/bin/python -m tests.e2e.screenshots [OUT_DIR]   (default: docs/screenshots)

It builds the demo retailer (with its week of history), serves it, and walks through it in
Chromium as an associate (find an order, report an issue) and then as an admin, saving one PNG
per page and width: `<name>-phone.png` and `<name>-desktop.png`. A new admin page is one more
line in `ADMIN_PAGES`.
"""

from __future__ import annotations

import io
import re
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console

from reroute.demo import build_demo
from reroute.demo.builder import DEMO_ADMIN, DEMO_ASSOCIATE
from reroute.domain.access import SYSTEM
from reroute.services import users
from reroute.services.context import Context
from reroute.storage.database import Database
from reroute.storage.migrate import upgrade
from tests.e2e.live import DESKTOP, PHONE, browser_problem, launch, serving

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

PASSWORD = "screenshots-only"
WIDTHS = {"phone": PHONE, "desktop": DESKTOP}


@dataclass(frozen=True)
class Shot:
    """An admin page to take: its file name, its path (formatted with `store`, the associate's
    store, and `deliveries`, the new webhook's deliveries page) and whether the whole page."""

    name: str
    path: str
    full: bool = False


ADMIN_PAGES = [
    Shot("admin-orders", "/admin/orders"),
    Shot("admin-reasons", "/admin/reasons"),
    Shot("admin-rules", "/admin/rules"),
    Shot("admin-facilities", "/admin/facilities"),
    Shot("admin-stock", "/admin/facilities/{store}"),
    Shot("admin-analytics", "/admin/analytics", full=True),
    Shot("admin-deliveries", "{deliveries}"),
]


class Camera:
    def __init__(self, page: Page, out: Path, width: str) -> None:
        self.page, self.out, self.width = page, out, width

    def shot(self, name: str, *, full: bool = False) -> None:
        path = self.out / f"{name}-{self.width}.png"
        # Product pictures load lazily: load them all, and wait for them, before the picture.
        self.page.evaluate("document.querySelectorAll('img').forEach(i => i.loading = 'eager')")
        self.page.wait_for_function("() => Array.from(document.images).every(i => i.complete)")
        self.page.screenshot(path=str(path), full_page=full)
        print(f"  {path}", file=sys.stderr)


def _sign_in(page: Page, url: str, email: str) -> None:
    page.goto(f"{url}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def tour(browser: Browser, url: str, out: Path, width: str, store: str) -> None:
    # The camera's own waiting is script the pages' policy would refuse: it is let through.
    session = browser.new_context(
        viewport=WIDTHS[width], timezone_id="America/Chicago", locale="en-US", bypass_csp=True
    )
    page = session.new_page()
    camera = Camera(page, out, width)
    _sign_in(page, url, DEMO_ADMIN)  # a subscriber first, so the rejection is delivered to it
    page.goto(f"{url}/admin/webhooks")
    page.get_by_label("URL").fill("https://oms.example.com/hooks/reroute")
    page.get_by_label("Ready shipment").check()
    page.get_by_role("button", name="Subscribe").click()
    camera.shot("admin-webhook-created")
    page.get_by_role("link", name="Deliveries and attempts").click()
    deliveries = page.url
    page.get_by_role("button", name="Sign out").click()

    page.goto(f"{url}/login")
    page.get_by_label("Email").fill(DEMO_ASSOCIATE)
    camera.shot("sign-in")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    camera.shot("store-open")
    page.get_by_role("link", name="In progress").click()
    camera.shot("store-in-progress")
    page.get_by_role("link", name="Report an issue").first.click()
    page.get_by_role("radiogroup", name="Reason").get_by_label("Not in stock").check()
    page.get_by_label("Comment").fill("Not on the shelf or in the back room")
    camera.shot("report-an-issue")
    page.get_by_role("button", name="Continue").click()
    camera.shot("report-confirm")
    page.get_by_role("button", name="Confirm").click()
    camera.shot("report-done")
    notice = page.get_by_role("status").inner_text()
    order_id = re.search(r"Order (\w+),", notice)
    page.get_by_role("button", name="Sign out").click()

    _sign_in(page, url, DEMO_ADMIN)
    if order_id:
        page.goto(f"{url}/admin/orders/{order_id.group(1)}")
        camera.shot("admin-order-history", full=True)
    where = {"store": store, "deliveries": deliveries.removeprefix(url)}
    for shot in ADMIN_PAGES:
        answer = page.goto(url + shot.path.format(**where))
        if answer is not None and answer.ok:
            camera.shot(shot.name, full=shot.full)
        else:
            print(f"  skipped {shot.name}: {answer and answer.status}", file=sys.stderr)
    session.close()


def main(out: Path) -> None:
    problem = browser_problem()
    if problem:
        sys.exit(f"Cannot take screenshots: {problem}")
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        template = Path(tmp) / "demo.db"
        built = Context(db=Database(f"sqlite:///{template}"))
        upgrade(built.db)
        build_demo(built, Console(file=io.StringIO()))
        built.db.dispose()
        with sync_playwright() as playwright:
            browser = launch(playwright)
            for width in WIDTHS:
                copy = Path(tmp) / f"{width}.db"
                shutil.copy(template, copy)  # each width starts from the same demo
                context = Context(db=Database(f"sqlite:///{copy}"))
                for email in (DEMO_ASSOCIATE, DEMO_ADMIN):
                    users.set_password(context, email, PASSWORD, SYSTEM)
                associate = users.find_user(context, DEMO_ASSOCIATE)
                assert associate is not None
                with serving(context) as url:
                    tour(browser, url, out, width, associate.facilities[0])
                context.db.dispose()
            browser.close()


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("docs/screenshots"))
