"""The report flow of the store pages through their forms, on both databases: a whole
shipment or its marked items in one rejection, a confirmation reached by GET (so Back is
safe), the store's stock in sight and the confirmation's numbers equal to what the rejection
did, bad input answered on the form again, and one comment limit for pages and API."""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import select

from reroute.domain.access import SYSTEM, Role
from reroute.domain.rejection import MAX_COMMENT
from reroute.services import inventory
from reroute.services.context import Context
from reroute.storage.tables import outbox_events, rejections
from tests.integration.test_rejection_api import footprint
from tests.pages_support import cheap_hashes, csrf_of, person, post_form, sign_in, text_of
from tests.support import count_stock, order_body, put_facility, put_product

pytestmark = pytest.mark.usefixtures(cheap_hashes.__name__)
Headers = dict[str, str]


@dataclass
class Shop:
    """Two stores (A nearest) holding three products; one order of all three at A, and
    another order of the first product there too."""

    store_a: str
    store_b: str
    products: list[str]
    names: list[str]
    order: str
    other: str


@pytest.fixture
def shop(client: TestClient, context: Context, admin: Headers) -> Shop:
    a = put_facility(client, admin, name="Andersonville", latitude=41.88, longitude=-87.63)
    b = put_facility(client, admin, name="Bucktown", latitude=41.92, longitude=-87.68)
    names = ["Linen shirt", "Wool scarf", "Felt hat"]
    products = [put_product(client, admin, name=n) for n in names]
    for p in products:
        count_stock(client, admin, a, p, 5)
        count_stock(client, admin, b, p, 5)
    made = []
    for lines in ([(p, 1) for p in products], [(products[0], 2)]):
        body = order_body(lines)
        response = client.post("/api/v1/orders", json=body, headers=admin)
        assert response.status_code == 201, response.text
        assert {i["facility_id"] for i in response.json()["items"]} == {a}
        made.append(body["order_id"])
    sign_in(client, person(context, Role.ASSOCIATE, [a]))
    return Shop(a, b, products, names, made[0], made[1])


def shipment_of(client: TestClient, admin: Headers, order_id: str) -> str:
    order = client.get(f"/api/v1/orders/{order_id}", headers=admin).json()
    shipment_id: str = order["items"][0]["shipment_id"]
    return shipment_id


def card_of(page: Response, order_id: str) -> str:
    return page.text.split(f">Order {order_id}<", 1)[1].split("</article>", 1)[0]


def shipment_link(client: TestClient, shop: Shop, order_id: str) -> str:
    """The card's "Report items…" link (the whole shipment or marked items)."""
    card = card_of(client.get(f"/store/{shop.store_a}/open"), order_id)
    found = re.search(r'href="([^"]*/shipments/[^"/]+/report\?back=[^"]*)"', card)
    assert found, f"no Report items on order {order_id}"
    return html.unescape(found.group(1))


def form_fields(page: Response) -> tuple[str, dict[str, Any]]:
    """The report form's GET action and its fields as the page fills them."""
    action = re.search(r'<form method="get" action="([^"]+/confirm)"', page.text)
    assert action, "no report form"
    back = re.search(r'name="back" value="([^"]*)"', page.text)
    marked = re.findall(r'name="item" value="([^"]+)" checked', page.text)
    fields = {"back": html.unescape(back.group(1)) if back else "", "item": marked}
    return html.unescape(action.group(1)), fields


def confirm(client: TestClient, form: Response, **chosen: Any) -> Response:
    """Submit the report form (a GET, as the browser does) with these choices."""
    action, fields = form_fields(form)
    return client.get(action, params={**fields, **chosen})


def save(client: TestClient, confirmation: Response) -> Response:
    """Press Confirm: the confirmation's one form, posted."""
    form = confirmation.text.split('<form method="post" action="', 2)[-1]
    action = html.unescape(form.split('"', 1)[0])
    data: dict[str, Any] = {}
    for name, value in re.findall(r'name="([a-z_]+)" value="([^"]*)"', form.split("</form>")[0]):
        data.setdefault(name, []).append(html.unescape(value))
    return client.post(action, data=data)


def level(context: Context, facility: str, product: str) -> tuple[int, int]:
    lv = inventory.get_level(context, facility, product, SYSTEM)
    return lv.quantity_on_hand, lv.available_to_promise


def rejected_rows(context: Context) -> list[tuple[str, str, bool]]:
    with context.db.transaction(write=False) as conn:
        rows = conn.execute(
            select(rejections.c.order_id, rejections.c.item_id, rejections.c.cascaded)
        ).all()
    return sorted((r[0], r[1], bool(r[2])) for r in rows)


