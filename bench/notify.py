"""Webhook deliveries per second to a local receiver, and outbox lag at a steady event rate.

Measured on SQLite and on PostgreSQL.

For each database this migrates a fresh database (a temporary SQLite file; a PostgreSQL database
created on the server of `--postgres-url` and dropped at the end, skipped when that server does not
answer), saves facilities and products with the catalog services, and subscribes one webhook (the
webhook service) to a receiver on 127.0.0.1. The receiver is a process of its own (this script
with `--receiver-port`), so it does not compete with the worker for the GIL: a small asyncio HTTP
server that answers 204, notes when each `webhook-id` first arrives and counts every request.

Events are written as the cancel-shipment service writes them for a shipment at a facility: a
Store Decline and a `cancel_shipment` of the same order, added to a `Notifier` in a unit of work
(so the outbox rows, the deliveries and the worker's wake-up are the real ones).

For each worker (`--worker`: a `DeliveryWorker` thread in this process, as `reroute serve` runs
it and woken by each commit; or a `reroute worker` process, which polls), with `--concurrency`
senders and the `REROUTE_WEBHOOK_*` settings:

1. Deliveries per second: `--events` events are written, then the worker starts; the rate is the
   deliveries over the time from the first arrival to the last.
2. Outbox lag: while the worker runs, `--rate` events per second are written for `--seconds` (every
   10 ms the actions due by then, in one transaction); lag is the receiver's arrival time minus the
   event's `created_at` in the outbox.

The receiver's record is checked against the outbox: every event delivered, duplicates by
`webhook-id`, events of one order in the order written, and the signatures of a few requests
verified with the `standardwebhooks` library.

    .venv/bin/python bench/notify.py [--events 5000] [--rate 500] [--seconds 10]
        [--concurrency 16] [--worker both|thread|process] [--postgres-url URL | --no-postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table
from sqlalchemy import func, or_, select
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from reroute.app import build_context
from reroute.config import Config
from reroute.delivery.worker import DeliveryWorker
from reroute.domain.access import SYSTEM
from reroute.domain.clock import as_utc
from reroute.domain.facilities import Capability, Facility, FacilityKind, Product
from reroute.domain.notifications import DEFAULT_DECLINE, EventType
from reroute.domain.orders import Address, ItemState, Order, OrderItem, ShippingMethod
from reroute.services.catalog import put_facility, put_product
from reroute.services.context import Context
from reroute.services.notify import Line, Notifier
from reroute.services.webhooks import create_webhook
from reroute.storage.migrate import upgrade
from reroute.storage.tables import deliveries, delivery_attempts, outbox_events
from reroute.storage.unit_of_work import unit_of_work
from server import (
    DEFAULT_POSTGRES,
    HOST,
    START_TIMEOUT,
    _stop,
    databases,
    free_port,
    load_average,
    log,
    near_city,
    percentile_ms,
    reroute_command,
    stop_on_sigterm,
)

RATE_TARGET = 500.0  # deliveries per second (SPEC 9)
LAG_P99_TARGET_MS = 1000.0  # outbox lag p99 (SPEC 9)
RATE_REACHED = 0.95  # the lag counts only if the producer reached this share of --rate
FACILITIES = 20
PRODUCTS = 200
EVENTS_PER_ACTION = 2  # a Store Decline and a cancel_shipment, one transaction
PREFILL_CHUNK = 100  # actions per transaction while filling the outbox before phase 1
TICK = 0.01  # the steady producer writes what is due at most this often (seconds)
DELIVERY_TIMEOUT = 120.0  # seconds to wait for the last delivery of a phase
PRODUCER_SLACK = 3.0  # a producer that falls behind stops at this many times --seconds
POLL_SECONDS = 0.02
HOOK_PATH = "/hook"
SIGNED_HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature")
SAMPLES = 5  # requests the receiver keeps whole, to verify their signatures here
RECEIVER_LIFETIME = 4 * 3600.0


# The receiver (its own process) -----------------------------------------------------------------


class Receiver:
    """What arrived: the first arrival of each `webhook-id`, in order, and every request."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.requests = 0
        self.malformed = 0
        self.first: dict[str, float] = {}  # webhook-id -> wall-clock time of its first arrival
        self.samples: list[dict[str, Any]] = []

    def hook(self, headers: dict[str, str], body: bytes) -> None:
        arrived = time.time()
        self.requests += 1
        message_id = headers.get("webhook-id")
        if not message_id:
            self.malformed += 1
            return
        self.first.setdefault(message_id, arrived)
        if len(self.samples) < SAMPLES:
            kept = {name: headers.get(name, "") for name in SIGNED_HEADERS}
            self.samples.append({"headers": kept, "body": body.decode("utf-8", "replace")})

    def answer(self, method: str, target: str, headers: dict[str, str], body: bytes) -> bytes:
        if method == "POST" and target == HOOK_PATH:
            self.hook(headers, body)
            return b"HTTP/1.1 204 No Content\r\n\r\n"
        if method == "GET" and target == "/stats":
            return _json(
                {"requests": self.requests, "unique": len(self.first), "malformed": self.malformed}
            )
        if method == "GET" and target == "/dump":
            return _json(
                {
                    "requests": self.requests,
                    "malformed": self.malformed,
                    "arrivals": list(self.first.items()),
                    "samples": self.samples,
                }
            )
        if method == "POST" and target == "/reset":
            self.reset()
            return _json({"reset": True})
        return b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n"


