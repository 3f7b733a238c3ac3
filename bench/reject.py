"""Store rejections over HTTP, end to end, on SQLite and PostgreSQL (SPEC section 9).

For each database this migrates it, creates an admin token, starts a real server process on
127.0.0.1 and measures three things:

1. Rejections per second and p50/p99 latency at 1 and 32 concurrent clients (threads, each with
   its own connection). Stores around one city hold deep stock of every product; single-item
   orders are created over the API (so they are routed and have shipments); then every request
   rejects one distinct item as DAMAGED (ATP lowered by one, no cascade), which the server
   releases, records and re-routes to another store in one transaction before it answers.
2. The p99 from request to committed re-route: the answer is sent after that transaction
   commits and lists where the item went, so for the requests whose item got a new facility
   the time from sending the request to receiving the answer bounds it from above.
3. One NOT_IN_STOCK that takes back `--cascade` reservations: one store holds one product and
   that many single-item orders are routed to it (written through the services in this process
   before the server starts, so loading is quick), a second store then receives stock over the
   API, and the one rejection that cascades to all of them, re-routes them and commits is timed
   over HTTP. It is measured before the concurrent runs, while nothing else is in flight.

SQLite lives in a temporary file; PostgreSQL in a fresh database created on the server of
`--postgres-url` and dropped at the end (skipped when that server does not answer).

    .venv/bin/python bench/reject.py [--requests 2000] [--clients 1,32] [--cascade 10000]
                                     [--seconds 30] [--no-postgres] [--postgres-url URL]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

from server import (
    CITY,
    DEFAULT_POSTGRES,
    HOST,
    Catalog,
    Tickets,
    admin_client,
    databases,
    load_average,
    load_catalog,
    log,
    near_city,
    percentile_ms,
    prepare,
    put,
    server,
    stop_on_sigterm,
)

REASON = "DAMAGED"
STOCK_PER_PAIR = 1_000_000
WARM_UP = 30
LOADERS = 8
CASCADE_STORE = "CASCADE-STORE"
CASCADE_SPARE = "CASCADE-SPARE"
CASCADE_PRODUCT = "CASCADE-P"
CASCADE_CHUNK = 1000
CASCADE_TIMEOUT = 300.0

TARGET_RATE = 1000.0
TARGET_P99_MS = 25.0
TARGET_REROUTE_P99_MS = 50.0
TARGET_CASCADE_S = 2.0


def met(ok: bool) -> str:
    return "[green]yes[/green]" if ok else "[red]no[/red]"


# Setting up -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Open:
    """An item ready at a facility, waiting to be rejected."""

    order_id: str
    item_id: str
    shipment_id: str


def order_body(order_id: str, product_id: str, rng: random.Random) -> dict[str, Any]:
    latitude, longitude = near_city(rng)
    return {
        "order_id": order_id,
        "customer": {"name": "Bench Customer", "email": f"{order_id.lower()}@example.com"},
        "shipping_method": "standard",
        "ship_to": {
            "line1": f"{100 + rng.randrange(4000)} N Clark St",
            "city": "Chicago",
            "region": "IL",
            "country": "US",
            "latitude": latitude,
            "longitude": longitude,
        },
        "items": [{"item_id": "1", "product_id": product_id, "quantity": 1}],
    }


def create_orders(
    base_url: str, token: str, catalog: Catalog, count: int, seconds: float
) -> tuple[list[Open], str]:
    """Up to `count` single-item orders over the API from a few threads, within `seconds`;
    answers the routed items and the first problem met."""
    prefix = f"R{uuid.uuid4().hex[:8]}"
    tickets = Tickets(count)
    deadline = time.monotonic() + seconds
    stop = threading.Event()

    def loader() -> tuple[list[Open], str]:
        made: list[Open] = []
        problem = ""
        with admin_client(base_url, token) as client:
            while not stop.is_set() and time.monotonic() < deadline:
                number = tickets.take()
                if number is None:
                    break
                rng = random.Random(number)
                order_id = f"{prefix}-{number}"
                body = order_body(order_id, rng.choice(catalog.product_ids), rng)
                try:
                    response = client.post("/api/v1/orders", json=body)
                except httpx.HTTPError as exc:
                    problem = problem or f"{type(exc).__name__}: {exc}"
                    continue
                item = response.json()["items"][0] if response.status_code == 201 else {}
                if item.get("shipment_id"):
                    made.append(Open(order_id, item["item_id"], item["shipment_id"]))
                else:
                    problem = problem or f"HTTP {response.status_code}: {response.text[:300]}"
        return made, problem

    made: list[Open] = []
    problem = ""
    with ThreadPoolExecutor(max_workers=LOADERS, thread_name_prefix="loader") as pool:
        try:
            for part, trouble in pool.map(lambda _: loader(), range(LOADERS)):
                made += part
                problem = problem or trouble
        except BaseException:
            stop.set()
            raise
    made.sort(key=lambda o: int(o.order_id.rsplit("-", 1)[1]))
    return made, problem


def seed_cascade(url: str, count: int, seconds: float) -> float:
    """One store holding `count` units of one product, `count` single-item orders routed to
    it, and a second store (no stock yet) for the cascade to re-route to. Written through the
    services in this process, before the server starts; answers the seconds it took."""
    from reroute.domain.access import SYSTEM
    from reroute.domain.facilities import Capability, Facility, FacilityKind, Product
    from reroute.domain.orders import Address, Order, OrderItem, ShippingMethod
    from reroute.services.catalog import put_facility, put_product
    from reroute.services.context import Context
    from reroute.services.inventory import count_stock
    from reroute.services.orders import insert_order
    from reroute.services.routing_batch import run_batch
    from reroute.storage.database import Database
    from reroute.storage.unit_of_work import UnitOfWork, transact

    started = time.perf_counter()
    deadline = time.monotonic() + seconds
    ctx = Context(Database(url))
    try:
        lat, lon = CITY
        for facility_id, name, shift in ((CASCADE_STORE, "A", 0.0), (CASCADE_SPARE, "B", 0.05)):
            put_facility(
                ctx,
                Facility(
                    facility_id,
                    f"Cascade store {name}",
                    FacilityKind.STORE,
                    f"9{name}",
                    "70125",
                    lat + shift,
                    lon - shift,
                    [Capability.SHIP],
                ),
                SYSTEM,
            )
        put_product(
            ctx,
            Product(CASCADE_PRODUCT, "SKU-CASCADE", "849999999999", "29999999", "Cascade product"),
            SYSTEM,
        )
        count_stock(ctx, CASCADE_STORE, CASCADE_PRODUCT, count, SYSTEM)
        rng = random.Random(3)
        for first in range(0, count, CASCADE_CHUNK):
            if time.monotonic() > deadline:
                raise RuntimeError(f"Loading the cascade took over {seconds:g} s; stopped.")
            points = [near_city(rng) for _ in range(first, min(first + CASCADE_CHUNK, count))]
            chunk = [
                Order(
                    id=f"C-{n}",
                    customer_name="Bench Customer",
                    customer_email=f"c{n}@example.com",
                    shipping_method=ShippingMethod.STANDARD,
                    ship_to=Address(latitude=latitude, longitude=longitude),
                    items=[OrderItem("1", CASCADE_PRODUCT, 1)],
                )
                for n, (latitude, longitude) in enumerate(points, start=first)
            ]

            def insert(uow: UnitOfWork, chunk: list[Order] = chunk) -> None:
                for order in chunk:
                    insert_order(uow, order, order.id, SYSTEM, None)

            transact(ctx.db, insert)
        run_batch(ctx, SYSTEM, chunk=CASCADE_CHUNK)
    finally:
        ctx.db.dispose()
    return time.perf_counter() - started


# Measuring ------------------------------------------------------------------------------------


@dataclass
class Run:
    database: str
    clients: int
    seconds: float = 0.0
    rejected: int = 0
    errors: int = 0
    latencies: list[float] = field(default_factory=list)
    #: Latencies of the requests whose item the same transaction gave a new facility.
    rerouted: list[float] = field(default_factory=list)
    first_error: str = ""
    #: Errors by kind: "HTTP <status>" or the exception's name (a timeout, a reset).
    error_kinds: Counter[str] = field(default_factory=Counter)
    load: str = ""

    def failed(self, kind: str, detail: str) -> None:
        self.errors += 1
        self.error_kinds[kind] += 1
        self.first_error = self.first_error or detail


def _one_client(
    base_url: str,
    token: str,
    items: list[Open],
    tickets: Tickets,
    deadline: float,
    stop: threading.Event,
) -> Run:
    """One client's loop over the shared tickets; answers its own counts and latencies."""
    mine = Run("", 1)
    body = {"reason_id": REASON, "comment": "bench"}
    with admin_client(base_url, token) as client:
        while not stop.is_set() and time.monotonic() < deadline:
            number = tickets.take()
            if number is None:
                break
            item = items[number]
            path = f"/api/v1/shipments/{item.shipment_id}/items/{item.item_id}/reject"
            started = time.perf_counter()
            try:
                response = client.post(path, json=body)
            except httpx.HTTPError as exc:
                mine.latencies.append(time.perf_counter() - started)
                mine.failed(type(exc).__name__, f"{type(exc).__name__}: {exc}")
                continue
            elapsed = time.perf_counter() - started
            mine.latencies.append(elapsed)
            if response.status_code != 200:
                kind = f"HTTP {response.status_code}"
                mine.failed(kind, f"{kind}: {response.text[:300]}")
                continue
            mine.rejected += 1
            if any(
                r["order_id"] == item.order_id
                and r["item_id"] == item.item_id
                and r["facility_id"] is not None
                for r in response.json()["routed"]
            ):
                mine.rerouted.append(elapsed)
    return mine


