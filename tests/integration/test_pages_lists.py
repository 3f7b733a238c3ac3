"""The store's lists as a phone shows them: each item's stock at this store (read once for the
page), Pack and Fulfill behind a confirmation reached by GET, the carrier and tracking number a
shipped order leaves with, words found in any order, paging that keeps the search, the
product's picture, and an admin's return to the very page and search it acted from."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import event, select

from reroute.domain.access import SYSTEM, Role
from reroute.services import inventory
from reroute.services.context import Context
from reroute.storage.tables import shipments
from tests.pages_support import (
    Store,
    cheap_hashes,
    csrf_of,
    person,
    post_form,
    sign_in,
    text_of,
    two_stores,
)
from tests.support import count_stock, create, put_product

pytestmark = pytest.mark.usefixtures(cheap_hashes.__name__)


@pytest.fixture
def store(client: TestClient, context: Context, admin: dict[str, str]) -> Store:
    made = two_stores(client, admin)
    sign_in(client, person(context, Role.ASSOCIATE, [made.store_a]))
    return made


def card_of(page: Response, order_id: str) -> str:
    """The HTML of the card of `order_id` on a list page."""
    assert f">Order {order_id}<" in page.text, f"no card of {order_id}"
    return page.text.split(f">Order {order_id}<", 1)[1].split("</article>", 1)[0]


def step_form(page: Response, order_id: str, step: str) -> tuple[str, str, dict[str, str]]:
    """The method, action and hidden fields of the card's `step` form."""
    card = card_of(page, order_id)
    found = re.search(
        r'<form method="(\w+)" action="([^"]*/' + step + r')"(.*?)</form>', card, re.S
    )
    assert found, f"no {step} on order {order_id}"
    fields = dict(re.findall(r'name="(\w+)" value="([^"]*)"', found.group(3)))
    return found.group(1), found.group(2), {k: html.unescape(v) for k, v in fields.items()}


def state_of(context: Context, order_id: str) -> str:
    with context.db.transaction(write=False) as conn:
        return str(
            conn.execute(
                select(shipments.c.state).where(shipments.c.order_id == order_id)
            ).scalar_one()
        )


def move_to(client: TestClient, store: Store, order_id: str, tab: str, step: str) -> None:
    """Take `step` on the order's card without looking (for setting a scene)."""
    page = client.get(f"/store/{store.store_a}/{tab}")
    _, action, fields = step_form(page, order_id, step)
    post_form(client, page, action, **fields)


