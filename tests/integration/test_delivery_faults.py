"""Webhook delivery against a real receiver on 127.0.0.1 (SPEC 6.3), on both databases: signed
requests with the outbox body unchanged, order per order, the retry schedule running out, 410,
and the faults of issue 5: the receiver answers 500, times out, resets the connection, is down
and back on the same port, and the worker process is killed with SIGKILL mid-batch. Then the
hostile ones of issue 9: an endpoint that points inside the network by the time of delivery is
never contacted, a receiver that trickles is cut at the deadline while another endpoint's events
keep flowing, a huge reply is read only up to the cap, and a redirect is not followed.

In every case every event is delivered in the end under one webhook-id, and after
de-duplication on that id the receiver holds exactly the events of GET /api/v1/events.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import tracemalloc
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from reroute.delivery.signing import new_secret
from reroute.services.context import Context
from reroute.storage.repositories.webhooks import Webhook
from reroute.storage.tables import deliveries, outbox_events
from reroute.storage.unit_of_work import unit_of_work
from tests.integration.conftest import MakeWorker
from tests.integration.receiver import (
    ALL_TYPES,
    PATH,
    Action,
    Receiver,
    assert_exactly_the_feed_in_order,
    deliver_until,
    read_feed,
    subscribe,
)
from tests.support import count_stock, order_body, put_facility, put_product

Headers = dict[str, str]


@pytest.fixture
def product(client: TestClient, admin: Headers) -> str:
    facility = put_facility(client, admin, name="Tienda Müller, Köln", fulfiller_id="70125")
    made = put_product(client, admin)
    count_stock(client, admin, facility, made, 1000)
    return made


def orders_with_events(client: TestClient, admin: Headers, product: str, count: int) -> list[str]:
    """`count` orders of three events each: ready_shipment, StoreDeclineEvent, cancel_shipment."""
    made = []
    for _ in range(count):
        response = client.post("/api/v1/orders", json=order_body([(product, 1)]), headers=admin)
        assert response.status_code == 201, response.text
        order = response.json()
        shipment = order["items"][0]["shipment_id"]
        response = client.post(f"/api/v1/shipments/{shipment}/cancel", headers=admin)
        assert response.status_code == 200, response.text
        made.append(order["order_id"])
    return made


def statuses(context: Context) -> list[str]:
    with context.db.transaction(write=False) as conn:
        return list(conn.execute(select(deliveries.c.status).order_by(deliveries.c.id)).scalars())


def all_delivered(context: Context) -> Callable[[], bool]:
    return lambda: set(statuses(context)) == {"delivered"}


def attempt_logs(client: TestClient, admin: Headers, webhook: str) -> list[Any]:
    response = client.get(
        f"/api/v1/webhooks/{webhook}/deliveries", params={"limit": 500}, headers=admin
    )
    assert response.status_code == 200, response.text
    found: list[Any] = response.json()["items"]
    return found


# Requests -------------------------------------------------------------------------------------


def test_requests_are_signed_and_carry_the_outbox_body_byte_for_byte(
    client: TestClient,
    admin: Headers,
    context: Context,
    product: str,
    receiver: Receiver,
    make_worker: MakeWorker,
) -> None:
    subscribe(client, admin, receiver)
    orders_with_events(client, admin, product, 2)
    started = time.time()
    assert deliver_until(make_worker(), lambda: len(receiver.unique) == 6, 15)
    with context.db.transaction(write=False) as conn:
        stored = {
            r.event_id: r.body
            for r in conn.execute(select(outbox_events.c.event_id, outbox_events.c.body))
        }
    assert len(stored) == 6
    assert receiver.invalid == []  # every request verified with the public library
    for request in receiver.requests:
        assert request.body == stored[request.webhook_id].encode("utf-8")
        assert started - 2 <= int(request.timestamp) <= time.time() + 1
    assert "Tienda Müller, Köln".encode() in receiver.requests[0].body
    assert_exactly_the_feed_in_order(receiver, read_feed(client, admin))


def test_events_of_one_order_arrive_in_order_while_the_receiver_fails_then_recovers(
    client: TestClient,
    admin: Headers,
    context: Context,
    product: str,
    receiver: Receiver,
    make_worker: MakeWorker,
) -> None:
    subscribe(client, admin, receiver)
    orders = orders_with_events(client, admin, product, 3)
    # Many more events for the first order: each cancel of another item is one more.
    response = client.post(
        "/api/v1/orders",
        json=order_body([(product, 1)] * 5),
        headers=admin,
    )
    assert response.status_code == 201, response.text
    busy = response.json()["order_id"]
    for item in ("1", "2", "3", "4", "5"):
        done = client.post(f"/api/v1/orders/{busy}/items/{item}/cancel", headers=admin)
        assert done.status_code == 200, done.text
    events = read_feed(client, admin)
    assert len([e for e in events if e["order_id"] == busy]) == 11
    receiver.fail(7, status=500).fail(3, status=503)
    worker = make_worker()
    assert deliver_until(worker, all_delivered(context), 30)
    assert_exactly_the_feed_in_order(receiver, events)
    assert len(receiver.requests) >= len(events) + 10
    assert {o for o in orders} | {busy} == {e["order_id"] for e in events}


def test_when_the_schedule_runs_out_the_delivery_fails_visibly_and_can_be_replayed(
    client: TestClient,
    admin: Headers,
    context: Context,
    product: str,
    receiver: Receiver,
    make_worker: MakeWorker,
) -> None:
    webhook = subscribe(client, admin, receiver)["webhook_id"]
    receiver.fail(3, status=502)
    [order] = orders_with_events(client, admin, product, 1)
    worker = make_worker(schedule=(0.0, 0.05, 0.05))  # three attempts in all
    assert deliver_until(worker, lambda: "failed" in statuses(context), 10)
    # The first event failed; the later ones of the order were then free to go.
    assert deliver_until(worker, lambda: statuses(context).count("delivered") == 2, 10)
    shown = attempt_logs(client, admin, webhook)
    [failed] = [d for d in shown if d["status"] == "failed"]
    assert (failed["order_id"], failed["event_type"]) == (order, "ready_shipment")
    assert [a["status_code"] for a in failed["attempt_log"]] == [502, 502, 502]
    assert (failed["attempts"], failed["last_status_code"]) == (3, 502)
    assert failed["message_id"] not in receiver.unique
    response = client.post(f"/api/v1/deliveries/{failed['delivery_id']}/retry", headers=admin)
    assert response.status_code == 200, response.text
    assert deliver_until(worker, all_delivered(context), 10)
    assert sorted(receiver.unique) == sorted(e["event_id"] for e in read_feed(client, admin))
    assert [r.webhook_id for r in receiver.requests].count(failed["message_id"]) == 4


def test_410_gone_disables_the_endpoint_and_fails_what_waited_for_it(
    client: TestClient,
    admin: Headers,
    context: Context,
    product: str,
    receiver: Receiver,
    make_worker: MakeWorker,
) -> None:
    webhook = subscribe(client, admin, receiver)["webhook_id"]
    receiver.fail(1, status=410)
    orders_with_events(client, admin, product, 1)
    worker = make_worker(batch=1)
    assert deliver_until(worker, lambda: "pending" not in statuses(context), 10)
    assert statuses(context) == ["failed", "failed", "failed"]
    [shown] = client.get("/api/v1/webhooks", headers=admin).json()
    assert (shown["active"], shown["disabled_reason"]) == (False, "The endpoint answered 410 Gone.")
    assert receiver.arrivals == 1
    # Events written while it is disabled wait; nothing is sent.
    orders_with_events(client, admin, product, 1)
    deliver_until(worker, lambda: False, 0.3)
    assert receiver.arrivals == 1
    assert statuses(context)[3:] == ["pending"] * 3
    # Enabled again: what waited goes out, and the failed ones can be replayed.
    response = client.patch(f"/api/v1/webhooks/{webhook}", json={"active": True}, headers=admin)
    assert response.status_code == 200, response.text
    for delivery in attempt_logs(client, admin, webhook):
        if delivery["status"] == "failed":
            retried = client.post(
                f"/api/v1/deliveries/{delivery['delivery_id']}/retry", headers=admin
            )
            assert retried.status_code == 200, retried.text
    assert deliver_until(worker, all_delivered(context), 10)
    assert sorted(receiver.unique) == sorted(e["event_id"] for e in read_feed(client, admin))


def test_two_workers_at_once_send_each_event_once_and_in_order(
    client: TestClient,
    admin: Headers,
    context: Context,
    product: str,
    receiver: Receiver,
    make_worker: MakeWorker,
) -> None:
    subscribe(client, admin, receiver)
    orders_with_events(client, admin, product, 8)
    receiver.always(Action(sleep=0.02))  # long enough for the two to overlap
    workers = [make_worker(batch=3, concurrency=3), make_worker(batch=3, concurrency=3)]
    for worker in workers:
        worker.start()
    assert deliver_wait(all_delivered(context), 30)
    for worker in workers:
        worker.stop()
    events = read_feed(client, admin)
    assert len(receiver.accepted) == len(events) == 24  # no event sent twice
    assert_exactly_the_feed_in_order(receiver, events)


# Faults ----------------------------------------------------------------------------------------


def test_a_receiver_that_times_out_gets_the_event_again_under_the_same_id(
    client: TestClient,
    admin: Headers,
    context: Context,
    product: str,
    receiver: Receiver,
    make_worker: MakeWorker,
) -> None:
    webhook = subscribe(client, admin, receiver)["webhook_id"]
    receiver.sleep(1.5, times=2)
    orders_with_events(client, admin, product, 2)
    worker = make_worker(read_timeout=0.5)
    assert deliver_until(worker, all_delivered(context), 30)
    timed_out = [
        a for d in attempt_logs(client, admin, webhook) for a in d["attempt_log"] if a["error"]
    ]
    assert len(timed_out) == 2
    assert all(a["status_code"] is None and "Timeout" in a["error"] for a in timed_out)
    # The slow receiver handled both in the end, then got them again: duplicates, same ids.
    assert receiver.wait_for(lambda r: len(r.accepted) == 8, 5)
    assert_exactly_the_feed_in_order(receiver, read_feed(client, admin))


def test_a_receiver_that_resets_the_connection_gets_the_event_again(
    client: TestClient,
    admin: Headers,
    context: Context,
    product: str,
    receiver: Receiver,
    make_worker: MakeWorker,
) -> None:
    webhook = subscribe(client, admin, receiver)["webhook_id"]
    receiver.reset(3)
    orders_with_events(client, admin, product, 2)
    assert deliver_until(make_worker(), all_delivered(context), 20)
    errors = [
        a for d in attempt_logs(client, admin, webhook) for a in d["attempt_log"] if a["error"]
    ]
    assert len(errors) == 3 and all(a["status_code"] is None for a in errors)
    reset = [r.webhook_id for r in receiver.requests if r.answered is None]
    assert len(reset) == 3
    assert set(reset) <= set(receiver.unique)
    assert_exactly_the_feed_in_order(receiver, read_feed(client, admin))


def test_a_receiver_that_is_down_then_back_on_the_same_port_gets_everything(
    client: TestClient,
    admin: Headers,
    context: Context,
    product: str,
    receiver: Receiver,
    make_worker: MakeWorker,
) -> None:
    webhook = subscribe(client, admin, receiver)["webhook_id"]
    port = receiver.port
    receiver.stop()
    orders_with_events(client, admin, product, 2)
    worker = make_worker()
    refused_at = datetime.now(UTC)
    for _ in range(4):  # four rounds against a closed port
        deliver_until(worker, lambda: False, 0.1)
    shown = attempt_logs(client, admin, webhook)
    assert {d["status"] for d in shown} == {"pending"}
    tried = [a for d in shown for a in d["attempt_log"]]
    assert tried and all(a["status_code"] is None and "Connect" in a["error"] for a in tried)
    assert all(datetime.fromisoformat(a["attempted_at"]) >= refused_at for a in tried)
    receiver.start()
    assert receiver.port == port
    assert deliver_until(worker, all_delivered(context), 20)
    assert_exactly_the_feed_in_order(receiver, read_feed(client, admin))


def test_a_worker_killed_mid_batch_loses_nothing_and_sends_under_the_same_ids(
    client: TestClient,
    admin: Headers,
    context: Context,
    database_url: str,
    product: str,
    receiver: Receiver,
    tmp_path: Path,
) -> None:
    subscribe(client, admin, receiver)
    orders_with_events(client, admin, product, 4)
    events = read_feed(client, admin)
    assert len(events) == 12
    # The first batch (the head event of each of the 4 orders) finds the receiver slow.
    receiver.sleep(3.0, times=4)
    env = {
        **os.environ,
        "REROUTE_WEBHOOK_LEASE_SECONDS": "1",
        "REROUTE_WEBHOOK_RETRY_SCHEDULE": ",".join(["0"] + ["0.1"] * 20),
        "REROUTE_WORKER_POLL_SECONDS": "0.1",
        "REROUTE_WEBHOOK_CONCURRENCY": "8",
        "REROUTE_WEBHOOK_ALLOW_PRIVATE_TARGETS": "true",  # the receiver is on 127.0.0.1
    }
    command = [str(Path(sys.executable).with_name("reroute")), "worker"]
    command += ["--database-url", database_url]

    def start(name: str) -> subprocess.Popen[bytes]:
        log = (tmp_path / f"{name}.log").open("wb")
        return subprocess.Popen(command, env=env, cwd=tmp_path, stdout=log, stderr=log)

    first = start("first")
    try:
        arrived = receiver.wait_for(lambda r: r.arrivals >= 4, 60)
        assert arrived, (tmp_path / "first.log").read_text()
        first.send_signal(signal.SIGKILL)  # while the four requests are in flight
        assert first.wait(10) == -signal.SIGKILL
    finally:
        if first.poll() is None:
            first.kill()
            first.wait(10)
    assert statuses(context) == ["pending"] * 12, "the killed worker recorded nothing"
    second = start("second")
    try:
        ok = deliver_wait(all_delivered(context), 60)
        assert ok, (tmp_path / "second.log").read_text()
    finally:
        second.send_signal(signal.SIGKILL)
        second.wait(10)
    receiver.wait_for(lambda r: len(r.accepted) >= 16, 6)
    assert_exactly_the_feed_in_order(receiver, events)
    # The four heads were handled by the slow receiver and then sent again after the lease ran
    # out: duplicates, each under its event's one webhook-id with the same body.
    ids = [r.webhook_id for r in receiver.accepted]
    assert len(ids) == 16
    heads = [e["event_id"] for e in events if e["body"]["eventTypeID"] == "ready_shipment"]
    assert sorted(i for i in set(ids) if ids.count(i) == 2) == sorted(heads)


# Hostile targets -------------------------------------------------------------------------------


def allow_private(context: Context, allowed: bool) -> None:
    context.security = replace(context.security, allow_private_webhook_targets=allowed)


def test_an_endpoint_that_points_inside_by_delivery_time_is_refused_and_never_contacted(
    client: TestClient,
    admin: Headers,
    context: Context,
    product: str,
    receiver: Receiver,
    make_worker: MakeWorker,
) -> None:
    webhook = subscribe(client, admin, receiver)["webhook_id"]  # allowed when registered
    allow_private(context, False)  # and no longer when delivered
    orders_with_events(client, admin, product, 1)
    worker = make_worker()
    assert deliver_until(worker, lambda: "pending" not in statuses(context), 10)
    deliver_until(worker, lambda: False, 0.3)  # more rounds: nothing is tried again
    shown = attempt_logs(client, admin, webhook)
    assert [d["status"] for d in shown] == ["failed"] * 3
    for delivery in shown:
        [attempt] = delivery["attempt_log"]
        assert attempt["error"] == "target address 127.0.0.1 is loopback; refused"
        assert (attempt["status_code"], attempt["response_excerpt"]) == (None, None)
        assert delivery["last_error"] == attempt["error"]
    assert (receiver.connections, receiver.arrivals) == (0, 0)
    # Allowed again (a development setup), a replay sends it under the same webhook-id.
    allow_private(context, True)
    head = shown[-1]
    response = client.post(f"/api/v1/deliveries/{head['delivery_id']}/retry", headers=admin)
    assert response.status_code == 200, response.text
    assert deliver_until(worker, lambda: len(receiver.unique) == 1, 10)
    assert list(receiver.unique) == [head["message_id"]]


def test_a_stored_name_is_checked_by_what_it_resolves_to_and_sent_with_its_own_host(
    client: TestClient,
    admin: Headers,
    context: Context,
    product: str,
    receiver: Receiver,
    make_worker: MakeWorker,
) -> None:
    # Stored as an older version would have stored it, without the registration check.
    named = Webhook(
        id=f"wh_{uuid.uuid4().hex[:16]}",
        url=f"http://localhost:{receiver.port}{PATH}",
        event_types=ALL_TYPES,
        secret=new_secret(),
        active=True,
        disabled_reason=None,
        created_at=None,
    )
    with unit_of_work(context.db) as uow:
        uow.webhooks.add(named, uow.now)
    receiver.secret = named.secret
    allow_private(context, False)
    orders_with_events(client, admin, product, 1)
    worker = make_worker()
    assert deliver_until(worker, lambda: "pending" not in statuses(context), 10)
    errors = {a["error"] for d in attempt_logs(client, admin, named.id) for a in d["attempt_log"]}
    assert len(errors) == 1
    [error] = errors
    assert error.startswith("target address ") and error.endswith(
        " of localhost is loopback; refused"
    )
    assert receiver.connections == 0
    # Allowed: the connection goes to the address the name resolved to, with the URL's host.
    allow_private(context, True)
    orders_with_events(client, admin, product, 1)
    assert deliver_until(worker, lambda: len(receiver.unique) == 3, 10)
    assert {r.host for r in receiver.requests} == {f"localhost:{receiver.port}"}


def test_a_trickling_endpoint_is_cut_at_the_deadline_and_holds_no_other_endpoint_back(
    client: TestClient,
    admin: Headers,
    context: Context,
    product: str,
    receiver: Receiver,
    make_worker: MakeWorker,
) -> None:
    slow = receiver
    deadline = 4.0
    with Receiver() as healthy:
        slow_webhook = subscribe(client, admin, slow, ["ready_shipment"])["webhook_id"]
        subscribe(client, admin, healthy, ["ready_shipment"])
        # A byte every 0.3 s: far inside the read timeout, so only the deadline can end it.
        slow.always(Action(trickle=0.3))
        worker = make_worker(deadline=deadline, read_timeout=5.0, concurrency=8)
        worker.start()
        first = [order_at_once(client, admin, product) for _ in range(6)]
        assert slow.wait_for(lambda r: r.arrivals >= 4, 5), "four requests stuck on the slow one"
        assert healthy.wait_for(lambda r: len(r.unique) == len(first), 5)
        # While those four are stuck, each new event reaches the healthy endpoint within 1 s.
        for n in range(3):
            written = time.monotonic()
            order_at_once(client, admin, product)
            assert healthy.wait_for(lambda r, n=n: len(r.unique) == len(first) + n + 1, 1.5)
            lag = healthy.accepted[-1].at - written
            assert lag < 1.0, f"event {n} reached the healthy endpoint after {lag:.2f} s"
        assert slow.ends == [], "the slow requests were still in flight meanwhile"
        assert slow.arrivals == 4, "a slow endpoint gets at most half of the 8 senders"
        # Each of the four is cut at the deadline, by the sender hanging up.
        assert slow.wait_for(lambda r: len(r.ends) >= 4, deadline + 5)
        stuck = [r for r in slow.requests if r.answered is None][:4]
        for request, end in zip(stuck, slow.ends[:4], strict=True):
            assert not end.complete
            assert deadline - 0.5 <= end.at - request.at <= deadline + 1.5
            assert end.sent <= deadline / 0.3 + 3
        tried = []
        for _ in range(100):
            logged = attempt_logs(client, admin, slow_webhook)
            tried = [a for d in logged for a in d["attempt_log"]]
            if len(tried) >= 4:
                break
            time.sleep(0.05)
        assert len(tried) >= 4
        for attempt in tried[:4]:
            assert attempt["status_code"] is None and "ReadTimeout" in attempt["error"]
            assert deadline * 1000 - 100 <= attempt["duration_ms"] <= deadline * 1000 + 1500
        worker.stop()


def test_a_huge_reply_is_read_only_up_to_the_cap(
    client: TestClient,
    admin: Headers,
    context: Context,
    product: str,
    receiver: Receiver,
    make_worker: MakeWorker,
) -> None:
    webhook = subscribe(client, admin, receiver, ["ready_shipment"])["webhook_id"]
    size = 50 * 2**20
    receiver.then(Action(status=200, reply_bytes=size))
    order_at_once(client, admin, product)
    worker = make_worker()
    tracemalloc.start()
    try:
        assert deliver_until(worker, all_delivered(context), 20)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    [delivery] = attempt_logs(client, admin, webhook)
    [attempt] = delivery["attempt_log"]
    assert (attempt["status_code"], attempt["error"]) == (200, None)
    assert attempt["response_excerpt"] == "x" * 500
    assert receiver.wait_for(lambda r: len(r.ends) == 1, 10)
    [end] = receiver.ends
    assert not end.complete, "the worker stopped reading and hung up"
    assert end.sent < 16 * 2**20
    assert peak < 16 * 2**20, f"delivering a 50 MiB reply took {peak / 2**20:.0f} MiB"


def test_a_redirect_is_not_followed_and_a_reply_with_nul_bytes_is_kept(
    client: TestClient,
    admin: Headers,
    context: Context,
    product: str,
    receiver: Receiver,
    make_worker: MakeWorker,
) -> None:
    with Receiver() as elsewhere:
        elsewhere.secret = subscribe(client, admin, receiver, ["ready_shipment"])["secret"]
        webhook = next(
            w["webhook_id"] for w in client.get("/api/v1/webhooks", headers=admin).json()
        )
        receiver.then(Action(status=307, location=elsewhere.url))
        receiver.then(Action(status=500, body=b'{"error": "bad\x00byte"}'))
        order_at_once(client, admin, product)
        assert deliver_until(make_worker(), all_delivered(context), 10)
        [delivery] = attempt_logs(client, admin, webhook)
        log = delivery["attempt_log"]
        assert [a["status_code"] for a in log] == [307, 500, 204]
        assert log[1]["response_excerpt"] == '{"error": "bad\ufffdbyte"}'
        assert (elsewhere.connections, len(receiver.unique)) == (0, 1)


def order_at_once(client: TestClient, admin: Headers, product: str) -> str:
    """An order placed at once: one ready_shipment event."""
    response = client.post("/api/v1/orders", json=order_body([(product, 1)]), headers=admin)
    assert response.status_code == 201, response.text
    order_id: str = response.json()["order_id"]
    return order_id


def deliver_wait(check: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return check()
