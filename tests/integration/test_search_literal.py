"""Every search box takes `%`, `_` and `\\` literally, on SQLite and PostgreSQL alike: the
store's shipment search (order id, customer name, SKU, UPC, product name) and a facility's
stock search (product id, SKU, UPC, name)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from reroute.domain.access import SYSTEM
from reroute.services import inventory
from reroute.services.context import Context
from tests.support import Headers, count_stock, create, new_id, put_facility, put_product

#: Each special character beside a look-alike where an ordinary character stands in its place:
#: a search that took the character as a wildcard (or an escape) would find the look-alike.
NAMES = {
    "percent": "50% off",
    "percent-alike": "5000 off",
    "underscore": "linen_shirt",
    "underscore-alike": "linenXshirt",
    "backslash": "back\\slash",
    "backslash-alike": "backXslash",
}
SEARCHES = {
    "%": {"percent"},
    "0% OFF": {"percent"},
    "n_s": {"underscore"},
    "_": {"underscore"},
    "\\": {"backslash"},
    "K\\S": {"backslash"},
    "\\%": set(),
    "\\_": set(),
}


def test_the_stock_search_takes_percent_underscore_and_backslash_literally(
    client: TestClient, admin: Headers, context: Context
) -> None:
    tag = new_id("t")
    facility = put_facility(client, admin)
    products = {}
    for key, name in NAMES.items():
        products[put_product(client, admin, name=f"{name} {tag}")] = key
        count_stock(client, admin, facility, next(reversed(products)), 1)

    def found(typed: str) -> set[str]:
        levels, total = inventory.stock_at(context, facility, SYSTEM, text=typed)
        assert total == len(levels)
        return {products[product.id] for product, _ in levels}

    for typed, expected in SEARCHES.items():
        assert found(typed) == expected, typed
    assert found(tag) == set(NAMES)


def test_the_shipment_search_takes_percent_underscore_and_backslash_literally(
    client: TestClient, admin: Headers
) -> None:
    facility = put_facility(client, admin)
    by_customer, by_product = {}, {}
    for key, name in NAMES.items():
        plain = put_product(client, admin, name="Plain shirt")
        named = put_product(client, admin, name=name)
        count_stock(client, admin, facility, plain, 1)
        count_stock(client, admin, facility, named, 1)
        customer = {"name": name, "email": "ada@example.com"}
        by_customer[create(client, admin, [(plain, 1)], customer=customer)["order_id"]] = key
        by_product[create(client, admin, [(named, 1)])["order_id"]] = key

    def found(typed: str) -> tuple[set[str], set[str]]:
        answer = client.get(
            f"/api/v1/facilities/{facility}/shipments",
            params={"q": typed, "limit": 200},
            headers=admin,
        )
        assert answer.status_code == 200, answer.text
        orders = {s["order_id"] for s in answer.json()["items"]}
        return (
            {key for order, key in by_customer.items() if order in orders},
            {key for order, key in by_product.items() if order in orders},
        )

    for typed, expected in SEARCHES.items():
        assert found(typed) == (expected, expected), typed
    assert found("off") == ({"percent", "percent-alike"}, {"percent", "percent-alike"})
