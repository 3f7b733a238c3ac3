"""Orders created per second over HTTP, from 1 and from 16 clients, on SQLite and PostgreSQL.

For each database this starts a real server process on 127.0.0.1 (`uvicorn
reroute.app:from_environment`), migrates it with `reroute db upgrade`, creates an admin token with
`reroute token create`, loads facilities, products and stock over the API, and then posts orders,
timing every request. SQLite lives in a temporary file; PostgreSQL in a fresh database created on
the server of `--postgres-url` and dropped at the end (skipped when that server does not answer).

    .venv/bin/python bench/ingest.py [--orders 2000] [--seconds 60] [--clients 1,16]
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
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

from server import (
    DEFAULT_POSTGRES,
    HOST,
    REQUEST_TIMEOUT,
    Catalog,
    Tickets,
    databases,
    load_catalog,
    log,
    percentile_ms,
    prepare,
    server,
    stop_on_sigterm,
)

WARM_UP_ORDERS = 50
STOCK_PER_PAIR = 1_000_000


# Measuring ------------------------------------------------------------------------------------


@dataclass
class Run:
    database: str
    clients: int
    seconds: float = 0.0
    created: int = 0
    errors: int = 0
    latencies: list[float] = field(default_factory=list)
    first_error: str = ""

    def percentile_ms(self, fraction: float) -> float:
        """Nearest-rank percentile of the request latencies, in milliseconds."""
        return percentile_ms(self.latencies, fraction)


def order_body(order_id: str, number: int, catalog: Catalog) -> dict[str, Any]:
    rng = random.Random(number)
    products = rng.sample(catalog.product_ids, rng.choice([1, 1, 2, 3]))
    return {
        "order_id": order_id,
        "customer": {"name": "Bench Customer", "email": f"customer{number}@example.com"},
        "shipping_method": "standard",
        "ship_to": {
            "line1": f"{100 + number % 4000} N Clark St",
            "city": "Chicago",
            "region": "IL",
            "country": "US",
            "latitude": round(41.88 + rng.uniform(-0.25, 0.25), 5),
            "longitude": round(-87.63 + rng.uniform(-0.3, 0.1), 5),
        },
        "items": [
            {"item_id": str(line), "product_id": product, "quantity": 1}
            for line, product in enumerate(products, start=1)
        ],
    }


def _one_client(
    base_url: str,
    headers: dict[str, str],
    tickets: Tickets,
    prefix: str,
    catalog: Catalog,
    deadline: float,
    stop: threading.Event,
) -> tuple[int, int, list[float], str]:
    """One client's loop: how many orders it created, its errors, latencies and first error."""
    created = errors = 0
    latencies: list[float] = []
    first_error = ""
    with httpx.Client(base_url=base_url, headers=headers, timeout=REQUEST_TIMEOUT) as client:
        while not stop.is_set() and time.monotonic() < deadline:
            number = tickets.take()
            if number is None:
                break
            body = order_body(f"{prefix}-{number}", number, catalog)
            started = time.perf_counter()
            try:
                response = client.post("/api/v1/orders", json=body)
                ok = response.status_code == 201
                problem = f"HTTP {response.status_code}: {response.text[:300]}"
            except httpx.HTTPError as exc:
                ok, problem = False, f"{type(exc).__name__}: {exc}"
            latencies.append(time.perf_counter() - started)
            created += ok
            errors += not ok
            first_error = first_error or ("" if ok else problem)
    return created, errors, latencies, first_error


