"""The webhooks API (SPEC 6.3) on both databases, delivering to a real receiver on 127.0.0.1:
the secret shown once, validation, disable/enable, delete, the deliveries list with every
attempt, replays under the same webhook-id, and that all of it is the admin's alone."""

from __future__ import annotations

import base64
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from reroute.domain.access import Role
from reroute.services.context import Context
from reroute.storage.tables import deliveries, webhooks
from tests.conftest import make_token
from tests.integration.conftest import MakeWorker
from tests.integration.receiver import (
    ALL_TYPES,
    Receiver,
    assert_exactly_the_feed_in_order,
    deliver_until,
    read_feed,
    subscribe,
)
from tests.support import count_stock, order_body, put_facility, put_product

Headers = dict[str, str]


@pytest.fixture
def stocked(client: TestClient, admin: Headers) -> tuple[str, str]:
    facility, product = put_facility(client, admin), put_product(client, admin)
    count_stock(client, admin, facility, product, 100)
    return facility, product


def new_order(client: TestClient, admin: Headers, product: str) -> Any:
    """An order placed at once: one ready_shipment event."""
    response = client.post("/api/v1/orders", json=order_body([(product, 1)]), headers=admin)
    assert response.status_code == 201, response.text
    return response.json()


def cancel(client: TestClient, admin: Headers, order: Any) -> None:
    """Cancel the order's shipment: a Store Decline and a cancel_shipment."""
    shipment = order["items"][0]["shipment_id"]
    response = client.post(f"/api/v1/shipments/{shipment}/cancel", headers=admin)
    assert response.status_code == 200, response.text


def listed(client: TestClient, admin: Headers, webhook_id: str, **params: Any) -> list[Any]:
    response = client.get(f"/api/v1/webhooks/{webhook_id}/deliveries", params=params, headers=admin)
    assert response.status_code == 200, response.text
    found: list[Any] = response.json()["items"]
    return found


def delivery_count(context: Context) -> int:
    with context.db.transaction(write=False) as conn:
        return int(conn.execute(select(func.count()).select_from(deliveries)).scalar_one())


# Creating, listing, validating -----------------------------------------------------------------


def test_the_secret_is_answered_once_and_never_listed(client: TestClient, admin: Headers) -> None:
    response = client.post(
        "/api/v1/webhooks",
        json={
            "url": "https://hooks.example.com/reroute",
            "event_types": ["StoreDeclineEvent", "cancel_item", "StoreDeclineEvent"],
        },
        headers=admin,
    )
    assert response.status_code == 201, response.text
    created = response.json()
    secret = created.pop("secret")
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
    assert created["webhook_id"]
    assert created["url"] == "https://hooks.example.com/reroute"
    assert created["event_types"] == ["StoreDeclineEvent", "cancel_item"]
    assert (created["active"], created["disabled_reason"]) == (True, None)
    other = client.post(
        "/api/v1/webhooks",
        json={"url": "http://127.0.0.1:9/x", "event_types": ["ready_shipment"]},
        headers=admin,
    )
    assert other.status_code == 201, other.text
    assert other.json()["secret"] != secret
    shown = client.get("/api/v1/webhooks", headers=admin)
    assert shown.status_code == 200, shown.text
    assert [w["webhook_id"] for w in shown.json()] == [
        created["webhook_id"],
        other.json()["webhook_id"],
    ]
    assert shown.json()[0] == created
    assert all("secret" not in w for w in shown.json())
    assert secret not in shown.text and other.json()["secret"] not in shown.text
    patched = client.patch(
        f"/api/v1/webhooks/{created['webhook_id']}", json={"active": True}, headers=admin
    )
    assert "secret" not in patched.json() and secret not in patched.text


