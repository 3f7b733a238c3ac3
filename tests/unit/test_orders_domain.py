"""Orders without storage: what makes an order acceptable, and how a shipment's state follows its
items."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from reroute.domain.errors import Invalid
from reroute.domain.orders import (
    AT_FACILITY,
    REJECTABLE,
    ROUTABLE,
    Address,
    ItemState,
    Order,
    OrderItem,
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
    [Address(), Address(latitude=41.88), Address(longitude=-87.63)],
    ids=["none", "no-longitude", "no-latitude"],
)
@pytest.mark.parametrize("method", ["standard", "express", "same_day"])
def test_a_shipped_order_without_both_coordinates_is_refused(ship_to: Address, method: str) -> None:
    with pytest.raises(Invalid) as error:
        order(ship_to=ship_to, shipping_method=ShippingMethod(method)).validate()
    assert paths(error) == ["ship_to"]


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