def _json(content: dict[str, Any]) -> bytes:
    body = json.dumps(content).encode()
    head = (
        f"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def _connection(
    receiver: Receiver, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    """One keep-alive connection: requests one after another until the client closes it."""
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            request_line, *lines = head.decode("latin-1").split("\r\n")
            method, target, *_ = [*request_line.split(" "), "", ""]
            headers: dict[str, str] = {}
            for line in lines:
                name, colon, value = line.partition(":")
                if colon:
                    headers[name.strip().lower()] = value.strip()
            length = int(headers.get("content-length") or 0)
            body = await reader.readexactly(length) if length else b""
            writer.write(receiver.answer(method, target, headers, body))
            await writer.drain()
            if headers.get("connection", "").lower() == "close":
                break
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError, ValueError):
        pass
    finally:
        writer.close()


async def _receive(port: int, parent: int) -> None:
    receiver = Receiver()
    server = await asyncio.start_server(
        lambda r, w: _connection(receiver, r, w), HOST, port, backlog=512
    )
    loop = asyncio.get_running_loop()
    deadline = loop.time() + RECEIVER_LIFETIME
    async with server:
        # Bounded: ends with its lifetime, or as soon as the benchmark that started it is gone.
        while loop.time() < deadline and os.getppid() == parent:
            await asyncio.sleep(0.5)


def receive(port: int, parent: int) -> int:
    asyncio.run(_receive(port, parent))
    return 0


