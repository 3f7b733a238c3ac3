"""The admin's orders: search by part of the id, name or email, by item state and facility, a
page at a time; and the order page's rejections with their stock effect and its notifications
with each delivery's status."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from reroute.domain.access import Role
from reroute.pages import admin as admin_pages
from reroute.services.context import Context
from tests.integration.conftest import MakeWorker
from tests.integration.receiver import Receiver, deliver_until, subscribe
from tests.pages_support import Store, cheap_hashes, person, sign_in, text_of, two_stores
from tests.support import order_body

pytestmark = pytest.mark.usefixtures(cheap_hashes.__name__)


@pytest.fixture
def store(client: TestClient, context: Context, admin: dict[str, str]) -> Store:
    made = two_stores(client, admin)
    sign_in(client, person(context, Role.ADMIN))
    return made


def reject(client: TestClient, admin: dict[str, str], order_id: str, reason: str) -> None:
    order = client.get(f"/api/v1/orders/{order_id}", headers=admin).json()
    shipment = order["items"][0]["shipment_id"]
    answer = client.post(
        f"/api/v1/shipments/{shipment}/items/1/reject", json={"reason_id": reason}, headers=admin
    )
    assert answer.status_code == 200, answer.text


def listed(page_text: str) -> list[str]:
    """The order ids of a search's result table, in order."""
    return re.findall(r'<td><a class="row-link" href="/admin/orders/([^"]+)">', page_text)


def test_orders_are_found_by_part_of_the_id_the_name_or_the_email(
    client: TestClient, admin: dict[str, str], store: Store
) -> None:
    other = order_body([(store.product, 1)], customer={"name": "Carlos Brown", "email": "cb@y.io"})
    assert client.post("/api/v1/orders", json=other, headers=admin).status_code == 201
    first, second = store.orders

    by_name = client.get("/admin/orders", params={"q": "grace"})
    assert by_name.status_code == 200
    assert sorted(listed(by_name.text)) == sorted([first, second])
    assert "Grace 0" in text_of(by_name) and 'value="grace"' in by_name.text
    by_email = client.get("/admin/orders", params={"q": "CB@Y"})
    assert listed(by_email.text) == [other["order_id"]]
    by_part_of_id = client.get("/admin/orders", params={"q": first[2:-1]})
    assert listed(by_part_of_id.text) == [first]
    nothing = client.get("/admin/orders", params={"q": "zebra"})
    assert listed(nothing.text) == []
    assert "none whose id, customer name or email holds “zebra”" in text_of(nothing)


def test_an_exact_id_opens_the_order_and_filters_narrow_by_item_state_and_facility(
    client: TestClient, admin: dict[str, str], store: Store
) -> None:
    first, second = store.orders
    opened = client.get("/admin/orders", params={"q": first})
    assert opened.url.path == f"/admin/orders/{first}"
    reject(client, admin, first, "DAMAGED")  # moves to Bucktown; the second stays

    at_b = client.get("/admin/orders", params={"facility": store.store_b})
    assert listed(at_b.text) == [first]
    at_a = client.get("/admin/orders", params={"facility": store.store_a, "state": "ready"})
    assert listed(at_a.text) == [second]
    # An exact id with a filter searches rather than opens.
    narrowed = client.get("/admin/orders", params={"q": first, "facility": store.store_a})
    assert narrowed.url.path == "/admin/orders" and listed(narrowed.text) == []
    none_packed = client.get("/admin/orders", params={"q": "grace", "state": "packed"})
    assert listed(none_packed.text) == []
    assert "No order matches “grace” with an item packed" in text_of(none_packed)


