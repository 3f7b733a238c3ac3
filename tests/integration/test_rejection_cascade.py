"""What a rejection takes along and where the items go, on both databases: the cascade and the
shortage of SPEC 4.2, whole shipments and ship-complete orders (4.3), where a rejected item may
go (4.4), the ledger invariants after it all, and acceptance feeding routing."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from reroute.domain.orders import AT_FACILITY, ItemState
from reroute.services.context import Context
from reroute.storage import tables
from reroute.storage.unit_of_work import unit_of_work
from tests.integration.test_rejection_api import (
    assert_counters_equal_ledger,
    item,
    level,
    patch_settings,
    qoh_atp,
    reject,
    reject_shipment,
    rejected_ok,
    rejections,
    shipment_state,
    step,
    where,
)
from tests.support import Headers, count_stock, create, put_product, read, stocked


def assert_reserved_matches_items(context: Context) -> None:
    """Each facility's reserved counter is exactly what its ready, in-progress and packed
    items hold: no item is reserved twice, none released twice."""
    i = tables.order_items
    held: dict[tuple[str, str], int] = defaultdict(int)
    with unit_of_work(context.db, write=False) as uow:
        rows = uow.conn.execute(select(i.c.facility_id, i.c.product_id, i.c.quantity, i.c.state))
        for facility_id, product_id, quantity, state in rows:
            if ItemState(state) in AT_FACILITY:
                held[(facility_id, product_id)] += quantity
            elif state != ItemState.FULFILLED:
                assert facility_id is None, (facility_id, product_id, state)
        levels = uow.inventory.all_levels()
    for key, lvl in levels.items():
        assert lvl.reserved == held.get(key, 0), key
    assert set(held) <= set(levels)


def check_invariants(context: Context) -> None:
    assert_counters_equal_ledger(context)
    assert_reserved_matches_items(context)


def records_by_order(client: TestClient, admin: Headers) -> dict[str, list[tuple[Any, ...]]]:
    found: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
    for r in rejections(client, admin)["items"]:
        found[r["order_id"]].append((r["item_id"], r["reason_id"], r["cascaded"], r["comment"]))
    return dict(found)


# Cascade: the same product at the same store (SPEC 4.2) -------------------------------------


def test_not_in_stock_takes_every_other_open_item_of_the_product_there_and_leaves_packed_ones(
    client: TestClient, admin: Headers, context: Context
) -> None:
    p, q = put_product(client, admin), put_product(client, admin)
    near = stocked(client, admin, 2, {p: 1})
    at_near = create(client, admin, [(p, 1)])  # the same product at another facility
    store = stocked(client, admin, 1, {p: 10, q: 5})
    first = create(client, admin, [(p, 1)])
    started = create(client, admin, [(p, 1)])
    packed = create(client, admin, [(p, 2)])
    waiting = create(client, admin, [(p, 1)])
    other_product = create(client, admin, [(q, 1)])
    assert {where(o)["1"] for o in (first, started, packed, waiting, other_product)} == {
        ("ready", store)
    }
    assert where(at_near) == {"1": ("ready", near)}
    step(client, admin, item(started)["shipment_id"], "start")
    step(client, admin, item(packed)["shipment_id"], "start", "pack")
    far = stocked(client, admin, 50, {p: 20})
    assert qoh_atp(client, admin, store, p) == (10, 5)

    response = reject(
        client, admin, item(first)["shipment_id"], "1", "NOT_IN_STOCK", comment="Shelf empty"
    )
    assert response.status_code == 200, response.text
    answer = response.json()
    taken = {(r["order_id"], r["reason_id"], r["cascaded"]) for r in answer["rejected"]}
    assert taken == {
        (first["order_id"], "NOT_IN_STOCK", False),
        (started["order_id"], "CASCADE", True),
        (waiting["order_id"], "CASCADE", True),
    }
    assert {r["facility_id"] for r in answer["rejected"]} == {store}
    # Packed units stay on hand, still promised: QOH keeps them, ATP is 0.
    assert level(client, admin, store, p) == {
        "facility_id": store,
        "product_id": p,
        "quantity_on_hand": 2,
        "available_to_promise": 0,
        "reserved": 2,
    }
    assert answer["inventory"] == {
        "product_id": p,
        "quantity_on_hand": 2,
        "available_to_promise": 0,
    }
    assert where(read(client, admin, packed["order_id"])) == {"1": ("packed", store)}
    assert where(read(client, admin, other_product["order_id"])) == {"1": ("ready", store)}
    assert where(read(client, admin, at_near["order_id"])) == {"1": ("ready", near)}
    assert qoh_atp(client, admin, store, q) == (5, 4)
    # Every taken item is re-routed at once, and says so in the answer.
    routed = {(r["order_id"], r["state"], r["facility_id"]) for r in answer["routed"]}
    assert routed == {(o["order_id"], "ready", far) for o in (first, started, waiting)}
    for order in (first, started, waiting):
        assert where(read(client, admin, order["order_id"])) == {"1": ("ready", far)}
        assert shipment_state(client, admin, item(order)["shipment_id"]) == "declined"
    # Each cascaded item has its own record with reason CASCADE (the comment is the first's).
    assert records_by_order(client, admin) == {
        first["order_id"]: [("1", "NOT_IN_STOCK", False, "Shelf empty")],
        started["order_id"]: [("1", "CASCADE", True, None)],
        waiting["order_id"]: [("1", "CASCADE", True, None)],
    }
    history = read(client, admin, started["order_id"])["history"]
    rejected_row = next(h for h in history if h["event"] == "rejected")
    assert (rejected_row["from_state"], rejected_row["reason_id"]) == ("in_progress", "CASCADE")
    assert rejected_row["facility_id"] == store
    # The packed shipment still ships from the units kept on hand.
    step(client, admin, item(packed)["shipment_id"], "fulfill")
    assert level(client, admin, store, p)["quantity_on_hand"] == 0
    check_invariants(context)


def test_a_shortage_takes_back_the_newest_reservations_until_atp_is_zero_and_no_more(
    client: TestClient, admin: Headers, context: Context
) -> None:
    p = put_product(client, admin)
    store = stocked(client, admin, 1, {p: 5})
    oldest, older, newer, newest = (create(client, admin, [(p, 1)]) for _ in range(4))
    assert {where(o)["1"] for o in (oldest, older, newer, newest)} == {("ready", store)}
    far = stocked(client, admin, 50, {p: 20})
    # A count finds fewer units than promised: QOH 2 with 4 reserved leaves ATP -2.
    count_stock(client, admin, store, p, 2)
    assert qoh_atp(client, admin, store, p) == (2, -2)

    answer = rejected_ok(client, admin, oldest, reason_id="DAMAGED")
    # Release A (ATP -1), lower ATP by 1 (ATP -2): the two newest reservations go (ATP 0).
    taken = {(r["order_id"], r["reason_id"], r["cascaded"]) for r in answer["rejected"]}
    assert taken == {
        (oldest["order_id"], "DAMAGED", False),
        (newest["order_id"], "CASCADE", True),
        (newer["order_id"], "CASCADE", True),
    }
    assert qoh_atp(client, admin, store, p) == (2, 0)
    assert level(client, admin, store, p)["reserved"] == 1
    assert where(read(client, admin, older["order_id"])) == {"1": ("ready", store)}
    for order in (oldest, newer, newest):
        assert where(read(client, admin, order["order_id"])) == {"1": ("ready", far)}
    assert records_by_order(client, admin)[newest["order_id"]] == [("1", "CASCADE", True, None)]
    check_invariants(context)


def test_without_a_shortage_a_non_cascading_reason_takes_nothing_else(
    client: TestClient, admin: Headers, context: Context
) -> None:
    p = put_product(client, admin)
    store = stocked(client, admin, 1, {p: 3})
    orders = [create(client, admin, [(p, 1)]) for _ in range(3)]
    stocked(client, admin, 50, {p: 20})
    assert qoh_atp(client, admin, store, p) == (3, 0)
    for reason in ("MISMATCH", "DAMAGED"):
        answer = rejected_ok(client, admin, orders.pop(), reason_id=reason)
        assert [r["cascaded"] for r in answer["rejected"]] == [False]
    assert qoh_atp(client, admin, store, p) == (2, 0)  # ATP back to 0 each time, never below
    assert where(read(client, admin, orders[0]["order_id"])) == {"1": ("ready", store)}
    check_invariants(context)


def test_a_cascaded_item_of_a_ship_complete_order_takes_the_rest_of_its_shipment_along(
    client: TestClient, admin: Headers, context: Context
) -> None:
    p, q = put_product(client, admin), put_product(client, admin)
    store = stocked(client, admin, 1, {p: 5, q: 5})
    single = create(client, admin, [(p, 1)])
    whole = create(client, admin, [(p, 1), (q, 1)], ship_complete=True)
    assert where(whole) == {"1": ("ready", store), "2": ("ready", store)}
    far = stocked(client, admin, 50, {p: 5, q: 5})
    answer = rejected_ok(client, admin, single, reason_id="NOT_IN_STOCK")
    taken = {(r["order_id"], r["item_id"], r["reason_id"]) for r in answer["rejected"]}
    assert taken == {
        (single["order_id"], "1", "NOT_IN_STOCK"),
        (whole["order_id"], "1", "CASCADE"),
        (whole["order_id"], "2", "AVOID_SPLIT"),
    }
    moved = read(client, admin, whole["order_id"])
    assert where(moved) == {"1": ("ready", far), "2": ("ready", far)}
    assert item(moved, "1")["shipment_id"] == item(moved, "2")["shipment_id"]
    assert qoh_atp(client, admin, store, q) == (5, 5)  # AVOID_SPLIT says nothing about stock
    check_invariants(context)


# Whole shipment or one item (SPEC 4.3) --------------------------------------------------------


def test_a_ship_complete_order_leaves_whole_with_avoid_split_and_is_routed_again_as_a_whole(
    client: TestClient, admin: Headers, context: Context
) -> None:
    p, q = put_product(client, admin), put_product(client, admin)
    store = stocked(client, admin, 1, {p: 5, q: 5})
    order = create(client, admin, [(p, 1), (q, 1)], ship_complete=True)
    old_shipment = item(order)["shipment_id"]
    stocked(client, admin, 10, {p: 5})  # nearer, but has only one of the two
    stocked(client, admin, 20, {q: 5})
    together = stocked(client, admin, 50, {p: 5, q: 5})

    answer = rejected_ok(client, admin, order, "1", "DAMAGED")
    assert sorted((r["item_id"], r["reason_id"], r["cascaded"]) for r in answer["rejected"]) == [
        ("1", "DAMAGED", False),
        ("2", "AVOID_SPLIT", True),
    ]
    moved = read(client, admin, order["order_id"])
    assert where(moved) == {"1": ("ready", together), "2": ("ready", together)}
    new_shipments = {i["shipment_id"] for i in moved["items"]}
    assert len(new_shipments) == 1 and old_shipment not in new_shipments
    assert {(r["item_id"], r["shipment_id"]) for r in answer["routed"]} == {
        ("1", *new_shipments),
        ("2", *new_shipments),
    }
    assert shipment_state(client, admin, old_shipment) == "declined"
    assert qoh_atp(client, admin, store, p) == (5, 4)  # DAMAGED on the rejected item's product
    assert qoh_atp(client, admin, store, q) == (5, 5)  # only released
    check_invariants(context)


def test_partial_rejection_off_sends_the_whole_shipment_and_on_only_the_item(
    client: TestClient, admin: Headers, context: Context
) -> None:
    shown = client.get("/api/v1/settings", headers=admin)
    assert shown.status_code == 200 and shown.json()["partial_rejection"] is True
    p, q = put_product(client, admin), put_product(client, admin)
    store = stocked(client, admin, 1, {p: 5, q: 5})
    default_on = create(client, admin, [(p, 1), (q, 1)])
    switched_off = create(client, admin, [(p, 1), (q, 1)])
    far = stocked(client, admin, 50, {p: 5, q: 5})

    answer = rejected_ok(client, admin, default_on, "1", "DAMAGED")
    assert [(r["item_id"], r["reason_id"]) for r in answer["rejected"]] == [("1", "DAMAGED")]
    kept = read(client, admin, default_on["order_id"])
    assert where(kept) == {"1": ("ready", far), "2": ("ready", store)}
    assert shipment_state(client, admin, item(default_on, "2")["shipment_id"]) == "ready"

    patch_settings(client, admin, partial_rejection=False)
    answer = rejected_ok(client, admin, switched_off, "1", "DAMAGED")
    assert sorted((r["item_id"], r["reason_id"], r["cascaded"]) for r in answer["rejected"]) == [
        ("1", "DAMAGED", False),
        ("2", "AVOID_SPLIT", True),
    ]
    moved = read(client, admin, switched_off["order_id"])
    assert where(moved) == {"1": ("ready", far), "2": ("ready", far)}
    assert item(moved, "1")["shipment_id"] == item(moved, "2")["shipment_id"]
    assert shipment_state(client, admin, item(switched_off)["shipment_id"]) == "declined"
    check_invariants(context)


def test_rejecting_a_whole_shipment_rejects_every_open_item_with_the_one_reason(
    client: TestClient, admin: Headers, context: Context
) -> None:
    p, q = put_product(client, admin), put_product(client, admin)
    store = stocked(client, admin, 1, {p: 5, q: 5})
    order = create(client, admin, [(p, 1), (q, 2)])
    shipment_id = item(order)["shipment_id"]
    step(client, admin, shipment_id, "start")
    far = stocked(client, admin, 50, {p: 5, q: 5})

    response = client.post(
        f"/api/v1/shipments/{shipment_id}/reject",
        json={"reason_id": "DAMAGED", "comment": "Box crushed"},
        headers=admin,
    )
    assert response.status_code == 200, response.text
    answer = response.json()
    assert sorted(
        (r["item_id"], r["shipment_id"], r["facility_id"], r["reason_id"], r["cascaded"])
        for r in answer["rejected"]
    ) == [("1", shipment_id, store, "DAMAGED", False), ("2", shipment_id, store, "DAMAGED", False)]
    assert {(r["item_id"], r["facility_id"]) for r in answer["routed"]} == {("1", far), ("2", far)}
    assert answer["inventory"] == {
        "product_id": p,
        "quantity_on_hand": 5,
        "available_to_promise": 4,
    }
    assert [(lv["product_id"], lv["available_to_promise"]) for lv in answer["levels"]] == [
        (p, 4),
        (q, 3),
    ]
    assert qoh_atp(client, admin, store, q) == (5, 3)
    assert shipment_state(client, admin, shipment_id) == "declined"
    assert records_by_order(client, admin) == {
        order["order_id"]: [
            ("2", "DAMAGED", False, "Box crushed"),
            ("1", "DAMAGED", False, "Box crushed"),
        ]
    }
    again = reject_shipment(client, admin, shipment_id, "DAMAGED")
    assert again.status_code == 409, again.text
    check_invariants(context)


# Where a rejected item can go (SPEC 4.4) -------------------------------------------------------


def test_an_item_is_never_sent_back_to_the_facility_that_rejected_it_it_waits_in_backorder(
    client: TestClient, admin: Headers, context: Context
) -> None:
    p = put_product(client, admin)
    store = stocked(client, admin, 1, {p: 5})
    order = create(client, admin, [(p, 1)])
    answer = rejected_ok(client, admin, order, reason_id="DAMAGED")
    assert answer["routed"] == [
        {
            "order_id": order["order_id"],
            "item_id": "1",
            "state": "backorder",
            "facility_id": None,
            "shipment_id": None,
        }
    ]
    assert qoh_atp(client, admin, store, p) == (5, 4)  # stock is there, but not for this item
    # More stock at the rejecting store still does not take it back...
    count_stock(client, admin, store, p, 50)
    assert where(read(client, admin, order["order_id"])) == {"1": ("backorder", None)}
    assert level(client, admin, store, p)["reserved"] == 0
    # ...while another order is still welcome there, and stock elsewhere routes the item.
    assert where(create(client, admin, [(p, 1)])) == {"1": ("ready", store)}
    elsewhere = stocked(client, admin, 80, {p: 1})
    assert where(read(client, admin, order["order_id"])) == {"1": ("ready", elsewhere)}
    check_invariants(context)


def test_a_pickup_item_goes_to_customer_care_not_to_another_store(
    client: TestClient, admin: Headers, context: Context
) -> None:
    p = put_product(client, admin)
    pickup_store = stocked(client, admin, 1, {p: 5})
    order = create(
        client, admin, [(p, 1)], shipping_method="pickup", pickup_facility_id=pickup_store
    )
    assert where(order) == {"1": ("ready", pickup_store)}
    other = stocked(client, admin, 2, {p: 5})
    answer = rejected_ok(client, admin, order, reason_id="DAMAGED")
    assert answer["rejected"][0]["reason_id"] == "DAMAGED"
    assert answer["routed"] == [
        {
            "order_id": order["order_id"],
            "item_id": "1",
            "state": "customer_care",
            "facility_id": None,
            "shipment_id": None,
        }
    ]
    assert where(read(client, admin, order["order_id"])) == {"1": ("customer_care", None)}
    assert qoh_atp(client, admin, pickup_store, p) == (5, 4)
    assert qoh_atp(client, admin, other, p) == (5, 5)
    history = read(client, admin, order["order_id"])["history"]
    rejected_row = next(h for h in history if h["event"] == "rejected")
    assert (rejected_row["to_state"], rejected_row["facility_id"]) == (
        "customer_care",
        pickup_store,
    )
    # Its items were rejected away: the shipment is declined, and off the store's lists.
    assert shipment_state(client, admin, item(order)["shipment_id"]) == "declined"
    check_invariants(context)


def test_a_same_day_item_moves_only_to_a_same_day_store_within_30_km_else_customer_care(
    client: TestClient, admin: Headers, context: Context
) -> None:
    p = put_product(client, admin)
    stocked(client, admin, 2, {p: 5}, capabilities=["ship"])  # nearest, but no same-day
    first = stocked(client, admin, 5, {p: 5}, capabilities=["ship", "same_day"])
    second = stocked(client, admin, 20, {p: 5}, capabilities=["ship", "same_day"])
    stocked(client, admin, 35, {p: 5}, capabilities=["ship", "same_day"])  # beyond the radius
    order = create(client, admin, [(p, 1)], shipping_method="same_day")
    assert where(order) == {"1": ("ready", first)}

    answer = rejected_ok(client, admin, order, reason_id="DAMAGED")
    assert [(r["state"], r["facility_id"]) for r in answer["routed"]] == [("ready", second)]

    moved = read(client, admin, order["order_id"])
    answer = rejected_ok(client, admin, moved, reason_id="DAMAGED")
    assert [(r["state"], r["facility_id"]) for r in answer["routed"]] == [("customer_care", None)]
    assert where(read(client, admin, order["order_id"])) == {"1": ("customer_care", None)}
    check_invariants(context)


# Acceptance feeds routing ------------------------------------------------------------------


def test_rejections_lower_a_facility_acceptance_and_routing_by_acceptance_prefers_another(
    client: TestClient, admin: Headers, context: Context
) -> None:
    p = put_product(client, admin)
    often_rejects = stocked(client, admin, 1, {p: 10})
    accepts = stocked(client, admin, 10, {p: 10})
    rules = {
        "routings": [{"name": "All", "inventory_rules": [{"sort": ["acceptance", "distance"]}]}]
    }
    response = client.put("/api/v1/routing/rules", json=rules, headers=admin)
    assert response.status_code == 200, response.text
    orders = [create(client, admin, [(p, 1)]) for _ in range(2)]
    assert {where(o)["1"] for o in orders} == {("ready", often_rejects)}  # no history: nearest
    for order in orders:
        rejected_ok(client, admin, order, reason_id="DAMAGED")
    d = tables.facility_days
    with unit_of_work(context.db, write=False) as uow:
        counted = {
            r.facility_id: (r.assignments, r.rejections)
            for r in uow.conn.execute(select(d.c.facility_id, d.c.assignments, d.c.rejections))
        }
    assert counted == {often_rejects: (2, 2), accepts: (2, 0)}
    context.cache.clear()  # routing keeps acceptance for a minute
    assert where(create(client, admin, [(p, 1)])) == {"1": ("ready", accepts)}
    # Sorting by distance alone still picks the nearer one: acceptance made the difference.
    response = client.delete("/api/v1/routing/rules", headers=admin)
    assert response.status_code in (200, 204), response.text
    assert where(create(client, admin, [(p, 1)])) == {"1": ("ready", often_rejects)}


def test_after_rejections_of_every_kind_counters_equal_the_ledger_and_what_items_hold(
    client: TestClient, admin: Headers, context: Context
) -> None:
    for reason in ("NOT_IN_STOCK", "MISMATCH", "DAMAGED", "WORN_DISPLAY", None):
        p, q = put_product(client, admin), put_product(client, admin)
        store = stocked(client, admin, 1, {p: 6, q: 4})
        orders = [create(client, admin, [(p, 1), (q, 1)]) for _ in range(3)]
        orders.append(create(client, admin, [(p, 2)], ship_complete=True))
        step(client, admin, item(orders[1])["shipment_id"], "start", "pack")
        stocked(client, admin, 30, {p: 3, q: 1})
        rejected_ok(client, admin, orders[0], "1", reason)
        rejected_ok(client, admin, read(client, admin, orders[2]["order_id"]), "2", reason)
        response = reject_shipment(client, admin, item(orders[3])["shipment_id"], reason)
        # 409 when the cascade of NOT_IN_STOCK took that shipment already.
        assert response.status_code == (409 if reason == "NOT_IN_STOCK" else 200), response.text
        check_invariants(context)
        assert level(client, admin, store, p)["available_to_promise"] >= 0, reason
