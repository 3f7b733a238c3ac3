"""The plan of one rejection without a database, SPEC section 4 cell by cell: each reason's
inventory effect, cascade and shortage (4.2), whole shipments and ship-complete orders (4.3),
pickup items (4.4), and how the plan asks for what it was not given."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

import pytest

from reroute.domain.errors import Conflict, NotFound
from reroute.domain.inventory import InventoryLevel
from reroute.domain.notifications import DEFAULT_DECLINE
from reroute.domain.orders import (
    AT_FACILITY,
    REJECTABLE,
    Address,
    By,
    HistoryEvent,
    ItemState,
    Order,
    OrderItem,
    Shipment,
    ShipmentState,
    ShippingMethod,
)
from reroute.domain.reasons import AVOID_SPLIT, CASCADE, NO_REASON, InventoryEffect, Reason
from reroute.domain.rejection import Cause, RejectionPlan, Reservation, plan_rejection

T0 = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)
STORE = "S"
CHICAGO = Address(city="Chicago", latitude=41.88, longitude=-87.63)
BY = By("associate-1", "req-1")

NOT_IN_STOCK = Reason("NOT_IN_STOCK", "Not in stock", InventoryEffect.ZERO, True, *DEFAULT_DECLINE)
MISMATCH = Reason(
    "MISMATCH",
    "Mismatch",
    InventoryEffect.DECREASE_QOH_AND_ATP,
    False,
    "103",
    "Item does not match",
)
DAMAGED = Reason("DAMAGED", "Damage", InventoryEffect.DECREASE_ATP, False, "104", "Damaged")
STORE_CAPACITY = Reason(
    "STORE_CAPACITY", "Store cannot take more today", InventoryEffect.NONE, False, "106", "Full"
)
CASCADE_REASON = Reason(
    CASCADE, "Same product rejected at this store", InventoryEffect.NONE, False, *DEFAULT_DECLINE
)
AVOID_SPLIT_REASON = Reason(
    AVOID_SPLIT,
    "Rejected with the rest of the shipment",
    InventoryEffect.NONE,
    False,
    "105",
    "Shipped together with a declined item",
)


@dataclass
class Store:
    """The rejecting store as a database would hold it: its QOH by product, and every order
    holding stock there. ATP and reserved follow from the items unless a count says otherwise."""

    qoh: dict[str, int]
    orders: dict[str, Order] = field(default_factory=dict)
    atp: dict[str, int] = field(default_factory=dict)
    shipments: Counter[str] = field(default_factory=Counter)

    def place(
        self,
        order_id: str,
        *lines: tuple[str, int],
        minutes: int = 0,
        state: ItemState = ItemState.READY,
        ship_complete: bool = False,
        method: ShippingMethod = ShippingMethod.STANDARD,
    ) -> Order:
        """An order whose items are all in one shipment here, reserved `minutes` after T0."""
        shipment_id = str(500 + len(self.orders))
        items = [
            OrderItem(str(n + 1), product_id, quantity, state, STORE, shipment_id, at(minutes))
            for n, (product_id, quantity) in enumerate(lines)
        ]
        order = Order(
            order_id,
            "Ada",
            "ada@example.com",
            method,
            CHICAGO,
            items,
            ship_complete=ship_complete,
            pickup_facility_id=STORE if method is ShippingMethod.PICKUP else None,
        )
        self.orders[order_id] = order
        return order

    def level(self, product_id: str) -> InventoryLevel:
        reserved = sum(
            i.quantity
            for o in self.orders.values()
            for i in o.items
            if i.product_id == product_id and i.state in AT_FACILITY and i.facility_id == STORE
        )
        qoh = self.qoh.get(product_id, 0)
        atp = self.atp.get(product_id, qoh - reserved)
        return InventoryLevel(STORE, product_id, qoh, atp, reserved)

    def reservations(self, product_id: str) -> list[Reservation]:
        return [
            Reservation(o.id, i.item_id, i.quantity, i.reserved_at or T0)
            for o in self.orders.values()
            for i in o.items
            if i.product_id == product_id and i.state in REJECTABLE and i.facility_id == STORE
        ]

    def shipment(self, order_id: str) -> Shipment:
        shipment_id = self.orders[order_id].items[0].shipment_id
        assert shipment_id is not None
        return Shipment(shipment_id, order_id, STORE)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def plan(
    store: Store,
    order_id: str,
    item_id: str | None = "1",
    reason: Reason = DAMAGED,
    *,
    partial_rejection: bool = True,
    comment: str | None = None,
) -> RejectionPlan:
    """Plan as the service does: load what the plan asks for, and plan again until complete."""
    order = store.orders[order_id]
    levels: dict[str, InventoryLevel] = {}
    reservations: dict[str, list[Reservation]] = {}
    orders: dict[str, Order] = {}
    for _ in range(20):
        found = plan_rejection(
            store.shipment(order_id),
            order,
            item_id,
            reason,
            cascade=CASCADE_REASON,
            avoid_split=AVOID_SPLIT_REASON,
            partial_rejection=partial_rejection,
            levels=levels,
            reservations=reservations,
            orders=orders,
            by=BY,
            comment=comment,
        )
        if found.complete:
            return found
        levels.update({p: store.level(p) for p in found.missing_levels})
        reservations.update({p: store.reservations(p) for p in found.missing_reservations})
        orders.update({o: store.orders[o] for o in found.missing_orders})
    raise AssertionError("the plan kept asking for more")


def counters(found: RejectionPlan, product_id: str = "P") -> tuple[int, int, int]:
    level = found.level(product_id)
    return level.quantity_on_hand, level.available_to_promise, level.reserved


def leaving(found: RejectionPlan) -> list[tuple[str, str, str, Cause]]:
    return [(g.order_id, g.item.item_id, g.reason.id, g.cause) for g in found.leaving]


def worked_example() -> Store:
    """SPEC 4.1: store S holds P, QOH 5, items A (1) and B (1) reserved, ATP 3."""
    store = Store({"P": 5})
    store.place("A", ("P", 1), minutes=0)
    store.place("B", ("P", 1), minutes=5)
    return store


# Each inventory effect (SPEC 4.1) ---------------------------------------------------------------


def test_damaged_releases_then_lowers_atp_and_b_stays() -> None:
    found = plan(worked_example(), "A", reason=DAMAGED)
    assert counters(found) == (5, 3, 1)
    assert leaving(found) == [("A", "1", "DAMAGED", Cause.CHOSEN)]
    assert [(e.cause, e.qoh_diff, e.atp_diff, e.reserved_diff) for e in found.entries] == [
        ("release", 0, 1, -1),
        ("reject:decrease_atp", 0, -1, 0),
    ]


def test_mismatch_releases_then_lowers_qoh_and_atp() -> None:
    found = plan(worked_example(), "A", reason=MISMATCH)
    assert counters(found) == (4, 3, 1)
    assert [(e.cause, e.qoh_diff, e.atp_diff) for e in found.entries] == [
        ("release", 0, 1),
        ("reject:decrease_qoh_and_atp", -1, -1),
    ]


def test_not_in_stock_cascades_to_b_and_sets_both_counters_to_zero() -> None:
    found = plan(worked_example(), "A", reason=NOT_IN_STOCK)
    assert counters(found) == (0, 0, 0)
    assert leaving(found) == [
        ("A", "1", "NOT_IN_STOCK", Cause.CHOSEN),
        ("B", "1", CASCADE, Cause.CASCADE),
    ]
    assert [e.cause for e in found.entries] == ["release", "release", "reject:zero"]


@pytest.mark.parametrize("reason", [STORE_CAPACITY, NO_REASON])
def test_a_reason_with_no_effect_only_releases(reason: Reason) -> None:
    found = plan(worked_example(), "A", reason=reason)
    assert counters(found) == (5, 4, 1)
    assert [e.cause for e in found.entries] == ["release"]
    assert found.records[0].reason_id == (reason.id or None)


def test_mismatch_never_takes_qoh_below_zero() -> None:
    store = Store({"P": 0}, atp={"P": -2})  # a count found nothing, two units still promised
    store.place("A", ("P", 2))
    found = plan(store, "A", reason=MISMATCH)
    assert counters(found) == (0, 0, 0)
    assert [e.cause for e in found.entries] == ["release"]  # nothing left to take away


def test_zero_keeps_on_hand_the_units_of_packed_items() -> None:
    store = Store({"P": 10})
    store.place("A", ("P", 1))
    store.place("PACKED", ("P", 3), state=ItemState.PACKED)
    found = plan(store, "A", reason=NOT_IN_STOCK)
    assert counters(found) == (3, 0, 3)
    assert [g.order_id for g in found.leaving] == ["A"]


# Cascade and shortage (SPEC 4.2) ---------------------------------------------------------------


def test_a_cascading_reason_takes_every_other_open_item_of_the_product_and_leaves_packed() -> None:
    store = Store({"P": 10, "Q": 5})
    store.place("A", ("P", 1))
    store.place("STARTED", ("P", 1), state=ItemState.IN_PROGRESS)
    store.place("PACKED", ("P", 2), state=ItemState.PACKED)
    store.place("WAITING", ("P", 1))
    store.place("OTHER", ("Q", 1))
    found = plan(store, "A", reason=NOT_IN_STOCK, comment="Shelf empty")
    assert sorted(leaving(found)) == [
        ("A", "1", "NOT_IN_STOCK", Cause.CHOSEN),
        ("STARTED", "1", CASCADE, Cause.CASCADE),
        ("WAITING", "1", CASCADE, Cause.CASCADE),
    ]
    assert counters(found) == (2, 0, 2)
    assert [lv.product_id for lv in found.levels] == ["P"]  # Q is not touched
    assert {(r.order_id, r.reason_id, r.cascaded, r.comment) for r in found.records} == {
        ("A", "NOT_IN_STOCK", False, "Shelf empty"),
        ("STARTED", CASCADE, True, None),
        ("WAITING", CASCADE, True, None),
    }
    started = next(h for h in found.history if h.order_id == "STARTED")
    assert (started.event, started.from_state, started.to_state) == (
        HistoryEvent.REJECTED,
        "in_progress",
        "queued",
    )
    assert (started.facility_id, started.reason_id) == (STORE, CASCADE)


def test_a_shortage_takes_the_newest_reservations_until_atp_is_zero_and_no_more() -> None:
    store = Store({"P": 2}, atp={"P": -2})  # a count found 2 with 4 promised
    for n, name in enumerate(("OLDEST", "OLDER", "NEWER", "NEWEST")):
        store.place(name, ("P", 1), minutes=n)
    found = plan(store, "OLDEST", reason=DAMAGED)
    # Release OLDEST (ATP -1), lower ATP by 1 (ATP -2): the two newest go (ATP 0).
    assert leaving(found) == [
        ("OLDEST", "1", "DAMAGED", Cause.CHOSEN),
        ("NEWEST", "1", CASCADE, Cause.SHORTAGE),
        ("NEWER", "1", CASCADE, Cause.SHORTAGE),
    ]
    assert counters(found) == (2, 0, 1)


def test_without_a_shortage_a_non_cascading_reason_takes_nothing_else() -> None:
    store = Store({"P": 3})
    for n in range(3):
        store.place(f"O{n}", ("P", 1), minutes=n)
    found = plan(store, "O2", reason=MISMATCH)
    assert [g.order_id for g in found.leaving] == ["O2"]
    assert counters(found) == (2, 0, 2)


def test_a_shortage_passes_over_a_reservation_its_order_shows_packed_and_takes_the_next() -> None:
    store = Store({"P": 2}, atp={"P": -1})
    store.place("OLD", ("P", 1), minutes=0)
    store.place("MIDDLE", ("P", 1), minutes=1)
    store.place("NEWEST", ("P", 1), minutes=2)
    listed = store.reservations("P")
    store.orders["NEWEST"].items[0].state = ItemState.PACKED  # packed after the list was read
    found = _plan_with_listed(store, "OLD", DAMAGED, listed)
    assert leaving(found) == [
        ("OLD", "1", "DAMAGED", Cause.CHOSEN),
        ("MIDDLE", "1", CASCADE, Cause.SHORTAGE),
    ]
    assert ("NEWEST", "1") not in {(g.order_id, g.item.item_id) for g in found.leaving}


def _plan_with_listed(
    store: Store, order_id: str, reason: Reason, listed: list[Reservation]
) -> RejectionPlan:
    """Plan with reservations read before a concurrent change their orders then show."""
    levels = {"P": store.level("P")}
    orders: dict[str, Order] = {}
    for _ in range(10):
        found = plan_rejection(
            store.shipment(order_id),
            store.orders[order_id],
            "1",
            reason,
            cascade=CASCADE_REASON,
            avoid_split=AVOID_SPLIT_REASON,
            partial_rejection=True,
            levels=levels,
            reservations={"P": listed},
            orders=orders,
            by=BY,
        )
        if found.complete:
            return found
        assert not found.missing_levels and not found.missing_reservations
        orders.update({o: store.orders[o] for o in found.missing_orders})
    raise AssertionError("the plan kept asking for more")


# Whole shipment or one item (SPEC 4.3) ----------------------------------------------------------


def test_a_ship_complete_order_leaves_whole_with_avoid_split_and_is_routed_as_a_whole() -> None:
    store = Store({"P": 5, "Q": 5})
    store.place("WHOLE", ("P", 1), ("Q", 1), ship_complete=True)
    found = plan(store, "WHOLE", "1", DAMAGED)
    assert leaving(found) == [
        ("WHOLE", "1", "DAMAGED", Cause.CHOSEN),
        ("WHOLE", "2", AVOID_SPLIT, Cause.REST_OF_SHIPMENT),
    ]
    assert counters(found, "P") == (5, 4, 0)  # DAMAGED on the rejected item's product
    assert counters(found, "Q") == (5, 5, 0)  # AVOID_SPLIT says nothing about stock
    assert [(s.id, s.state) for s in found.shipments] == [("500", ShipmentState.DECLINED)]
    [routed] = found.to_route
    assert [i.state for i in routed.items] == [ItemState.QUEUED, ItemState.QUEUED]


def test_partial_rejection_off_sends_the_whole_shipment_and_on_only_the_item() -> None:
    store = Store({"P": 5, "Q": 5})
    store.place("O", ("P", 1), ("Q", 1))
    on = plan(store, "O", "1", DAMAGED)
    assert leaving(on) == [("O", "1", "DAMAGED", Cause.CHOSEN)]
    assert [(s.id, s.state) for s in on.shipments] == [("500", ShipmentState.READY)]
    off = plan(store, "O", "1", DAMAGED, partial_rejection=False)
    assert leaving(off) == [
        ("O", "1", "DAMAGED", Cause.CHOSEN),
        ("O", "2", AVOID_SPLIT, Cause.REST_OF_SHIPMENT),
    ]
    assert [(s.id, s.state) for s in off.shipments] == [("500", ShipmentState.DECLINED)]


def test_a_cascade_victim_of_a_ship_complete_order_takes_the_rest_of_its_shipment() -> None:
    store = Store({"P": 5, "Q": 5})
    store.place("SINGLE", ("P", 1))
    store.place("WHOLE", ("P", 1), ("Q", 1), ship_complete=True)
    found = plan(store, "SINGLE", reason=NOT_IN_STOCK)
    assert leaving(found) == [
        ("SINGLE", "1", "NOT_IN_STOCK", Cause.CHOSEN),
        ("WHOLE", "1", CASCADE, Cause.CASCADE),
        ("WHOLE", "2", AVOID_SPLIT, Cause.REST_OF_SHIPMENT),
    ]
    assert counters(found, "Q") == (5, 5, 0)
    assert [o.id for o in found.to_route] == ["SINGLE", "WHOLE"]


def test_with_partial_rejection_off_a_shortage_victim_leaves_with_its_whole_shipment() -> None:
    store = Store({"P": 1, "Q": 5}, atp={"P": -1})
    store.place("A", ("P", 1), minutes=0)
    store.place("B", ("P", 1), ("Q", 2), minutes=5)
    found = plan(store, "A", reason=DAMAGED, partial_rejection=False)
    assert leaving(found) == [
        ("A", "1", "DAMAGED", Cause.CHOSEN),
        ("B", "1", CASCADE, Cause.SHORTAGE),
        ("B", "2", AVOID_SPLIT, Cause.REST_OF_SHIPMENT),
    ]
    assert counters(found, "Q") == (5, 5, 0)


def test_a_whole_shipment_rejection_takes_every_open_item_with_the_one_reason() -> None:
    store = Store({"P": 5, "Q": 5})
    store.place("O", ("P", 1), ("Q", 2), state=ItemState.IN_PROGRESS)
    found = plan(store, "O", None, DAMAGED, comment="Box crushed")
    assert leaving(found) == [
        ("O", "1", "DAMAGED", Cause.CHOSEN),
        ("O", "2", "DAMAGED", Cause.CHOSEN),
    ]
    assert [r.comment for r in found.records] == ["Box crushed", "Box crushed"]
    assert counters(found, "P") == (5, 4, 0) and counters(found, "Q") == (5, 3, 0)
    assert found.products == ["P", "Q"]
    [decline] = found.declines
    assert decline.whole_shipment and decline.whole_shipment_reason == ("104", "Damaged")
    assert [line.reason for line in decline.lines] == [("104", "Damaged"), ("104", "Damaged")]


def test_a_whole_shipment_rejection_without_a_reason_declines_with_the_default() -> None:
    store = Store({"P": 5})
    store.place("O", ("P", 1))
    [decline] = plan(store, "O", None, NO_REASON).declines
    assert decline.whole_shipment_reason == DEFAULT_DECLINE


# Where a rejected item goes (SPEC 4.4) ----------------------------------------------------------


def test_a_pickup_item_goes_to_customer_care_and_is_not_routed() -> None:
    store = Store({"P": 5})
    store.place("PICKUP", ("P", 1), method=ShippingMethod.PICKUP)
    found = plan(store, "PICKUP", reason=DAMAGED)
    assert [g.item.state for g in found.leaving] == [ItemState.CUSTOMER_CARE]
    assert found.to_route == []
    [decline] = found.declines  # the store's no is still told
    assert not decline.whole_shipment and decline.lines[0].reason == ("104", "Damaged")


def test_each_item_that_leaves_is_excluded_from_this_store() -> None:
    found = plan(worked_example(), "A", reason=NOT_IN_STOCK)
    assert [(e.order_id, e.item_id, e.facility_id) for e in found.exclusions] == [
        ("A", "1", STORE),
        ("B", "1", STORE),
    ]


# Notifications ----------------------------------------------------------------------------------


def test_one_store_decline_per_shipment_with_its_lines_and_the_qoh_left() -> None:
    store = Store({"P": 4})
    store.place("A", ("P", 1))
    store.place("B", ("P", 2))
    found = plan(store, "A", reason=NOT_IN_STOCK)
    shown = [
        (
            d.order.id,
            d.shipment_id,
            [(ln.item.item_id, ln.reason) for ln in d.lines],
            d.availability,
        )
        for d in found.declines
    ]
    assert shown == [
        ("A", "500", [("1", DEFAULT_DECLINE)], {"P": 0}),
        ("B", "501", [("1", DEFAULT_DECLINE)], {"P": 0}),
    ]
    assert not any(d.whole_shipment for d in found.declines)


# Items and shipments --------------------------------------------------------------------------


def test_the_items_leave_through_their_own_transition_and_keep_the_shipment_they_left() -> None:
    found = plan(worked_example(), "A", reason=DAMAGED, comment="torn")
    [(order_id, item)] = found.items
    assert (order_id, item.state, item.facility_id, item.shipment_id) == (
        "A",
        ItemState.QUEUED,
        None,
        None,
    )
    assert found.leaving[0].shipment_id == "500"
    [entry] = found.history
    assert (entry.event, entry.shipment_id, entry.facility_id, entry.note) == (
        HistoryEvent.REJECTED,
        "500",
        STORE,
        "torn",
    )
    assert (entry.actor, entry.request_id) == (BY.actor, BY.request_id)


def test_an_in_progress_shipment_that_keeps_an_item_stays_in_progress() -> None:
    store = Store({"P": 5, "Q": 5})
    store.place("O", ("P", 1), ("Q", 1), state=ItemState.IN_PROGRESS)
    found = plan(store, "O", "1", DAMAGED)
    assert [(s.id, s.state) for s in found.shipments] == [("500", ShipmentState.IN_PROGRESS)]


@pytest.mark.parametrize(
    ("state", "item_id", "error"),
    [
        (ItemState.PACKED, "1", Conflict),
        (ItemState.FULFILLED, "1", Conflict),
        (ItemState.READY, "9", NotFound),
    ],
)
def test_a_packed_fulfilled_or_unknown_item_cannot_be_rejected(
    state: ItemState, item_id: str, error: type[Exception]
) -> None:
    store = Store({"P": 5})
    store.place("O", ("P", 1), state=state)
    with pytest.raises(error):
        plan(store, "O", item_id, DAMAGED)


def test_an_item_of_another_shipment_is_refused() -> None:
    store = Store({"P": 5})
    order = store.place("O", ("P", 1), ("P", 1))
    order.items[1] = replace(order.items[1], shipment_id="999")
    with pytest.raises(Conflict, match="no longer in shipment"):
        plan(store, "O", "2", DAMAGED)


# Asking for what was not loaded, and planning again from the same start --------------------------


def test_an_order_not_loaded_is_named_in_missing_orders_and_nothing_is_decided() -> None:
    store = worked_example()
    found = plan_rejection(
        store.shipment("A"),
        store.orders["A"],
        "1",
        NOT_IN_STOCK,
        cascade=CASCADE_REASON,
        avoid_split=AVOID_SPLIT_REASON,
        partial_rejection=True,
        levels={"P": store.level("P")},
        reservations={"P": store.reservations("P")},
        orders={},
        by=BY,
    )
    assert found.missing_orders == ["B"] and not found.complete
    assert (found.leaving, found.entries, found.records) == ([], [], [])


def test_the_plan_asks_for_a_level_and_reservations_only_when_it_needs_them() -> None:
    store = worked_example()
    ask = plan_rejection(
        store.shipment("A"),
        store.orders["A"],
        "1",
        DAMAGED,
        cascade=CASCADE_REASON,
        avoid_split=AVOID_SPLIT_REASON,
        partial_rejection=True,
        levels={},
        reservations={},
        orders={},
        by=BY,
    )
    assert (ask.missing_levels, ask.missing_reservations, ask.missing_orders) == (["P"], [], [])
    done = plan(store, "A", reason=DAMAGED)  # no shortage: the other reservations are not read
    assert done.complete


def test_the_plan_changes_none_of_what_it_was_given() -> None:
    store = worked_example()
    level = store.level("P")
    before = replace(level)

    def once() -> RejectionPlan:
        return plan_rejection(
            store.shipment("A"),
            store.orders["A"],
            "1",
            NOT_IN_STOCK,
            cascade=CASCADE_REASON,
            avoid_split=AVOID_SPLIT_REASON,
            partial_rejection=True,
            levels={"P": level},
            reservations={"P": store.reservations("P")},
            orders=dict(store.orders),
            by=BY,
        )

    first, again = once(), once()
    assert level == before
    assert all(i.state is ItemState.READY for o in store.orders.values() for i in o.items)
    assert first.level("P") is not level
    assert counters(first) == counters(again) == (0, 0, 0)
    assert leaving(first) == leaving(again)
