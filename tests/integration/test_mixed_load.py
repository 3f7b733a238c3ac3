"""Mixed load on two server processes, then every invariant of the database (SPEC 4, 5, 9).

32 client threads, each with its own keep-alive connection to both `reroute serve` processes
(taken in turn), spend a bounded time creating orders (single and multi-item, ship-complete,
pickup, same-day), rejecting items with every reason (cascades included) and whole shipments,
counting stock up and down (below what is reserved too), canceling orders, items and shipments,
handing shipments to customer care, and starting, packing and fulfilling, all on a few products
at a few facilities so that they collide. Targets come from what the threads learned from the
answers and from the stores' shipment lists. Refusals (404, 409) are expected; a 5xx is not.
Afterwards `tests.invariants` reads the database: counters equal the ledger, `reserved` is what
the open items hold, each item is held once and as its state says, no open shipment is empty,
ATP is below 0 only after a count, daily capacity holds.

`-s` prints the requests by kind and status. REROUTE_MIXED_LOAD_SECONDS sets the length of
the load (default 20 s per database).
"""

from __future__ import annotations

import os
import random
import re
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, select
from sqlalchemy import text as sql_text

from reroute.domain.access import SYSTEM, Role
from reroute.services import tokens
from reroute.services.context import Context
from reroute.storage import tables
from tests.invariants import check, summary
from tests.load_world import Board, World, seed
from tests.servers import servers
from tests.support import HOME

THREADS = 32
SERVERS = 2
SECONDS = float(os.environ.get("REROUTE_MIXED_LOAD_SECONDS", "20"))
#: A hard cap on requests, whatever the speed of the machine.
MAX_REQUESTS = 20_000
REQUEST_TIMEOUT = 30.0
REASONS: list[str | None] = ["NOT_IN_STOCK", "MISMATCH", "DAMAGED", "WORN_DISPLAY", None]
EXPECTED_REFUSALS = {404, 409}
#: At most this share of requests may answer 503 Busy (writers kept colliding at every retry;
#: nothing written, Retry-After given): this load is far denser than any real store's.
MAX_BUSY_SHARE = 0.01


def is_busy(response: httpx.Response) -> bool:
    """The service's own 'busy, nothing written, try again' (not a crash)."""
    return (
        response.status_code == 503
        and "retry-after" in response.headers
        and response.headers.get("content-type", "").startswith("application/problem+json")
    )


# Requests ------------------------------------------------------------------------------------


@dataclass
class Failure:
    kind: str
    method: str
    url: str
    status: int | None
    body: str


class Tally:
    """Requests by kind and status, and the answers no request should get."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.counts: Counter[tuple[str, str]] = Counter()
        self.failures: list[Failure] = []
        self.sent = 0
        self.busy = 0

    def take_ticket(self) -> bool:
        with self.lock:
            if self.sent >= MAX_REQUESTS:
                return False
            self.sent += 1
            return True

    @property
    def exhausted(self) -> bool:
        with self.lock:
            return self.sent >= MAX_REQUESTS

    def record(self, kind: str, response: httpx.Response | None, error: str = "") -> None:
        status = "error" if response is None else str(response.status_code)
        with self.lock:
            self.counts[(kind, status)] += 1
            if response is None:
                self.failures.append(Failure(kind, "", "", None, error))
            elif is_busy(response):
                self.busy += 1
            elif response.status_code >= 500 or (
                response.status_code >= 400 and response.status_code not in EXPECTED_REFUSALS
            ):
                self.failures.append(
                    Failure(
                        kind,
                        response.request.method,
                        str(response.request.url),
                        response.status_code,
                        response.text[:2000],
                    )
                )

    def table(self) -> str:
        kinds = sorted({k for k, _ in self.counts})
        statuses = sorted({s for _, s in self.counts})
        width = max([len(k) for k in kinds] + [4])
        lines = [f"{'kind':<{width}} " + " ".join(f"{s:>6}" for s in statuses) + "  total"]
        for kind in kinds:
            row = [self.counts.get((kind, s), 0) for s in statuses]
            lines.append(
                f"{kind:<{width}} " + " ".join(f"{n:>6}" for n in row) + f"  {sum(row):>5}"
            )
        return "\n".join(lines)


class Client:
    """One thread's connections, to every server in turn."""

    def __init__(self, bases: list[str], token: str, tally: Tally, offset: int) -> None:
        self.bases = bases
        self.turn = offset
        self.tally = tally
        self.http = httpx.Client(
            headers={"Authorization": f"Bearer {token}"}, timeout=REQUEST_TIMEOUT
        )

    def send(self, kind: str, method: str, path: str, body: Any = None) -> httpx.Response | None:
        if not self.tally.take_ticket():
            return None
        base = self.bases[self.turn % len(self.bases)]
        self.turn += 1
        try:
            response = self.http.request(method, base + path, json=body)
        except httpx.HTTPError as exc:
            self.tally.record(kind, None, f"{method} {base}{path}: {exc!r}")
            return None
        self.tally.record(kind, response)
        return response

    def close(self) -> None:
        self.http.close()