def reject_items(
    database: str, base_url: str, token: str, items: list[Open], clients: int, seconds: float
) -> Run:
    """Reject `items` (each once) from `clients` threads for at most `seconds`."""
    tickets = Tickets(len(items))
    stop = threading.Event()
    run = Run(database, clients)
    started = time.perf_counter()
    deadline = time.monotonic() + seconds
    pool = ThreadPoolExecutor(max_workers=clients, thread_name_prefix="client")
    try:
        futures = [
            pool.submit(_one_client, base_url, token, items, tickets, deadline, stop)
            for _ in range(clients)
        ]
        for future in futures:
            mine = future.result()
            run.rejected += mine.rejected
            run.errors += mine.errors
            run.latencies += mine.latencies
            run.rerouted += mine.rerouted
            run.first_error = run.first_error or mine.first_error
            run.error_kinds += mine.error_kinds
    except BaseException:
        stop.set()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    run.seconds = time.perf_counter() - started
    run.load = load_average(1)
    return run


@dataclass
class Cascade:
    database: str
    reservations: int = 0
    seconds: float = 0.0
    rejected: int = 0
    rerouted: int = 0
    error: str = ""
    load: str = ""


def time_cascade(database: str, base_url: str, token: str) -> Cascade:
    """Give the second store stock, then time the one NOT_IN_STOCK at the first."""
    result = Cascade(database)
    levels = f"/api/v1/facilities/{CASCADE_STORE}/inventory/{CASCADE_PRODUCT}"
    with admin_client(base_url, token, timeout=CASCADE_TIMEOUT) as client:
        result.reservations = client.get(levels).raise_for_status().json()["reserved"]
        first = client.get("/api/v1/orders/C-0").raise_for_status().json()["items"][0]
        if first["facility_id"] != CASCADE_STORE or not first["shipment_id"]:
            result.error = f"order C-0 is not at {CASCADE_STORE}: {first}"
            return result
        put(
            client,
            f"/api/v1/facilities/{CASCADE_SPARE}/inventory/{CASCADE_PRODUCT}",
            {"quantity_on_hand": result.reservations + 100},
        )
        path = f"/api/v1/shipments/{first['shipment_id']}/items/{first['item_id']}/reject"
        started = time.perf_counter()
        response = client.post(path, json={"reason_id": "NOT_IN_STOCK", "comment": "bench"})
        result.seconds = time.perf_counter() - started
        result.load = load_average(1)
        if response.status_code != 200:
            result.error = f"HTTP {response.status_code}: {response.text[:300]}"
            return result
        answer = response.json()
        result.rejected = len(answer["rejected"])
        result.rerouted = sum(r["facility_id"] == CASCADE_SPARE for r in answer["routed"])
    return result


