"""Stock counts, levels and the ledger over the API."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from reroute.services.context import Context
from reroute.storage.tables import inventory_ledger, inventory_levels
from reroute.storage.unit_of_work import unit_of_work
from tests.support import count_stock, new_id, put_facility, put_product


def inventory_path(facility_id: str, product_id: str) -> str:
    return f"/api/v1/facilities/{facility_id}/inventory/{product_id}"


def reserve(context: Context, facility_id: str, product_id: str, quantity: int) -> None:
    with unit_of_work(context.db) as uow:
        level = uow.inventory.get(facility_id, product_id, lock=True)
        entry = level.reserve(quantity, new_id("item"))
        uow.inventory.save(level, [entry], uow.now)


def stored_rows(context: Context) -> tuple[int, int]:
    """How many levels and ledger rows the database holds."""
    with context.db.transaction(write=False) as conn:
        levels = conn.execute(select(func.count()).select_from(inventory_levels)).scalar_one()
        ledger = conn.execute(select(func.count()).select_from(inventory_ledger)).scalar_one()
    return int(levels), int(ledger)


def test_a_first_count_sets_qoh_and_atp_and_the_level_reads_back(
    client: TestClient, admin: dict[str, str]
) -> None:
    facility, product = put_facility(client, admin), put_product(client, admin)
    counted = count_stock(client, admin, facility, product, 12)
    shown = client.get(inventory_path(facility, product), headers=admin)
    assert shown.status_code == 200
    expected = {
        "facility_id": facility,
        "product_id": product,
        "quantity_on_hand": 12,
        "available_to_promise": 12,
        "reserved": 0,
    }
    assert counted == expected
    assert shown.json() == expected


def test_a_level_never_counted_reads_as_zero_and_is_not_written(
    client: TestClient, admin: dict[str, str], context: Context
) -> None:
    facility, product = put_facility(client, admin), put_product(client, admin)
    shown = client.get(inventory_path(facility, product), headers=admin).json()
    assert (shown["quantity_on_hand"], shown["available_to_promise"], shown["reserved"]) == (
        0,
        0,
        0,
    )
    assert stored_rows(context) == (0, 0)


def test_a_count_keeps_reservations_and_moves_atp_by_the_difference(
    client: TestClient, admin: dict[str, str], context: Context
) -> None:
    facility, product = put_facility(client, admin), put_product(client, admin)
    count_stock(client, admin, facility, product, 10)
    reserve(context, facility, product, 4)
    level = count_stock(client, admin, facility, product, 7)
    assert (level["quantity_on_hand"], level["available_to_promise"], level["reserved"]) == (
        7,
        3,
        4,
    )


def test_a_count_below_the_reservations_leaves_atp_below_zero(
    client: TestClient, admin: dict[str, str], context: Context
) -> None:
    facility, product = put_facility(client, admin), put_product(client, admin)
    count_stock(client, admin, facility, product, 5)
    reserve(context, facility, product, 4)
    level = count_stock(client, admin, facility, product, 1)
    assert (level["quantity_on_hand"], level["available_to_promise"], level["reserved"]) == (
        1,
        -3,
        4,
    )


def test_a_count_that_changes_nothing_writes_no_ledger_row(
    client: TestClient, admin: dict[str, str], context: Context
) -> None:
    facility, product = put_facility(client, admin), put_product(client, admin)
    count_stock(client, admin, facility, product, 3)
    count_stock(client, admin, facility, product, 3)
    assert stored_rows(context) == (1, 1)


def test_the_ledger_lists_every_move_newest_first_with_its_cause(
    client: TestClient, admin: dict[str, str], context: Context
) -> None:
    facility, product = put_facility(client, admin), put_product(client, admin)
    count_stock(client, admin, facility, product, 5)
    reserve(context, facility, product, 2)
    count_stock(client, admin, facility, product, 9)
    response = client.get(inventory_path(facility, product) + "/ledger", headers=admin)
    assert response.status_code == 200
    rows = response.json()["items"]
    assert [(r["cause"], r["qoh_diff"], r["atp_diff"], r["reserved_diff"]) for r in rows] == [
        ("stock_count", 4, 4, 0),
        ("reserve", 0, -2, 2),
        ("stock_count", 5, 5, 0),
    ]
    assert [r["id"] for r in rows] == sorted((r["id"] for r in rows), reverse=True)
    assert all(r["created_at"].endswith(("Z", "+00:00")) for r in rows)
    assert rows[0]["reference"].startswith("token:")


def test_the_ledger_pages_on_with_the_cursor(client: TestClient, admin: dict[str, str]) -> None:
    facility, product = put_facility(client, admin), put_product(client, admin)
    for quantity in range(1, 8):
        count_stock(client, admin, facility, product, quantity)
    ledger = inventory_path(facility, product) + "/ledger"
    everything = client.get(ledger, headers=admin).json()
    assert len(everything["items"]) == 7 and everything["next_cursor"] is None
    everything = everything["items"]
    pages, cursor = [], None
    for _ in range(10):
        params: dict[str, int | str] = {"limit": 3}
        if cursor is not None:
            params["cursor"] = cursor
        page = client.get(ledger, params=params, headers=admin).json()
        assert len(page["items"]) <= 3
        pages.append(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert [len(p) for p in pages] == [3, 3, 1]
    assert [row for page in pages for row in page] == everything


def test_the_ledger_of_one_level_leaves_out_the_others(
    client: TestClient, admin: dict[str, str]
) -> None:
    facility, product, other = (
        put_facility(client, admin),
        put_product(client, admin),
        put_product(client, admin),
    )
    count_stock(client, admin, facility, product, 2)
    count_stock(client, admin, facility, other, 6)
    rows = client.get(inventory_path(facility, product) + "/ledger", headers=admin).json()
    assert [r["qoh_diff"] for r in rows["items"]] == [2]


def test_a_count_at_an_unknown_facility_or_of_an_unknown_product_answers_404_and_writes_nothing(
    client: TestClient, admin: dict[str, str], context: Context
) -> None:
    facility, product = put_facility(client, admin), put_product(client, admin)
    for path in (inventory_path(new_id("F"), product), inventory_path(facility, new_id("P"))):
        response = client.put(path, json={"quantity_on_hand": 4}, headers=admin)
        assert response.status_code == 404, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert client.get(path, headers=admin).status_code == 404
        assert client.get(path + "/ledger", headers=admin).status_code == 404
    assert stored_rows(context) == (0, 0)


def test_a_negative_or_missing_count_answers_422_at_its_path(
    client: TestClient, admin: dict[str, str], context: Context
) -> None:
    facility, product = put_facility(client, admin), put_product(client, admin)
    for body in ({"quantity_on_hand": -1}, {}, {"quantity_on_hand": "many"}, {"qoh": 3}):
        response = client.put(inventory_path(facility, product), json=body, headers=admin)
        assert response.status_code == 422, body
        paths = {e["path"] for e in response.json()["errors"]}
        assert paths <= {"quantity_on_hand", "qoh"} and paths, body
    assert stored_rows(context) == (0, 0)


def test_ledger_paging_parameters_out_of_range_answer_422(
    client: TestClient, admin: dict[str, str]
) -> None:
    facility, product = put_facility(client, admin), put_product(client, admin)
    ledger = inventory_path(facility, product) + "/ledger"
    for params in ({"limit": 0}, {"limit": 1001}, {"cursor": "0"}, {"cursor": "x" * 2001}):
        response = client.get(ledger, params=params, headers=admin)
        assert response.status_code == 422, params
        assert response.headers["content-type"] == "application/problem+json"