@contextmanager
def receiver_process(logs: Path) -> Iterator[httpx.Client]:
    """The receiver in a process of its own session (Ctrl-C reaches only the benchmark, which
    then stops it by its process id); answers a client for its control endpoints."""
    port = free_port()
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--receiver-port",
        str(port),
        "--receiver-parent",
        str(os.getpid()),
    ]
    with logs.open("wb") as log_file:
        process = subprocess.Popen(
            command, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        control = httpx.Client(base_url=f"http://{HOST}:{port}", timeout=30.0)
        with control:
            _wait_until_up(process, control, logs)
            yield control
    finally:
        _stop(process)


def _wait_until_up(process: subprocess.Popen[bytes], control: httpx.Client, logs: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"The receiver exited at start:\n{logs.read_text()[-2000:]}")
        try:
            control.get("/stats").raise_for_status()
            return
        except httpx.HTTPError:
            time.sleep(0.05)
    raise RuntimeError(f"The receiver did not answer within {START_TIMEOUT:.0f} s.")


def wait_for(
    control: httpx.Client, expected: int, seconds: float, problem: Callable[[], str | None]
) -> int:
    """Wait until the receiver holds `expected` distinct webhook-ids (or `seconds` pass)."""
    deadline = time.monotonic() + seconds
    unique = 0
    while time.monotonic() < deadline:
        trouble = problem()
        if trouble:
            raise RuntimeError(trouble)
        unique = int(control.get("/stats").json()["unique"])
        if unique >= expected:
            break
        time.sleep(POLL_SECONDS)
    return unique


# Writing events through the real code path --------------------------------------------------------


class Actions:
    """Writes "a shipment at a facility was canceled" as the cancel service does: a Store
    Decline and a `cancel_shipment` of one order, in one transaction."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.prefix = f"N{uuid.uuid4().hex[:6]}"

    def write(self, notifier: Notifier, number: int) -> None:
        """Action `number`'s two events, added to the notifier of the caller's transaction."""
        rng = random.Random(number)
        facility_id = f"F{rng.randrange(FACILITIES):03d}"
        shipment_id = f"{self.prefix}-S{number}"
        products = rng.sample(range(PRODUCTS), rng.choice([1, 1, 2, 3]))
        items = [
            OrderItem(str(line), f"P{product:04d}", rng.choice([1, 1, 2]), ItemState.CANCELED)
            for line, product in enumerate(products, start=1)
        ]
        latitude, longitude = near_city(rng)
        order = Order(
            id=f"{self.prefix}-{number}",
            customer_name="Bench Customer",
            customer_email=f"customer{number}@example.com",
            shipping_method=ShippingMethod.STANDARD,
            ship_to=Address(
                "100 N Clark St", "", "Chicago", "IL", "60602", "US", latitude, longitude
            ),
            items=items,
        )
        lines = [Line(item, shipment_id, DEFAULT_DECLINE) for item in items]
        # The facility's quantity on hand after the release, as the cancel service holds it.
        availability = {item.product_id: rng.randrange(40) for item in items}
        notifier.decline(
            order,
            facility_id,
            lines,
            whole_shipment=True,
            whole_shipment_reason=DEFAULT_DECLINE,
            availability=availability,
        )
        notifier.add(
            EventType.CANCEL_SHIPMENT,
            order,
            facility_id,
            lines,
            reason=DEFAULT_DECLINE,
            availability=availability,
        )

    def write_many(self, numbers: range) -> None:
        """Actions in one transaction, through one `Notifier` (flushed, so the worker wakes)."""
        with unit_of_work(self.ctx.db) as uow:
            notifier = Notifier(self.ctx, uow)
            for number in numbers:
                self.write(notifier, number)
            notifier.flush()


def load_catalog(ctx: Context) -> None:
    rng = random.Random(7)
    for n in range(FACILITIES):
        latitude, longitude = near_city(rng)
        facility = Facility(
            id=f"F{n:03d}",
            name=f"Bench store {n}",
            kind=FacilityKind.STORE,
            external_location_id=f"{4400000 + n}",
            fulfiller_id="70125",
            latitude=latitude,
            longitude=longitude,
            capabilities=[Capability.SHIP, Capability.PICKUP],
            sequence=n,
        )
        put_facility(ctx, facility, SYSTEM)
    for n in range(PRODUCTS):
        product = Product(
            id=f"P{n:04d}",
            sku=f"SKU-{n:04d}",
            upc=f"{840000000000 + n}",
            part_number=f"{20000000 + n}",
            name=f"Bench product {n}",
        )
        put_product(ctx, product, SYSTEM)


def last_event_id(ctx: Context) -> int:
    with unit_of_work(ctx.db, write=False) as uow:
        return int(
            uow.conn.execute(select(func.coalesce(func.max(outbox_events.c.id), 0))).scalar()
        )


def prefill(actions: Actions, count: int) -> None:
    """`count` actions written before the worker starts, `PREFILL_CHUNK` per transaction."""
    for start in range(0, count, PREFILL_CHUNK):
        actions.write_many(range(start, min(start + PREFILL_CHUNK, count)))


def produce(actions: Actions, first: int, rate: float, seconds: float) -> tuple[int, float]:
    """Events at `rate` per second for `seconds`: at most every `TICK` the actions due by then
    are written in one transaction. A producer that falls behind writes everything due at once,
    and stops at `PRODUCER_SLACK` times `seconds`. Answers events written and seconds taken."""
    action_rate = rate / EVENTS_PER_ACTION
    total = max(1, round(action_rate * seconds))
    started = time.monotonic()
    deadline = started + seconds * PRODUCER_SLACK
    written = 0
    for _ in range(2 * total + 10):  # each pass writes at least one action
        now = time.monotonic()
        if written >= total or now > deadline:
            break
        due = min(total, int((now - started) * action_rate) + 1)
        if due > written:
            actions.write_many(range(first + written, first + due))
            written = due
        next_due = started + written / action_rate
        time.sleep(max(TICK, next_due - time.monotonic()))
    return written * EVENTS_PER_ACTION, time.monotonic() - started


# Measuring ------------------------------------------------------------------------------------


@dataclass
class Phase:
    """What one phase wrote and what the receiver saw of it."""

    written: int = 0
    delivered: int = 0
    duplicates: int = 0
    out_of_order: int = 0
    #: what the database says of the first order whose events arrived out of order
    out_of_order_example: str = ""
    bad_signatures: int = 0
    malformed: int = 0
    #: webhook-id -> its first arrival (wall clock), for the events of this phase only
    arrivals: dict[str, float] = field(default_factory=dict)
    #: webhook-id -> (outbox id, order id, created_at as a wall-clock timestamp)
    stored: dict[str, tuple[int, str, float]] = field(default_factory=dict)


@dataclass
class Run:
    database: str
    worker: str  # "thread" (inside the process that writes, as in `serve`) or "process"
    prefill: Phase = field(default_factory=Phase)
    steady: Phase = field(default_factory=Phase)
    rate: float = 0.0  # deliveries per second in phase 1
    drain_seconds: float = 0.0
    produced_rate: float = 0.0  # events per second the producer achieved in phase 2
    lags: list[float] = field(default_factory=list)
    failed_attempts: int = 0

    @property
    def delivered(self) -> int:
        return self.prefill.delivered + self.steady.delivered

    @property
    def written(self) -> int:
        return self.prefill.written + self.steady.written

    @property
    def duplicates(self) -> int:
        return self.prefill.duplicates + self.steady.duplicates

    @property
    def errors(self) -> int:
        phases = (self.prefill, self.steady)
        return (
            self.failed_attempts
            + (self.written - self.delivered)
            + sum(p.out_of_order + p.bad_signatures + p.malformed for p in phases)
        )


def stored_events(ctx: Context, after_id: int) -> dict[str, tuple[int, str, float]]:
    t = outbox_events
    with unit_of_work(ctx.db, write=False) as uow:
        rows = uow.conn.execute(
            select(t.c.id, t.c.event_id, t.c.order_id, t.c.created_at).where(t.c.id > after_id)
        )
        return {r.event_id: (r.id, r.order_id, as_utc(r.created_at).timestamp()) for r in rows}


def failed_attempts(ctx: Context) -> int:
    a = delivery_attempts
    with unit_of_work(ctx.db, write=False) as uow:
        bad = or_(a.c.status_code.is_(None), a.c.status_code < 200, a.c.status_code >= 300)
        return int(uow.conn.execute(select(func.count()).where(bad)).scalar_one())


def describe_order(ctx: Context, order_id: str, arrivals: dict[str, float]) -> str:
    """An order's events, deliveries and attempts beside when each event first arrived."""
    e, d, a = outbox_events, deliveries, delivery_attempts
    lines = [f"order {order_id}:"]
    with unit_of_work(ctx.db, write=False) as uow:
        rows = uow.conn.execute(
            select(e.c.id, e.c.event_id, e.c.event_type, d.c.id.label("delivery"), d.c.status)
            .join(d, d.c.event_id == e.c.id)
            .where(e.c.order_id == order_id)
            .order_by(e.c.id)
        ).all()
        for row in rows:
            arrived = arrivals.get(row.event_id)
            when = f"{datetime.fromtimestamp(arrived, UTC):%H:%M:%S.%f}" if arrived else "never"
            tries = uow.conn.execute(
                select(a.c.attempted_at, a.c.status_code, a.c.error)
                .where(a.c.delivery_id == row.delivery)
                .order_by(a.c.id)
            ).all()
            shown = "; ".join(
                f"{as_utc(t.attempted_at):%H:%M:%S.%f} {t.status_code or t.error}" for t in tries
            )
            lines.append(
                f"  event {row.id} {row.event_type} (delivery {row.delivery}, {row.status}): "
                f"first arrival {when}; attempts recorded at {shown}"
            )
    return "\n".join(lines)


def collect(control: httpx.Client, ctx: Context, after_id: int, secret: str) -> Phase:
    """The receiver's record of a phase beside what the outbox holds for it."""
    dump = control.get("/dump").json()
    phase = Phase(stored=stored_events(ctx, after_id))
    phase.written = len(phase.stored)
    phase.arrivals = {mid: at for mid, at in dump["arrivals"] if mid in phase.stored}
    phase.delivered = len(phase.arrivals)
    phase.duplicates = int(dump["requests"]) - len(dump["arrivals"]) - int(dump["malformed"])
    phase.malformed = int(dump["malformed"])
    # Events of one order must reach the endpoint in the order they were written.
    last_of_order: dict[str, int] = {}
    for message_id in phase.arrivals:  # in order of first arrival
        event_id, order_id, _ = phase.stored[message_id]
        if event_id < last_of_order.get(order_id, 0):
            phase.out_of_order += 1
            if not phase.out_of_order_example:
                phase.out_of_order_example = describe_order(ctx, order_id, phase.arrivals)
        last_of_order[order_id] = max(event_id, last_of_order.get(order_id, 0))
    verifier = Webhook(secret)
    for sample in dump["samples"]:
        try:
            verifier.verify(sample["body"], sample["headers"], json_parse=False)
        except WebhookVerificationError:
            phase.bad_signatures += 1
    return phase


@contextmanager
def delivering(
    mode: str, ctx: Context, config: Config, logs: Path
) -> Iterator[Callable[[], str | None]]:
    """The delivery worker until the block ends: a `DeliveryWorker` in this process (as `reroute
    serve` runs it, woken by each commit), or a `reroute worker` process (woken by its poll).
    Answers a check that tells what went wrong with it, if anything."""
    if mode == "thread":
        worker = DeliveryWorker(ctx, config.worker_settings())
        worker.start()
        try:
            yield lambda: None
        finally:
            worker.stop()
        return
    env = {
        **os.environ,
        "REROUTE_DATABASE_URL": config.database_url,
        "REROUTE_WEBHOOK_CONCURRENCY": str(config.webhook_concurrency),
        "REROUTE_WEBHOOK_ALLOW_PRIVATE_TARGETS": "true",  # the receiver is on 127.0.0.1
    }
    command = [*reroute_command(), "worker", "--database-url", config.database_url]
    with logs.open("wb") as log_file:
        process = subprocess.Popen(
            command, env=env, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True
        )

    def problem() -> str | None:
        if process.poll() is None:
            return None
        return f"`reroute worker` exited ({process.returncode}):\n{logs.read_text()[-2000:]}"

    try:
        yield problem
    finally:
        _stop(process)


def bench_database(
    name: str, url: str, work: Path, args: argparse.Namespace, runs: list[Run]
) -> None:
    """Measure one database with each worker mode; each run is appended to `runs` at once."""
    log.print(f"[bold]{name}[/bold]: migrating, saving the catalog, subscribing a webhook…")
    config = Config(
        database_url=url,
        mfg_id="11111",
        webhook_concurrency=args.concurrency,
        webhook_allow_private_targets=True,  # the receiver is on 127.0.0.1
    )
    ctx = build_context(config)
    try:
        upgrade(ctx.db)
        load_catalog(ctx)
        with receiver_process(work / f"{name.lower()}-receiver.log") as control:
            hook = create_webhook(
                ctx,
                f"http://{HOST}:{control.base_url.port}{HOOK_PATH}",
                [str(t) for t in EventType],
                SYSTEM,
            )
            for mode in args.worker:
                run = Run(name, mode)
                runs.append(run)
                logs = work / f"{name.lower()}-{mode}-worker.log"
                measure(run, ctx, config, control, hook.secret, logs, args)
                report_problems(run)
    finally:
        ctx.db.dispose()


def measure(
    run: Run,
    ctx: Context,
    config: Config,
    control: httpx.Client,
    secret: str,
    logs: Path,
    args: argparse.Namespace,
) -> None:
    settings = config.worker_settings()
    actions = Actions(ctx)  # a fresh prefix: orders of this run only
    failed_before = failed_attempts(ctx)

    # 1. Deliveries per second, from a full outbox.
    count = max(1, args.events // EVENTS_PER_ACTION)
    log.print(f"  {run.worker} worker: writing {count * EVENTS_PER_ACTION:,} events…")
    before = last_event_id(ctx)
    prefill(actions, count)
    control.post("/reset").raise_for_status()
    log.print(
        f"  {run.worker} worker: delivering them ({settings.concurrency} senders, "
        f"batches of {settings.batch})…"
    )
    with delivering(run.worker, ctx, config, logs) as problem:
        wait_for(control, count * EVENTS_PER_ACTION, DELIVERY_TIMEOUT, problem)
        run.prefill = collect(control, ctx, before, secret)
        if run.prefill.delivered > 1:
            times = run.prefill.arrivals.values()
            run.drain_seconds = max(times) - min(times)
            run.rate = (run.prefill.delivered - 1) / max(run.drain_seconds, 1e-9)

        # 2. Outbox lag while events arrive at a steady rate.
        log.print(
            f"  {run.worker} worker: writing {args.rate:g} events/s for {args.seconds:g} s "
            "while delivering…"
        )
        before = last_event_id(ctx)
        control.post("/reset").raise_for_status()
        produced, seconds = produce(actions, count, args.rate, args.seconds)
        run.produced_rate = produced / seconds
        wait_for(control, produced, DELIVERY_TIMEOUT, problem)
        run.steady = collect(control, ctx, before, secret)
        run.lags = [at - run.steady.stored[mid][2] for mid, at in run.steady.arrivals.items()]
    run.failed_attempts = failed_attempts(ctx) - failed_before


def report_problems(run: Run) -> None:
    for phase_name, phase in (("full outbox", run.prefill), ("steady rate", run.steady)):
        problems = {
            "not delivered": phase.written - phase.delivered,
            "out of order": phase.out_of_order,
            "bad signatures": phase.bad_signatures,
            "requests without webhook-id": phase.malformed,
        }
        shown = ", ".join(f"{n} {what}" for what, n in problems.items() if n)
        if shown:
            log.print(f"  {run.worker} worker, {phase_name}: {shown}", style="yellow")
        if phase.out_of_order_example:
            log.print(phase.out_of_order_example, markup=False, highlight=False)
    if run.failed_attempts:
        log.print(f"  {run.failed_attempts} attempts did not get a 2xx", style="yellow")


def verdict(met: bool) -> str:
    return "[green]met[/green]" if met else "[red]not met[/red]"


def lag_verdict(run: Run, rate: float) -> str:
    if run.produced_rate < RATE_REACHED * rate:
        return "[yellow]rate not reached[/yellow]"
    complete = bool(run.lags) and run.steady.delivered == run.steady.written
    return verdict(complete and percentile_ms(run.lags, 0.99) < LAG_P99_TARGET_MS)


def table(runs: list[Run], args: argparse.Namespace, load_before: str) -> Table:
    result = Table(
        title="Webhook deliveries to a receiver on 127.0.0.1 (SPEC 9: ≥ 500/s, lag p99 < 1 s)",
        caption=(
            f"{os.cpu_count()} CPUs; {load_before} at start, {load_average()} at end. "
            f"deliveries/s: {args.events:,} events waiting in the outbox, first to last arrival. "
            f"lag: arrival - outbox created_at while {args.rate:g} events/s are written for "
            f"{args.seconds:g} s (ev/s: the rate reached). "
            f"worker: thread = a DeliveryWorker in the writing process, as in `reroute serve`; "
            f"process = `reroute worker`. {args.concurrency} senders."
        ),
    )
    headings = (
        "database",
        "worker",
        "deliveries/s",
        "ev/s",
        "lag p50 ms",
        "lag p99 ms",
        "delivered",
        "duplicates",
        "errors",
        f"≥ {RATE_TARGET:.0f}/s",
        f"p99 < {LAG_P99_TARGET_MS / 1000:g} s",
    )
    for heading in headings:
        result.add_column(heading, justify="left" if heading in headings[:2] else "right")
    for run in runs:
        result.add_row(
            run.database,
            run.worker,
            f"{run.rate:,.0f}",
            f"{run.produced_rate:,.0f}",
            f"{percentile_ms(run.lags, 0.50):,.0f}",
            f"{percentile_ms(run.lags, 0.99):,.0f}",
            f"{run.delivered:,} / {run.written:,}",
            str(run.duplicates),
            str(run.errors),
            verdict(run.rate >= RATE_TARGET),
            lag_verdict(run, args.rate),
        )
    return result


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--events", type=int, default=5000, help="events waiting in the outbox (deliveries/s)"
    )
    parser.add_argument("--rate", type=float, default=500.0, help="events per second (lag)")
    parser.add_argument("--seconds", type=float, default=10.0, help="how long they are written")
    parser.add_argument(
        "--concurrency",
        type=int,
        default=16,
        help="the worker's parallel senders, REROUTE_WEBHOOK_CONCURRENCY (default 16)",
    )
    parser.add_argument(
        "--worker",
        choices=("thread", "process", "both"),
        default="both",
        help="in this process (as in `reroute serve`), a `reroute worker` process, or both",
    )
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES)
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    # The receiver: this script started again by itself.
    parser.add_argument("--receiver-port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--receiver-parent", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.receiver_port is None and (
        args.events < EVENTS_PER_ACTION
        or args.rate <= 0
        or args.seconds <= 0
        or not 1 <= args.concurrency <= 256
    ):
        parser.error("needs --events >= 2, --rate > 0, --seconds > 0, --concurrency in 1..256")
    args.worker = ["thread", "process"] if args.worker == "both" else [args.worker]
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.receiver_port is not None:
        return receive(args.receiver_port, args.receiver_parent or os.getppid())
    stop_on_sigterm()
    load_before = load_average()
    runs: list[Run] = []
    out = Console()
    if not out.is_terminal:
        out = Console(width=160)  # the table's eleven columns, readable in a log file
    try:
        with (
            tempfile.TemporaryDirectory(prefix="reroute-bench-") as directory,
            ExitStack() as stack,
        ):
            work = Path(directory)
            for name, url in databases(stack, work, args.postgres_url, args.no_postgres):
                bench_database(name, url, work, args, runs)
    except KeyboardInterrupt:
        log.print("Interrupted; the worker and the receiver are stopped. Figures so far:")
        out.print(table(runs, args, load_before))
        return 130
    except RuntimeError as exc:
        log.print(f"Stopped: {exc}", markup=False, style="red")
        out.print(table(runs, args, load_before))
        return 1
    out.print(table(runs, args, load_before))
    return 0 if all(run.errors == 0 for run in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
