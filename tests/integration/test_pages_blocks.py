"""Blocks and holds in the store pages, on both databases: the report's confirmation offers
"also stop sending this product here" for a few days; the store's page of blocked products
(also reached from the admin's facility page) lists blocks and holds, and unblocks."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from reroute.domain.access import Role
from reroute.services.context import Context
from tests.integration.test_rejection_api import footprint
from tests.pages_support import cheap_hashes, csrf_of, person, post_form, sign_in, text_of
from tests.support import Headers, count_stock, create, put_facility, put_product

pytestmark = pytest.mark.usefixtures(cheap_hashes.__name__)


@pytest.fixture
def setup(client: TestClient, context: Context, admin: Headers) -> tuple[str, str, str, str]:
    """(store A, store B, product, shipment at A), an associate of A signed in."""
    a = put_facility(client, admin, name="Andersonville", latitude=41.88, longitude=-87.63)
    b = put_facility(client, admin, name="Bucktown", latitude=41.92, longitude=-87.68)
    product = put_product(client, admin, name="Linen shirt")
    count_stock(client, admin, a, product, 5)
    count_stock(client, admin, b, product, 5)
    shipment = create(client, admin, [(product, 1)])["items"][0]["shipment_id"]
    sign_in(client, person(context, Role.ASSOCIATE, [a]))
    return a, b, product, shipment


def test_a_report_can_also_block_the_product_here_and_the_page_unblocks_it(
    client: TestClient, admin: Headers, setup: tuple[str, str, str, str]
) -> None:
    a, _, product, shipment = setup
    base = f"/store/{a}/shipments/{shipment}/items/1/report"
    confirm = client.get(f"{base}/confirm", params={"reason_id": "DAMAGED"})
    assert confirm.status_code == 200, confirm.text
    assert "Also stop sending this product here" in text_of(confirm)
    done = post_form(client, confirm, base, reason_id="DAMAGED", block_days="3")
    assert "Not sent here again for 3 days." in text_of(done)
    [block] = client.get(f"/api/v1/facilities/{a}/blocks", headers=admin).json()["items"]
    assert (block["product_id"], block["kind"]) == (product, "block")
    page = client.get(f"/store/{a}/blocks")
    assert page.status_code == 200
    assert "Linen shirt" in text_of(page) and "Not sent here until" in text_of(page)
    lifted = post_form(client, page, f"/store/{a}/blocks/{product}/unblock", name="Linen shirt")
    assert "Unblocked Linen shirt" in text_of(lifted)
    assert client.get(f"/api/v1/facilities/{a}/blocks", headers=admin).json()["items"] == []
    again = post_form(client, page, f"/store/{a}/blocks/{product}/unblock")
    assert "not blocked here any more" in text_of(again)


def test_a_hold_is_listed_and_a_bad_choice_writes_nothing(
    client: TestClient, context: Context, setup: tuple[str, str, str, str]
) -> None:
    a, b, _, shipment = setup
    base = f"/store/{a}/shipments/{shipment}/items/1/report"
    confirm = client.get(f"{base}/confirm", params={"reason_id": "NOT_IN_STOCK"})
    before = footprint(context)
    refused = client.post(
        base, data={"csrf_token": csrf_of(confirm), "reason_id": "NOT_IN_STOCK", "block_days": "9"}
    )
    assert refused.status_code == 422
    assert "Choose how long to stop sending it here" in text_of(refused)
    assert footprint(context) == before
    post_form(client, confirm, base, reason_id="NOT_IN_STOCK")
    page = text_of(client.get(f"/store/{a}/blocks"))
    assert "No product is blocked here." in page
    assert "Linen shirt: held after NOT_IN_STOCK until" in page
    assert client.get(f"/store/{b}/blocks").status_code == 403  # another store's
    assert "Blocked products" in text_of(client.get(f"/store/{a}/open"))
