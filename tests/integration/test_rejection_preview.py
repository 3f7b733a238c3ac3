"""The confirmation page's preview counts exactly what the rejection then takes, on both
databases: the rest of a cascade victim's shipment included (ship-complete victims, partial
rejection off). The preview reads only: no lock, no write."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event

from reroute.domain.access import Principal, Role
from reroute.services.context import Context
from reroute.services.rejection import RejectionResult, reject_item
from reroute.services.rejection_preview import Preview, preview_rejection
from tests.integration.test_rejection_api import footprint, item, patch_settings, where
from tests.support import Headers, count_stock, create, put_product, stocked


def associate(store: str) -> Principal:
    return Principal("associate-1", Role.ASSOCIATE, frozenset({store}))


def assert_counts_match(preview: Preview, result: RejectionResult, order_id: str) -> None:
    """The preview's numbers, said again from what the rejection took."""
    others = [r for r in result.rejected if r.cascaded]
    with_it = [r for r in others if r.order_id == order_id and r.reason_id == "AVOID_SPLIT"]
    beyond = [r for r in others if r not in with_it]
    assert 1 + preview.leaving_with_it + preview.cascade_items == len(result.rejected)
    assert preview.leaving_with_it == len(with_it)
    assert preview.cascade_items == len(beyond)
    assert preview.cascade_orders == len({r.order_id for r in beyond} - {order_id})


@contextmanager
def statements(context: Context) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(*args: Any) -> None:
        seen.append(str(args[2]))

    event.listen(context.db.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(context.db.engine, "before_cursor_execute", record)


def preview_then_reject(
    context: Context, store: str, order: Any, reason_id: str, item_id: str = "1"
) -> tuple[Preview, RejectionResult]:
    shipment_id = item(order, item_id)["shipment_id"]
    before = footprint(context)
    with statements(context) as seen:
        preview = preview_rejection(context, shipment_id, item_id, reason_id, associate(store))
    assert footprint(context) == before  # the preview wrote nothing
    assert not [s for s in seen if "FOR UPDATE" in s.upper() or "INSERT" in s.upper()]
    result = reject_item(context, shipment_id, item_id, reason_id, None, associate(store))
    return preview, result


def test_a_cascade_counts_the_rest_of_a_ship_complete_victims_shipment(
    client: TestClient, admin: Headers, context: Context
) -> None:
    p, q = put_product(client, admin), put_product(client, admin)
    store = stocked(client, admin, 1, {p: 5, q: 5})
    single = create(client, admin, [(p, 1)])
    whole = create(client, admin, [(p, 1), (q, 1)], ship_complete=True)
    assert where(whole) == {"1": ("ready", store), "2": ("ready", store)}
    stocked(client, admin, 50, {p: 5, q: 5})

    preview, result = preview_then_reject(context, store, single, "NOT_IN_STOCK")
    assert (preview.leaving_with_it, preview.cascade_orders, preview.cascade_items) == (0, 1, 2)
    assert len(result.rejected) == 3
    assert_counts_match(preview, result, single["order_id"])


def test_with_partial_rejection_off_a_shortage_counts_the_victims_whole_shipment(
    client: TestClient, admin: Headers, context: Context
) -> None:
    p, q = put_product(client, admin), put_product(client, admin)
    store = stocked(client, admin, 1, {p: 2, q: 5})
    first = create(client, admin, [(p, 1)])
    newest = create(client, admin, [(p, 1), (q, 1)])
    assert where(newest) == {"1": ("ready", store), "2": ("ready", store)}
    stocked(client, admin, 50, {p: 5, q: 5})
    count_stock(client, admin, store, p, 1)  # QOH 1 with 2 promised: ATP -1
    patch_settings(client, admin, partial_rejection=False)

    preview, result = preview_then_reject(context, store, first, "DAMAGED")
    assert (preview.leaving_with_it, preview.cascade_orders, preview.cascade_items) == (0, 1, 2)
    assert {(r.order_id, r.item_id, r.reason_id) for r in result.rejected} == {
        (first["order_id"], "1", "DAMAGED"),
        (newest["order_id"], "1", "CASCADE"),
        (newest["order_id"], "2", "AVOID_SPLIT"),
    }
    assert_counts_match(preview, result, first["order_id"])


@pytest.mark.parametrize("reason_id", ["DAMAGED", "MISMATCH", "NOT_IN_STOCK", "WORN_DISPLAY"])
def test_the_rest_of_a_ship_complete_shipment_and_each_reason_are_counted_as_taken(
    client: TestClient, admin: Headers, context: Context, reason_id: str
) -> None:
    p, q = put_product(client, admin), put_product(client, admin)
    store = stocked(client, admin, 1, {p: 3, q: 5})
    order = create(client, admin, [(p, 1), (q, 1)], ship_complete=True)
    create(client, admin, [(p, 1)])
    create(client, admin, [(p, 1)])
    stocked(client, admin, 50, {p: 5, q: 5})

    preview, result = preview_then_reject(context, store, order, reason_id)
    assert preview.leaving_with_it == 1
    assert_counts_match(preview, result, order["order_id"])
