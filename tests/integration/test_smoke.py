"""The foundation answers on both databases."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.support import count_stock, put_facility, put_product


def test_a_stock_count_sets_qoh_and_atp_and_writes_one_ledger_row(
    client: TestClient, admin: dict[str, str]
) -> None:
    facility = put_facility(client, admin)
    product = put_product(client, admin)
    assert count_stock(client, admin, facility, product, 5)["available_to_promise"] == 5
    level = count_stock(client, admin, facility, product, 3)
    assert (level["quantity_on_hand"], level["available_to_promise"]) == (3, 3)
    ledger = client.get(
        f"/api/v1/facilities/{facility}/inventory/{product}/ledger", headers=admin
    ).json()["items"]
    assert [(r["qoh_diff"], r["atp_diff"]) for r in ledger] == [(-2, -2), (5, 5)]
