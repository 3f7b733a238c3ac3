"""The demo's pictures and its week of history: every product has a picture the app serves
itself, and the past week holds rejections of several reasons, stores and associates, so that
analytics is not empty at first sight. `make demo` takes the port from PORT=."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from rich.console import Console
from sqlalchemy import select

from reroute.app import create_app
from reroute.demo import build_demo, images, plan_demo
from reroute.domain.clock import as_utc, utcnow
from reroute.domain.orders import HistoryEvent
from reroute.services.context import Context
from reroute.storage.tables import order_history, orders, rejections
from tests.pages_support import cheap_hashes, sign_in, text_of

pytestmark = pytest.mark.usefixtures(cheap_hashes.__name__)
ROOT = Path(__file__).resolve().parents[2]
ADMIN = re.compile(r"admin: (\S+@example\.com)\s+password (\S+)")


def test_every_demo_product_has_a_picture_the_app_serves_itself(context: Context) -> None:
    products = plan_demo().products
    with TestClient(create_app(context)) as client:
        for product in products:
            assert product.image_url is not None
            assert product.image_url.startswith("/static/demo/"), "nothing is fetched elsewhere"
            answer = client.get(product.image_url)
            assert answer.status_code == 200, product.image_url
            assert answer.headers["content-type"].startswith("image/svg+xml")
            assert answer.text.startswith("<svg ")
        assert client.get("/static/demo/no-such-product.svg").status_code == 404


def test_the_shipped_pictures_are_the_ones_the_drawing_code_makes() -> None:
    """A change to the drawings is written again with `python -m reroute.demo.images`."""
    drawn = images.all_drawings()
    shipped = {p.name: p.read_text(encoding="utf-8") for p in images.DIRECTORY.glob("*.svg")}
    assert shipped == drawn
    assert len({svg for svg in drawn.values()}) == len(drawn), "each line and colour differs"


def test_the_demo_has_a_week_of_rejections_by_several_stores_associates_and_reasons(
    context: Context,
) -> None:
    started = utcnow()
    lines = build_demo(context, Console(file=io.StringIO()))
    with context.db.transaction(write=False) as conn:
        found = conn.execute(
            select(
                rejections.c.created_at,
                rejections.c.reason_id,
                rejections.c.facility_id,
                rejections.c.actor,
            )
        ).all()
        placed = [as_utc(t) for t in conn.execute(select(orders.c.created_at)).scalars()]
        events = conn.execute(select(order_history.c.event)).scalars().all()
    times = [as_utc(row.created_at) for row in found]
    assert len(found) >= 20
    assert all(started - timedelta(days=7) < t <= started for t in times), "the last 7 days"
    assert len({t.date() for t in times}) >= 5, "spread over the week, not all today"
    assert len({row.reason_id for row in found}) >= 3
    assert len({row.facility_id for row in found}) >= 5
    assert len({row.actor for row in found if row.actor.startswith("user:")}) >= 3
    assert len(placed) == 300 and min(placed) < started - timedelta(days=5)
    assert HistoryEvent.FULFILL in events, "what stores kept was fulfilled since"

    match = ADMIN.search("\n".join(lines))
    assert match is not None
    with TestClient(create_app(context)) as client:
        sign_in(client, match.group(1), match.group(2))
        page = client.get("/admin/analytics")
        assert page.status_code == 200
        words = text_of(page)
        assert "No rejections" not in words and "Not in stock" in words


@pytest.mark.skipif(shutil.which("make") is None, reason="no make on PATH")
def test_make_demo_serves_on_the_port_given_by_port() -> None:
    def planned(*args: str) -> str:
        done = subprocess.run(
            ["make", "-n", "demo", *args],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return done.stdout

    assert "reroute demo --port 8123" in planned("PORT=8123")
    assert "reroute demo --port 8000" in planned()
