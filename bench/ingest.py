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
import math
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

HOST = "127.0.0.1"
DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
START_TIMEOUT = 30.0
REQUEST_TIMEOUT = 15.0
CLI_TIMEOUT = 120.0
WARM_UP_ORDERS = 50
STOCK_PER_PAIR = 1_000_000

log = Console(stderr=True)


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
        if not self.latencies:
            return math.nan
        ordered = sorted(self.latencies)
        return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)] * 1000


class Tickets:
    """Hands out order numbers 0..total-1 to the client threads, each once."""

    def __init__(self, total: int) -> None:
        self._next = 0
        self._total = total
        self._lock = threading.Lock()

    def take(self) -> int | None:
        with self._lock:
            if self._next >= self._total:
                return None
            self._next += 1
            return self._next - 1


@dataclass(frozen=True)
class Catalog:
    facility_ids: list[str]
    product_ids: list[str]


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


# The server and its database ------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def reroute_command() -> list[str]:
    beside = Path(sys.executable).with_name("reroute")
    found = str(beside) if beside.exists() else shutil.which("reroute")
    if found is None:
        sys.exit("The `reroute` command is not installed: run `make install` first.")
    return [found]


def reroute_cli(*args: str) -> str:
    """Run a `reroute` subcommand and answer its standard output."""
    done = subprocess.run(
        [*reroute_command(), *args],
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"reroute {' '.join(args[:2])} failed:\n{done.stderr.strip()}")
    return done.stdout.strip()


@contextmanager
def server(database_url: str, logs: Path) -> Iterator[str]:
    """A server process for `database_url`; answers its base URL and kills it on the way out."""
    port = free_port()
    env = {**os.environ, "REROUTE_DATABASE_URL": database_url, "REROUTE_LOG_LEVEL": "warning"}
    with logs.open("wb") as log_file:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "reroute.app:from_environment",
                "--factory",
                "--host",
                HOST,
                "--port",
                str(port),
                "--log-level",
                "warning",
                "--no-access-log",
            ],
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches this script, which then stops the server
        )
    try:
        base_url = f"http://{HOST}:{port}"
        _wait_until_up(process, base_url, logs)
        yield base_url
    finally:
        _stop(process)


def _wait_until_up(process: subprocess.Popen[bytes], base_url: str, logs: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"The server exited at start:\n{logs.read_text()[-2000:]}")
        try:
            if httpx.get(f"{base_url}/healthz", timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"The server did not answer within {START_TIMEOUT:.0f} s.")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def postgres_problem(url: str) -> str | None:
    try:
        engine = create_engine(url, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        engine.dispose()
    except Exception as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return f"PostgreSQL at {make_url(url).render_as_string()} does not answer: {first_line}"
    return None


@contextmanager
def postgres_database(server_url: str) -> Iterator[str]:
    """A fresh database on the server of `server_url`, dropped on the way out."""
    name = f"reroute_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


# Data -----------------------------------------------------------------------------------------


def load_catalog(base_url: str, token: str, facilities: int, products: int) -> Catalog:
    """Facilities around Chicago, products, and deep stock of every product everywhere."""
    rng = random.Random(7)
    catalog = Catalog(
        [f"F{n:03d}" for n in range(facilities)], [f"P{n:04d}" for n in range(products)]
    )
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base_url, headers=headers, timeout=REQUEST_TIMEOUT) as client:

        def put(path: str, body: dict[str, Any]) -> None:
            response = client.put(path, json=body)
            if response.status_code not in (200, 201):
                raise RuntimeError(f"PUT {path} answered {response.status_code}: {response.text}")

        for n, facility in enumerate(catalog.facility_ids):
            put(
                f"/api/v1/facilities/{facility}",
                {
                    "name": f"Bench store {n}",
                    "kind": "warehouse" if n == 0 else "store",
                    "external_location_id": f"{1000 + n}",
                    "fulfiller_id": "70125",
                    "latitude": round(41.88 + rng.uniform(-0.3, 0.3), 5),
                    "longitude": round(-87.63 + rng.uniform(-0.4, 0.1), 5),
                    "capabilities": ["ship"] if n == 0 else ["ship", "pickup"],
                    "sequence": n,
                },
            )
        for n, product in enumerate(catalog.product_ids):
            put(
                f"/api/v1/products/{product}",
                {
                    "sku": f"SKU-{n:04d}",
                    "upc": f"{840000000000 + n}",
                    "part_number": f"{20000000 + n}",
                    "name": f"Bench product {n}",
                },
            )
        for facility in catalog.facility_ids:
            for product in catalog.product_ids:
                put(
                    f"/api/v1/facilities/{facility}/inventory/{product}",
                    {"quantity_on_hand": STOCK_PER_PAIR},
                )
    return catalog


# The whole benchmark --------------------------------------------------------------------------


def bench_database(
    name: str, url: str, work: Path, args: argparse.Namespace, runs: list[Run]
) -> None:
    """Measure one database; each finished measurement is appended to `runs` at once."""
    log.print(f"[bold]{name}[/bold]: migrating, starting the server, loading the catalog…")
    reroute_cli("db", "upgrade", "--database-url", url)
    token = reroute_cli("token", "create", "--role", "admin", "--database-url", url)
    with server(url, work / f"{name.lower()}-server.log") as base_url:
        catalog = load_catalog(base_url, token, args.facilities, args.products)
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
    # A plain `kill` of this script stops its server too, as Ctrl-C does.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    runs: list[Run] = []
    try:
        with (
            tempfile.TemporaryDirectory(prefix="reroute-bench-") as directory,
            ExitStack() as stack,
        ):
            work = Path(directory)
            bench_database("SQLite", f"sqlite:///{work / 'bench.db'}", work, args, runs)
            problem = None if args.no_postgres else postgres_problem(args.postgres_url)
            if args.no_postgres:
                log.print("PostgreSQL: skipped (--no-postgres).")
            elif problem:
                log.print(f"{problem}; skipping PostgreSQL.", markup=False, style="yellow")
            else:
                url = stack.enter_context(postgres_database(args.postgres_url))
                bench_database("PostgreSQL", url, work, args, runs)
    except KeyboardInterrupt:
        log.print("Interrupted; the server is stopped. Figures measured so far:")
        Console().print(table(runs, args))
        return 130
    Console().print(table(runs, args))
    return 0 if all(run.errors == 0 for run in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
