"""Fixtures of the browser tests: Chromium once per session, a served scenario per test.

Without Chromium or Playwright these tests skip, saying why; under CI=true they fail instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest

from reroute.domain.settings import RuntimeSettings
from reroute.services.context import Context
from reroute.storage.database import Database
from tests.conftest import IN_CI, MFG_ID
from tests.e2e.live import browser_problem, launch, serving
from tests.e2e.scenario import Scenario, seed
from tests.pages_support import cheap_hashes

if TYPE_CHECKING:
    from playwright.sync_api import Browser

__all__ = ["cheap_hashes"]


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    problem = browser_problem()
    if problem:
        if IN_CI:
            pytest.fail(f"CI=true and {problem}")
        pytest.skip(problem)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = launch(playwright)
        yield chromium
        chromium.close()


@dataclass(frozen=True)
class Live:
    url: str
    scenario: Scenario
    context: Context


@pytest.fixture
def live(database_url: str, browser: Browser, cheap_hashes: None) -> Iterator[Live]:
    """The scenario on a fresh database of each kind, served over HTTP."""
    context = Context(db=Database(database_url), defaults=RuntimeSettings(mfg_id=MFG_ID))
    try:
        scenario = seed(context)
        with serving(context) as url:
            yield Live(url, scenario, context)
    finally:
        context.db.dispose()


def new_page(browser: Browser, viewport: dict[str, int], **options: Any) -> Any:
    """A page in its own browser context (own cookies) at the given size."""
    return browser.new_context(viewport=viewport, **options).new_page()