BAD_BODIES: list[dict[str, Any]] = [
    {"url": "ftp://example.com/hook", "event_types": ["cancel_item"]},
    {"url": "example.com/hook", "event_types": ["cancel_item"]},
    {"url": "http://", "event_types": ["cancel_item"]},
    {"url": "not a url at all", "event_types": ["cancel_item"]},
    {"url": "https://example.com/hook", "event_types": ["StoreDecline"]},
    {"url": "https://example.com/hook", "event_types": ["storedeclineevent"]},
    {"url": "https://example.com/hook", "event_types": ["cancel_item", "ship_it"]},
    {"url": "https://example.com/hook", "event_types": []},
    {"url": "https://example.com/hook", "event_types": "cancel_item"},
    {"url": "https://example.com/hook"},
    {"event_types": ["cancel_item"]},
    {"url": "https://example.com/hook", "event_types": ["cancel_item"], "secret": "whsec_x"},
]


def test_bad_urls_and_unknown_event_types_are_refused(client: TestClient, admin: Headers) -> None:
    for body in BAD_BODIES:
        response = client.post("/api/v1/webhooks", json=body, headers=admin)
        assert response.status_code == 422, (body, response.text)
    assert client.get("/api/v1/webhooks", headers=admin).json() == []


@pytest.fixture
def strict(context: Context) -> Context:
    """Private webhook targets refused, as by default (the test suite's context allows them)."""
    context.security = replace(context.security, allow_private_webhook_targets=False)
    return context


INSIDE = [
    ("http://127.0.0.1:5432/", "127.0.0.1 is loopback"),
    ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is cloud metadata"),
    ("http://[::1]/hooks", "::1 is loopback"),
    ("https://10.0.0.1/hooks", "10.0.0.1 is private"),
    ("http://localhost:8080/hooks", "localhost resolves to"),
    ("http://[::ffff:192.168.1.1]/hooks", "it is IPv4 192.168.1.1"),
    ("http://2130706433/hooks", "127.0.0.1, which is loopback"),
    ("http://metadata.google.internal/computeMetadata/v1/", "cloud metadata"),
]