def post_orders(
    database: str,
    base_url: str,
    token: str,
    catalog: Catalog,
    *,
    clients: int,
    orders: int,
    seconds: float,
) -> Run:
    """POST up to `orders` orders from `clients` threads, each with its own connection."""
    headers = {"Authorization": f"Bearer {token}"}
    tickets = Tickets(orders)
    prefix = f"B{uuid.uuid4().hex[:8]}-{clients}"
    stop = threading.Event()
    run = Run(database, clients)
    started = time.perf_counter()
    deadline = time.monotonic() + seconds
    pool = ThreadPoolExecutor(max_workers=clients, thread_name_prefix="client")
    try:
        futures = [
            pool.submit(_one_client, base_url, headers, tickets, prefix, catalog, deadline, stop)
            for _ in range(clients)
        ]
        for future in futures:
            created, errors, latencies, first_error = future.result()
            run.created += created
            run.errors += errors
            run.latencies += latencies
            run.first_error = run.first_error or first_error
    except BaseException:
        stop.set()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    run.seconds = time.perf_counter() - started
    return run


# The whole benchmark --------------------------------------------------------------------------


def bench_database(
    name: str, url: str, work: Path, args: argparse.Namespace, runs: list[Run]
) -> None:
    """Measure one database; each finished measurement is appended to `runs` at once."""
    log.print(f"[bold]{name}[/bold]: migrating, starting the server, loading the catalog…")
    token = prepare(url)
    with server(url, work / f"{name.lower()}-server.log") as base_url:
        catalog = load_catalog(
            base_url, token, args.facilities, args.products, stock=STOCK_PER_PAIR
        )
        post_orders(
            name, base_url, token, catalog, clients=1, orders=WARM_UP_ORDERS, seconds=args.seconds
        )
        for clients in args.clients:
            log.print(f"  {clients} client(s): up to {args.orders} orders or {args.seconds:g} s")
            run = post_orders(
                name,
                base_url,
                token,
                catalog,
                clients=clients,
                orders=args.orders,
                seconds=args.seconds,
            )
            runs.append(run)
            if run.errors:
                log.print(f"  {run.errors} errors; the first: {run.first_error}", markup=False)


def table(runs: list[Run], args: argparse.Namespace) -> Table:
    result = Table(
        title="Orders created over HTTP (POST /api/v1/orders)",
        caption=(
            f"one server process on {HOST}, {os.cpu_count()} CPUs; "
            f"{args.facilities} facilities, {args.products} products"
        ),
    )
    for heading in ("database", "clients", "orders", "orders/s", "p50 ms", "p99 ms", "errors"):
        result.add_column(heading, justify="left" if heading == "database" else "right")
    for run in runs:
        rate = run.created / run.seconds if run.seconds else 0.0
        result.add_row(
            run.database,
            str(run.clients),
            f"{run.created:,}",
            f"{rate:,.0f}",
            f"{run.percentile_ms(0.50):.1f}",
            f"{run.percentile_ms(0.99):.1f}",
            str(run.errors),
        )
    return result


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--orders", type=int, default=2000, help="orders per client count")
    parser.add_argument("--seconds", type=float, default=60.0, help="time cap per client count (s)")
    parser.add_argument(
        "--clients",
        type=lambda text: [int(n) for n in text.split(",")],
        default=[1, 16],
        help="client counts, comma-separated (default 1,16)",
    )
    parser.add_argument("--facilities", type=int, default=10)
    parser.add_argument("--products", type=int, default=50)
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES)
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    args = parser.parse_args(argv)
    if args.orders < 1 or args.seconds <= 0 or min(args.clients) < 1:
        parser.error("--orders, --seconds and --clients must be positive")
    if args.facilities < 1 or args.products < 3:
        parser.error("at least 1 facility and 3 products are needed")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    stop_on_sigterm()
    runs: list[Run] = []
    try:
        with (
            tempfile.TemporaryDirectory(prefix="reroute-bench-") as directory,
            ExitStack() as stack,
        ):
            work = Path(directory)
            for name, url in databases(stack, work, args.postgres_url, args.no_postgres):
                bench_database(name, url, work, args, runs)
    except KeyboardInterrupt:
        log.print("Interrupted; the server is stopped. Figures measured so far:")
        Console(width=130).print(table(runs, args))
        return 130
    Console(width=130).print(table(runs, args))
    return 0 if all(run.errors == 0 for run in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
