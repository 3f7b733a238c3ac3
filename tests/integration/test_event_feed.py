"""The pull-based event feed, GET /api/v1/events (SPEC 6.3), on both databases: every event in
the order it was written, paged with a cursor, each under the id its webhook deliveries carry
as `webhook-id`, with the body they carry."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from reroute.delivery.worker import DeliveryWorker
from reroute.domain.access import Role
from reroute.services.context import Context
from tests.conftest import make_token
from tests.integration.receiver import Receiver, deliver_until, fast_settings, read_feed, subscribe
from tests.support import count_stock, order_body, put_facility, put_product

Headers = dict[str, str]


@pytest.fixture
def worker(context: Context) -> Iterator[DeliveryWorker]:
    made = DeliveryWorker(context, fast_settings())
    yield made
    made.stop()


def write_events(client: TestClient, admin: Headers) -> list[tuple[str, str]]:
    """Seven events over three orders; answers (type, order id) in the order written."""
    facility, product = put_facility(client, admin), put_product(client, admin)
    count_stock(client, admin, facility, product, 50)
    written: list[tuple[str, str]] = []
    ids = []
    for _ in range(3):
        response = client.post("/api/v1/orders", json=order_body([(product, 1)]), headers=admin)
        assert response.status_code == 201, response.text
        ids.append(response.json()["order_id"])
        written.append(("ready_shipment", ids[-1]))
    response = client.post(f"/api/v1/orders/{ids[1]}/cancel", headers=admin)
    assert response.status_code == 200, response.text
    written += [("StoreDeclineEvent", ids[1]), ("cancel_shipment", ids[1])]
    response = client.post(f"/api/v1/orders/{ids[0]}/items/1/cancel", headers=admin)
    assert response.status_code == 200, response.text
    written += [("StoreDeclineEvent", ids[0]), ("cancel_item", ids[0])]
    return written


def page(client: TestClient, headers: Headers, **params: Any) -> Any:
    response = client.get("/api/v1/events", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def test_events_come_in_the_order_written_and_page_with_the_cursor(
    client: TestClient, admin: Headers
) -> None:
    empty = page(client, admin)
    assert empty["items"] == [] and empty["next_cursor"]
    written = write_events(client, admin)
    everything = page(client, admin)
    assert [(e["type"], e["order_id"]) for e in everything["items"]] == written
    assert [(e["body"]["eventTypeID"], e["body"]["orderID"]) for e in everything["items"]] == (
        written
    )
    cursors = [e["cursor"] for e in everything["items"]]
    assert cursors == sorted(set(cursors))
    # From the start by the empty feed's cursor: it read on from where it was.
    assert [e["cursor"] for e in page(client, admin, cursor=empty["next_cursor"])["items"]] == (
        cursors
    )
    pages, cursor = [], everything["next_cursor"]
    params: dict[str, Any] = {"limit": 3}
    for _ in range(10):
        got = page(client, admin, **params)
        pages.append([e["cursor"] for e in got["items"]])
        assert got["next_cursor"], "the feed's next_cursor is never null"
        if not got["items"]:
            # An empty page leaves the cursor where it was: polling it later reads on.
            assert got["next_cursor"] == params["cursor"]
            break
        params = {"limit": 3, "cursor": got["next_cursor"]}
    assert pages == [cursors[0:3], cursors[3:6], cursors[6:7], []]
    # The last page's cursor of the first read says the same as the paged read's.
    assert page(client, admin, cursor=cursor)["items"] == []


def test_after_still_pages_by_the_events_cursor_numbers(client: TestClient, admin: Headers) -> None:
    """Integrators who keep an event's `cursor` number read on with `after=`, as before."""
    write_events(client, admin)
    cursors = [e["cursor"] for e in page(client, admin)["items"]]
    pages, after = [], 0
    for _ in range(10):
        got = page(client, admin, after=after, limit=3)
        pages.append([e["cursor"] for e in got["items"]])
        if not got["items"]:
            break
        after = got["items"][-1]["cursor"]
    assert pages == [cursors[0:3], cursors[3:6], cursors[6:7], []]
    # Reading on from the middle, and from past the end; then on by the cursor it gives.
    middle = page(client, admin, after=cursors[4])
    assert [e["cursor"] for e in middle["items"]] == cursors[5:]
    assert page(client, admin, cursor=middle["next_cursor"])["items"] == []
    past = page(client, admin, after=cursors[-1] + 100)
    assert past["items"] == []
    write_events(client, admin)
    assert page(client, admin, cursor=past["next_cursor"])["items"] == []
    newer = page(client, admin, cursor=middle["next_cursor"])["items"]
    assert len(newer) == 7 and newer[0]["cursor"] > cursors[-1]


def test_each_event_has_a_unique_id_and_its_creation_time(
    client: TestClient, admin: Headers
) -> None:
    write_events(client, admin)
    events = read_feed(client, admin)
    assert len({e["event_id"] for e in events}) == len(events) == 7
    assert all(e["event_id"].startswith("msg_") for e in events)
    times = [e["created_at"] for e in events]
    assert all(t.endswith("Z") or t.endswith("+00:00") for t in times)


def test_the_feeds_ids_and_bodies_are_what_webhooks_deliver(
    client: TestClient, admin: Headers, receiver: Receiver, worker: DeliveryWorker
) -> None:
    webhook = subscribe(client, admin, receiver)["webhook_id"]
    write_events(client, admin)
    events = read_feed(client, admin)
    assert deliver_until(worker, lambda: len(receiver.unique) == len(events), 15)
    unique = receiver.unique
    for event in events:
        delivered = unique[event["event_id"]]  # the feed's event_id is the webhook-id
        assert json.loads(delivered) == event["body"]
        assert list(json.loads(delivered)) == list(event["body"])  # key order too
    response = client.get(f"/api/v1/webhooks/{webhook}/deliveries", headers=admin)
    assert response.status_code == 200, response.text
    by_message = {d["message_id"]: d for d in response.json()["items"]}
    assert set(by_message) == {e["event_id"] for e in events}
    for event in events:
        delivery = by_message[event["event_id"]]
        assert (delivery["event_type"], delivery["order_id"]) == (event["type"], event["order_id"])


def test_integrations_read_the_feed_associates_do_not(
    client: TestClient, admin: Headers, context: Context
) -> None:
    write_events(client, admin)
    integration = make_token(context, Role.INTEGRATION)
    assert len(page(client, integration)["items"]) == 7
    facility = put_facility(client, admin)
    associate = make_token(context, Role.ASSOCIATE, [facility])
    assert client.get("/api/v1/events", headers=associate).status_code == 403
    assert client.get("/api/v1/events").status_code == 401


def test_bad_cursors_and_limits_are_refused(client: TestClient, admin: Headers) -> None:
    good = page(client, admin)["next_cursor"]
    for params in (
        {"limit": 0},
        {"limit": 1001},
        {"after": -1},
        {"after": "last"},
        {"limit": "many"},
        {"cursor": "not-a-cursor"},
        {"cursor": "x" * 3000},
        {"cursor": "\x00"},
        {"cursor": good, "after": 3},
    ):
        response = client.get("/api/v1/events", params=params, headers=admin)
        assert response.status_code == 422, (params, response.text)
