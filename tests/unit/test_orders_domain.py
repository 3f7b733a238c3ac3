"""Orders without storage: what makes an order acceptable, how items and shipments move from state
to state (and refuse what they cannot do), and how a shipment's state follows its items."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from reroute.domain.errors import Conflict, Invalid
from reroute.domain.orders import (
    AT_FACILITY,
    CANCELABLE,
    REJECTABLE,
    ROUTABLE,
    SYSTEM,
    Address,
    By,
    HistoryEntry,
    HistoryEvent,
    ItemState,
    Order,
    OrderItem,
    Shipment,
    ShipmentState,
    ShippingMethod,
    shipment_state,
)

CHICAGO = Address(city="Chicago", latitude=41.88, longitude=-87.63)


def order(items: list[OrderItem] | None = None, **overrides: Any) -> Order:
    values: dict[str, Any] = {
        "id": f"O-{uuid.uuid4().hex[:8]}",
        "customer_name": "Ada Lovelace",
        "customer_email": "ada@example.com",
        "shipping_method": ShippingMethod.STANDARD,
        "ship_to": CHICAGO,
        "items": items if items is not None else [OrderItem("1", "P-1", 1)],
    }
    values.update(overrides)
    return Order(**values)


def paths(error: pytest.ExceptionInfo[Invalid]) -> list[str]:
    return [e.path for e in error.value.errors]


def test_a_complete_shipped_order_is_accepted() -> None:
    order([OrderItem("1", "P-1", 2), OrderItem("2", "P-2", 1)]).validate()


def test_a_new_item_waits_for_routing_at_no_facility() -> None:
    item = OrderItem("1", "P-1", 1)
    assert (item.state, item.facility_id, item.shipment_id) == (ItemState.QUEUED, None, None)


def test_a_repeated_item_id_is_refused_at_the_path_of_the_repeat() -> None:
    items = [OrderItem("1", "P-1", 1), OrderItem("2", "P-2", 1), OrderItem("1", "P-3", 1)]
    with pytest.raises(Invalid) as error:
        order(items).validate()
    assert paths(error) == ["items.2.item_id"]


def test_a_pickup_order_without_its_pickup_facility_is_refused() -> None:
    with pytest.raises(Invalid) as error:
        order(shipping_method=ShippingMethod.PICKUP).validate()
    assert paths(error) == ["pickup_facility_id"]


def test_a_pickup_order_needs_no_ship_to_coordinates() -> None:
    order(
        shipping_method=ShippingMethod.PICKUP, pickup_facility_id="F-1", ship_to=Address()
    ).validate()


@pytest.mark.parametrize(
    "ship_to",
    [Address(latitude=41.88), Address(longitude=-87.63)],
    ids=["no-longitude", "no-latitude"],
)
@pytest.mark.parametrize("method", ["standard", "express", "same_day"])
def test_a_shipped_order_with_only_one_coordinate_is_refused(ship_to: Address, method: str) -> None:
    with pytest.raises(Invalid) as error:
        order(ship_to=ship_to, shipping_method=ShippingMethod(method)).validate()
    assert paths(error) == ["ship_to"]


def test_a_shipped_order_without_coordinates_is_taken_and_can_be_held_for_a_person() -> None:
    unplaced = order(ship_to=Address(postal_code="99999"))
    unplaced.validate()
    rows = unplaced.unlocated("ZIP code 99999 is unknown", By("token:1"))
    assert [i.state for i in unplaced.items] == [ItemState.CUSTOMER_CARE] * len(unplaced.items)
    assert [(r.event, r.from_state, r.to_state) for r in rows] == [
        (HistoryEvent.CUSTOMER_CARE, "queued", "customer_care")
    ] * len(unplaced.items)
    assert rows[0].note == (
        "Ship-to could not be located: ZIP code 99999 is unknown. A person must check the address."
    )


def test_a_unit_price_needs_its_currency_and_a_currency_its_price() -> None:
    with pytest.raises(Invalid) as error:
        order(
            [
                OrderItem("1", "P-1", 1, unit_price=Decimal("2.5")),
                OrderItem("2", "P-2", 1, currency="USD"),
            ]
        ).validate()
    assert paths(error) == ["items.0.currency", "items.1.currency"]


def test_an_order_without_items_is_refused() -> None:
    with pytest.raises(Invalid) as error:
        order([]).validate()
    assert paths(error) == ["items"]


@pytest.mark.parametrize("quantity", [0, -3])
def test_an_item_of_no_units_is_refused(quantity: int) -> None:
    with pytest.raises(Invalid) as error:
        order([OrderItem("1", "P-1", 1), OrderItem("2", "P-2", quantity)]).validate()
    assert paths(error) == ["items.1.quantity"]


def test_every_problem_of_an_order_is_reported_at_once() -> None:
    items = [OrderItem("1", "P-1", 0), OrderItem("1", "P-2", 1)]
    broken = order(items, shipping_method=ShippingMethod.PICKUP, ship_to=Address())
    with pytest.raises(Invalid) as error:
        broken.validate()
    assert sorted(paths(error)) == ["items.0.quantity", "items.1.item_id", "pickup_facility_id"]
    assert broken.id in error.value.detail


def test_an_item_is_found_by_its_id() -> None:
    second = OrderItem("b", "P-2", 1)
    found = order([OrderItem("a", "P-1", 1), second])
    assert found.item("b") is second
    assert found.item("c") is None


# Where an item stands ---------------------------------------------------------------------


def test_only_ready_and_in_progress_items_can_be_rejected() -> None:
    assert {ItemState.READY, ItemState.IN_PROGRESS} == REJECTABLE
    assert ItemState.PACKED in AT_FACILITY
    assert ItemState.PACKED not in REJECTABLE
    assert {ItemState.QUEUED, ItemState.BACKORDER} == ROUTABLE
    assert not AT_FACILITY & ROUTABLE


R, IP, PK, FF = ItemState.READY, ItemState.IN_PROGRESS, ItemState.PACKED, ItemState.FULFILLED
Q, BO, CC, CX = ItemState.QUEUED, ItemState.BACKORDER, ItemState.CUSTOMER_CARE, ItemState.CANCELED


@pytest.mark.parametrize(
    ("items", "expected"),
    [
        ([R], ShipmentState.READY),
        ([R, R], ShipmentState.READY),
        ([R, IP], ShipmentState.READY),
        ([R, PK], ShipmentState.READY),
        ([IP, PK], ShipmentState.IN_PROGRESS),
        ([IP, FF], ShipmentState.IN_PROGRESS),
        ([PK], ShipmentState.PACKED),
        ([PK, FF], ShipmentState.PACKED),
        ([FF], ShipmentState.FULFILLED),
        ([FF, Q], ShipmentState.FULFILLED),
        ([R, Q, CX], ShipmentState.READY),
        ([PK, BO, CC], ShipmentState.PACKED),
    ],
)
def test_a_shipment_follows_the_least_advanced_item_still_at_its_facility(
    items: list[ItemState], expected: ShipmentState
) -> None:
    assert shipment_state(items, ShipmentState.DECLINED) is expected


@pytest.mark.parametrize(
    "ended", [ShipmentState.DECLINED, ShipmentState.CANCELED, ShipmentState.CUSTOMER_CARE]
)
@pytest.mark.parametrize("items", [[], [Q], [Q, BO], [CC], [CX, Q]])
def test_a_shipment_with_no_item_left_at_its_facility_ends_as_told(
    items: list[ItemState], ended: ShipmentState
) -> None:
    assert shipment_state(items, ended) is ended


def test_a_shipment_state_can_be_computed_from_a_generator_of_states() -> None:
    assert (
        shipment_state((s for s in [PK, IP]), ShipmentState.DECLINED) is ShipmentState.IN_PROGRESS
    )


# Item transitions -------------------------------------------------------------------------

ALICE = By("alice", "req-1")
NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def item_in(state: ItemState) -> OrderItem:
    """An item standing in `state`, at a facility and in a shipment when the state holds one."""
    if state in AT_FACILITY or state is ItemState.FULFILLED:
        return OrderItem("1", "P-1", 2, state, "F-1", "7", NOW)
    return OrderItem("1", "P-1", 2, state)


Transition = Callable[[OrderItem], HistoryEntry | None]

#: Every transition an item has, and the states it may leave.
TRANSITIONS: dict[str, tuple[Transition, frozenset[ItemState]]] = {
    "assign": (lambda i: i.assign("O-1", "F-2", "8", NOW, ALICE, "nearest"), ROUTABLE),
    "hold in backorder": (lambda i: i.hold("O-1", BO, ALICE, "no stock"), ROUTABLE),
    "hold for customer care": (lambda i: i.hold("O-1", CC, ALICE, "a person"), ROUTABLE),
    "reject": (lambda i: i.reject("O-1", False, ALICE, "R-1", "torn"), REJECTABLE),
    "reject a pickup": (lambda i: i.reject("O-1", True, ALICE, "R-1"), REJECTABLE),
    "start": (lambda i: i.start("O-1", ALICE), frozenset({R})),
    "pack": (lambda i: i.pack("O-1", ALICE), frozenset({IP})),
    "fulfil": (lambda i: i.fulfil("O-1", ALICE), frozenset({PK})),
    "cancel": (lambda i: i.cancel("O-1", ALICE, "R-2"), CANCELABLE),
    "to customer care": (lambda i: i.to_customer_care("O-1", ALICE, "R-3"), AT_FACILITY),
}
CASES = [(name, state) for name in TRANSITIONS for state in ItemState]


@pytest.mark.parametrize(("name", "state"), CASES, ids=[f"{n}-from-{s}" for n, s in CASES])
def test_an_item_leaves_only_the_states_a_transition_allows(name: str, state: ItemState) -> None:
    transition, allowed = TRANSITIONS[name]
    item = item_in(state)
    if state in allowed:
        transition(item)
        return
    untouched = replace(item)
    with pytest.raises(Conflict) as refused:
        transition(item)
    assert item == untouched
    assert f"Item 1 is {state}" in refused.value.detail


def test_a_cancelable_item_is_anything_not_fulfilled_or_canceled() -> None:
    assert frozenset(ItemState) - CANCELABLE == {FF, CX}


def test_a_new_item_writes_where_it_starts() -> None:
    entry = OrderItem("1", "P-1", 2).created("O-1", ALICE)
    assert entry == HistoryEntry(
        "O-1",
        HistoryEvent.CREATED,
        item_id="1",
        to_state="queued",
        actor="alice",
        request_id="req-1",
    )


@pytest.mark.parametrize("before", [Q, BO])
def test_assigning_reserves_in_a_shipment_and_writes_where_the_item_went(
    before: ItemState,
) -> None:
    item = item_in(before)
    entry = item.assign("O-1", "F-2", "8", NOW, ALICE, "nearest (3.2 km)")
    assert (item.state, item.facility_id, item.shipment_id, item.reserved_at) == (
        R,
        "F-2",
        "8",
        NOW,
    )
    assert entry == HistoryEntry(
        "O-1",
        HistoryEvent.ASSIGNED,
        item_id="1",
        shipment_id="8",
        from_state=str(before),
        to_state="ready",
        facility_id="F-2",
        actor="alice",
        request_id="req-1",
        note="nearest (3.2 km)",
    )


@pytest.mark.parametrize(
    ("before", "held", "event"),
    [
        (Q, BO, HistoryEvent.BACKORDER),
        (Q, CC, HistoryEvent.CUSTOMER_CARE),
        (BO, CC, HistoryEvent.CUSTOMER_CARE),
    ],
)
def test_holding_an_item_writes_why_it_waits(
    before: ItemState, held: ItemState, event: HistoryEvent
) -> None:
    item = item_in(before)
    entry = item.hold("O-1", held, SYSTEM, "no eligible facility has stock")
    assert (item.state, item.facility_id, item.shipment_id, item.reserved_at) == (
        held,
        None,
        None,
        None,
    )
    assert entry == HistoryEntry(
        "O-1",
        event,
        item_id="1",
        from_state=str(before),
        to_state=str(held),
        note="no eligible facility has stock",
    )


def test_holding_an_item_already_in_backorder_writes_nothing() -> None:
    item = item_in(BO)
    assert item.hold("O-1", BO, ALICE, "still no stock") is None
    assert item.state is BO


@pytest.mark.parametrize("state", [Q, R, IP, PK, FF, CX])
def test_routing_holds_an_item_only_in_backorder_or_for_customer_care(state: ItemState) -> None:
    item = item_in(Q)
    with pytest.raises(ValueError):
        item.hold("O-1", state, ALICE)
    assert item.state is Q


@pytest.mark.parametrize(("pickup", "after"), [(False, Q), (True, CC)])
@pytest.mark.parametrize("before", [R, IP])
def test_a_rejected_item_leaves_its_store_and_the_row_keeps_the_store(
    before: ItemState, pickup: bool, after: ItemState
) -> None:
    item = item_in(before)
    entry = item.reject("O-1", pickup, ALICE, "R-1", "torn")
    assert (item.state, item.facility_id, item.shipment_id, item.reserved_at) == (
        after,
        None,
        None,
        None,
    )
    assert entry == HistoryEntry(
        "O-1",
        HistoryEvent.REJECTED,
        item_id="1",
        shipment_id="7",
        from_state=str(before),
        to_state=str(after),
        facility_id="F-1",
        reason_id="R-1",
        actor="alice",
        request_id="req-1",
        note="torn",
    )


@pytest.mark.parametrize(
    ("step", "before", "after"),
    [("start", R, IP), ("pack", IP, PK), ("fulfil", PK, FF)],
)
def test_a_store_step_moves_an_item_on_in_its_shipment(
    step: str, before: ItemState, after: ItemState
) -> None:
    item = item_in(before)
    entry = TRANSITIONS[step][0](item)
    assert (item.state, item.facility_id, item.shipment_id) == (after, "F-1", "7")
    event = {"start": "start", "pack": "pack", "fulfil": "fulfill"}[step]
    assert entry == HistoryEntry(
        "O-1",
        HistoryEvent(event),
        item_id="1",
        shipment_id="7",
        from_state=str(before),
        to_state=str(after),
        facility_id="F-1",
        actor="alice",
        request_id="req-1",
    )


@pytest.mark.parametrize(
    ("step", "ready"),
    [(HistoryEvent.START, R), (HistoryEvent.PACK, IP), (HistoryEvent.FULFILL, PK)],
)
def test_an_item_is_ready_for_a_step_only_from_the_state_it_starts_from(
    step: HistoryEvent, ready: ItemState
) -> None:
    assert {s for s in ItemState if item_in(s).ready_for(step)} == {ready}


@pytest.mark.parametrize(
    ("leave", "to", "event"),
    [
        (lambda i: i.cancel("O-1", ALICE, "R-2"), CX, HistoryEvent.CANCELED),
        (lambda i: i.to_customer_care("O-1", ALICE, "R-2"), CC, HistoryEvent.CUSTOMER_CARE),
    ],
    ids=["cancel", "to-customer-care"],
)
@pytest.mark.parametrize("before", sorted(AT_FACILITY))
def test_an_item_leaving_its_facility_keeps_the_facility_on_its_row(
    leave: Transition, to: ItemState, event: HistoryEvent, before: ItemState
) -> None:
    item = item_in(before)
    entry = leave(item)
    assert (item.state, item.facility_id, item.shipment_id, item.reserved_at) == (
        to,
        None,
        None,
        None,
    )
    assert entry == HistoryEntry(
        "O-1",
        event,
        item_id="1",
        shipment_id="7",
        from_state=str(before),
        to_state=str(to),
        facility_id="F-1",
        reason_id="R-2",
        actor="alice",
        request_id="req-1",
    )


@pytest.mark.parametrize("before", [Q, BO, CC])
def test_an_item_canceled_before_any_facility_has_none_on_its_row(before: ItemState) -> None:
    entry = item_in(before).cancel("O-1", ALICE)
    assert (entry.facility_id, entry.shipment_id, entry.from_state, entry.to_state) == (
        None,
        None,
        str(before),
        "canceled",
    )


def test_history_events_keep_the_names_the_api_shows() -> None:
    assert [str(e) for e in HistoryEvent] == [
        "created",
        "assigned",
        "backorder",
        "rejected",
        "start",
        "pack",
        "fulfill",
        "canceled",
        "customer_care",
    ]


def test_who_acted_defaults_to_the_system() -> None:
    assert (SYSTEM.actor, SYSTEM.request_id) == ("system", None)


# Shipment transitions ---------------------------------------------------------------------

S = ShipmentState
STEPS = [
    (HistoryEvent.START, S.READY, S.IN_PROGRESS),
    (HistoryEvent.PACK, S.IN_PROGRESS, S.PACKED),
    (HistoryEvent.FULFILL, S.PACKED, S.FULFILLED),
]
STEP_CASES = [(step, before, after, state) for step, before, after in STEPS for state in S]


@pytest.mark.parametrize(
    ("step", "before", "after", "state"),
    STEP_CASES,
    ids=[f"{c[0]}-from-{c[3]}" for c in STEP_CASES],
)
def test_a_shipment_steps_on_only_from_the_state_the_step_starts_from(
    step: HistoryEvent, before: ShipmentState, after: ShipmentState, state: ShipmentState
) -> None:
    shipment = Shipment("7", "O-1", "F-1", state)
    if state is before:
        shipment.step(step)
        assert shipment.state is after
        return
    with pytest.raises(Conflict) as refused:
        shipment.step(step)
    assert shipment.state is state
    assert refused.value.detail == f"Shipment 7 is {state}; '{step}' needs it {before}."


def test_a_shipment_follows_the_items_still_in_it_after_some_left() -> None:
    shipment = Shipment("7", "O-1", "F-1", S.IN_PROGRESS)
    staying, leaving = item_in(IP), item_in(IP)
    leaving.reject("O-1", False, ALICE)
    elsewhere = OrderItem("3", "P-1", 1, R, "F-2", "8")
    assert shipment.follow([staying, leaving, elsewhere], S.DECLINED) is S.IN_PROGRESS
    staying.cancel("O-1", ALICE)
    assert shipment.follow([staying, leaving, elsewhere], S.DECLINED) is S.DECLINED
    assert shipment.state is S.DECLINED