def declines(context: Context, order_id: str) -> list[dict[str, Any]]:
    with context.db.transaction(write=False) as conn:
        bodies = conn.execute(
            select(outbox_events.c.body)
            .where(outbox_events.c.event_type == "StoreDeclineEvent")
            .where(outbox_events.c.order_id == order_id)
            .order_by(outbox_events.c.id)
        ).scalars()
        return [json.loads(b) for b in bodies]


# Whole shipments and marked items -----------------------------------------------------------


def test_a_card_of_several_items_offers_the_shipment_and_the_form_marks_every_item(
    client: TestClient, shop: Shop
) -> None:
    page = client.get(f"/store/{shop.store_a}/open")
    assert "Report items…" in card_of(page, shop.order)
    assert "Report items…" not in card_of(page, shop.other)  # one item: its own link suffices
    form = client.get(shipment_link(client, shop, shop.order))
    assert form.status_code == 200
    _, fields = form_fields(form)
    assert fields["item"] == ["1", "2", "3"]
    words = text_of(form)
    for name in shop.names:
        assert name in words
    assert "5 on hand · 4 available" in words  # the hat and the scarf: one reserved each
    assert "5 on hand · 2 available" in words  # the shirt: 1 + 2 reserved


def test_the_whole_shipment_is_one_rejection_with_one_decline_for_the_shipment(
    client: TestClient, context: Context, shop: Shop
) -> None:
    form = client.get(shipment_link(client, shop, shop.order))
    confirmation = confirm(client, form, reason_id="MISMATCH", comment="Wrong colour")
    assert confirmation.status_code == 200
    assert urlsplit(str(confirmation.url)).path.endswith("/report/confirm")  # reached by GET
    words = text_of(confirmation)
    assert f"Report the whole shipment of order {shop.order} as Mismatch?" in words
    for name in shop.names:
        assert f"{name}: stock 5 → 4" in words

    done = save(client, confirmation)
    assert done.url.path == f"/store/{shop.store_a}/open"
    words = text_of(done)
    assert f"Reported 3 items of order {shop.order}: they have left this store." in words
    assert rejected_rows(context) == [(shop.order, i, False) for i in ("1", "2", "3")]
    [decline] = declines(context, shop.order)
    assert (decline["reasonCode"], len(decline["data"])) == ("103", 3)
    for p in shop.products:
        assert level(context, shop.store_a, p)[0] == 4


def test_marked_items_leave_together_and_the_unmarked_one_stays(
    client: TestClient, context: Context, admin: Headers, shop: Shop
) -> None:
    form = client.get(shipment_link(client, shop, shop.order))
    confirmation = confirm(client, form, item=["1", "3"], reason_id="DAMAGED")
    words = text_of(confirmation)
    assert f"Report 2 items of order {shop.order} as Damage?" in words
    assert shop.names[1] not in words.split("What will happen")[0]
    done = save(client, confirmation)
    assert f"Reported 2 items of order {shop.order}" in text_of(done)
    assert rejected_rows(context) == [(shop.order, "1", False), (shop.order, "3", False)]
    order = client.get(f"/api/v1/orders/{shop.order}", headers=admin).json()
    where = {i["item_id"]: i["facility_id"] for i in order["items"]}
    assert where == {"1": shop.store_b, "2": shop.store_a, "3": shop.store_b}
    [decline] = declines(context, shop.order)
    assert decline["reasonCode"] is None  # the items' own reasons, not the shipment's
    assert [line["itemID"] for line in decline["data"]] == ["1", "3"]


def test_marked_items_are_one_transaction_one_gone_meanwhile_rejects_none(
    client: TestClient, context: Context, admin: Headers, shop: Shop
) -> None:
    form = client.get(shipment_link(client, shop, shop.order))
    confirmation = confirm(client, form, item=["1", "2"], reason_id="DAMAGED")
    shipment = shipment_of(client, admin, shop.order)
    taken = client.post(
        f"/api/v1/shipments/{shipment}/items/2/reject",
        json={"reason_id": "MISMATCH"},
        headers=admin,
    )
    assert taken.status_code == 200, taken.text
    before = footprint(context)
    done = save(client, confirmation)
    words = text_of(done)
    assert "Nothing was changed" in words and "Item 2 is no longer in shipment" in words
    assert footprint(context) == before
    assert level(context, shop.store_a, shop.products[0]) == (5, 2)