def test_targets_inside_the_network_are_refused_at_the_url_and_nothing_is_kept(
    client: TestClient, admin: Headers, strict: Context
) -> None:
    for url, shown in INSIDE:
        response = client.post(
            "/api/v1/webhooks", json={"url": url, "event_types": ALL_TYPES}, headers=admin
        )
        assert response.status_code == 422, (url, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        [error] = response.json()["errors"]
        assert error["path"] == "url", url
        assert shown in error["message"], (url, error)
        assert "REROUTE_WEBHOOK_ALLOW_PRIVATE_TARGETS=true" in error["message"]
    assert client.get("/api/v1/webhooks", headers=admin).json() == []
    with strict.db.transaction(write=False) as conn:
        assert conn.execute(select(func.count()).select_from(webhooks)).scalar_one() == 0


def test_a_public_address_is_accepted_while_private_targets_are_refused(
    client: TestClient, admin: Headers, strict: Context
) -> None:
    url = f"https://93.184.215.14/hooks/{uuid.uuid4().hex[:8]}"
    response = client.post(
        "/api/v1/webhooks", json={"url": url, "event_types": ALL_TYPES}, headers=admin
    )
    assert response.status_code == 201, response.text
    assert response.json()["url"] == url


def test_with_private_targets_allowed_the_same_urls_are_accepted(
    client: TestClient, admin: Headers, context: Context
) -> None:
    assert context.security.allow_private_webhook_targets
    for url, _ in INSIDE:
        response = client.post(
            "/api/v1/webhooks", json={"url": url, "event_types": ALL_TYPES}, headers=admin
        )
        assert response.status_code == 201, (url, response.text)
    assert len(client.get("/api/v1/webhooks", headers=admin).json()) == len(INSIDE)


def test_webhooks_and_deliveries_are_the_admins_alone(
    client: TestClient, admin: Headers, context: Context
) -> None:
    created = client.post(
        "/api/v1/webhooks",
        json={"url": "http://127.0.0.1:9/x", "event_types": ALL_TYPES},
        headers=admin,
    ).json()
    webhook = created["webhook_id"]
    calls = [
        ("POST", "/api/v1/webhooks", {"url": "http://127.0.0.1:9/y", "event_types": ALL_TYPES}),
        ("GET", "/api/v1/webhooks", None),
        ("PATCH", f"/api/v1/webhooks/{webhook}", {"active": False}),
        ("DELETE", f"/api/v1/webhooks/{webhook}", None),
        ("GET", f"/api/v1/webhooks/{webhook}/deliveries", None),
        ("POST", "/api/v1/deliveries/1/retry", None),
    ]
    facility = put_facility(client, admin)
    others = {
        "integration": make_token(context, Role.INTEGRATION),
        "associate": make_token(context, Role.ASSOCIATE, [facility]),
    }
    for who, headers in others.items():
        for method, path, body in calls:
            response = client.request(method, path, json=body, headers=headers)
            assert response.status_code == 403, (who, method, path, response.text)
    for method, path, body in calls:
        assert client.request(method, path, json=body).status_code == 401, (method, path)
    # Nothing changed.
    [still] = client.get("/api/v1/webhooks", headers=admin).json()
    assert (still["webhook_id"], still["active"]) == (webhook, True)


# Disable, enable, delete ------------------------------------------------------------------------


def test_a_disabled_webhook_keeps_its_deliveries_waiting_until_enabled(
    client: TestClient,
    admin: Headers,
    stocked: tuple[str, str],
    receiver: Receiver,
    make_worker: MakeWorker,
) -> None:
    webhook = subscribe(client, admin, receiver)["webhook_id"]
    worker = make_worker()
    first = new_order(client, admin, stocked[1])
    assert deliver_until(worker, lambda: len(receiver.unique) == 1, 10)
    cancel(client, admin, first)  # two events queued while enabled, not sent yet
    response = client.patch(f"/api/v1/webhooks/{webhook}", json={"active": False}, headers=admin)
    assert response.status_code == 200, response.text
    assert (response.json()["active"], response.json()["disabled_reason"]) == (
        False,
        "Disabled by an admin.",
    )
    second = new_order(client, admin, stocked[1])  # and one written while disabled
    deliver_until(worker, lambda: False, 0.5)
    assert len(receiver.unique) == 1, "nothing is sent while the webhook is disabled"
    waiting = listed(client, admin, webhook)
    assert [(d["order_id"], d["status"]) for d in waiting] == [
        (second["order_id"], "pending"),
        (first["order_id"], "pending"),
        (first["order_id"], "pending"),
        (first["order_id"], "delivered"),
    ]
    response = client.patch(f"/api/v1/webhooks/{webhook}", json={"active": True}, headers=admin)
    assert response.status_code == 200, response.text
    assert (response.json()["active"], response.json()["disabled_reason"]) == (True, None)
    assert deliver_until(worker, lambda: len(receiver.unique) == 4, 10)
    assert_exactly_the_feed_in_order(receiver, read_feed(client, admin))
    assert {d["status"] for d in listed(client, admin, webhook)} == {"delivered"}
    assert receiver.invalid == []


def test_a_deleted_webhook_is_gone_and_its_waiting_deliveries_are_never_sent(
    client: TestClient,
    admin: Headers,
    context: Context,
    stocked: tuple[str, str],
    receiver: Receiver,
    make_worker: MakeWorker,
) -> None:
    webhook = subscribe(client, admin, receiver)["webhook_id"]
    order = new_order(client, admin, stocked[1])
    [waiting] = listed(client, admin, webhook)
    assert waiting["status"] == "pending"
    response = client.delete(f"/api/v1/webhooks/{webhook}", headers=admin)
    assert response.status_code == 204, response.text
    assert client.get("/api/v1/webhooks", headers=admin).json() == []
    for method, path, body in (
        ("GET", f"/api/v1/webhooks/{webhook}/deliveries", None),
        ("PATCH", f"/api/v1/webhooks/{webhook}", {"active": True}),
        ("DELETE", f"/api/v1/webhooks/{webhook}", None),
    ):
        response = client.request(method, path, json=body, headers=admin)
        assert response.status_code == 404, (method, path, response.text)
    before = delivery_count(context)
    cancel(client, admin, order)
    assert delivery_count(context) == before, "no delivery is queued for a deleted webhook"
    deliver_until(make_worker(), lambda: False, 0.3)
    assert receiver.arrivals == 0
    retried = client.post(f"/api/v1/deliveries/{waiting['delivery_id']}/retry", headers=admin)
    assert retried.status_code == 409, retried.text


# Deliveries and replays -------------------------------------------------------------------------


def test_the_deliveries_list_shows_every_attempt_with_its_status_code_and_time(
    client: TestClient,
    admin: Headers,
    stocked: tuple[str, str],
    receiver: Receiver,
    make_worker: MakeWorker,
) -> None:
    webhook = subscribe(client, admin, receiver)["webhook_id"]
    receiver.fail(2, status=500).fail(1, status=503)
    started = datetime.now(UTC)
    order = new_order(client, admin, stocked[1])
    worker = make_worker()
    assert deliver_until(worker, lambda: len(receiver.unique) == 1, 10)
    ended = datetime.now(UTC)
    [shown] = listed(client, admin, webhook)
    [event] = read_feed(client, admin)
    assert shown["message_id"] == event["event_id"] == next(iter(receiver.unique))
    assert (shown["event_type"], shown["order_id"]) == ("ready_shipment", order["order_id"])
    assert (shown["status"], shown["attempts"], shown["last_status_code"]) == ("delivered", 4, 204)
    log = shown["attempt_log"]
    assert [a["status_code"] for a in log] == [500, 500, 503, 204]
    times = [datetime.fromisoformat(a["attempted_at"]) for a in log]
    assert times == sorted(times)
    assert started - timedelta(seconds=1) <= times[0] and times[-1] <= ended + timedelta(seconds=1)
    assert all(isinstance(a["duration_ms"], int) and a["error"] is None for a in log)
    assert '{"ok": false}' in log[0]["response_excerpt"]
    delivered_at = datetime.fromisoformat(shown["delivered_at"])
    assert started - timedelta(seconds=1) <= delivered_at <= ended + timedelta(seconds=1)


def test_the_deliveries_list_is_newest_first_and_pages(
    client: TestClient, admin: Headers, stocked: tuple[str, str], receiver: Receiver
) -> None:
    webhook = subscribe(client, admin, receiver)["webhook_id"]
    for _ in range(3):
        cancel(client, admin, new_order(client, admin, stocked[1]))
    everything = listed(client, admin, webhook)
    ids = [d["delivery_id"] for d in everything]
    assert len(ids) == 9 and ids == sorted(ids, reverse=True)
    pages, cursor = [], None
    for _ in range(5):
        response = client.get(
            f"/api/v1/webhooks/{webhook}/deliveries",
            params={"limit": 4, **({"cursor": cursor} if cursor else {})},
            headers=admin,
        )
        assert response.status_code == 200, response.text
        pages.append([d["delivery_id"] for d in response.json()["items"]])
        cursor = response.json()["next_cursor"]
        if cursor is None:
            break
    assert pages == [ids[0:4], ids[4:8], ids[8:9]]
    feed_ids = [e["event_id"] for e in read_feed(client, admin)]
    assert [d["message_id"] for d in reversed(everything)] == feed_ids


def test_a_failed_delivery_is_replayed_under_the_same_webhook_id(
    client: TestClient,
    admin: Headers,
    stocked: tuple[str, str],
    receiver: Receiver,
    make_worker: MakeWorker,
) -> None:
    webhook = subscribe(client, admin, receiver)["webhook_id"]
    receiver.fail(2)
    new_order(client, admin, stocked[1])
    worker = make_worker(schedule=(0.0, 0.05))  # two attempts, then failed
    assert deliver_until(
        worker, lambda: listed(client, admin, webhook)[0]["status"] == "failed", 10
    )
    [failed] = listed(client, admin, webhook)
    assert (failed["attempts"], failed["last_status_code"]) == (2, 500)
    assert receiver.unique == {}
    pending = client.post(f"/api/v1/deliveries/{failed['delivery_id']}/retry", headers=admin)
    assert pending.status_code == 200, pending.text
    assert (pending.json()["status"], pending.json()["attempts"]) == ("pending", 0)
    assert pending.json()["message_id"] == failed["message_id"]
    # While it waits to be sent, a second replay is refused.
    again = client.post(f"/api/v1/deliveries/{failed['delivery_id']}/retry", headers=admin)
    assert again.status_code == 409, again.text
    assert deliver_until(worker, lambda: len(receiver.unique) == 1, 10)
    assert list(receiver.unique) == [failed["message_id"]]
    sent = [r for r in receiver.requests if r.webhook_id == failed["message_id"]]
    assert len(sent) == 3 and len({r.body for r in sent}) == 1
    [replayed] = listed(client, admin, webhook)
    assert replayed["status"] == "delivered"
    assert [a["status_code"] for a in replayed["attempt_log"]] == [500, 500, 204]
    # A delivered one can be replayed too: same id, same body; the receiver drops the copy.
    response = client.post(f"/api/v1/deliveries/{failed['delivery_id']}/retry", headers=admin)
    assert response.status_code == 200, response.text
    assert deliver_until(worker, lambda: len(receiver.accepted) == 2, 10)
    assert [r.webhook_id for r in receiver.accepted] == [failed["message_id"]] * 2
    assert receiver.accepted[0].body == receiver.accepted[1].body
    assert len(receiver.unique) == 1 and receiver.conflicts == [] and receiver.invalid == []


def test_replays_are_refused_for_unknown_deliveries_and_disabled_webhooks(
    client: TestClient,
    admin: Headers,
    stocked: tuple[str, str],
    receiver: Receiver,
    make_worker: MakeWorker,
) -> None:
    webhook = subscribe(client, admin, receiver)["webhook_id"]
    new_order(client, admin, stocked[1])
    assert deliver_until(make_worker(), lambda: len(receiver.unique) == 1, 10)
    [done] = listed(client, admin, webhook)
    assert client.post("/api/v1/deliveries/999999/retry", headers=admin).status_code == 404
    client.patch(f"/api/v1/webhooks/{webhook}", json={"active": False}, headers=admin)
    refused = client.post(f"/api/v1/deliveries/{done['delivery_id']}/retry", headers=admin)
    assert refused.status_code == 409, refused.text
    assert listed(client, admin, webhook)[0]["status"] == "delivered"


def test_a_webhook_gets_only_the_event_types_it_subscribed_to(
    client: TestClient,
    admin: Headers,
    stocked: tuple[str, str],
    receiver: Receiver,
    make_worker: MakeWorker,
) -> None:
    subscribe(client, admin, receiver, ["StoreDeclineEvent", "cancel_item"])
    order = new_order(client, admin, stocked[1])
    cancel(client, admin, order)
    item_order = new_order(client, admin, stocked[1])
    response = client.post(f"/api/v1/orders/{item_order['order_id']}/items/1/cancel", headers=admin)
    assert response.status_code == 200, response.text
    wanted = [
        e["event_id"]
        for e in read_feed(client, admin)
        if e["type"] in ("StoreDeclineEvent", "cancel_item")
    ]
    assert len(wanted) == 3
    assert deliver_until(make_worker(), lambda: len(receiver.unique) == 3, 10)
    deliver_until(make_worker(), lambda: False, 0.2)
    assert sorted(receiver.unique) == sorted(wanted)