@contextmanager
def statements(context: Context) -> Iterator[list[str]]:
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    event.listen(context.db.engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(context.db.engine, "before_cursor_execute", count)


# Stock in sight ------------------------------------------------------------------------------


def test_each_item_shows_its_stock_at_this_store(
    client: TestClient, admin: dict[str, str], store: Store
) -> None:
    page = client.get(f"/store/{store.store_a}/open")
    # 5 counted, one reserved by each of the two orders
    for order_id in store.orders:
        assert "5 on hand · 3 available" in text_of_html(card_of(page, order_id))
    count_stock(client, admin, store.store_a, store.product, 9)
    again = client.get(f"/store/{store.store_a}/open")
    assert "9 on hand · 7 available" in text_of_html(card_of(again, store.orders[0]))


def text_of_html(fragment: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", fragment)))


def test_the_stock_of_a_whole_page_is_read_in_one_statement(
    client: TestClient, admin: dict[str, str], context: Context, store: Store
) -> None:
    def stock_reads() -> int:
        with statements(context) as seen:
            assert client.get(f"/store/{store.store_a}/open").status_code == 200
        return sum(1 for s in seen if "inventory_levels" in s)

    assert stock_reads() == 1
    for n in range(5):
        product = put_product(client, admin, name=f"Wool sock {n}")
        count_stock(client, admin, store.store_a, product, 3)
        create(client, admin, [(product, 1)])
    page = client.get(f"/store/{store.store_a}/open")
    assert page.text.count('class="item-stock"') == 7
    assert stock_reads() == 1


# Pack and Fulfill ask first -------------------------------------------------------------------


def test_pack_asks_on_a_page_reached_by_get_and_changes_nothing_until_confirmed(
    client: TestClient, context: Context, store: Store
) -> None:
    order = store.orders[0]
    move_to(client, store, order, "open", "start")
    listing = client.get(f"/store/{store.store_a}/in-progress")
    method, action, fields = step_form(listing, order, "pack")
    assert method == "get" and "csrf_token" not in fields
    asked = client.get(action, params=fields)
    assert asked.status_code == 200
    words = text_of(asked)
    assert f"Pack order {order}?" in words and store.product_name in words
    assert "5 on hand · 3 available" in words and "Cancel" in words
    assert state_of(context, order) == "in_progress"

    done = post_form(client, asked, action, back=fields["back"])
    assert done.url.path == f"/store/{store.store_a}/in-progress"
    assert f"Order {order} packed" in text_of(done)
    assert state_of(context, order) == "packed"


def test_fulfil_of_a_shipped_order_asks_for_carrier_and_tracking_and_shows_the_stock_effect(
    client: TestClient, admin: dict[str, str], context: Context, store: Store
) -> None:
    order = store.orders[0]
    move_to(client, store, order, "open", "start")
    move_to(client, store, order, "in-progress", "pack")
    listing = client.get(f"/store/{store.store_a}/completed")
    method, action, fields = step_form(listing, order, "fulfill")
    assert method == "get" and 'name="tracking_number"' not in card_of(listing, order)
    asked = client.get(action, params=fields)
    assert 'name="carrier"' in asked.text and 'name="tracking_number"' in asked.text
    assert "here: 5 → 4 on hand" in text_of(asked)
    assert state_of(context, order) == "packed"

    done = post_form(
        client, asked, action, back=fields["back"], carrier=" UPS ", tracking_number="1Z999"
    )
    assert f"Order {order} fulfilled" in text_of(done)
    shipment = action.split("/shipments/")[1].split("/")[0]
    shown = client.get(f"/api/v1/shipments/{shipment}", headers=admin).json()
    assert shown["tracking"]["carrier"] == "UPS"
    assert shown["tracking"]["tracking_number"] == "1Z999"


def test_fulfil_of_a_pickup_asks_for_no_tracking(
    client: TestClient, admin: dict[str, str], context: Context, store: Store
) -> None:
    pickup = create(
        client,
        admin,
        [(store.product, 1)],
        shipping_method="pickup",
        pickup_facility_id=store.store_a,
    )["order_id"]
    move_to(client, store, pickup, "open", "start")
    move_to(client, store, pickup, "in-progress", "pack")
    listing = client.get(f"/store/{store.store_a}/completed")
    _, action, fields = step_form(listing, pickup, "fulfill")
    asked = client.get(action, params=fields)
    assert 'name="carrier"' not in asked.text and 'name="tracking_number"' not in asked.text
    assert "picks the order up here: no carrier or tracking number" in text_of(asked)
    done = post_form(client, asked, action, back=fields["back"])
    assert f"Order {pickup} fulfilled" in text_of(done)


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ({"carrier": "", "tracking_number": "1Z999"}, "Add the carrier of this tracking number"),
        ({"carrier": "UPS", "tracking_number": ""}, "Add the tracking number"),
        ({"carrier": "U" * 101, "tracking_number": "1Z"}, "Keep the carrier under 100 characters."),
        (
            {"carrier": "UPS", "tracking_number": "9" * 201},
            "Keep the tracking number under 200 characters.",
        ),
    ],
)
def test_bad_tracking_input_keeps_what_was_typed_says_what_to_fix_and_writes_nothing(
    client: TestClient, context: Context, store: Store, typed: dict[str, str], message: str
) -> None:
    order = store.orders[0]
    move_to(client, store, order, "open", "start")
    move_to(client, store, order, "in-progress", "pack")
    listing = client.get(f"/store/{store.store_a}/completed")
    _, action, fields = step_form(listing, order, "fulfill")
    asked = client.get(action, params=fields)
    answer = post_form(client, asked, action, back=fields["back"], **typed)
    assert answer.status_code == 422
    words = text_of(answer)
    assert message in words and "Check the tracking" in words
    assert "Check carrier" not in words and "tracking_number" not in words
    for name, value in typed.items():
        assert re.search(rf'name="{name}" value="{re.escape(value)}"', answer.text), name
    assert f"Fulfill order {order}?" in words
    assert state_of(context, order) == "packed"
    again = post_form(
        client, answer, action, back=fields["back"], carrier="UPS", tracking_number="1Z"
    )
    assert f"Order {order} fulfilled" in text_of(again)


def test_a_confirmation_of_a_shipment_that_moved_on_sends_back_to_the_list_saying_so(
    client: TestClient, context: Context, store: Store
) -> None:
    order = store.orders[0]
    move_to(client, store, order, "open", "start")
    listing = client.get(f"/store/{store.store_a}/in-progress")
    _, action, fields = step_form(listing, order, "pack")
    move_to(client, store, order, "in-progress", "pack")  # packed meanwhile (another tab)
    answer = client.get(action, params=fields)
    assert answer.url.path == f"/store/{store.store_a}/in-progress"
    assert f"Order {order} is packed now: it cannot be packed." in text_of(answer)
    fulfil = client.get(action.replace("/pack", "/fulfill"), params=fields)
    assert f"Fulfill order {order}?" in text_of(fulfil)
    assert client.get(action.replace("/pack", "/start"), params=fields).status_code == 404


def test_start_is_still_one_tap(client: TestClient, context: Context, store: Store) -> None:
    page = client.get(f"/store/{store.store_a}/open")
    method, action, fields = step_form(page, store.orders[0], "start")
    assert method == "post" and fields["csrf_token"] == csrf_of(page)
    post_form(client, page, action, back=fields["back"])
    assert state_of(context, store.orders[0]) == "in_progress"


