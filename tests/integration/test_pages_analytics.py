"""Rejection analytics: a bar per day over a chosen period, counts by associate, every bar and
row opening the rejections behind it, and CSV of what is shown, safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import html
import io
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from reroute.domain.access import Role
from reroute.pages.analytics import safe_cell
from reroute.services.context import Context
from reroute.storage.tables import rejections
from tests.conftest import make_token
from tests.pages_support import Store, cheap_hashes, person, sign_in, text_of, two_stores

pytestmark = pytest.mark.usefixtures(cheap_hashes.__name__)


@dataclass
class History:
    """Two rejections at Andersonville: `old` two days ago by the admin's token (Damage),
    `new` today by an associate's token (Mismatch)."""

    store: Store
    old: str
    new: str
    old_day: str
    today: str
    admin_actor: str
    associate_actor: str


def reject(
    client: TestClient, headers: dict[str, str], order_id: str, reason: str, comment: str = ""
) -> str:
    order = client.get(f"/api/v1/orders/{order_id}", headers=headers).json()
    shipment = order["items"][0]["shipment_id"]
    body = {"reason_id": reason, **({"comment": comment} if comment else {})}
    answer = client.post(f"/api/v1/shipments/{shipment}/items/1/reject", json=body, headers=headers)
    assert answer.status_code == 200, answer.text
    return order_id


def actor_of(context: Context, order_id: str) -> str:
    with context.db.transaction(write=False) as conn:
        found = conn.execute(rejections.select().where(rejections.c.order_id == order_id))
        return str(found.one().actor)


@pytest.fixture
def history(client: TestClient, context: Context, admin: dict[str, str]) -> History:
    store = two_stores(client, admin)
    associate = make_token(context, Role.ASSOCIATE, [store.store_a])
    old = reject(client, admin, store.orders[0], "DAMAGED", comment='=HYPERLINK("x")')
    new = reject(client, associate, store.orders[1], "MISMATCH")
    now = datetime.now(UTC)
    with context.db.transaction(write=True) as conn:  # the first one happened two days ago
        conn.execute(
            update(rejections)
            .where(rejections.c.order_id == old)
            .values(created_at=now - timedelta(days=2))
        )
    sign_in(client, person(context, Role.ADMIN))
    return History(
        store,
        old,
        new,
        (now - timedelta(days=2)).date().isoformat(),
        now.date().isoformat(),
        actor_of(context, old),
        actor_of(context, new),
    )


def columns(page_text: str) -> dict[str, tuple[int, str]]:
    """The trend's bars: day → (count, link)."""
    found = {}
    for href, inside in re.findall(r'<a class="column" href="([^"]+)">(.*?)</a>', page_text, re.S):
        count = re.search(r'<span class="n">(\d+)</span>', inside)
        day = re.search(r"(\d{4}-\d{2}-\d{2})", inside)
        assert count is not None and day is not None, inside
        found[day.group(1)] = (int(count.group(1)), html.unescape(href))
    return found


def link_named(page_text: str, name: str) -> str:
    found = re.search(r'<a class="drill" href="([^"]+)">' + re.escape(name) + "</a>", page_text)
    assert found is not None, f"no link {name}"
    return html.unescape(found.group(1))


def listed_orders(page_text: str) -> list[str]:
    return re.findall(r'<a class="row-link" href="/admin/orders/([^"]+)">', page_text)


def test_the_last_7_days_show_a_bar_per_day_and_counts_by_associate(
    client: TestClient, history: History
) -> None:
    page = client.get("/admin/analytics")
    assert page.status_code == 200
    bars = columns(page.text)
    assert len(bars) == 7 and list(bars)[-1] == history.today
    assert bars[history.today][0] == 1 and bars[history.old_day][0] == 1
    assert sum(n for n, _ in bars.values()) == 2
    words = text_of(page)
    assert "2 items rejected in the last 7 days" in words
    assert "By associate Who rejected Items" in words
    assert f"{history.admin_actor} 1" in words and f"{history.associate_actor} 1" in words
    # The last 24 hours leave the older one out.
    assert "1 item rejected in the last 24 hours" in text_of(
        client.get("/admin/analytics", params={"window": "24h"})
    )


def test_a_date_range_counts_only_its_days(client: TestClient, history: History) -> None:
    page = client.get("/admin/analytics", params={"from": history.old_day, "to": history.old_day})
    assert page.status_code == 200
    assert columns(page.text) == {history.old_day: (1, columns(page.text)[history.old_day][1])}
    words = text_of(page)
    assert f"1 item rejected from {history.old_day} to {history.old_day}" in words
    assert "Damage 1" in words and "Mismatch" not in words
    assert f'value="{history.old_day}"' in page.text  # the form shows the range