def test_no_item_marked_is_said_on_the_form_and_nothing_is_written(
    client: TestClient, context: Context, shop: Shop
) -> None:
    form = client.get(shipment_link(client, shop, shop.order))
    before = footprint(context)
    action, fields = form_fields(form)
    answer = client.get(action, params={"back": fields["back"], "reason_id": "DAMAGED"})
    assert answer.status_code == 422
    assert "Mark at least one item." in text_of(answer)
    assert 'value="DAMAGED" required checked' in answer.text
    assert footprint(context) == before


# A safe Back -----------------------------------------------------------------------------------


def test_the_form_and_the_confirmation_are_get_pages_and_a_second_look_after_saving_is_plain(
    client: TestClient, context: Context, shop: Shop
) -> None:
    page = client.get(f"/store/{shop.store_a}/open")
    link = re.search(r'href="([^"]*/items/1/report\?back=[^"]*)"', card_of(page, shop.other))
    assert link
    form = client.get(html.unescape(link.group(1)))
    assert '<form method="get" action="' in form.text
    confirmation = confirm(client, form, reason_id="DAMAGED", comment="torn")
    query = parse_qs(urlsplit(str(confirmation.url)).query)
    assert (query["reason_id"], query["comment"]) == (["DAMAGED"], ["torn"])
    # A form posted to the confirmation (an older page's) is sent on to the GET page.
    action, fields = form_fields(form)
    posted = post_form(
        client, form, action, reason_id="DAMAGED", comment="torn", back=fields["back"]
    )
    assert posted.history[0].status_code == 303
    assert parse_qs(posted.url.query.decode()) == parse_qs(urlsplit(str(confirmation.url)).query)
    assert save(client, confirmation).status_code == 200
    rows = rejected_rows(context)
    # Back lands on the confirmation's address again: a GET that says plainly it is done.
    again = client.get(str(confirmation.url))
    assert again.status_code == 200 and again.url.path == f"/store/{shop.store_a}/open"
    words = text_of(again)
    assert "Nothing to report here any more. Nothing was changed." in words
    assert "this item is no longer open at this store" in words
    assert rejected_rows(context) == rows


def test_the_change_link_goes_back_to_the_form_filled(client: TestClient, shop: Shop) -> None:
    form = client.get(shipment_link(client, shop, shop.order))
    confirmation = confirm(client, form, item=["2"], reason_id="DAMAGED", comment="a tear")
    change = re.search(r'href="([^"]+)">Change<', confirmation.text)
    assert change
    refilled = client.get(html.unescape(change.group(1)))
    assert form_fields(refilled)[1]["item"] == ["2"]
    assert 'value="DAMAGED" required checked' in refilled.text
    assert ">a tear</textarea>" in refilled.text


def test_another_stores_shipment_is_absent_on_every_step(
    client: TestClient, context: Context, admin: Headers, shop: Shop
) -> None:
    theirs = put_facility(client, admin)
    client.cookies.clear()
    sign_in(client, person(context, Role.ASSOCIATE, [theirs]))
    shipment = shipment_of(client, admin, shop.order)
    base = f"/store/{theirs}/shipments/{shipment}/report"
    own = client.get(f"/store/{theirs}/open")
    before = footprint(context)
    for answer in (
        client.get(base),
        client.get(f"{base}/confirm", params={"reason_id": "DAMAGED", "item": "1"}),
        post_form(client, own, base, reason_id="DAMAGED", item="1"),
    ):
        assert answer.status_code == 404, answer.text
        assert f"No shipment {shipment}." in text_of(answer)
    assert footprint(context) == before


# Stock in sight ----------------------------------------------------------------------------


def test_the_confirmations_numbers_are_what_the_rejection_then_did(
    client: TestClient, context: Context, shop: Shop
) -> None:
    form = client.get(shipment_link(client, shop, shop.order))
    confirmation = confirm(client, form, item=["1"], reason_id="NOT_IN_STOCK")
    words = text_of(confirmation)
    stock = re.search(rf"{shop.names[0]}: stock (\d+) → (\d+) · available (-?\d+) → (-?\d+)", words)
    assert stock, words
    cascade = re.search(r"(\d+) other orders? with this product here will be taken back", words)
    assert cascade, words
    assert stock.groups() == ("5", "0", "2", "0")
    assert cascade.group(1) == "1"

    save(client, confirmation)
    qoh, atp = level(context, shop.store_a, shop.products[0])
    assert (str(qoh), str(atp)) == (stock.group(2), stock.group(4))
    cascaded = {o for o, _, c in rejected_rows(context) if c and o != shop.order}
    assert len(cascaded) == int(cascade.group(1))


# Bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("chosen", "message"),
    [
        ({"comment": "shelf empty"}, "Choose a reason."),
        ({"reason_id": "LOST_IN_SPACE", "comment": "shelf empty"}, "Choose one of the reasons"),
        ({"reason_id": "CASCADE", "comment": "shelf empty"}, "Choose one of the reasons listed."),
        (
            {"reason_id": "DAMAGED", "comment": "x" * (MAX_COMMENT + 1)},
            "Keep the comment under 1,000 characters (it has 1,001).",
        ),
        ({"reason_id": "DAMAGED", "comment": "shelf\x00 empty"}, "invisible NUL character"),
    ],
    ids=["no-reason", "unknown-reason", "system-reason", "too-long", "nul"],
)
def test_bad_input_ends_on_the_form_filled_with_a_plain_message_and_writes_nothing(
    client: TestClient, context: Context, shop: Shop, chosen: dict[str, str], message: str
) -> None:
    page = client.get(f"/store/{shop.store_a}/open")
    link = re.search(r'href="([^"]*/items/1/report\?back=[^"]*)"', card_of(page, shop.other))
    assert link
    form = client.get(html.unescape(link.group(1)))
    before = footprint(context)
    action, fields = form_fields(form)
    confirm_page = client.get(action, params={"back": fields["back"], **chosen})
    token = csrf_of(form)
    saved = client.post(action.removesuffix("/confirm"), data={"csrf_token": token, **chosen})
    for answer in (confirm_page, saved):
        assert answer.status_code == 422
        assert answer.headers["content-type"].startswith("text/html")
        words = text_of(answer)
        assert message in words
        assert "Report an issue" in words and "Continue" in words  # the form, again
        assert "Check comment" not in words and "reason_id" not in words.replace(
            'name="reason_id"', ""
        )
        typed = chosen["comment"].replace("\x00", "")
        assert f">{html.escape(typed)}</textarea>" in answer.text.replace("&#39;", "'")
        if chosen.get("reason_id") == "DAMAGED":
            assert 'value="DAMAGED" required checked' in answer.text
    assert footprint(context) == before


def test_a_comment_of_the_limit_is_kept_on_pages_and_in_the_api_one_more_is_refused_by_both(
    client: TestClient, context: Context, admin: Headers, shop: Shop
) -> None:
    longest = "y" * MAX_COMMENT
    shipment = shipment_of(client, admin, shop.order)
    form = client.get(shipment_link(client, shop, shop.order))
    confirmation = confirm(client, form, item=["1"], reason_id="DAMAGED", comment=longest)
    assert confirmation.status_code == 200
    save(client, confirmation)
    url = f"/api/v1/shipments/{shipment}/items/2/reject"
    too_long = client.post(
        url, json={"reason_id": "DAMAGED", "comment": longest + "y"}, headers=admin
    )
    assert too_long.status_code == 422
    kept = client.post(url, json={"reason_id": "DAMAGED", "comment": longest}, headers=admin)
    assert kept.status_code == 200, kept.text
    with context.db.transaction(write=False) as conn:
        comments = conn.execute(select(rejections.c.comment)).scalars().all()
    assert comments == [longest, longest]


# The API's marked items --------------------------------------------------------------------


def test_the_api_rejects_only_the_item_ids_given_in_one_transaction(
    client: TestClient, context: Context, admin: Headers, shop: Shop
) -> None:
    shipment = shipment_of(client, admin, shop.order)
    url = f"/api/v1/shipments/{shipment}/reject"
    before = footprint(context)
    unknown = client.post(url, json={"reason_id": "DAMAGED", "item_ids": ["1", "9"]}, headers=admin)
    assert unknown.status_code == 404, unknown.text
    empty = client.post(url, json={"reason_id": "DAMAGED", "item_ids": []}, headers=admin)
    assert empty.status_code == 422
    assert footprint(context) == before

    answer = client.post(url, json={"reason_id": "DAMAGED", "item_ids": ["3", "1"]}, headers=admin)
    assert answer.status_code == 200, answer.text
    assert sorted(r["item_id"] for r in answer.json()["rejected"]) == ["1", "3"]
    assert [lv["product_id"] for lv in answer.json()["levels"]] == [
        shop.products[2],
        shop.products[0],
    ]
    assert declines(context, shop.order)[0]["reasonCode"] is None
    rest = client.post(url, json={"reason_id": "DAMAGED", "item_ids": ["2"]}, headers=admin)
    assert rest.status_code == 200, rest.text
    # Naming every open item left is the whole shipment: one decline carrying its reason.
    assert declines(context, shop.order)[1]["reasonCode"] == "104"