# The whole benchmark --------------------------------------------------------------------------


@dataclass
class Results:
    runs: list[Run] = field(default_factory=list)
    cascades: list[Cascade] = field(default_factory=list)


def bench_database(
    name: str, url: str, work: Path, args: argparse.Namespace, results: Results
) -> None:
    """Measure one database; each finished measurement is added to `results` at once."""
    log.print(f"[bold]{name}[/bold]: migrating, creating a token…")
    token = prepare(url)
    if args.cascade:
        log.print(f"  writing {args.cascade:,} orders routed to {CASCADE_STORE} (in process)…")
        took = seed_cascade(url, args.cascade, args.setup_seconds)
        log.print(f"  … in {took:.1f} s")
    with server(url, work / f"{name.lower()}-server.log") as base_url:
        log.print(f"  loading {args.stores} stores, {args.products} products over the API…")
        catalog = load_catalog(base_url, token, args.stores, args.products, stock=STOCK_PER_PAIR)
        wanted = WARM_UP + args.requests * len(args.clients)
        log.print(f"  creating {wanted:,} single-item orders over the API…")
        started = time.perf_counter()
        items, problem = create_orders(base_url, token, catalog, wanted, args.setup_seconds)
        log.print(f"  … {len(items):,} routed in {time.perf_counter() - started:.1f} s")
        if problem:
            log.print(f"  not every order was routed; the first problem: {problem}", markup=False)
        # The cascade goes first, while nothing else is in flight (a timed-out request of a
        # concurrent run may still be working on the server after its client gave up).
        if args.cascade:
            log.print(f"  one NOT_IN_STOCK taking back {args.cascade:,} reservations…")
            cascade = time_cascade(name, base_url, token)
            results.cascades.append(cascade)
            if cascade.error:
                log.print(f"  the cascade failed: {cascade.error}", markup=False)
        warm, items = items[:WARM_UP], items[WARM_UP:]
        reject_items(name, base_url, token, warm, 1, args.seconds)
        share = len(items) // len(args.clients)
        for n, clients in enumerate(args.clients):
            mine = items[n * share : (n + 1) * share]
            log.print(
                f"  {clients} client(s): up to {len(mine):,} rejections or {args.seconds:g} s"
            )
            run = reject_items(name, base_url, token, mine, clients, args.seconds)
            results.runs.append(run)
            if run.errors:
                kinds = ", ".join(f"{kind}: {n}" for kind, n in run.error_kinds.most_common())
                log.print(
                    f"  {run.errors} errors ({kinds}); the first: {run.first_error}", markup=False
                )


