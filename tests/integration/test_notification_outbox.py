"""The outbox is written in the change's own transaction, on both databases: a refused request
writes no event and queues no delivery; a change that fails after writing its events leaves
neither the change nor the events."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from reroute.services import notify
from reroute.services.context import Context
from reroute.storage.tables import order_items
from tests.integration.notification_world import (
    Feed,
    Headers,
    World,
    kinds,
    outbox_rows,
    post,
    shipment_of,
    subscribe_nowhere,
)
from tests.support import create, order_body

# The outbox is written in the change's transaction ---------------------------------------------


def test_refused_requests_write_no_event_and_queue_no_delivery(
    client: TestClient, admin: Headers, world: World, feed: Feed, context: Context
) -> None:
    subscribe_nowhere(client, admin)
    order = create(client, admin, [(world.shirt, 1), (world.coat, 1)])
    shipment = shipment_of(order)
    for step in ("start", "pack", "fulfill"):
        response = client.post(f"/api/v1/shipments/{shipment}/{step}", headers=admin)
        assert response.status_code == 200, response.text
    other = create(client, admin, [(world.coat, 1)])
    other_shipment = shipment_of(other)
    feed.new()
    before = outbox_rows(context)
    refusals = [
        (f"/orders/{order['order_id']}/items/1/cancel", None, 409),
        (f"/orders/{order['order_id']}/cancel", None, 409),
        (f"/shipments/{shipment}/cancel", None, 409),
        (f"/shipments/{shipment}/customer-care", None, 409),
        (f"/shipments/{shipment}/reject", {}, 409),
        (f"/shipments/{other_shipment}/reject", {"reason_id": "NO_SUCH_REASON"}, 422),
        (f"/shipments/{other_shipment}/cancel", {"reason_id": "NO_SUCH_REASON"}, 422),
        (f"/shipments/{other_shipment}/items/9/reject", {}, 404),
        ("/orders/no-such-order/cancel", None, 404),
        ("/shipments/no-such-shipment/customer-care", None, 404),
    ]
    for path, body, status in refusals:
        post(client, admin, path, body, status)
    assert feed.new() == []
    assert outbox_rows(context) == before
    # The same change, once it applies, writes its event and one delivery; sent again under
    # the same Idempotency-Key it answers the same and writes nothing more.
    keyed = {**admin, "Idempotency-Key": "care-once"}
    answers = [
        client.post(f"/api/v1/shipments/{other_shipment}/customer-care", headers=keyed)
        for _ in range(2)
    ]
    assert [a.status_code for a in answers] == [200, 200], answers[-1].text
    assert answers[0].json() == answers[1].json()
    assert kinds(feed.new()) == [
        ("StoreDeclineEvent", other["order_id"]),
        ("customer_care_item", other["order_id"]),
    ]
    # The endpoint here takes the four first types: the customer_care_item is kept, unsent.
    assert outbox_rows(context) == (before[0] + 2, before[1] + 1)


def _item_rows(context: Context) -> list[tuple[str, str, str, str | None]]:
    with context.db.transaction(write=False) as conn:
        rows = conn.execute(
            select(
                order_items.c.order_id,
                order_items.c.item_id,
                order_items.c.state,
                order_items.c.shipment_id,
            ).order_by(order_items.c.order_id, order_items.c.item_id)
        )
        return [tuple(r) for r in rows]  # type: ignore[misc]


CHANGES = {
    "create-order": None,
    "reject-item": ("/shipments/{shipment}/items/1/reject", {"reason_id": "MISMATCH"}),
    "cancel-shipment": ("/shipments/{shipment}/cancel", None),
    "cancel-item": ("/orders/{order}/items/1/cancel", None),
    "customer-care": ("/shipments/{shipment}/customer-care", None),
}


def test_a_change_that_fails_after_writing_its_events_leaves_neither_change_nor_event(
    client: TestClient,
    admin: Headers,
    world: World,
    feed: Feed,
    context: Context,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    subscribe_nowhere(client, admin)
    flush = notify.Notifier.flush
    written: list[int] = []

    def flush_then_fail(self: notify.Notifier) -> None:
        written.append(len(self.events))
        flush(self)
        raise RuntimeError("the transaction dies after the outbox rows were written")

    for change, spec in CHANGES.items():
        order = create(client, admin, [(world.shirt, 1)])
        shipment = shipment_of(order)
        feed.new()
        before = (outbox_rows(context), _item_rows(context), _levels(client, admin, world))
        written.clear()
        monkeypatch.setattr(notify.Notifier, "flush", flush_then_fail)
        if spec is None:
            path, body = "/orders", order_body([(world.coat, 1)])
        else:
            path = spec[0].format(shipment=shipment, order=order["order_id"])
            body = spec[1]
        response = client.post(f"/api/v1{path}", json=body, headers=admin)
        assert response.status_code == 500, (change, response.text)
        assert written and written[0] > 0, f"{change}: the outbox was written before the failure"
        assert feed.new() == [], change
        after = (outbox_rows(context), _item_rows(context), _levels(client, admin, world))
        assert after == before, change
        monkeypatch.undo()
        # Without the failure the same change commits, with its events.
        expected = 201 if spec is None else 200
        post(client, admin, path, body, expected)
        assert len(feed.new()) == written[0], change
        assert outbox_rows(context)[0] == before[0][0] + written[0], change


def _levels(client: TestClient, admin: Headers, world: World) -> list[Any]:
    return [
        client.get(f"/api/v1/facilities/{f}/inventory/{p}", headers=admin).json()
        for f in (world.near, world.far)
        for p in (world.shirt, world.coat)
    ]