def ok(response: httpx.Response | None) -> dict[str, Any] | None:
    if response is None or response.status_code >= 300:
        return None
    body: dict[str, Any] = response.json()
    return body


@dataclass
class Load:
    world: World
    board: Board
    tag: str
    sequence: Iterator[int]
    sequence_lock: threading.Lock = field(default_factory=threading.Lock)

    def next_order_id(self) -> str:
        with self.sequence_lock:
            return f"ML-{self.tag}-O{next(self.sequence)}"


Action = Callable[[Load, Client, random.Random], None]


def create_order(load: Load, client: Client, rng: random.Random) -> None:
    world = load.world
    lines = rng.choice([1, 1, 1, 2, 2, 3])
    products = rng.sample(world.products, lines)
    method = rng.choices(["standard", "express", "pickup", "same_day"], [50, 10, 20, 20])[0]
    body: dict[str, Any] = {
        "order_id": load.next_order_id(),
        "customer": {"name": "Load Test", "email": "load@example.com"},
        "shipping_method": method,
        "ship_complete": rng.random() < 0.3,
        "ship_to": {"city": "Chicago", "latitude": HOME[0], "longitude": HOME[1]},
        "items": [
            {"item_id": str(n + 1), "product_id": p, "quantity": rng.choice([1, 1, 1, 2])}
            for n, p in enumerate(products)
        ],
    }
    if method == "pickup":
        body["pickup_facility_id"] = rng.choice(world.pickup_sites)
    kind = f"create {method}" + (" multi" if lines > 1 else "")
    created = ok(client.send(kind, "POST", "/api/v1/orders", body))
    if created:
        load.board.learn_order(created)


def reject_item(load: Load, client: Client, rng: random.Random) -> None:
    known = load.board.pick_shipment(rng, {"ready", "in_progress"})
    if known is None or not known.items:
        return
    reason = rng.choice(REASONS)
    item = rng.choice(sorted(known.items))
    answer = ok(
        client.send(
            f"reject item {reason or 'no reason'}",
            "POST",
            f"/api/v1/shipments/{known.shipment_id}/items/{item}/reject",
            {"reason_id": reason, "comment": "load"},
        )
    )
    if answer:
        load.board.learn_routed(answer["routed"])
    if answer is None or rng.random() < 0.5:
        look_again(load, client, known.shipment_id)


def reject_shipment(load: Load, client: Client, rng: random.Random) -> None:
    known = load.board.pick_shipment(rng, {"ready", "in_progress"})
    if known is None:
        return
    reason = rng.choice(REASONS)
    answer = ok(
        client.send(
            f"reject shipment {reason or 'no reason'}",
            "POST",
            f"/api/v1/shipments/{known.shipment_id}/reject",
            {"reason_id": reason},
        )
    )
    if answer:
        load.board.learn_routed(answer["routed"])
    look_again(load, client, known.shipment_id)


def count_stock(load: Load, client: Client, rng: random.Random) -> None:
    site = rng.choice(load.world.sites)
    product_id = rng.choice(load.world.products)
    path = f"/api/v1/facilities/{site.id}/inventory/{product_id}"
    if rng.random() < 0.3:  # below what is reserved there, when something is
        level = ok(client.send("read level", "GET", path))
        if level is None:
            return
        quantity = max(0, level["reserved"] - rng.randint(1, 2))
        kind = "count below reserved"
    else:
        quantity = rng.choice([0, 1, 2, 3, 4, 5, 6, 8, 10])
        kind = "count"
    client.send(kind, "PUT", path, {"quantity_on_hand": quantity})


