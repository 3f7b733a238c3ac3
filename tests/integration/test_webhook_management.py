"""Managing webhook endpoints through the API, on both databases, delivering to real receivers
on 127.0.0.1 that verify every request with `standardwebhooks`: read one, change its URL and
event types (checked as at creation), pause with a reason and resume, rotate the secret (the
old one signs beside the new for 24 hours), a `ping` to one endpoint, deliveries filtered by
status and paged by cursor, and "send now"."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from reroute.domain.access import Role
from reroute.services.context import Context
from reroute.storage.tables import deliveries, outbox_events, webhooks
from tests.conftest import make_token
from tests.integration.conftest import MakeWorker
from tests.integration.receiver import (
    ALL_TYPES,
    Receiver,
    Request,
    deliver_until,
    read_feed,
    subscribe,
)
from tests.support import count_stock, order_body, put_facility, put_product

Headers = dict[str, str]
ORDER_KEYS = [
    "eventTypeID",
    "orderID",
    "externalLocationID",
    "locationName",
    "eventTime",
    "reasonCode",
    "reasonDescription",
    "orderItemID",
    "data",
    "scope",
]


@pytest.fixture
def product(client: TestClient, admin: Headers) -> str:
    facility, product = put_facility(client, admin), put_product(client, admin)
    count_stock(client, admin, facility, product, 100)
    return product


@pytest.fixture
def second_receiver() -> Iterator[Receiver]:
    with Receiver() as running:
        yield running


def new_order(client: TestClient, admin: Headers, product: str) -> Any:
    """An order placed at once: one ready_shipment event."""
    response = client.post("/api/v1/orders", json=order_body([(product, 1)]), headers=admin)
    assert response.status_code == 201, response.text
    return response.json()


def listed(client: TestClient, admin: Headers, webhook_id: str, **params: Any) -> list[Any]:
    response = client.get(f"/api/v1/webhooks/{webhook_id}/deliveries", params=params, headers=admin)
    assert response.status_code == 200, response.text
    found: list[Any] = response.json()["items"]
    return found


def read_webhook(client: TestClient, admin: Headers, webhook_id: str) -> Any:
    response = client.get(f"/api/v1/webhooks/{webhook_id}", headers=admin)
    assert response.status_code == 200, response.text
    return response.json()


def patch(client: TestClient, admin: Headers, webhook_id: str, body: Any) -> Any:
    return client.patch(f"/api/v1/webhooks/{webhook_id}", json=body, headers=admin)


def verifies(secret: str, request: Request) -> bool:
    """Whether `standardwebhooks` accepts the request with this secret."""
    headers = {
        "webhook-id": request.webhook_id,
        "webhook-timestamp": request.timestamp,
        "webhook-signature": request.signature,
    }
    try:
        Webhook(secret).verify(request.body, headers)
    except WebhookVerificationError:
        return False
    return True


def count(context: Context, table: Any) -> int:
    with context.db.transaction(write=False) as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


# Reading one ------------------------------------------------------------------------------------


def test_one_webhook_is_read_by_its_id_without_its_secret(
    client: TestClient, admin: Headers, receiver: Receiver
) -> None:
    created = subscribe(client, admin, receiver)
    shown = read_webhook(client, admin, created["webhook_id"])
    secret = created.pop("secret")
    assert shown == created
    assert shown["previous_secret_expires_at"] is None
    assert secret not in json.dumps(shown)
    [in_list] = client.get("/api/v1/webhooks", headers=admin).json()
    assert in_list == shown
    assert client.get("/api/v1/webhooks/wh_nothing", headers=admin).status_code == 404
    assert client.get("/api/v1/webhooks/bad%20id", headers=admin).status_code == 422


# Changing URL and event types ---------------------------------------------------------------------


def test_a_new_url_takes_the_deliveries_still_waiting(
    client: TestClient,
    admin: Headers,
    product: str,
    receiver: Receiver,
    second_receiver: Receiver,
    make_worker: MakeWorker,
) -> None:
    created = subscribe(client, admin, receiver)
    second_receiver.secret = created["secret"]
    webhook = created["webhook_id"]
    new_order(client, admin, product)  # waits: no worker yet
    response = patch(client, admin, webhook, {"url": second_receiver.url})
    assert response.status_code == 200, response.text
    assert response.json()["url"] == second_receiver.url
    assert response.json()["event_types"] == ALL_TYPES
    assert "secret" not in response.json()
    assert read_webhook(client, admin, webhook)["url"] == second_receiver.url
    assert deliver_until(make_worker(), lambda: len(second_receiver.unique) == 1, 10)
    assert receiver.arrivals == 0
    assert second_receiver.invalid == []


def test_new_event_types_decide_for_events_written_after_the_change(
    client: TestClient, admin: Headers, product: str, receiver: Receiver, make_worker: MakeWorker
) -> None:
    webhook = subscribe(client, admin, receiver, ["ready_shipment"])["webhook_id"]
    order = new_order(client, admin, product)
    response = patch(
        client, admin, webhook, {"event_types": ["cancel_shipment", "cancel_shipment"]}
    )
    assert response.status_code == 200, response.text
    assert response.json()["event_types"] == ["cancel_shipment"]
    shipment = order["items"][0]["shipment_id"]
    assert client.post(f"/api/v1/shipments/{shipment}/cancel", headers=admin).status_code == 200
    new_order(client, admin, product)  # a ready_shipment no longer wanted
    assert [d["event_type"] for d in listed(client, admin, webhook)] == [
        "cancel_shipment",
        "ready_shipment",
    ]
    assert deliver_until(make_worker(), lambda: len(receiver.unique) == 2, 10)
    types = sorted(json.loads(body)["eventTypeID"] for body in receiver.unique.values())
    assert types == ["cancel_shipment", "ready_shipment"]


@pytest.fixture
def strict(context: Context) -> Context:
    """Private webhook targets refused, as by default (the test suite's context allows them)."""
    context.security = replace(context.security, allow_private_webhook_targets=False)
    return context


BAD_PATCHES: list[Any] = [
    {},
    {"url": None},
    {"event_types": None},
    {"active": None},
    {"url": "ftp://example.com/hook"},
    {"url": "not a url"},
    {"url": "https://" + "a" * 3000 + ".com/"},
    {"url": "https://example.com/\x00"},
    {"event_types": []},
    {"event_types": ["ship_it"]},
    {"event_types": "cancel_item"},
    {"active": "maybe"},
    {"reason": "no active with it"},
    {"active": True, "reason": "resuming needs no reason"},
    {"active": False, "reason": "r" * 301},
    {"secret": "whsec_mine"},
    [],
    "active",
]


def test_a_change_is_checked_as_at_creation_and_a_refusal_changes_nothing(
    client: TestClient, admin: Headers, receiver: Receiver, strict: Context
) -> None:
    created = client.post(
        "/api/v1/webhooks",
        json={"url": "https://93.184.215.14/hooks", "event_types": ["cancel_item"]},
        headers=admin,
    )
    assert created.status_code == 201, created.text
    webhook = created.json()["webhook_id"]
    before = read_webhook(client, admin, webhook)
    for body in BAD_PATCHES:
        response = patch(client, admin, webhook, body)
        assert response.status_code == 422, (body, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
    for raw in (b"{", b"\xff\xfe", b"null"):
        response = client.patch(
            f"/api/v1/webhooks/{webhook}",
            content=raw,
            headers={**admin, "content-type": "application/json"},
        )
        assert response.status_code == 422, (raw, response.text)
    # The checks of creation: no target inside the network.
    for url, shown in (
        ("http://127.0.0.1:5432/", "127.0.0.1 is loopback"),
        ("http://169.254.169.254/latest/meta-data/", "cloud metadata"),
        ("http://localhost:8080/hooks", "localhost resolves to"),
    ):
        response = patch(client, admin, webhook, {"url": url, "active": False})
        assert response.status_code == 422, (url, response.text)
        [error] = response.json()["errors"]
        assert error["path"] == "url" and shown in error["message"], error
    assert read_webhook(client, admin, webhook) == before
    assert patch(client, admin, "wh_nothing", {"active": False}).status_code == 404


# Pause and resume ---------------------------------------------------------------------------------


def test_a_paused_webhook_shows_why_and_resumes_sending_what_waited(
    client: TestClient, admin: Headers, product: str, receiver: Receiver, make_worker: MakeWorker
) -> None:
    webhook = subscribe(client, admin, receiver)["webhook_id"]
    reason = "Receiver down for maintenance until 06:00 UTC"
    paused = patch(client, admin, webhook, {"active": False, "reason": reason})
    assert paused.status_code == 200, paused.text
    assert (paused.json()["active"], paused.json()["disabled_reason"]) == (False, reason)
    assert read_webhook(client, admin, webhook)["disabled_reason"] == reason
    new_order(client, admin, product)
    worker = make_worker()
    deliver_until(worker, lambda: False, 0.3)
    assert receiver.arrivals == 0
    assert [d["status"] for d in listed(client, admin, webhook)] == ["pending"]
    # Without a reason, the default one shows.
    again = patch(client, admin, webhook, {"active": False})
    assert again.json()["disabled_reason"] == "Disabled by an admin."
    resumed = patch(client, admin, webhook, {"active": True})
    assert resumed.status_code == 200, resumed.text
    assert (resumed.json()["active"], resumed.json()["disabled_reason"]) == (True, None)
    assert deliver_until(worker, lambda: len(receiver.unique) == 1, 10)


# Rotating the secret ------------------------------------------------------------------------------


def end_overlap(context: Context, webhook_id: str) -> None:
    """As if the 24 hours after a rotation had passed."""
    with context.db.transaction(write=True) as conn:
        conn.execute(
            update(webhooks)
            .where(webhooks.c.id == webhook_id)
            .values(previous_secret_until=datetime.now(UTC) - timedelta(seconds=1))
        )


def test_after_a_rotation_both_secrets_sign_for_24_hours_then_only_the_new_one(
    client: TestClient,
    admin: Headers,
    context: Context,
    product: str,
    receiver: Receiver,
    make_worker: MakeWorker,
) -> None:
    created = subscribe(client, admin, receiver)
    webhook, old = created["webhook_id"], created["secret"]
    started = datetime.now(UTC)
    response = client.post(f"/api/v1/webhooks/{webhook}/rotate-secret", headers=admin)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    rotated = response.json()
    new = rotated["secret"]
    assert new.startswith("whsec_") and new != old
    until = datetime.fromisoformat(rotated["previous_secret_expires_at"])
    assert started + timedelta(hours=24) - timedelta(seconds=5) <= until
    assert until <= datetime.now(UTC) + timedelta(hours=24)
    shown = read_webhook(client, admin, webhook)
    assert shown["previous_secret_expires_at"] == rotated["previous_secret_expires_at"]
    listing = client.get("/api/v1/webhooks", headers=admin).text + json.dumps(shown)
    assert new not in listing and old not in listing

    # During the overlap: a receiver still on the old secret verifies, so does one on the new.
    worker = make_worker()
    new_order(client, admin, product)
    assert deliver_until(worker, lambda: len(receiver.unique) == 1, 10)  # receiver holds `old`
    receiver.secret = new
    new_order(client, admin, product)
    assert deliver_until(worker, lambda: len(receiver.unique) == 2, 10)
    assert receiver.invalid == []
    for request in receiver.accepted:
        assert len(request.signature.split(" ")) == 2
        assert verifies(old, request) and verifies(new, request)

    # After the 24 hours only the new secret signs: the old one no longer verifies.
    end_overlap(context, webhook)
    assert read_webhook(client, admin, webhook)["previous_secret_expires_at"] is not None
    receiver.secret = old
    new_order(client, admin, product)
    assert deliver_until(worker, lambda: len(receiver.invalid) >= 1, 10)
    reason, headers, _ = receiver.invalid[0]
    assert "No matching signature" in reason
    assert len(headers["webhook-signature"].split(" ")) == 1
    receiver.secret = new
    assert deliver_until(worker, lambda: len(receiver.unique) == 3, 10)
    last = receiver.accepted[-1]
    assert len(last.signature.split(" ")) == 1
    assert verifies(new, last) and not verifies(old, last)


def test_rotating_again_drops_the_oldest_secret_at_once(
    client: TestClient, admin: Headers, product: str, receiver: Receiver, make_worker: MakeWorker
) -> None:
    created = subscribe(client, admin, receiver)
    webhook, first = created["webhook_id"], created["secret"]
    path = f"/api/v1/webhooks/{webhook}/rotate-secret"
    second = client.post(path, headers=admin).json()["secret"]
    third = client.post(path, headers=admin).json()["secret"]
    assert len({first, second, third}) == 3
    receiver.secret = third
    new_order(client, admin, product)
    assert deliver_until(make_worker(), lambda: len(receiver.unique) == 1, 10)
    [request] = receiver.accepted
    assert verifies(third, request) and verifies(second, request)
    assert not verifies(first, request)


def test_a_rotation_is_not_replayed_under_its_idempotency_key(
    client: TestClient, admin: Headers, receiver: Receiver
) -> None:
    webhook = subscribe(client, admin, receiver)["webhook_id"]
    headers = {**admin, "Idempotency-Key": "rotate-once"}
    path = f"/api/v1/webhooks/{webhook}/rotate-secret"
    first = client.post(path, headers=headers)
    assert first.status_code == 200, first.text
    again = client.post(path, headers=headers)
    assert again.status_code == 409, again.text
    assert first.json()["secret"] not in again.text
    assert client.post("/api/v1/webhooks/wh_nothing/rotate-secret", headers=admin).status_code == (
        404
    )


# Ping ---------------------------------------------------------------------------------------------


def test_a_ping_is_signed_and_sent_to_that_endpoint_only(
    client: TestClient,
    admin: Headers,
    context: Context,
    receiver: Receiver,
    second_receiver: Receiver,
    make_worker: MakeWorker,
) -> None:
    webhook = subscribe(client, admin, receiver)["webhook_id"]
    other = subscribe(client, admin, second_receiver)["webhook_id"]
    response = client.post(f"/api/v1/webhooks/{webhook}/ping", headers=admin)
    assert response.status_code == 202, response.text
    queued = response.json()
    assert (queued["event_type"], queued["order_id"], queued["status"]) == ("ping", None, "pending")
    assert deliver_until(make_worker(), lambda: len(receiver.unique) == 1, 10)
    deliver_until(make_worker(), lambda: False, 0.2)
    assert second_receiver.arrivals == 0
    assert listed(client, admin, other) == []
    [(message_id, raw)] = receiver.unique.items()
    assert message_id == queued["message_id"]
    body = json.loads(raw)
    assert list(body) == ORDER_KEYS
    assert body["eventTypeID"] == "ping"
    assert body["orderID"] is None and body["data"] == []
    assert body["scope"] == {"mfgID": "11111", "catalogID": "0", "fulfillerID": None}
    datetime.strptime(body["eventTime"], "%Y-%m-%d %H:%M:%S")
    assert receiver.invalid == []
    [delivered] = listed(client, admin, webhook)
    assert (delivered["status"], delivered["attempts"]) == ("delivered", 1)
    # Not in the event feed: it is about no order.
    assert read_feed(client, admin) == []
    assert count(context, outbox_events) == 1


def test_a_ping_is_retried_like_any_event_and_a_new_one_replaces_one_waiting(
    client: TestClient, admin: Headers, receiver: Receiver, make_worker: MakeWorker
) -> None:
    webhook = subscribe(client, admin, receiver)["webhook_id"]
    receiver.fail(1)
    first = client.post(f"/api/v1/webhooks/{webhook}/ping", headers=admin).json()
    worker = make_worker(schedule=(0.0, 3600.0))
    assert deliver_until(worker, lambda: listed(client, admin, webhook)[0]["attempts"] == 1, 10)
    second = client.post(f"/api/v1/webhooks/{webhook}/ping", headers=admin).json()
    assert deliver_until(worker, lambda: len(receiver.unique) == 1, 10)
    assert list(receiver.unique) == [second["message_id"]]
    by_id = {d["delivery_id"]: d for d in listed(client, admin, webhook)}
    assert by_id[first["delivery_id"]]["status"] == "canceled"
    assert by_id[first["delivery_id"]]["last_error"] == "A newer ping replaced this one."
    assert by_id[second["delivery_id"]]["status"] == "delivered"


def test_a_paused_or_unknown_webhook_is_not_pinged(
    client: TestClient, admin: Headers, context: Context, receiver: Receiver
) -> None:
    webhook = subscribe(client, admin, receiver)["webhook_id"]
    patch(client, admin, webhook, {"active": False})
    refused = client.post(f"/api/v1/webhooks/{webhook}/ping", headers=admin)
    assert refused.status_code == 409, refused.text
    assert client.post("/api/v1/webhooks/wh_nothing/ping", headers=admin).status_code == 404
    assert count(context, outbox_events) == 0 and count(context, deliveries) == 0


# Deliveries by status, by cursor -----------------------------------------------------------------


def test_deliveries_are_filtered_by_status_and_paged_by_cursor(
    client: TestClient, admin: Headers, product: str, receiver: Receiver, make_worker: MakeWorker
) -> None:
    webhook = subscribe(client, admin, receiver)["webhook_id"]
    receiver.fail(2)
    new_order(client, admin, product)  # fails twice: failed
    worker = make_worker(schedule=(0.0, 0.05))
    assert deliver_until(
        worker, lambda: listed(client, admin, webhook)[0]["status"] == "failed", 10
    )
    for _ in range(3):
        new_order(client, admin, product)
    assert deliver_until(worker, lambda: len(receiver.unique) == 3, 10)
    patch(client, admin, webhook, {"active": False})
    new_order(client, admin, product)
    new_order(client, admin, product)  # two pending
    everything = listed(client, admin, webhook)
    assert [d["status"] for d in everything] == ["pending"] * 2 + ["delivered"] * 3 + ["failed"]

    def statuses(*wanted: str, **params: Any) -> list[str]:
        return [d["status"] for d in listed(client, admin, webhook, status=list(wanted), **params)]

    assert statuses("failed") == ["failed"]
    assert statuses("delivered") == ["delivered"] * 3
    assert statuses("pending", "failed") == ["pending", "pending", "failed"]
    assert statuses("canceled") == []
    # Pages of one status, by cursor, newest first.
    delivered = [d["delivery_id"] for d in everything if d["status"] == "delivered"]
    pages, cursor = [], None
    for _ in range(5):
        params: dict[str, Any] = {"status": "delivered", "limit": 2}
        if cursor:
            params["cursor"] = cursor
        response = client.get(
            f"/api/v1/webhooks/{webhook}/deliveries", params=params, headers=admin
        )
        assert response.status_code == 200, response.text
        pages.append([d["delivery_id"] for d in response.json()["items"]])
        cursor = response.json()["next_cursor"]
        if cursor is None:
            break
    assert pages == [delivered[:2], delivered[2:]]
    events_cursor = client.get("/api/v1/events", headers=admin).json()["next_cursor"]
    for params in (
        {"status": "lost"},
        {"limit": 0},
        {"limit": 1001},
        {"cursor": "not-a-cursor"},
        {"cursor": events_cursor},  # another list's
        {"cursor": "\x00"},
        {"cursor": "a" * 2001},
    ):
        response = client.get(
            f"/api/v1/webhooks/{webhook}/deliveries", params=params, headers=admin
        )
        assert response.status_code == 422, (params, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")


# Send now -----------------------------------------------------------------------------------------


def test_send_now_makes_a_failing_delivery_due_at_once(
    client: TestClient, admin: Headers, product: str, receiver: Receiver, make_worker: MakeWorker
) -> None:
    webhook = subscribe(client, admin, receiver)["webhook_id"]
    receiver.fail(1)
    new_order(client, admin, product)
    worker = make_worker(schedule=(0.0, 3600.0, 3600.0))  # the next try is an hour away
    assert deliver_until(worker, lambda: listed(client, admin, webhook)[0]["attempts"] == 1, 10)
    [failing] = listed(client, admin, webhook)
    assert failing["status"] == "pending"
    assert datetime.fromisoformat(failing["next_attempt_at"]) > datetime.now(UTC) + timedelta(
        minutes=30
    )
    assert worker.run_once() == 0, "nothing is due before its time"
    response = client.post(f"/api/v1/deliveries/{failing['delivery_id']}/send-now", headers=admin)
    assert response.status_code == 200, response.text
    due = response.json()
    assert (due["status"], due["attempts"]) == ("pending", 1)
    assert datetime.fromisoformat(due["next_attempt_at"]) <= datetime.now(UTC)
    assert deliver_until(worker, lambda: len(receiver.unique) == 1, 10)
    [delivered] = listed(client, admin, webhook)
    assert (delivered["status"], delivered["attempts"]) == ("delivered", 2)
    assert delivered["message_id"] == failing["message_id"]
    # A delivered one is refused: a replay is `retry`.
    again = client.post(f"/api/v1/deliveries/{failing['delivery_id']}/send-now", headers=admin)
    assert again.status_code == 409, again.text
    assert "retry" in again.json()["detail"]
    assert listed(client, admin, webhook)[0]["status"] == "delivered"


def test_send_now_gives_a_failed_delivery_one_more_try(
    client: TestClient, admin: Headers, product: str, receiver: Receiver, make_worker: MakeWorker
) -> None:
    webhook = subscribe(client, admin, receiver)["webhook_id"]
    receiver.fail(3)
    new_order(client, admin, product)
    worker = make_worker(schedule=(0.0, 0.05))
    assert deliver_until(
        worker, lambda: listed(client, admin, webhook)[0]["status"] == "failed", 10
    )
    [failed] = listed(client, admin, webhook)
    path = f"/api/v1/deliveries/{failed['delivery_id']}/send-now"
    assert client.post(path, headers=admin).status_code == 200
    assert deliver_until(worker, lambda: listed(client, admin, webhook)[0]["attempts"] == 3, 10)
    assert listed(client, admin, webhook)[0]["status"] == "failed"  # its one more try failed
    assert client.post(path, headers=admin).status_code == 200
    assert deliver_until(worker, lambda: len(receiver.unique) == 1, 10)
    assert listed(client, admin, webhook)[0]["status"] == "delivered"


def test_send_now_is_refused_for_unknown_canceled_and_paused(
    client: TestClient, admin: Headers, context: Context, product: str, receiver: Receiver
) -> None:
    webhook = subscribe(client, admin, receiver)["webhook_id"]
    new_order(client, admin, product)
    [waiting] = listed(client, admin, webhook)
    path = f"/api/v1/deliveries/{waiting['delivery_id']}/send-now"
    assert client.post("/api/v1/deliveries/999999999/send-now", headers=admin).status_code == 404
    assert client.post("/api/v1/deliveries/0/send-now", headers=admin).status_code == 422
    patch(client, admin, webhook, {"active": False})
    assert client.post(path, headers=admin).status_code == 409
    assert client.delete(f"/api/v1/webhooks/{webhook}", headers=admin).status_code == 204
    assert client.post(path, headers=admin).status_code == 409
    with context.db.transaction(write=False) as conn:
        status = conn.execute(
            select(deliveries.c.status).where(deliveries.c.id == waiting["delivery_id"])
        ).scalar_one()
    assert status == "canceled"


# Who may ------------------------------------------------------------------------------------------


def test_managing_webhooks_is_the_admins_alone(
    client: TestClient, admin: Headers, context: Context, product: str, receiver: Receiver
) -> None:
    created = subscribe(client, admin, receiver)
    webhook = created["webhook_id"]
    new_order(client, admin, product)
    [delivery] = listed(client, admin, webhook)
    calls = [
        ("GET", f"/api/v1/webhooks/{webhook}", None),
        ("PATCH", f"/api/v1/webhooks/{webhook}", {"url": "http://127.0.0.1:9/x"}),
        ("PATCH", f"/api/v1/webhooks/{webhook}", {"active": False}),
        ("POST", f"/api/v1/webhooks/{webhook}/rotate-secret", None),
        ("POST", f"/api/v1/webhooks/{webhook}/ping", None),
        ("GET", f"/api/v1/webhooks/{webhook}/deliveries?status=pending", None),
        ("POST", f"/api/v1/deliveries/{delivery['delivery_id']}/send-now", None),
    ]
    facility = put_facility(client, admin)
    others = {
        "integration": make_token(context, Role.INTEGRATION),
        "associate": make_token(context, Role.ASSOCIATE, [facility]),
    }
    before = read_webhook(client, admin, webhook)
    for who, headers in others.items():
        for method, path, body in calls:
            response = client.request(method, path, json=body, headers=headers)
            assert response.status_code == 403, (who, method, path, response.text)
    for method, path, body in calls:
        assert client.request(method, path, json=body).status_code == 401, (method, path)
    assert read_webhook(client, admin, webhook) == before
    assert listed(client, admin, webhook) == [delivery]
    assert count(context, outbox_events) == 1