@pytest.mark.parametrize(
    ("start", "end", "said"),
    [
        ("2026-12-05", "2026-12-01", "The end date comes before the start date"),
        ("yesterday", "", "Give the start date as year-month-day"),
        ("2024-01-01", "2026-01-01", "Choose at most 366 days."),
    ],
)
def test_a_range_that_cannot_be_drawn_is_a_422_that_keeps_the_dates(
    client: TestClient, history: History, start: str, end: str, said: str
) -> None:
    page = client.get("/admin/analytics", params={"from": start, "to": end})
    assert page.status_code == 422
    assert said in text_of(page)
    assert f'value="{start}"' in page.text and f'value="{end}"' in page.text


def test_every_bar_and_row_opens_the_rejections_behind_it(
    client: TestClient, history: History
) -> None:
    page = client.get("/admin/analytics")
    day = client.get(columns(page.text)[history.old_day][1])
    assert day.status_code == 200
    assert listed_orders(day.text) == [history.old]
    assert f"Rejections on {history.old_day}" in text_of(day)
    by_facility = client.get(link_named(page.text, "Andersonville"))
    assert listed_orders(by_facility.text) == [history.new, history.old]
    assert "Rejections in the last 7 days at Andersonville" in text_of(by_facility)
    by_reason = client.get(link_named(page.text, "Mismatch"))
    assert listed_orders(by_reason.text) == [history.new]
    by_product = client.get(link_named(page.text, history.store.product_name))
    assert len(listed_orders(by_product.text)) == 2
    by_person = client.get(link_named(page.text, history.admin_actor))
    assert listed_orders(by_person.text) == [history.old]
    assert f"by {history.admin_actor}" in text_of(by_person)
    # The list leads back to the period it came from.
    ranged = client.get("/admin/analytics", params={"from": history.old_day, "to": history.today})
    back = client.get(link_named(ranged.text, "Damage"))
    assert f'href="/admin/analytics?from={history.old_day}&amp;to={history.today}"' in back.text


def test_the_csv_holds_the_rows_shown_with_a_header(client: TestClient, history: History) -> None:
    page = client.get("/admin/analytics")
    link = re.search(r'<a class="button secondary" href="([^"]+)" download>', page.text)
    assert link is not None
    answer = client.get(html.unescape(link.group(1)))
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    assert answer.headers["content-disposition"].startswith("attachment;")
    rows = list(csv.reader(io.StringIO(answer.text)))
    assert rows[0] == ["chart", "key", "label", "items"]
    days = [r for r in rows if r[0] == "day"]
    assert [(r[1], r[3]) for r in days if r[3] != "0"] == [
        (history.old_day, "1"),
        (history.today, "1"),
    ]
    assert len(days) == len(columns(page.text))
    assert ["facility", history.store.store_a, "Andersonville", "2"] in rows
    assert ["reason", "DAMAGED", "Damage", "1"] in rows
    assert ["actor", history.associate_actor, history.associate_actor, "1"] in rows


def test_the_drill_down_csv_escapes_cells_a_spreadsheet_would_run(
    client: TestClient, history: History
) -> None:
    page = client.get("/admin/analytics")
    listing = client.get(link_named(page.text, "Damage"))
    link = re.search(r'<a class="button secondary" href="([^"]+)" download>', listing.text)
    assert link is not None
    answer = client.get(html.unescape(link.group(1)))
    rows = list(csv.reader(io.StringIO(answer.text)))
    assert rows[0][:3] == ["rejected_at", "order_id", "item_id"]
    assert len(rows) == 2 and rows[1][1] == history.old
    assert rows[1][-1] == '\'=HYPERLINK("x")'
    assert [safe_cell(v) for v in ("=1", "+1", "-1", "@A", "\tx", "plain", 3)] == [
        "'=1",
        "'+1",
        "'-1",
        "'@A",
        "'\tx",
        "plain",
        "3",
    ]


def test_analytics_and_its_lists_are_for_admins_only(
    client: TestClient, context: Context, history: History
) -> None:
    client.post("/logout", data={})  # a fresh client session below instead
    client.cookies.clear()
    sign_in(client, person(context, Role.ASSOCIATE, [history.store.store_a]))
    for path in ("/admin/analytics", "/admin/analytics/rejections", "/admin/analytics/export.csv"):
        assert client.get(path).status_code == 403, path