def cancel_order(load: Load, client: Client, rng: random.Random) -> None:
    picked = load.board.pick_order(rng)
    if picked:
        client.send("cancel order", "POST", f"/api/v1/orders/{picked[0]}/cancel", {})


def cancel_item(load: Load, client: Client, rng: random.Random) -> None:
    picked = load.board.pick_order(rng)
    if picked:
        order_id, items = picked
        item = rng.choice(items)
        client.send("cancel item", "POST", f"/api/v1/orders/{order_id}/items/{item}/cancel", {})


def cancel_shipment(load: Load, client: Client, rng: random.Random) -> None:
    known = load.board.pick_shipment(rng, {"ready", "in_progress", "packed"})
    if known:
        client.send("cancel shipment", "POST", f"/api/v1/shipments/{known.shipment_id}/cancel", {})


def customer_care(load: Load, client: Client, rng: random.Random) -> None:
    known = load.board.pick_shipment(rng, {"ready", "in_progress", "packed"})
    if known:
        client.send(
            "customer care", "POST", f"/api/v1/shipments/{known.shipment_id}/customer-care", {}
        )


def step(action: str, state: str) -> Action:
    def advance(load: Load, client: Client, rng: random.Random) -> None:
        known = load.board.pick_shipment(rng, {state})
        if known is None:
            return
        response = client.send(action, "POST", f"/api/v1/shipments/{known.shipment_id}/{action}")
        answer = ok(response)
        if answer:
            load.board.learn_shipment(answer)
        elif response is not None and response.status_code == 409:
            look_again(load, client, known.shipment_id)

    return advance


def look_again(load: Load, client: Client, shipment_id: str) -> None:
    """A refusal says the shipment moved on: learn where it stands now."""
    shipment = ok(client.send("read shipment", "GET", f"/api/v1/shipments/{shipment_id}"))
    if shipment:
        load.board.learn_shipment(shipment)


def list_shipments(load: Load, client: Client, rng: random.Random) -> None:
    site = rng.choice(load.world.sites)
    page = ok(
        client.send("list shipments", "GET", f"/api/v1/facilities/{site.id}/shipments?limit=100")
    )
    if page:
        for shipment in page["items"]:
            load.board.learn_shipment(shipment)


def batch_run(load: Load, client: Client, rng: random.Random) -> None:
    client.send("routing run", "POST", "/api/v1/routing/runs")


MIX: list[tuple[Action, int]] = [
    (create_order, 30),
    (reject_item, 14),
    (reject_shipment, 5),
    (count_stock, 12),
    (cancel_order, 3),
    (cancel_item, 3),
    (cancel_shipment, 2),
    (customer_care, 3),
    (step("start", "ready"), 8),
    (step("pack", "in_progress"), 6),
    (step("fulfill", "packed"), 5),
    (list_shipments, 8),
    (batch_run, 1),
]


def run_load(bases: list[str], token: str, world: World, tag: str, seconds: float) -> Tally:
    tally = Tally()
    load = Load(world, Board(), tag, iter(range(1, 10**9)))
    actions, weights = zip(*MIX, strict=True)
    deadline = time.monotonic() + seconds
    crashed: list[BaseException] = []

    def worker(n: int) -> None:
        rng = random.Random(f"{tag}-{n}")
        client = Client(bases, token, tally, n)
        try:
            while time.monotonic() < deadline and not tally.exhausted:
                rng.choices(actions, weights)[0](load, client, rng)
        except BaseException as exc:  # a bug in the test itself: report it, do not hang
            crashed.append(exc)
            raise
        finally:
            client.close()

    threads = [threading.Thread(target=worker, args=(n,), name=f"load-{n}") for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=seconds + 2 * REQUEST_TIMEOUT + 30)
    assert not any(t.is_alive() for t in threads), "a load thread did not finish"
    assert not crashed, f"a load thread failed: {crashed[0]!r}"
    return tally