def test_a_filter_not_on_the_lists_is_a_422_that_keeps_the_search(
    client: TestClient, store: Store
) -> None:
    bad_state = client.get("/admin/orders", params={"q": "grace", "state": "lost"})
    assert bad_state.status_code == 422
    assert "Choose an item state from the list." in text_of(bad_state)
    assert 'value="grace"' in bad_state.text
    bad_facility = client.get("/admin/orders", params={"facility": "nowhere"})
    assert bad_facility.status_code == 422
    assert "Choose a facility from the list." in text_of(bad_facility)
    bad_cursor = client.get("/admin/orders", params={"q": "grace", "cursor": "bm90IGEgY3Vyc29y"})
    assert bad_cursor.status_code == 422
    assert "That page link is out of date" in text_of(bad_cursor)
    assert 'value="grace"' in bad_cursor.text


def test_search_results_page_by_cursor_and_every_page_keeps_the_filters(
    client: TestClient, admin: dict[str, str], store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(admin_pages, "ORDER_PAGE", 1)
    other = order_body([(store.product, 1)], customer={"name": "Carlos Brown", "email": "cb@y.io"})
    assert client.post("/api/v1/orders", json=other, headers=admin).status_code == 201
    seen = []
    page = client.get("/admin/orders", params={"q": "grace", "state": "ready"})
    for _ in range(5):  # two pages expected; bounded all the same
        seen += listed(page.text)
        found = re.search(r'<a href="(/admin/orders\?[^"]+)" rel="next">', page.text)
        if found is None:
            break
        url = found.group(1).replace("&amp;", "&")
        assert "q=grace" in url and "state=ready" in url
        page = client.get(url)
        assert "First page" in text_of(page)
    assert seen == store.orders


def test_the_order_page_shows_each_rejection_s_effect_on_stock(
    client: TestClient, admin: dict[str, str], store: Store
) -> None:
    first, second = store.orders
    # Andersonville holds 5 with 2 promised; "not in stock" takes both back and zeroes it.
    reject(client, admin, first, "NOT_IN_STOCK")
    page = client.get(f"/admin/orders/{first}")
    words = text_of(page)
    assert "Rejections and their stock effect" in words
    assert "Item 1 qty 1 Not in stock" in words
    assert "stock 5 → 0 at Andersonville · available 5 → 0" in words
    taken_along = text_of(client.get(f"/admin/orders/{second}"))
    assert "(taken along)" in taken_along
    assert "stock unchanged (5 on hand) at Andersonville" in taken_along
    # Its reservation went back after the rejected item's (available 3 → 4), before the zeroing.
    assert "reservation given back: available 4 → 5" in taken_along


def test_the_order_page_lists_its_notifications_with_each_delivery_s_status(
    client: TestClient,
    context: Context,
    admin: dict[str, str],
    receiver: Receiver,
    make_worker: MakeWorker,
) -> None:
    subscribe(client, admin, receiver, ["ready_shipment"])
    dead = client.post(
        "/api/v1/webhooks",
        json={"url": "http://127.0.0.1:9/gone", "event_types": ["ready_shipment"]},
        headers=admin,
    )
    assert dead.status_code == 201, dead.text
    store = two_stores(client, admin, orders=1)
    sign_in(client, person(context, Role.ADMIN))
    order_id = store.orders[0]
    waiting = text_of(client.get(f"/admin/orders/{order_id}"))
    assert "Notifications sent" in waiting
    assert f"{receiver.url}: pending · 0 attempts" in waiting

    worker = make_worker(schedule=(0.0,))  # one attempt each, then failed
    assert deliver_until(worker, lambda: len(receiver.unique) == 1, 10)
    deliver_until(worker, lambda: False, 0.3)
    page = client.get(f"/admin/orders/{order_id}")
    words = text_of(page)
    assert re.search(r"ready_shipment msg_\w+", words)
    assert f"{receiver.url}: delivered · 1 attempt · last answer 204" in words
    assert "http://127.0.0.1:9/gone: failed · 1 attempt" in words
    assert page.text.count('class="badge delivery-') == 2


def test_an_order_without_rejections_or_endpoints_says_so(client: TestClient, store: Store) -> None:
    words = text_of(client.get(f"/admin/orders/{store.orders[0]}"))
    assert "No item of this order was rejected." in words
    assert re.search(r"ready_shipment msg_\w+ \S+ \S+ UTC No endpoint takes this event.", words)
