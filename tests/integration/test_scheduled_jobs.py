"""The worker's schedule on both databases, with the database's clock moved on: routing runs
every `routing_interval_minutes` (0: never), the idle sweep every minute while a limit is set,
and of several schedulers on one database one runs a job at a time and none sooner than due."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from reroute.domain.clock import utcnow
from reroute.jobs import IDLE_SWEEP, ROUTING, Scheduler
from reroute.services.context import Context
from tests.support import Headers, create, put_product, read, stocked


@pytest.fixture
def later(context: Context) -> Iterator[Any]:
    def move(minutes: float) -> None:
        shift = timedelta(minutes=minutes)
        context.db.clock = lambda: utcnow() + shift

    yield move
    context.db.clock = utcnow


def settings(client: TestClient, admin: Headers, **changes: Any) -> None:
    assert client.patch("/api/v1/settings", json=changes, headers=admin).status_code == 200


def state(client: TestClient, admin: Headers, order_id: str) -> str:
    return str(read(client, admin, order_id)["items"][0]["state"])


def test_routing_runs_on_its_interval(
    client: TestClient, admin: Headers, context: Context, later: Any
) -> None:
    product = put_product(client, admin)
    stocked(client, admin, 1, {product: 10})
    settings(client, admin, route_on_create=False, routing_interval_minutes=5)
    first = create(client, admin, [(product, 1)])["order_id"]
    jobs = Scheduler(context)
    assert [r.job for r in jobs.tick()] == [ROUTING]
    assert state(client, admin, first) == "ready"
    second = create(client, admin, [(product, 1)])["order_id"]
    later(4)
    assert jobs.tick() == []  # not due yet
    assert state(client, admin, second) == "queued"
    later(5)
    assert [r.job for r in jobs.tick()] == [ROUTING]
    assert state(client, admin, second) == "ready"
    settings(client, admin, routing_interval_minutes=0)
    third = create(client, admin, [(product, 1)])["order_id"]
    later(60)
    assert jobs.tick() == []
    assert state(client, admin, third) == "queued"


def test_the_idle_sweep_runs_each_minute_only_while_a_limit_is_set(
    client: TestClient, admin: Headers, context: Context, later: Any
) -> None:
    product = put_product(client, admin)
    stocked(client, admin, 1, {product: 10})
    stocked(client, admin, 30, {product: 10})
    settings(client, admin, routing_interval_minutes=0)
    order = create(client, admin, [(product, 1)])["order_id"]
    jobs = Scheduler(context)
    later(120)
    assert jobs.tick() == []
    settings(client, admin, idle_reject_after_minutes=30)
    [ran] = jobs.tick()
    assert (ran.job, ran.summary) == (IDLE_SWEEP, "1 taken back of 1 found idle")
    assert jobs.tick() == []  # within the minute
    later(121)
    assert [r.job for r in jobs.tick()] == [IDLE_SWEEP]
    assert state(client, admin, order) == "ready"


def test_of_schedulers_ticking_at_once_one_runs_each_job(
    client: TestClient, admin: Headers, context: Context
) -> None:
    product = put_product(client, admin)
    stocked(client, admin, 1, {product: 10})
    settings(client, admin, route_on_create=False, routing_interval_minutes=5)
    for _ in range(3):
        create(client, admin, [(product, 1)])
    schedulers = [Scheduler(context, holder=f"worker-{n}") for n in range(4)]
    ran: list[str] = []
    gate = threading.Barrier(len(schedulers))

    def tick(jobs: Scheduler) -> None:
        gate.wait(10)
        ran.extend(r.job for r in jobs.tick())

    threads = [threading.Thread(target=tick, args=(s,)) for s in schedulers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert ran == [ROUTING]


def test_a_holder_that_died_mid_run_gives_the_job_up_when_its_lease_runs_out(
    context: Context, later: Any
) -> None:
    with context.db.transaction(write=True) as conn:
        from reroute.storage.repositories.jobs import JobRepository

        jobs = JobRepository(conn, postgres=context.db.is_postgres)
        now = utcnow()
        assert jobs.claim("x", "dead", now, timedelta(minutes=1), timedelta(minutes=30))
        assert not jobs.claim(
            "x", "alive", now + timedelta(minutes=5), timedelta(minutes=1), timedelta(minutes=30)
        )
        assert jobs.claim(
            "x", "alive", now + timedelta(minutes=31), timedelta(minutes=1), timedelta(minutes=30)
        )
