"""Rejecting an item through the API on both databases (SPEC section 4 and the answer of section
8): the worked example of 4.1 number for number, what the answer says, what is recorded, and
every refusal writing nothing.

Facilities are placed due north of the ship-to address in central Chicago, so a facility's
distance in km is exactly what the test says; the nearest facility with stock gets new orders.
The helpers here are shared by the other rejection test modules.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import func, select

from reroute.services.context import Context
from reroute.storage import tables
from reroute.storage.unit_of_work import unit_of_work
from tests.support import (
    Headers,
    create,
    put_product,
    read,
    stocked,
)

# Helpers shared by the rejection tests ---------------------------------------------------------


def item(order: Any, item_id: str = "1") -> Any:
    return next(i for i in order["items"] if i["item_id"] == item_id)


def where(order: Any) -> dict[str, tuple[str, str | None]]:
    """Item id to (state, facility id)."""
    return {i["item_id"]: (i["state"], i["facility_id"]) for i in order["items"]}


def shipment_state(client: TestClient, admin: Headers, shipment_id: str) -> str:
    response = client.get(f"/api/v1/shipments/{shipment_id}", headers=admin)
    assert response.status_code == 200, response.text
    state: str = response.json()["state"]
    return state


def level(client: TestClient, admin: Headers, facility_id: str, product_id: str) -> Any:
    response = client.get(f"/api/v1/facilities/{facility_id}/inventory/{product_id}", headers=admin)
    assert response.status_code == 200, response.text
    return response.json()


def qoh_atp(
    client: TestClient, admin: Headers, facility_id: str, product_id: str
) -> tuple[int, int]:
    shown = level(client, admin, facility_id, product_id)
    return shown["quantity_on_hand"], shown["available_to_promise"]


def ledger(client: TestClient, admin: Headers, facility_id: str, product_id: str) -> list[Any]:
    """Ledger rows oldest first."""
    response = client.get(
        f"/api/v1/facilities/{facility_id}/inventory/{product_id}/ledger", headers=admin
    )
    assert response.status_code == 200, response.text
    return list(reversed(response.json()["items"]))


def reject(
    client: TestClient,
    headers: Headers,
    shipment_id: str,
    item_id: str,
    reason_id: str | None = None,
    **body: Any,
) -> Response:
    if reason_id is not None:
        body["reason_id"] = reason_id
    return client.post(
        f"/api/v1/shipments/{shipment_id}/items/{item_id}/reject", json=body, headers=headers
    )


def rejected_ok(
    client: TestClient,
    headers: Headers,
    order: Any,
    item_id: str = "1",
    reason_id: str | None = None,
) -> Any:
    """Reject an item of `order` (as read before) at its facility; answers the body."""
    response = reject(client, headers, item(order, item_id)["shipment_id"], item_id, reason_id)
    assert response.status_code == 200, response.text
    return response.json()


def reject_shipment(
    client: TestClient, headers: Headers, shipment_id: str, reason_id: str | None = None
) -> Response:
    body = {} if reason_id is None else {"reason_id": reason_id}
    return client.post(f"/api/v1/shipments/{shipment_id}/reject", json=body, headers=headers)


def rejections(client: TestClient, headers: Headers, **params: Any) -> Any:
    response = client.get("/api/v1/rejections", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def patch_settings(client: TestClient, admin: Headers, **changes: Any) -> None:
    response = client.patch("/api/v1/settings", json=changes, headers=admin)
    assert response.status_code == 200, response.text
    for name, value in changes.items():
        assert response.json()[name] == value


def assert_counters_equal_ledger(context: Context) -> dict[tuple[str, str], tuple[int, int, int]]:
    """Every (facility, product) counter equals the sums of its ledger; answers the counters."""
    with unit_of_work(context.db, write=False) as uow:
        sums = uow.inventory.ledger_sums()
        levels = uow.inventory.all_levels()
    counters = {
        key: (lvl.quantity_on_hand, lvl.available_to_promise, lvl.reserved)
        for key, lvl in levels.items()
    }
    for key, values in counters.items():
        assert sums.get(key, (0, 0, 0)) == values, key
    assert set(sums) <= set(levels)
    return counters


def footprint(context: Context) -> dict[str, Any]:
    """Everything a rejection writes, to show a refusal wrote nothing."""
    counted = (
        tables.inventory_ledger,
        tables.inventory_levels,
        tables.rejections,
        tables.order_history,
        tables.item_exclusions,
        tables.facility_days,
        tables.outbox_events,
        tables.shipments,
    )
    with unit_of_work(context.db, write=False) as uow:
        found: dict[str, Any] = {
            t.name: uow.conn.execute(select(func.count()).select_from(t)).scalar_one()
            for t in counted
        }
        i, s, lv = tables.order_items, tables.shipments, tables.inventory_levels
        found["items"] = sorted(
            tuple(r)
            for r in uow.conn.execute(
                select(i.c.order_id, i.c.item_id, i.c.state, i.c.facility_id, i.c.shipment_id)
            )
        )
        found["shipment_states"] = sorted(
            tuple(r) for r in uow.conn.execute(select(s.c.id, s.c.state))
        )
        found["levels"] = sorted(
            tuple(r)
            for r in uow.conn.execute(
                select(
                    lv.c.facility_id,
                    lv.c.product_id,
                    lv.c.quantity_on_hand,
                    lv.c.available_to_promise,
                    lv.c.reserved,
                )
            )
        )
    return found


@dataclass
class Example:
    """SPEC 4.1's worked example: store S holds P, QOH 5, items A and B (1 each) reserved,
    ATP 3; facility T, farther away, has stock for the items to go to."""

    product: str
    store: str
    other: str
    a: Any  # order A as read after routing
    b: Any


def worked_example(client: TestClient, admin: Headers) -> Example:
    p = put_product(client, admin)
    s = stocked(client, admin, 1, {p: 5})
    a = create(client, admin, [(p, 1)])
    b = create(client, admin, [(p, 1)])
    assert where(a) == where(b) == {"1": ("ready", s)}
    t = stocked(client, admin, 50, {p: 10})
    assert qoh_atp(client, admin, s, p) == (5, 3)
    return Example(p, s, t, a, b)


def step(client: TestClient, headers: Headers, shipment_id: str, *actions: str) -> None:
    for action in actions:
        response = client.post(f"/api/v1/shipments/{shipment_id}/{action}", headers=headers)
        assert response.status_code == 200, response.text


def last_ledger_moves(
    client: TestClient, admin: Headers, facility_id: str, product_id: str, n: int
) -> list[tuple[str, int, int]]:
    rows = ledger(client, admin, facility_id, product_id)[-n:]
    return [(r["cause"], r["qoh_diff"], r["atp_diff"]) for r in rows]


# The worked example of SPEC 4.1, number for number -------------------------------------------


def test_the_worked_example_of_spec_4_1_number_for_number(
    client: TestClient, admin: Headers, context: Context, subtests: pytest.Subtests
) -> None:
    with subtests.test("DAMAGED: release A (ATP 4), lower ATP by 1: QOH 5, ATP 3, B stays"):
        ex = worked_example(client, admin)
        answer = rejected_ok(client, admin, ex.a, reason_id="DAMAGED")
        assert answer["inventory"] == {
            "product_id": ex.product,
            "quantity_on_hand": 5,
            "available_to_promise": 3,
        }
        assert qoh_atp(client, admin, ex.store, ex.product) == (5, 3)
        assert [(r["item_id"], r["reason_id"]) for r in answer["rejected"]] == [("1", "DAMAGED")]
        assert where(read(client, admin, ex.b["order_id"])) == {"1": ("ready", ex.store)}
        assert where(read(client, admin, ex.a["order_id"])) == {"1": ("ready", ex.other)}
        assert last_ledger_moves(client, admin, ex.store, ex.product, 2) == [
            ("release", 0, 1),
            ("reject:decrease_atp", 0, -1),
        ]

    with subtests.test("MISMATCH: release A (ATP 4), lower both by 1: QOH 4, ATP 3"):
        ex = worked_example(client, admin)
        answer = rejected_ok(client, admin, ex.a, reason_id="MISMATCH")
        assert answer["inventory"]["quantity_on_hand"] == 4
        assert answer["inventory"]["available_to_promise"] == 3
        assert qoh_atp(client, admin, ex.store, ex.product) == (4, 3)
        assert where(read(client, admin, ex.b["order_id"])) == {"1": ("ready", ex.store)}
        assert last_ledger_moves(client, admin, ex.store, ex.product, 2) == [
            ("release", 0, 1),
            ("reject:decrease_qoh_and_atp", -1, -1),
        ]

    with subtests.test("NOT_IN_STOCK: B rejected too (CASCADE), both released, QOH 0, ATP 0"):
        ex = worked_example(client, admin)
        answer = rejected_ok(client, admin, ex.a, reason_id="NOT_IN_STOCK")
        a_id, b_id = ex.a["order_id"], ex.b["order_id"]
        assert sorted(
            (r["order_id"], r["reason_id"], r["cascaded"]) for r in answer["rejected"]
        ) == (sorted([(a_id, "NOT_IN_STOCK", False), (b_id, "CASCADE", True)]))
        assert answer["inventory"]["quantity_on_hand"] == 0
        assert answer["inventory"]["available_to_promise"] == 0
        assert qoh_atp(client, admin, ex.store, ex.product) == (0, 0)
        assert level(client, admin, ex.store, ex.product)["reserved"] == 0
        assert sorted((r["order_id"], r["facility_id"]) for r in answer["routed"]) == sorted(
            [(a_id, ex.other), (b_id, ex.other)]
        )
        for order_id in (a_id, b_id):
            assert where(read(client, admin, order_id)) == {"1": ("ready", ex.other)}
        assert qoh_atp(client, admin, ex.other, ex.product) == (10, 8)

    assert_counters_equal_ledger(context)


def test_a_rejection_of_three_units_releases_three_and_lowers_the_counters_by_three(
    client: TestClient, admin: Headers, context: Context
) -> None:
    p = put_product(client, admin)
    s = stocked(client, admin, 1, {p: 10})
    order = create(client, admin, [(p, 3)])
    t = stocked(client, admin, 50, {p: 10})
    assert qoh_atp(client, admin, s, p) == (10, 7)
    answer = rejected_ok(client, admin, order, reason_id="MISMATCH")
    assert qoh_atp(client, admin, s, p) == (7, 7)
    assert last_ledger_moves(client, admin, s, p, 2) == [
        ("release", 0, 3),
        ("reject:decrease_qoh_and_atp", -3, -3),
    ]
    assert answer["routed"][0]["facility_id"] == t
    assert level(client, admin, t, p)["reserved"] == 3
    assert_counters_equal_ledger(context)


# The answer of SPEC 8, the records and the history ---------------------------------------------


def test_the_answer_says_what_was_rejected_where_it_went_and_the_stock_left(
    client: TestClient, admin: Headers
) -> None:
    ex = worked_example(client, admin)
    old_shipment = item(ex.a)["shipment_id"]
    response = reject(client, admin, old_shipment, "1", "DAMAGED")
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["rejected"] == [
        {
            "order_id": ex.a["order_id"],
            "item_id": "1",
            "shipment_id": old_shipment,
            "facility_id": ex.store,
            "reason_id": "DAMAGED",
            "cascaded": False,
        }
    ]
    order = read(client, admin, ex.a["order_id"])
    new_shipment = item(order)["shipment_id"]
    assert new_shipment not in (None, old_shipment)
    assert answer["routed"] == [
        {
            "order_id": ex.a["order_id"],
            "item_id": "1",
            "state": "ready",
            "facility_id": ex.other,
            "shipment_id": new_shipment,
        }
    ]
    assert answer["inventory"] == {
        "product_id": ex.product,
        "quantity_on_hand": 5,
        "available_to_promise": 3,
    }
    # No item is left in the old shipment: it is declined and leaves the store's lists.
    states = {s["shipment_id"]: (s["facility_id"], s["state"]) for s in order["shipments"]}
    assert states == {old_shipment: (ex.store, "declined"), new_shipment: (ex.other, "ready")}
    assert shipment_state(client, admin, old_shipment) == "declined"
    listed = client.get(f"/api/v1/facilities/{ex.store}/shipments", headers=admin).json()
    assert old_shipment not in {s["shipment_id"] for s in listed["items"]}
    listed = client.get(f"/api/v1/facilities/{ex.other}/shipments", headers=admin).json()
    assert new_shipment in {s["shipment_id"] for s in listed["items"]}


def test_the_record_and_the_order_history_keep_reason_facility_comment_and_who(
    client: TestClient, admin: Headers
) -> None:
    ex = worked_example(client, admin)
    old_shipment = item(ex.a)["shipment_id"]
    response = reject(client, admin, old_shipment, "1", "WORN_DISPLAY", comment="On the mannequin")
    assert response.status_code == 200, response.text
    assert qoh_atp(client, admin, ex.store, ex.product) == (5, 3)  # ATP only, like DAMAGED

    (row,) = rejections(client, admin)["items"]
    assert row["order_id"] == ex.a["order_id"]
    assert (row["item_id"], row["shipment_id"], row["facility_id"]) == ("1", old_shipment, ex.store)
    assert (row["product_id"], row["quantity"]) == (ex.product, 1)
    assert (row["reason_id"], row["comment"], row["cascaded"]) == (
        "WORN_DISPLAY",
        "On the mannequin",
        False,
    )

    history = read(client, admin, ex.a["order_id"])["history"]
    assert [h["event"] for h in history][-2:] == ["rejected", "assigned"]
    rejected_row, assigned_row = history[-2:]
    assert (rejected_row["item_id"], rejected_row["shipment_id"]) == ("1", old_shipment)
    assert (rejected_row["facility_id"], rejected_row["reason_id"]) == (ex.store, "WORN_DISPLAY")
    assert (rejected_row["from_state"], rejected_row["to_state"]) == ("ready", "queued")
    assert rejected_row["note"] == "On the mannequin"
    assert rejected_row["actor"] == row["actor"]
    assert rejected_row["request_id"]
    assert (assigned_row["facility_id"], assigned_row["to_state"]) == (ex.other, "ready")
    assert assigned_row["request_id"] == rejected_row["request_id"]


def test_a_rejection_without_a_reason_is_the_default_decline_and_only_releases(
    client: TestClient, admin: Headers
) -> None:
    ex = worked_example(client, admin)
    answer = rejected_ok(client, admin, ex.a)
    assert [(r["reason_id"], r["cascaded"]) for r in answer["rejected"]] == [(None, False)]
    assert qoh_atp(client, admin, ex.store, ex.product) == (5, 4)
    assert last_ledger_moves(client, admin, ex.store, ex.product, 1) == [("release", 0, 1)]
    assert where(read(client, admin, ex.b["order_id"])) == {"1": ("ready", ex.store)}
    (row,) = rejections(client, admin)["items"]
    assert row["reason_id"] is None


def test_an_in_progress_item_can_be_rejected(client: TestClient, admin: Headers) -> None:
    ex = worked_example(client, admin)
    shipment_id = item(ex.a)["shipment_id"]
    step(client, admin, shipment_id, "start")
    answer = rejected_ok(client, admin, ex.a, reason_id="DAMAGED")
    assert answer["routed"][0]["facility_id"] == ex.other
    history = read(client, admin, ex.a["order_id"])["history"]
    rejected_row = next(h for h in history if h["event"] == "rejected")
    assert (rejected_row["from_state"], rejected_row["to_state"]) == ("in_progress", "queued")
    assert shipment_state(client, admin, shipment_id) == "declined"
