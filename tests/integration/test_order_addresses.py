"""Orders as commerce platforms send them: a full ship-to, no coordinates, their own ids and
order data; located from the ZIP code, or handed to customer care when it cannot be."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from reroute.domain.access import Role
from reroute.services.context import Context
from reroute.storage.tables import order_history, order_items, orders
from tests.conftest import make_token
from tests.pages_support import cheap_hashes, person, sign_in, text_of
from tests.servers import servers
from tests.support import count_stock, new_id, order_body, put_facility, put_product

#: The centre of ZIP code 60601 (Chicago Loop), as the zipcodes package gives it.
ZIP_60601 = (41.8858, -87.6181)

SHOPIFY_SHIP_TO: dict[str, Any] = {
    "name": "Grace Hopper",
    "company": "Navy Yard",
    "phone": "+1 312 555 0199",
    "email": "grace@example.com",
    "line1": "100 E Randolph St",
    "line2": None,  # platforms send null for an empty line
    "city": "Chicago",
    "region": "IL",
    "postal_code": "60601-1234",
    "country": "us",
}


def path_of(text: str) -> str:
    return quote(text, safe="")


def platform_order(product: str, **overrides: Any) -> dict[str, Any]:
    body = order_body([(product, 2)], ship_to=dict(SHOPIFY_SHIP_TO))
    body.update(
        order_id=f"gid://shopify/Order/{new_id('')[1:]}",
        external_id="#1001",
        channel="web",
        notes="Leave with the doorman.",
        tags=["vip", "gift"],
        attributes={"gift_wrap": "yes", "source": "instagram"},
    )
    body["items"][0].update(
        item_id=f"gid://shopify/LineItem/{new_id('')[1:]}", unit_price="19.90", currency="usd"
    )
    body.update(overrides)
    return body


def stocked_store(client: TestClient, admin: dict[str, str], at: tuple[float, float]) -> str:
    product = put_product(client, admin)
    store = put_facility(client, admin, latitude=at[0], longitude=at[1])
    count_stock(client, admin, store, product, 100)
    return product


def counts(context: Context) -> tuple[int, ...]:
    with context.db.transaction(write=False) as conn:
        return tuple(
            int(conn.execute(select(func.count()).select_from(t)).scalar_one())
            for t in (orders, order_items, order_history)
        )


def test_a_platform_order_is_taken_whole_and_read_back_with_every_field(
    client: TestClient, admin: dict[str, str]
) -> None:
    product = put_product(client, admin)
    body = platform_order(product)
    created = client.post("/api/v1/orders", json=body, headers=admin)
    assert created.status_code == 201, created.text
    read = client.get(f"/api/v1/orders/{path_of(body['order_id'])}", headers=admin)
    assert read.status_code == 200, read.text
    order = read.json()
    assert order["order_id"] == body["order_id"]
    ship_to = order["ship_to"]
    assert {k: ship_to[k] for k in ("name", "company", "phone", "email", "line1", "city")} == {
        k: SHOPIFY_SHIP_TO[k] for k in ("name", "company", "phone", "email", "line1", "city")
    }
    assert (ship_to["line2"], ship_to["region"], ship_to["country"]) == ("", "IL", "US")
    assert ship_to["postal_code"] == "60601-1234"
    assert (order["external_id"], order["channel"], order["notes"]) == (
        "#1001",
        "web",
        "Leave with the doorman.",
    )
    assert order["tags"] == ["vip", "gift"]
    assert order["attributes"] == {"gift_wrap": "yes", "source": "instagram"}
    item = order["items"][0]
    assert item["item_id"] == body["items"][0]["item_id"]
    assert (item["unit_price"], item["currency"]) == ("19.9", "USD")


def test_a_us_address_without_coordinates_is_placed_at_its_zip_and_routed_to_the_nearest_store(
    client: TestClient, admin: dict[str, str]
) -> None:
    product = put_product(client, admin)
    near = put_facility(client, admin, latitude=ZIP_60601[0] + 0.01, longitude=ZIP_60601[1])
    far = put_facility(client, admin, latitude=ZIP_60601[0] + 0.5, longitude=ZIP_60601[1])
    for store in (near, far):
        count_stock(client, admin, store, product, 5)
    response = client.post("/api/v1/orders", json=platform_order(product), headers=admin)
    assert response.status_code == 201, response.text
    order = response.json()
    assert (order["ship_to"]["latitude"], order["ship_to"]["longitude"]) == ZIP_60601
    assert [(i["state"], i["facility_id"]) for i in order["items"]] == [("ready", near)]
    created = [h for h in order["history"] if h["event"] == "created"]
    assert created[0]["note"] == "Ship-to located at the centre of ZIP code 60601."


@pytest.mark.parametrize(
    ("ship_to", "why"),
    [
        ({"postal_code": "99999", "country": "US"}, "ZIP code 99999 is not known in US"),
        ({"postal_code": "10115", "country": "DE", "city": "Berlin"}, "addresses in DE"),
        ({"postal_code": "", "country": "US"}, "no postal code"),
        ({"postal_code": "09001", "country": "US"}, "has no location"),  # an APO address
        ({"postal_code": "60601"}, "without a country"),
    ],
)
def test_an_address_that_cannot_be_located_is_taken_and_its_items_go_to_customer_care(
    client: TestClient, admin: dict[str, str], ship_to: dict[str, str], why: str
) -> None:
    product = stocked_store(client, admin, ZIP_60601)
    body = order_body([(product, 1), (product, 2)], ship_to={"name": "Ada", **ship_to})
    response = client.post("/api/v1/orders", json=body, headers=admin)
    assert response.status_code == 201, response.text
    order = response.json()
    assert [i["state"] for i in order["items"]] == ["customer_care", "customer_care"]
    assert order["ship_to"]["latitude"] is None
    held = [h for h in order["history"] if h["event"] == "customer_care"]
    assert [(h["item_id"], h["from_state"], h["to_state"]) for h in held] == [
        ("1", "queued", "customer_care"),
        ("2", "queued", "customer_care"),
    ]
    assert len({h["note"] for h in held}) == 1
    note = held[0]["note"]
    assert note.startswith("Ship-to could not be located: ") and why in note, note
    assert order["shipments"] == []
    # A later routing run leaves them with the person who must check the address.
    assert client.post("/api/v1/routing/runs", headers=admin).status_code == 200
    again = client.get(f"/api/v1/orders/{body['order_id']}", headers=admin).json()
    assert [i["state"] for i in again["items"]] == ["customer_care", "customer_care"]


def test_a_pickup_order_needs_no_location(client: TestClient, admin: dict[str, str]) -> None:
    product = put_product(client, admin)
    store = put_facility(client, admin)
    count_stock(client, admin, store, product, 3)
    body = order_body(
        [(product, 1)], shipping_method="pickup", pickup_facility_id=store, ship_to={}
    )
    response = client.post("/api/v1/orders", json=body, headers=admin)
    assert response.status_code == 201, response.text
    assert [i["state"] for i in response.json()["items"]] == ["ready"]


def test_the_same_platform_order_again_answers_200_and_a_changed_one_409(
    client: TestClient, admin: dict[str, str], context: Context
) -> None:
    product = put_product(client, admin)
    body = platform_order(product)
    assert client.post("/api/v1/orders", json=body, headers=admin).status_code == 201
    before = counts(context)
    assert client.post("/api/v1/orders", json=body, headers=admin).status_code == 200
    changes: list[dict[str, Any]] = [
        {"tags": ["vip"]},
        {"attributes": {"gift_wrap": "no"}},
        {"notes": "Ring twice."},
        {"external_id": "#1002"},
        {"channel": "pos"},
        {"ship_to": {**SHOPIFY_SHIP_TO, "company": "Other"}},
        {"items": [{**body["items"][0], "unit_price": "18.00"}]},
    ]
    for change in changes:
        response = client.post("/api/v1/orders", json={**body, **change}, headers=admin)
        assert response.status_code == 409, (change, response.text)
    assert counts(context) == before


def test_an_order_in_the_former_shape_hashes_as_it_did() -> None:
    """Orders created before the new fields still answer 200 to the same body."""
    import hashlib
    import json

    from reroute.api.schemas.orders import OrderIn

    body = order_body([("P-1", 1)], order_id="O-1")
    former = {
        "order_id": "O-1",
        "catalog_id": "0",
        "customer": {"name": "Ada Lovelace", "email": "ada@example.com"},
        "shipping_method": "standard",
        "pickup_facility_id": None,
        "ship_complete": False,
        "inventory_based": True,
        "priority": 0,
        "ship_to": {
            "line1": "",
            "line2": "",
            "city": "Chicago",
            "region": "",
            "postal_code": "",
            "country": "",
            "latitude": 41.88,
            "longitude": -87.63,
        },
        "items": [{"item_id": "1", "product_id": "P-1", "quantity": 1}],
    }
    canonical = json.dumps(former, sort_keys=True, separators=(",", ":"))
    assert (
        OrderIn.model_validate(body).body_hash() == hashlib.sha256(canonical.encode()).hexdigest()
    )


BAD_FIELDS: list[tuple[dict[str, Any], str]] = [
    ({"ship_to": {"country": "XX"}}, "ship_to.country"),
    ({"ship_to": {"country": "USA"}}, "ship_to.country"),
    ({"ship_to": {"postal_code": "1" * 21}}, "ship_to.postal_code"),
    ({"ship_to": {"phone": "1" * 41}}, "ship_to.phone"),
    ({"ship_to": {"email": "not-an-email"}}, "ship_to.email"),
    ({"ship_to": {"latitude": 41.0, "longitude": None}}, "ship_to"),
    ({"tags": ["x"] * 51}, "tags"),
    ({"tags": [""]}, "tags.0"),
    ({"tags": ["x" * 101]}, "tags.0"),
    ({"attributes": {f"k{n}": "v" for n in range(51)}}, "attributes"),
    ({"attributes": {"k": "v" * 1001}}, "attributes.k"),
    ({"attributes": {"k" * 101: "v"}}, "attributes"),
    ({"attributes": {"k": 1}}, "attributes.k"),
    ({"external_id": "x" * 256}, "external_id"),
    ({"channel": "x" * 65}, "channel"),
    ({"notes": "x" * 5001}, "notes"),
    ({"order_id": "x" * 256}, "order_id"),
    ({"order_id": "tab\there"}, "order_id"),
    ({"order_id": ""}, "order_id"),
]
BAD_ITEMS: list[tuple[dict[str, Any], str]] = [
    ({"unit_price": "-1", "currency": "USD"}, "items.0.unit_price"),
    ({"unit_price": "abc", "currency": "USD"}, "items.0.unit_price"),
    ({"unit_price": "1.00001", "currency": "USD"}, "items.0.unit_price"),
    ({"unit_price": "9.99", "currency": "ABC"}, "items.0.currency"),
    ({"unit_price": "9.99"}, "items.0.currency"),
    ({"currency": "USD"}, "items.0.currency"),
    ({"item_id": "line\nbreak"}, "items.0.item_id"),
]


def test_out_of_bounds_platform_fields_answer_422_at_their_path_and_write_nothing(
    client: TestClient, admin: dict[str, str], context: Context, subtests: pytest.Subtests
) -> None:
    product = put_product(client, admin)
    before = counts(context)
    cases = [(change, path, False) for change, path in BAD_FIELDS]
    cases += [(change, path, True) for change, path in BAD_ITEMS]
    for change, path, in_item in cases:
        with subtests.test(path=path, change=str(change)[:60]):
            body = order_body([(product, 1)])
            if in_item:
                body["items"][0].update(change)
            else:
                for key, value in change.items():
                    body[key] = {**body[key], **value} if key == "ship_to" else value
            response = client.post("/api/v1/orders", json=body, headers=admin)
            assert response.status_code == 422, response.text
            assert response.headers["content-type"] == "application/problem+json"
            paths = [e["path"] for e in response.json()["errors"]]
            assert any(p == path or p.startswith(path + ".") for p in paths), paths
    assert counts(context) == before


ODD_IDS = ["#1001", "gid://shopify/Order/123", "50%off", "a%2Fb", "Bestellung-ä/7", "x?y=1&z"]


def test_platform_ids_are_read_canceled_and_rejected_through_percent_encoded_paths(
    client: TestClient, admin: dict[str, str], subtests: pytest.Subtests
) -> None:
    product = stocked_store(client, admin, ZIP_60601)
    for odd in ODD_IDS:
        with subtests.test(id=odd):
            order_id, item_ids = f"{odd}-{new_id('')}", [f"{odd}/1", f"{odd}/2", f"{odd}/3"]
            body = order_body([(product, 1)] * 3, order_id=order_id)
            for item, item_id in zip(body["items"], item_ids, strict=True):
                item["item_id"] = item_id
            assert client.post("/api/v1/orders", json=body, headers=admin).status_code == 201
            base = f"/api/v1/orders/{path_of(order_id)}"
            read = client.get(base, headers=admin)
            assert read.status_code == 200, read.text
            assert read.json()["order_id"] == order_id
            shipment = read.json()["items"][0]["shipment_id"]
            rejected = client.post(
                f"/api/v1/shipments/{shipment}/items/{path_of(item_ids[0])}/reject",
                json={"reason_id": "DAMAGED"},
                headers=admin,
            )
            assert rejected.status_code == 200, rejected.text
            assert rejected.json()["rejected"][0]["item_id"] == item_ids[0]
            canceled = client.post(f"{base}/items/{path_of(item_ids[1])}/cancel", headers=admin)
            assert canceled.status_code == 200, canceled.text
            states = {i["item_id"]: i["state"] for i in canceled.json()["items"]}
            assert states[item_ids[1]] == "canceled"
            whole = client.post(f"{base}/cancel", headers=admin)
            assert whole.status_code == 200, whole.text
            assert {i["state"] for i in whole.json()["items"]} == {"canceled"}
            missing = client.get(f"/api/v1/orders/{path_of(order_id + '/x')}", headers=admin)
            assert missing.status_code == 404


def test_shipments_and_the_store_list_show_the_ship_to(
    client: TestClient, admin: dict[str, str]
) -> None:
    product = put_product(client, admin)
    store = put_facility(client, admin, latitude=ZIP_60601[0], longitude=ZIP_60601[1])
    count_stock(client, admin, store, product, 5)
    order = client.post("/api/v1/orders", json=platform_order(product), headers=admin).json()
    shipment = order["items"][0]["shipment_id"]
    detail = client.get(f"/api/v1/shipments/{shipment}", headers=admin).json()
    listed = client.get(f"/api/v1/facilities/{store}/shipments", headers=admin).json()
    for ship_to in (detail["ship_to"], listed["items"][0]["ship_to"]):
        assert (ship_to["name"], ship_to["line1"], ship_to["postal_code"]) == (
            "Grace Hopper",
            "100 E Randolph St",
            "60601-1234",
        )
        assert (ship_to["city"], ship_to["region"], ship_to["country"]) == ("Chicago", "IL", "US")


@pytest.fixture
def served(database_url: str, context: Context, tmp_path: Path) -> Any:
    token = make_token(context, Role.ADMIN)
    with servers(database_url, tmp_path, 1) as (server,):
        yield server.url, token


def test_a_real_server_routes_percent_encoded_slashes_to_the_order(served: Any) -> None:
    url, admin = served
    with httpx.Client(base_url=url, headers=admin, timeout=30) as http:
        product = new_id("P")
        put = http.put(
            f"/api/v1/products/{product}",
            json={"sku": new_id("S"), "upc": new_id("U"), "part_number": "1", "name": "Hat"},
        )
        assert put.status_code == 201, put.text
        order_id, item_id = f"gid://shopify/Order/{new_id('')[1:]}", "gid://shopify/LineItem/7"
        body = order_body([(product, 1)], order_id=order_id)
        body["items"][0]["item_id"] = item_id
        assert http.post("/api/v1/orders", json=body).status_code == 201
        path = f"/api/v1/orders/{path_of(order_id)}"
        assert "%2F" in path
        read = http.get(path)
        assert read.status_code == 200, read.text
        assert read.json()["order_id"] == order_id
        canceled = http.post(f"{path}/items/{path_of(item_id)}/cancel")
        assert canceled.status_code == 200, canceled.text
        assert canceled.json()["items"][0]["state"] == "canceled"
        assert http.post(f"{path}/cancel").status_code == 409  # nothing left to cancel


@pytest.mark.usefixtures(cheap_hashes.__name__)
def test_the_store_list_and_the_admin_order_page_show_the_ship_to(
    client: TestClient, admin: dict[str, str], context: Context
) -> None:
    product = put_product(client, admin)
    store = put_facility(client, admin, latitude=ZIP_60601[0], longitude=ZIP_60601[1])
    count_stock(client, admin, store, product, 5)
    body = platform_order(product)
    assert client.post("/api/v1/orders", json=body, headers=admin).status_code == 201
    sign_in(client, person(context, Role.ASSOCIATE, [store]))
    page = client.get(f"/store/{store}/open")
    assert "to Chicago" in text_of(page)  # the compact card names the city
    # Where the associate ships it, the Fulfill confirmation shows the whole ship-to.
    order = client.get(f"/api/v1/orders/{path_of(body['order_id'])}", headers=admin).json()
    shipment = order["items"][0]["shipment_id"]
    for step in ("start", "pack"):
        assert client.post(f"/api/v1/shipments/{shipment}/{step}", headers=admin).is_success
    asked = text_of(client.get(f"/store/{store}/shipments/{shipment}/fulfill"))
    for shown in (
        "Ship to",
        "Grace Hopper",
        "Navy Yard",
        "100 E Randolph St",
        "Chicago, IL 60601-1234",
    ):
        assert shown in asked, shown
    item = path_of(body["items"][0]["item_id"])
    assert f"/items/{item}/report" in page.text
    assert client.get(f"/store/{store}/shipments/x/items/{item}/report").status_code in (404, 422)
    client.cookies.clear()
    sign_in(client, person(context, Role.ADMIN))
    detail = client.get(f"/admin/orders/{path_of(body['order_id'])}")
    assert detail.status_code == 200, detail.text
    words = text_of(detail)
    for shown in ("Grace Hopper", "Navy Yard", "+1 312 555 0199", "#1001", "vip, gift"):
        assert shown in words, shown
