"""The store pages through their forms: lists, search, paging, Start/Pack/Fulfill, and
Report an issue with its server-counted confirmation and the notice of where items went."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import select, update

from reroute.domain.access import Role
from reroute.domain.clock import utcnow
from reroute.services.context import Context
from reroute.storage.tables import rejections, shipments
from tests.pages_support import (
    Store,
    cheap_hashes,
    person,
    post_form,
    sign_in,
    text_of,
    two_stores,
)
from tests.support import count_stock, order_body, put_product

pytestmark = pytest.mark.usefixtures(cheap_hashes.__name__)


def links(page: Response, pattern: str) -> list[str]:
    return [html.unescape(h) for h in re.findall(r'href="([^"]*' + pattern + r'[^"]*)"', page.text)]


def actions(page: Response, pattern: str) -> list[str]:
    return re.findall(r'action="([^"]*' + pattern + r')"', page.text)


def report_link(page: Response, order_id: str) -> str:
    """The Report-an-issue link on the card of `order_id`."""
    card = page.text.split(f">Order {order_id}<", 1)[1].split("</article>", 1)[0]
    found = re.search(r'href="([^"]*/report\?back=[^"]*)"', card)
    assert found, f"no Report an issue on order {order_id}"
    return html.unescape(found.group(1))


def report(client: TestClient, store: Store, order_id: str, reason: str, **extra: str) -> Response:
    """Report an issue up to the confirmation page; answers that page."""
    page = client.get(f"/store/{store.store_a}/open")
    form = client.get(report_link(page, order_id))
    back = re.search(r'name="back" value="([^"]+)"', form.text)
    assert back is not None
    confirm = actions(form, "/confirm")[0]
    return post_form(client, form, confirm, reason_id=reason, back=back.group(1), **extra)


def save(client: TestClient, confirmation: Response) -> Response:
    fields = dict(re.findall(r'name="(reason_id|comment|back)" value="([^"]*)"', confirmation.text))
    action = actions(confirmation, "/report")[0]
    return post_form(
        client, confirmation, action, **{k: html.unescape(v) for k, v in fields.items()}
    )


@pytest.fixture
def store(client: TestClient, context: Context, admin: dict[str, str]) -> Store:
    made = two_stores(client, admin)
    sign_in(client, person(context, Role.ASSOCIATE, [made.store_a]))
    return made


def test_the_open_list_shows_each_order_card_with_customer_method_and_items(
    client: TestClient, store: Store
) -> None:
    page = client.get(f"/store/{store.store_a}/open")
    words = text_of(page)
    assert page.status_code == 200
    for order_id in store.orders:
        assert f"Order {order_id}" in words
    assert "Grace 0" in words and "standard" in words and store.product_name in words
    assert "Qty 1" in words and words.count("Report an issue") == 2
    assert "Open 2" in words and "In progress 0" in words and "Completed 0" in words


def test_search_finds_an_order_by_id_customer_sku_upc_or_product_name(
    client: TestClient, context: Context, admin: dict[str, str], store: Store
) -> None:
    product = client.get(f"/api/v1/products/{store.product}", headers=admin).json()
    base = f"/store/{store.store_a}/open"
    for query in (store.orders[1], "grace 1", product["sku"], product["upc"], "LINEN SHIRT"):
        words = text_of(client.get(base, params={"q": query}))
        assert f"Order {store.orders[1]}" in words, query
    words = text_of(client.get(base, params={"q": "grace 0"}))
    assert f"Order {store.orders[1]}" not in words and f"Order {store.orders[0]}" in words
    assert "Nothing on Open matches “no such thing”" in text_of(
        client.get(base, params={"q": "no such thing"})
    )


def test_a_long_list_is_paged(client: TestClient, admin: dict[str, str], store: Store) -> None:
    count_stock(client, admin, store.store_a, store.product, 30)
    for _ in range(10):
        body = order_body([(store.product, 1)])
        assert client.post("/api/v1/orders", json=body, headers=admin).status_code == 201
    first = client.get(f"/store/{store.store_a}/open")
    assert "Page 1 of 2" in text_of(first) and "12 orders" in text_of(first)
    second = client.get(links(first, "page=2")[0])
    assert second.text.count('class="card"') == 2
    assert first.text.count('class="card"') == 10


def test_start_pack_and_fulfill_move_an_order_through_the_lists(
    client: TestClient, context: Context, store: Store
) -> None:
    page = client.get(f"/store/{store.store_a}/open")
    start = actions(page, "/start")[0]  # the newest order comes first
    moved = post_form(client, page, start, back=f"/store/{store.store_a}/open")
    assert f"Order {store.orders[1]} started: it is on the In progress list" in text_of(moved)
    assert "Open 1" in text_of(moved)
    in_progress = client.get(f"/store/{store.store_a}/in-progress")
    assert "In progress 1" in text_of(in_progress)
    pack = actions(in_progress, "/pack")[0]
    post_form(client, in_progress, pack, back=f"/store/{store.store_a}/in-progress")
    completed = client.get(f"/store/{store.store_a}/completed")
    assert "Completed 1" in text_of(completed) and "packed" in text_of(completed)
    assert "Report an issue" not in text_of(completed)
    fulfilled = post_form(client, completed, actions(completed, "/fulfill")[0], back="")
    words = text_of(client.get(f"/store/{store.store_a}/completed"))
    assert "fulfilled" in text_of(fulfilled) and "Completed 1" in words
    again = post_form(client, completed, actions(completed, "/fulfill")[0], back="")
    assert "Nothing was changed" in text_of(again)

    with context.db.transaction(write=True) as conn:  # fulfilled yesterday: not today's list
        conn.execute(update(shipments).values(updated_at=utcnow() - timedelta(days=1)))
    assert "Completed 0" in text_of(client.get(f"/store/{store.store_a}/completed"))


def test_fulfil_from_the_completed_list_keeps_the_carrier_and_tracking_number(
    client: TestClient, admin: dict[str, str], store: Store
) -> None:
    page = client.get(f"/store/{store.store_a}/open")
    for step, tab in (("/start", "open"), ("/pack", "in-progress")):
        page = client.get(f"/store/{store.store_a}/{tab}")
        post_form(client, page, actions(page, step)[0], back="")
    completed = client.get(f"/store/{store.store_a}/completed")
    asked = client.get(actions(completed, "/fulfill")[0], params={"back": ""})
    assert 'name="tracking_number"' in asked.text and 'name="carrier"' in asked.text
    target = actions(completed, "/fulfill")[0]
    shipment = target.split("/shipments/")[1].split("/")[0]
    done = post_form(client, completed, target, back="", carrier="FedEx", tracking_number="7712")
    assert "fulfilled" in text_of(done)
    assert "FedEx 7712" in text_of(client.get(f"/store/{store.store_a}/completed"))
    shown = client.get(f"/api/v1/shipments/{shipment}", headers=admin).json()
    assert shown["tracking"] == {
        "carrier": "FedEx",
        "tracking_number": "7712",
        "tracking_url": None,
    }


def test_report_an_issue_offers_the_active_reasons_in_sequence_without_system_ones(
    client: TestClient, admin: dict[str, str], store: Store
) -> None:
    hidden = {"label": "Wrong size", "inventory_effect": "none", "decline_code": "107"}
    body = {**hidden, "decline_description": "Wrong size", "sequence": 1, "active": False}
    assert client.put("/api/v1/rejection-reasons/WRONG_SIZE", json=body, headers=admin)
    page = client.get(report_link(client.get(f"/store/{store.store_a}/open"), store.orders[0]))
    offered = re.findall(r'name="reason_id" value="([^"]+)"', page.text)
    assert offered == ["NOT_IN_STOCK", "MISMATCH", "DAMAGED", "WORN_DISPLAY", "STORE_CAPACITY"]
    for label in ("Reason", "Comment", "Continue"):
        assert label in text_of(page)


def test_not_in_stock_confirms_the_cascade_then_both_orders_leave_for_the_next_store(
    client: TestClient, context: Context, store: Store
) -> None:
    confirmation = report(client, store, store.orders[0], "NOT_IN_STOCK", comment="shelf empty")
    words = text_of(confirmation)
    assert confirmation.status_code == 200
    assert f"Report {store.product_name}" in words and "as Not in stock?" in words
    assert "1 other order with this product here will be taken back" in words
    assert "stock of it is set to 0" in words and "“shelf empty”" in words

    done = save(client, confirmation)
    words = text_of(done)
    assert done.url.path == f"/store/{store.store_a}/open"
    assert f"Reported {store.product_name}: it has left this store." in words
    for order_id in store.orders:
        assert f"Order {order_id}, {store.product_name}: now at Bucktown." in words
    assert "Open 0" in words and "Nothing on Open right now" in words
    with context.db.transaction(write=False) as conn:
        rows = conn.execute(select(rejections.c.order_id, rejections.c.comment)).all()
    assert sorted(rows) == sorted([(store.orders[0], "shelf empty"), (store.orders[1], None)])


def test_a_repeated_save_changes_nothing_and_says_so(client: TestClient, store: Store) -> None:
    confirmation = report(client, store, store.orders[0], "DAMAGED")
    assert "No other order at this store is affected" in text_of(confirmation)
    save(client, confirmation)
    again = save(client, confirmation)
    assert "Nothing was changed" in text_of(again)
    assert "no longer in shipment" in text_of(again)


def test_the_confirmation_counts_a_shortage_exactly_as_the_rejection_takes_it(
    client: TestClient, context: Context, admin: dict[str, str], store: Store
) -> None:
    # Two reserved, a count of 1 leaves ATP at -1: a damaged unit takes the newest one along.
    count_stock(client, admin, store.store_a, store.product, 1)
    confirmation = report(client, store, store.orders[0], "DAMAGED")
    assert "1 other order with this product here will be taken back" in text_of(confirmation)
    words = text_of(save(client, confirmation))
    assert f"Order {store.orders[1]}, {store.product_name}: now at Bucktown." in words


def test_a_system_reason_or_an_unknown_one_is_refused_and_changes_nothing(
    client: TestClient, store: Store
) -> None:
    for reason in ("CASCADE", "AVOID_SPLIT", "NOPE"):
        answer = report(client, store, store.orders[0], reason)
        assert answer.status_code == 422, reason
        assert "Choose one of the reasons listed" in text_of(answer)
    form_page = client.get(f"/store/{store.store_a}/open")
    action = report_link(form_page, store.orders[0]).split("?")[0]
    refused = post_form(client, form_page, action, reason_id="CASCADE", back="")
    assert refused.status_code == 422
    assert "Open 2" in text_of(client.get(f"/store/{store.store_a}/open"))


def test_a_pickup_item_goes_to_customer_care_and_both_pages_say_so(
    client: TestClient, admin: dict[str, str], store: Store
) -> None:
    body = order_body(
        [(store.product, 1)], shipping_method="pickup", pickup_facility_id=store.store_a
    )
    assert client.post("/api/v1/orders", json=body, headers=admin).status_code == 201
    confirmation = report(client, store, body["order_id"], "WORN_DISPLAY")
    assert "goes to customer care" in text_of(confirmation)
    words = text_of(save(client, confirmation))
    assert f"Order {body['order_id']}, {store.product_name}: sent to customer care." in words


def test_a_ship_complete_order_says_the_rest_leaves_with_the_item(
    client: TestClient, admin: dict[str, str], store: Store
) -> None:
    other = put_product(client, admin, name="Wool scarf")
    count_stock(client, admin, store.store_a, other, 3)
    body = order_body([(store.product, 1), (other, 1)], ship_complete=True)
    assert client.post("/api/v1/orders", json=body, headers=admin).status_code == 201
    confirmation = report(client, store, body["order_id"], "MISMATCH")
    assert "The other 1 item of this order leaves with it" in text_of(confirmation)
    words = text_of(save(client, confirmation))
    assert f"Order {body['order_id']}, Wool scarf:" in words


def test_an_item_that_already_left_sends_the_associate_back_with_a_notice(
    client: TestClient, admin: dict[str, str], store: Store
) -> None:
    page = client.get(f"/store/{store.store_a}/open")
    link = report_link(page, store.orders[0])
    shipment = link.split("/shipments/")[1].split("/")[0]
    body = {"reason_id": "DAMAGED"}
    rejected = client.post(f"/api/v1/shipments/{shipment}/items/1/reject", json=body, headers=admin)
    assert rejected.status_code == 200, rejected.text
    answer = client.get(link)
    assert answer.url.path == f"/store/{store.store_a}/open"
    assert "no longer open at this store" in text_of(answer)


def test_an_associate_of_several_stores_can_switch_between_them(
    client: TestClient, context: Context, store: Store
) -> None:
    client.cookies.clear()
    sign_in(client, person(context, Role.ASSOCIATE, [store.store_a, store.store_b]))
    page = client.get(f"/store/{store.store_a}/open")
    assert 'id="facility"' in page.text and "Bucktown" in page.text
    switched = client.get("/store/go", params={"facility": store.store_b, "tab": "completed"})
    assert switched.url.path == f"/store/{store.store_b}/completed"
