"""In a real browser, Swagger UI and ReDoc render the API from the app alone: every request
they make goes to the app, none elsewhere (any other is refused, and the test fails)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pytest

from reroute.domain.settings import RuntimeSettings
from reroute.services.context import Context
from reroute.storage.database import Database
from tests.conftest import MFG_ID
from tests.e2e.live import DESKTOP, serving

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = pytest.mark.browser


@pytest.fixture
def url(database_url: str) -> Iterator[str]:
    context = Context(db=Database(database_url), defaults=RuntimeSettings(mfg_id=MFG_ID))
    try:
        with serving(context) as served:
            yield served
    finally:
        context.db.dispose()


@pytest.mark.parametrize(
    ("page", "rendered"),
    [
        ("/docs", ".swagger-ui .opblock-summary"),
        ("/redoc", "[data-section-id^='tag/']"),
    ],
)
def test_the_docs_render_with_nothing_fetched_from_elsewhere(
    browser: Browser, url: str, page: str, rendered: str
) -> None:
    origin = urlsplit(url).netloc
    elsewhere: list[str] = []

    def only_the_app(route: Any) -> None:
        address = route.request.url
        if urlsplit(address).scheme in ("http", "https") and urlsplit(address).netloc != origin:
            elsewhere.append(address)
            route.abort()
        else:
            route.continue_()

    context = browser.new_context(viewport=DESKTOP)
    try:
        tab = context.new_page()
        tab.route("**/*", only_the_app)
        tab.goto(url + page)
        tab.wait_for_selector(rendered, timeout=20_000)
        assert tab.locator(rendered).count() >= 5
        tab.wait_for_load_state("networkidle")
    finally:
        context.close()
    assert elsewhere == []