def tables(results: Results, args: argparse.Namespace) -> list[Table]:
    setting = (
        f"one server process on {HOST}, clients in the same machine; {os.cpu_count()} CPUs; "
        f"{args.stores} stores, {args.products} products; reason {REASON}, one item per request"
    )
    throughput = Table(
        title="1. Rejections over HTTP, end to end (effect, cascade check, re-route, commit)",
        caption=f"{setting}. Target: ≥ {TARGET_RATE:,.0f}/s and p99 ≤ {TARGET_P99_MS:g} ms.",
    )
    headings = ("database", "clients", "rejected", "per s", "p50 ms", "p99 ms", "errors")
    for heading in (*headings, "target met", "load 1 min"):
        throughput.add_column(heading, justify="left" if heading == "database" else "right")
    reroute = Table(
        title="2. Request sent → committed re-route (answer received)",
        caption=(
            "The server answers after the transaction that released, recorded and re-routed "
            "the item commits, and the answer names the new facility; only requests whose item "
            "got a facility are counted. Measured from the request being sent to its answer, so "
            f"an upper bound. Target: p99 ≤ {TARGET_REROUTE_P99_MS:g} ms."
        ),
    )
    for heading in ("database", "clients", "re-routed", "p50 ms", "p99 ms", "target met"):
        reroute.add_column(heading, justify="left" if heading == "database" else "right")
    for run in results.runs:
        rate = run.rejected / run.seconds if run.seconds else 0.0
        p99 = percentile_ms(run.latencies, 0.99)
        throughput.add_row(
            run.database,
            str(run.clients),
            f"{run.rejected:,}",
            f"{rate:,.0f}",
            f"{percentile_ms(run.latencies, 0.50):.1f}",
            f"{p99:.1f}",
            str(run.errors),
            met(rate >= TARGET_RATE and p99 <= TARGET_P99_MS and not run.errors),
            run.load,
        )
        p99_rerouted = percentile_ms(run.rerouted, 0.99)
        reroute.add_row(
            run.database,
            str(run.clients),
            f"{len(run.rerouted):,} of {run.rejected:,}",
            f"{percentile_ms(run.rerouted, 0.50):.1f}",
            f"{p99_rerouted:.1f}",
            met(bool(run.rerouted) and p99_rerouted <= TARGET_REROUTE_P99_MS),
        )
    cascade = Table(
        title=f"3. One NOT_IN_STOCK taking back {args.cascade:,} reservations at one store",
        caption=(
            "One POST over HTTP, timed from sending it to the answer: release, zero the stock, "
            "reject every other reservation there as CASCADE, re-route all of them to the second "
            f"store, commit, answer. Target: ≤ {TARGET_CASCADE_S:g} s."
        ),
    )
    for heading in (
        "database",
        "reservations",
        "rejected",
        "re-routed",
        "seconds",
        "target met",
        "load 1 min",
    ):
        cascade.add_column(heading, justify="left" if heading == "database" else "right")
    for c in results.cascades:
        cascade.add_row(
            c.database,
            f"{c.reservations:,}",
            f"{c.rejected:,}",
            f"{c.rerouted:,}",
            f"{c.seconds:.2f}" if not c.error else "failed",
            met(not c.error and c.seconds <= TARGET_CASCADE_S),
            c.load,
        )
    return [throughput, reroute, cascade] if args.cascade else [throughput, reroute]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=2000, help="rejections per client count")
    parser.add_argument("--seconds", type=float, default=30.0, help="time cap per client count (s)")
    parser.add_argument(
        "--clients",
        type=lambda text: [int(n) for n in text.split(",")],
        default=[1, 32],
        help="client counts, comma-separated (default 1,32)",
    )
    parser.add_argument(
        "--cascade", type=int, default=10_000, help="reservations one NOT_IN_STOCK takes (0: skip)"
    )
    parser.add_argument("--stores", type=int, default=50)
    parser.add_argument("--products", type=int, default=20)
    parser.add_argument(
        "--setup-seconds", type=float, default=600.0, help="time cap for each loading step (s)"
    )
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES)
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    args = parser.parse_args(argv)
    if args.requests < 1 or args.seconds <= 0 or min(args.clients) < 1:
        parser.error("--requests, --seconds and --clients must be positive")
    if args.cascade < 0 or args.setup_seconds <= 0:
        parser.error("--cascade must be 0 or more and --setup-seconds positive")
    if args.stores < 2 or args.products < 1:
        parser.error("at least 2 stores (a rejected item needs another) and 1 product are needed")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    stop_on_sigterm()
    results = Results()
    # Tables are wide: keep them whole when the output goes to a file.
    out = Console() if sys.stdout.isatty() else Console(width=120)
    log.print(f"{os.cpu_count()} CPUs, {load_average()} at start")
    try:
        with (
            tempfile.TemporaryDirectory(prefix="reroute-bench-") as directory,
            ExitStack() as stack,
        ):
            work = Path(directory)
            for name, url in databases(stack, work, args.postgres_url, args.no_postgres):
                bench_database(name, url, work, args, results)
    except KeyboardInterrupt:
        log.print("Interrupted; the server is stopped. Figures measured so far:")
        for table in tables(results, args):
            out.print(table)
        return 130
    for table in tables(results, args):
        out.print(table)
    out.print(f"{os.cpu_count()} CPUs, {load_average()} at the end")
    failed = any(run.errors for run in results.runs) or any(c.error for c in results.cascades)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
