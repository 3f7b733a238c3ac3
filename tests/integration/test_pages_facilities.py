"""The Facilities pages: the list, a facility's stock, its edit form (checked as the API's PUT
checks it), a stock count of a product there (below what is reserved too) and that product's
ledger at the facility, newest first and paged."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from reroute.domain.access import SYSTEM, Role
from reroute.domain.facilities import Capability
from reroute.services import catalog, inventory
from reroute.services.context import Context
from tests.pages_support import Store, cheap_hashes, person, post_form, sign_in, text_of, two_stores
from tests.support import count_stock, put_product

pytestmark = pytest.mark.usefixtures(cheap_hashes.__name__)


@pytest.fixture
def store(client: TestClient, context: Context, admin: dict[str, str]) -> Store:
    made = two_stores(client, admin)
    sign_in(client, person(context, Role.ADMIN))
    return made


def level_of(context: Context, store: Store) -> tuple[int, int, int]:
    level = inventory.get_level(context, store.store_a, store.product, SYSTEM)
    return level.quantity_on_hand, level.available_to_promise, level.reserved


def test_the_list_and_a_facility_link_to_editing_and_to_each_product(
    client: TestClient, store: Store
) -> None:
    listed = client.get("/admin/facilities")
    assert f'href="/admin/facilities/{store.store_a}/edit"' in listed.text
    stock = client.get(f"/admin/facilities/{store.store_a}")
    assert f'href="/admin/facilities/{store.store_a}/products/{store.product}"' in stock.text
    assert "Edit facility" in text_of(stock) and "Count a product" in text_of(stock)


def test_editing_a_facility_saves_what_the_form_shows_and_keeps_the_rest(
    client: TestClient, context: Context, store: Store
) -> None:
    before = catalog.get_facility(context, store.store_a, SYSTEM)
    form = client.get(f"/admin/facilities/{store.store_a}/edit")
    assert form.status_code == 200 and 'value="Andersonville"' in form.text
    saved = post_form(
        client,
        form,
        f"/admin/facilities/{store.store_a}",
        name="Andersonville North",
        daily_capacity="40",
        safety_stock="2",
        sequence="-3",
        capabilities=["pickup", "same_day"],
    )
    assert saved.status_code == 200 and saved.url.path == f"/admin/facilities/{store.store_a}"
    assert saved.history[0].status_code == 303
    assert "Saved Andersonville North." in text_of(saved)
    after = catalog.get_facility(context, store.store_a, SYSTEM)
    assert (after.name, after.daily_capacity, after.safety_stock, after.sequence) == (
        "Andersonville North",
        40,
        2,
        -3,
    )
    assert after.capabilities == [Capability.PICKUP, Capability.SAME_DAY]
    assert after.active is False  # the box was left unticked
    kept = ("kind", "external_location_id", "fulfiller_id", "latitude", "longitude")
    assert all(getattr(after, k) == getattr(before, k) for k in kept)

    again = client.get(f"/admin/facilities/{store.store_a}/edit")
    cleared = post_form(
        client,
        again,
        f"/admin/facilities/{store.store_a}",
        name="Andersonville",
        daily_capacity="",
        safety_stock="0",
        sequence="",
        active="on",
        capabilities=["ship"],
    )
    assert cleared.status_code == 200
    final = catalog.get_facility(context, store.store_a, SYSTEM)
    assert (final.daily_capacity, final.sequence, final.active) == (None, None, True)


@pytest.mark.parametrize(
    ("field", "typed", "words"),
    [
        ("daily_capacity", "lots", "or leave it empty for no limit"),
        ("daily_capacity", "-1", "or leave it empty for no limit"),
        ("safety_stock", "2000000", "from 0 to 1,000,000"),
        ("sequence", "1.5", "from -1,000,000 to 1,000,000"),
        ("name", "   ", "Give the facility a name"),
    ],
)
def test_a_refused_edit_keeps_the_form_says_why_and_saves_nothing(
    client: TestClient, context: Context, store: Store, field: str, typed: str, words: str
) -> None:
    before = catalog.get_facility(context, store.store_a, SYSTEM)
    form = client.get(f"/admin/facilities/{store.store_a}/edit")
    sent = {
        "name": "Renamed",
        "daily_capacity": "10",
        "safety_stock": "1",
        "sequence": "",
        "active": "on",
        "capabilities": ["ship"],
        field: typed,
    }
    refused = post_form(client, form, f"/admin/facilities/{store.store_a}", **sent)
    assert refused.status_code == 422
    error = re.search(rf'<p class="field-error" id="err-{field}">([^<]*)</p>', refused.text)
    assert error is not None and words in error.group(1)
    assert f'value="{typed}"' in refused.text
    if field != "name":
        assert 'value="Renamed"' in refused.text
    assert "Nothing was saved" in text_of(refused)
    assert catalog.get_facility(context, store.store_a, SYSTEM) == before


def test_a_count_sets_on_hand_and_its_ledger_row_is_newest(
    client: TestClient, context: Context, store: Store
) -> None:
    assert level_of(context, store) == (5, 3, 2)
    page = client.get(f"/admin/facilities/{store.store_a}/products/{store.product}")
    assert page.status_code == 200 and 'value="5"' in page.text
    counted = post_form(
        client,
        page,
        f"/admin/facilities/{store.store_a}/products/{store.product}/count",
        quantity_on_hand="9",
    )
    assert counted.status_code == 200 and counted.history[0].status_code == 303
    assert counted.url.path == f"/admin/facilities/{store.store_a}/products/{store.product}"
    assert f"Counted 9 of {store.product}." in text_of(counted)
    assert level_of(context, store) == (9, 7, 2)
    rows = re.findall(r"<tr>\s*<td><time.*?</tr>", counted.text, re.S)
    first = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", rows[0]))
    assert "Stock count +4 +4 +0" in first
    assert "ATP went below 0" not in text_of(counted)


def test_a_count_below_what_is_reserved_is_kept_and_says_atp_went_below_zero(
    client: TestClient, context: Context, store: Store
) -> None:
    page = client.get(f"/admin/facilities/{store.store_a}/products/{store.product}")
    counted = post_form(
        client,
        page,
        f"/admin/facilities/{store.store_a}/products/{store.product}/count",
        quantity_on_hand="1",
    )
    assert counted.status_code == 200
    assert level_of(context, store) == (1, -1, 2)
    words = text_of(counted)
    assert "ATP went below 0 (-1): 2 reserved for orders, 1 on hand." in words
    assert "ATP is below 0" in words


@pytest.mark.parametrize("typed", ["", "many", "-2", "1.5", "100000001"])
def test_a_bad_count_keeps_what_was_typed_and_counts_nothing(
    client: TestClient, context: Context, store: Store, typed: str
) -> None:
    page = client.get(f"/admin/facilities/{store.store_a}/products/{store.product}")
    refused = post_form(
        client,
        page,
        f"/admin/facilities/{store.store_a}/products/{store.product}/count",
        quantity_on_hand=typed,
    )
    assert refused.status_code == 422
    assert "Give the number counted: a whole number from 0 to 100,000,000." in text_of(refused)
    assert f'name="quantity_on_hand" inputmode="numeric" maxlength="20" value="{typed}"' in (
        refused.text
    )
    assert level_of(context, store) == (5, 3, 2)


def test_the_facility_page_counts_a_product_not_yet_held_there(
    client: TestClient, context: Context, admin: dict[str, str], store: Store
) -> None:
    other = put_product(client, admin, name="Wool scarf")
    page = client.get(f"/admin/facilities/{store.store_a}")
    unknown = post_form(
        client,
        page,
        f"/admin/facilities/{store.store_a}/count",
        product_id="NO-SUCH",
        quantity_on_hand="3",
    )
    assert unknown.status_code == 422
    assert "No product has the id “NO-SUCH”." in text_of(unknown)
    assert 'value="NO-SUCH"' in unknown.text and 'value="3"' in unknown.text
    counted = post_form(
        client,
        page,
        f"/admin/facilities/{store.store_a}/count",
        product_id=other,
        quantity_on_hand="3",
    )
    assert counted.status_code == 200
    assert counted.url.path == f"/admin/facilities/{store.store_a}/products/{other}"
    assert inventory.get_level(context, store.store_a, other, SYSTEM).quantity_on_hand == 3


def test_the_ledger_reads_newest_first_a_page_at_a_time(
    client: TestClient, context: Context, admin: dict[str, str], store: Store
) -> None:
    for n in range(30):  # 30 counts, each a row: 6 + n on hand
        count_stock(client, admin, store.store_a, store.product, 6 + n)
    url = f"/admin/facilities/{store.store_a}/products/{store.product}"
    first = client.get(url)
    rows = re.findall(r"<tr>\s*<td><time.*?</tr>", first.text, re.S)
    assert len(rows) == 25
    older = re.search(r'href="([^"]+)" rel="next">Older', first.text)
    assert older is not None
    second = client.get(older.group(1).replace("&amp;", "&"))
    more = re.findall(r"<tr>\s*<td><time.*?</tr>", second.text, re.S)
    # 30 counts, the first count of 5, and the 2 reservations of the orders: 33 rows in all
    assert len(more) == 33 - 25
    assert 'rel="next">Older' not in second.text and ">Newest</a>" in second.text
    newest = inventory.get_ledger(context, store.store_a, store.product, SYSTEM, limit=1)[0]
    assert f"<td>{newest['reference']}</td>" in rows[0]


def test_unknown_facilities_and_products_are_plain_404s(client: TestClient, store: Store) -> None:
    assert client.get("/admin/facilities/NOPE/edit").status_code == 404
    missing = client.get(f"/admin/facilities/{store.store_a}/products/NOPE")
    assert missing.status_code == 404 and "No product NOPE." in text_of(missing)


def test_only_admins_edit_facilities_or_count(
    client: TestClient, context: Context, store: Store
) -> None:
    sign_in(client, person(context, Role.ASSOCIATE, [store.store_a]))
    refused = client.get(f"/admin/facilities/{store.store_a}/edit")
    assert refused.status_code == 403
    url = f"/admin/facilities/{store.store_a}/products/{store.product}/count"
    assert post_form(client, refused, url, quantity_on_hand="0").status_code == 403
    assert level_of(context, store) == (5, 3, 2)