# Search ---------------------------------------------------------------------------------------


def test_search_finds_words_in_any_order_and_keeps_them_literal(
    client: TestClient, admin: dict[str, str], context: Context, store: Store
) -> None:
    carlos = create(
        client, admin, [(store.product, 1)], customer={"name": "Carlos Brown", "email": "c@x.io"}
    )["order_id"]
    base = f"/store/{store.store_a}/open"
    for typed in ("Brown Carlos", "carlos  BROWN", "brown", "Carlos Brown"):
        words = text_of(client.get(base, params={"q": typed}))
        assert f"Order {carlos}" in words and "1 order matching" in words, typed
    for typed in ("Brown Grace", "Carlos%Brown", "Carlos_Brown", "Brown_ Carlos"):
        assert f"Order {carlos}" not in text_of(client.get(base, params={"q": typed})), typed
    shirt = text_of(client.get(base, params={"q": "shirt LINEN"}))
    assert "3 orders matching" in shirt

    found = client.get("/api/v1/orders", params={"q": "Brown Carlos"}, headers=admin)
    assert found.status_code == 200, found.text
    assert [o["order_id"] for o in found.json()["items"]] == [carlos]
    levels, total = inventory.stock_at(context, store.store_a, SYSTEM, text="shirt Linen")
    assert total == 1 and levels[0][0].id == store.product


# Long lists -----------------------------------------------------------------------------------


def test_paging_keeps_the_search_on_every_page_and_tab(
    client: TestClient, admin: dict[str, str], store: Store
) -> None:
    count_stock(client, admin, store.store_a, store.product, 40)
    for _ in range(11):
        create(
            client,
            admin,
            [(store.product, 1)],
            customer={"name": "Carlos Brown", "email": "c@x.io"},
        )
    base = f"/store/{store.store_a}/open"
    first = client.get(base, params={"q": "brown carlos"})
    assert "11 orders matching" in text_of(first) and "Page 1 of 2" in text_of(first)
    following = re.search(r'href="([^"]*)" rel="next"', first.text)
    assert following
    second = client.get(html.unescape(following.group(1)))
    assert second.url.params["q"] == "brown carlos" and second.url.params["page"] == "2"
    assert second.text.count('class="card"') == 1 and "Page 2 of 2" in text_of(second)
    previous = re.search(r'href="([^"]*)" rel="prev"', second.text)
    assert previous and "q=brown+carlos" in previous.group(1)
    nav = second.text.split('<nav class="tabs"', 1)[1].split("</nav>", 1)[0]
    tabs = re.findall(r'href="([^"]*)"', nav)
    assert len(tabs) == 3 and all("q=brown%20carlos" in t for t in tabs)


def test_the_item_line_shows_the_picture_where_the_catalog_has_one(
    client: TestClient, admin: dict[str, str], store: Store
) -> None:
    pictured = put_product(
        client, admin, name="Canvas tote", image_url="https://images.example.com/tote.png"
    )
    count_stock(client, admin, store.store_a, pictured, 2)
    order = create(client, admin, [(pictured, 1)])["order_id"]
    page = client.get(f"/store/{store.store_a}/open")
    with_picture = card_of(page, order)
    assert re.search(
        r'<img class="thumb" src="https://images.example.com/tote.png" alt="Canvas tote"',
        with_picture,
    )
    assert "<img" not in card_of(page, store.orders[0])
    assert "thumb placeholder" not in page.text


# An admin on a store page ---------------------------------------------------------------------


def test_an_admin_acting_on_a_store_page_returns_to_the_same_search_and_page(
    client: TestClient, admin: dict[str, str], context: Context, store: Store
) -> None:
    count_stock(client, admin, store.store_a, store.product, 40)
    made = [
        create(
            client,
            admin,
            [(store.product, 1)],
            customer={"name": "Carlos Brown", "email": "c@x.io"},
        )["order_id"]
        for _ in range(12)
    ]
    client.cookies.clear()
    sign_in(client, person(context, Role.ADMIN))
    here = f"/store/{store.store_a}/open?q=carlos+brown&page=2"
    page = client.get(here)
    assert "Page 2 of 2" in text_of(page)
    oldest = made[0]  # newest first: the oldest two are on page 2
    _, action, fields = step_form(page, oldest, "start")
    assert fields["back"] == f"/store/{store.store_a}/open?q=carlos+brown&page=2"
    done = post_form(client, page, action, back=fields["back"])
    assert str(done.url).endswith(here) and f"Order {oldest} started" in text_of(done)

    listing = client.get(f"/store/{store.store_a}/in-progress?q=carlos+brown")
    _, pack, pack_fields = step_form(listing, oldest, "pack")
    asked = client.get(pack, params=pack_fields)
    packed = post_form(client, asked, pack, back=pack_fields["back"])
    assert packed.url.params["q"] == "carlos brown" and packed.url.path.endswith("/in-progress")