def histories(database_url: str, order_ids: list[str]) -> str:
    """What happened to these orders, step by step, with the ledger entries of their items."""
    if not order_ids:
        return ""
    h, ledger = tables.order_history, tables.inventory_ledger
    engine = create_engine(database_url)
    lines = []
    try:
        with engine.connect() as conn:
            for order_id in order_ids:
                lines.append(f"history of {order_id}:")
                for r in conn.execute(select(h).where(h.c.order_id == order_id).order_by(h.c.id)):
                    lines.append(
                        f"  {r.id:>6} {r.created_at:%H:%M:%S.%f} {r.event:<13} item {r.item_id} "
                        f"{r.from_state}->{r.to_state} at {r.facility_id} shipment "
                        f"{r.shipment_id} by {r.actor} {r.reason_id or ''} {r.note or ''}"
                    )
                for r in conn.execute(
                    select(ledger)
                    .where(ledger.c.reference.like(f"{order_id}/%"))
                    .order_by(ledger.c.id)
                ):
                    lines.append(
                        f"  ledger {r.id:>6} {r.created_at:%H:%M:%S.%f} {r.cause:<24} "
                        f"{r.reference} at {r.facility_id} {r.product_id} qoh {r.qoh_diff:+d} "
                        f"atp {r.atp_diff:+d} reserved {r.reserved_diff:+d}"
                    )
    finally:
        engine.dispose()
    return "\n".join(lines)


def name_relations(database_url: str, text: str) -> str:
    """PostgreSQL names tables by number in a deadlock's detail: say which they are."""
    oids = sorted({int(n) for n in re.findall(r"relation (\d+)", text)})
    if not oids or not database_url.startswith("postgresql"):
        return text
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sql_text("SELECT oid::bigint, relname FROM pg_class WHERE oid::bigint = ANY(:o)"),
                {"o": oids},
            )
            names: dict[int, str] = {int(r[0]): str(r[1]) for r in rows}
    finally:
        engine.dispose()
    return re.sub(
        r"relation (\d+)", lambda m: f"relation {m[1]} ({names.get(int(m[1]), '?')})", text
    )


# The test ------------------------------------------------------------------------------------


def test_a_mixed_load_on_two_servers_keeps_every_inventory_invariant(
    database_url: str, context: Context, tmp_path: Path
) -> None:
    tag = uuid.uuid4().hex[:6]
    token, _ = tokens.create_token(context, Role.ADMIN, [], "mixed load", SYSTEM)
    context.db.dispose()
    started = time.monotonic()
    with servers(database_url, tmp_path, SERVERS) as running:
        bases = [s.url for s in running]
        with httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=30) as admin:
            world = seed(admin, bases[0], tag)
        load_started = time.monotonic()
        tally = run_load(bases, token, world, tag, SECONDS)
        load_seconds = time.monotonic() - load_started
    found = check(database_url)
    total = sum(tally.counts.values())
    name = "PostgreSQL" if database_url.startswith("postgresql") else "SQLite"
    print(
        f"\nmixed load on {name}: {total} requests in {load_seconds:.1f} s "
        f"({total / load_seconds:.0f}/s) on {SERVERS} servers, {THREADS} threads; "
        f"{time.monotonic() - started:.1f} s in all"
    )
    print(tally.table())
    print(f"invariants broken: {summary(found) or 'none'}")
    for violation in found[:40]:
        print(f"  - {violation.text}")
    involved = list(dict.fromkeys(o for v in found for o in v.orders))[:4]
    stories = histories(database_url, involved)
    if stories:
        print(stories)
    problems = []
    if tally.busy > MAX_BUSY_SHARE * max(tally.sent, 1):
        problems.append(f"{tally.busy} of {tally.sent} requests answered 503 Busy")
    if tally.failures:
        shown = "\n".join(
            f"  {f.kind}: {f.method} {f.url} -> {f.status}: {f.body}" for f in tally.failures[:20]
        )
        traces = name_relations(database_url, "\n".join(t for s in running for t in s.errors()))
        problems.append(
            f"{len(tally.failures)} answers no request should get:\n{shown}\n"
            f"the servers logged {sum(s.error_count() for s in running)} unexpected errors, "
            f"the first:\n{traces or '(none)'}"
        )
    if found:
        listed = "\n".join(f"  - {v.text}" for v in found[:60])
        problems.append(f"{len(found)} broken invariants {summary(found)}:\n{listed}\n{stories}")
    if problems:
        pytest.fail("\n\n".join([*problems, tally.table()]), pytrace=False)
