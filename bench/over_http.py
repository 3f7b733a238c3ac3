"""Order creation and store rejections over HTTP at 16 keep-alive clients, and the SQL statements
each runs, for this checkout beside a baseline commit measured in the same run.

For each database and each version: a fresh database (a temporary SQLite file; a PostgreSQL
database created on `--postgres-url` and dropped after), migrated and given an admin token by that
version's `reroute`, then `reroute serve` on 127.0.0.1 (one process on SQLite; `--workers 2` on
PostgreSQL). Stores around one city get deep stock of every product over the API. Then:

1. Order creation: `--orders` single-item orders are posted from `--clients` clients (each its
   own keep-alive connection); each is routed before its answer.
2. Rejections: every item those orders reserved is rejected once as DAMAGED (no cascade), which the
   server releases, records and re-routes to another store before it answers.
3. Statements: on another fresh database, the same two requests are sent in process and every SQL
   statement (and COMMIT) they send is counted (bench/statements.py).

Every loop is bounded by a count and by `--seconds`. Figures are printed with the issue's targets.

    .venv/bin/python bench/over_http.py [--quick] [--no-baseline | --baseline REF]
        [--no-postgres | --postgres-url URL] [--orders 3000] [--clients 16] [--seconds 60]
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from compare import Figure, at_least, at_most, console, setting, table
from load import Load, drive
from reject import Open, order_body
from server import (
    DEFAULT_POSTGRES,
    load_catalog,
    log,
    postgres_database,
    postgres_problem,
    serve,
    stop_on_sigterm,
)
from versions import Code, add_arguments, versions

STOCK = 1_000_000
REASON = "DAMAGED"
STATEMENTS_TIMEOUT = 300.0
HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Targets:
    """Issue 10's targets for one database."""

    rejections_per_s: float
    rejection_p99_ms: float
    orders_per_s: float | None
    statements_per_rejection: float | None


TARGETS = {
    "SQLite": Targets(600.0, 60.0, 400.0, None),
    "PostgreSQL": Targets(300.0, 120.0, None, 15.0),
}


@dataclass
class Measured:
    """One version on one database."""

    orders: Load | None = None
    rejections: Load | None = None
    statements: dict[str, Any] = field(default_factory=dict)
    problem: str = ""


@contextmanager
def fresh_database(name: str, work: Path, tag: str, postgres_url: str) -> Iterator[str]:
    if name == "SQLite":
        yield f"sqlite:///{work / f'{tag}-{uuid.uuid4().hex[:6]}.db'}"
        return
    with postgres_database(postgres_url) as url:
        yield url


def post_orders(
    base_url: str, token: str, products: list[str], count: int, clients: int, seconds: float
) -> tuple[Load, list[Open]]:
    prefix = f"H{uuid.uuid4().hex[:8]}"
    made: dict[int, Open] = {}
    lock = threading.Lock()

    def request(number: int) -> tuple[str, dict[str, Any]]:
        rng = random.Random(number)
        return "/api/v1/orders", order_body(f"{prefix}-{number}", rng.choice(products), rng)

    def check(number: int, status: int, answer: Any) -> str:
        if status != 201:
            return f"HTTP {status}: {str(answer)[:300]}"
        item = answer["items"][0]
        if item.get("shipment_id"):
            with lock:
                made[number] = Open(f"{prefix}-{number}", item["item_id"], item["shipment_id"])
        return ""

    load = drive(
        base_url, token, clients=clients, count=count, seconds=seconds, request=request, check=check
    )
    return load, [made[n] for n in sorted(made)]


def reject(base_url: str, token: str, items: list[Open], clients: int, seconds: float) -> Load:
    body = {"reason_id": REASON, "comment": "bench"}

    def request(number: int) -> tuple[str, dict[str, Any]]:
        item = items[number]
        return f"/api/v1/shipments/{item.shipment_id}/items/{item.item_id}/reject", body

    def check(number: int, status: int, answer: Any) -> str:
        return "" if status == 200 else f"HTTP {status}: {str(answer)[:300]}"

    return drive(
        base_url,
        token,
        clients=clients,
        count=len(items),
        seconds=seconds,
        request=request,
        check=check,
    )


def measure_http(code: Code, name: str, url: str, work: Path, args: argparse.Namespace) -> Measured:
    result = Measured()
    token = code.prepare(url)
    workers = 1 if name == "SQLite" else args.workers
    logs = work / f"{code.label}-{name.lower()}-server.log"
    with serve(code.reroute(), code.env(), url, logs, workers=workers) as base_url:
        log.print(f"  {code.label}: {args.stores} stores, {args.products} products over the API…")
        catalog = load_catalog(base_url, token, args.stores, args.products, stock=STOCK)
        warm_load, warm = post_orders(
            base_url, token, catalog.product_ids, args.warm_up, args.clients, args.seconds
        )
        log.print(f"  {code.label}: up to {args.orders:,} orders, {args.seconds:g} s cap…")
        orders, items = post_orders(
            base_url, token, catalog.product_ids, args.orders, args.clients, args.seconds
        )
        result.orders = orders
        if orders.errors:
            log.print(f"  orders: {orders.errors_line()}", markup=False)
        reject(base_url, token, warm, args.clients, args.seconds)
        log.print(f"  {code.label}: up to {len(items):,} rejections, {args.seconds:g} s cap…")
        result.rejections = reject(base_url, token, items, args.clients, args.seconds)
        if result.rejections.errors:
            log.print(f"  rejections: {result.rejections.errors_line()}", markup=False)
        if warm_load.errors and not orders.done:
            result.problem = warm_load.first_error
    return result


def count_statements(code: Code, url: str, requests: int) -> dict[str, Any]:
    token = code.prepare(url)
    done = subprocess.run(
        [
            *(sys.executable, str(HERE / "statements.py"), "--url", url, "--token", token),
            *("--requests", str(requests)),
        ],
        capture_output=True,
        text=True,
        timeout=STATEMENTS_TIMEOUT,
        check=False,
        env=code.env(),
    )
    if done.returncode != 0:
        raise RuntimeError(f"counting statements failed:\n{done.stderr.strip()[-2000:]}")
    answer: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return answer


def _rate(load: Load) -> float:
    return load.rate


def _p50(load: Load) -> float:
    return load.p(0.50)


def _p99(load: Load) -> float:
    return load.p(0.99)


def figures(name: str, measured: dict[str, Measured]) -> tuple[list[Figure], list[Figure]]:
    """(the timings, the statement counts) of one database, one value per version."""
    targets = TARGETS[name]
    orders_rate, statements = targets.orders_per_s, targets.statements_per_rejection
    timing = [
        Figure(f"{name}: rejections", "per s", at_least(targets.rejections_per_s), 0),
        Figure(f"{name}: rejection p50", "ms"),
        Figure(f"{name}: rejection p99", "ms", at_most(targets.rejection_p99_ms)),
        Figure(
            f"{name}: orders created", "per s", at_least(orders_rate) if orders_rate else None, 0
        ),
        Figure(f"{name}: order creation p50", "ms"),
        Figure(f"{name}: order creation p99", "ms"),
    ]
    counts = [
        Figure(
            f"{name}: statements per rejection",
            "statements",
            at_most(statements) if statements else None,
            0,
        ),
        Figure(f"{name}: COMMITs per rejection", "commits", digits=0),
        Figure(f"{name}: statements per order creation", "statements", digits=0),
        Figure(f"{name}: COMMITs per order creation", "commits", digits=0),
    ]
    for label, m in measured.items():
        if m.problem:
            for figure in timing + counts:
                figure.problems[label] = m.problem
            continue
        for figure, load, value in (
            (timing[0], m.rejections, _rate),
            (timing[1], m.rejections, _p50),
            (timing[2], m.rejections, _p99),
            (timing[3], m.orders, _rate),
            (timing[4], m.orders, _p50),
            (timing[5], m.orders, _p99),
        ):
            if load is None:
                continue
            figure.values[label] = value(load)
        for kind, load in (("orders", m.orders), ("rejections", m.rejections)):
            if load is not None and load.errors:
                timing[0].note += f"\n{name}, {kind}, {label}: {load.errors_line()}"
        for figure, kind, key in (
            (counts[0], "rejection", "statements_median"),
            (counts[1], "rejection", "commits_median"),
            (counts[2], "order", "statements_median"),
            (counts[3], "order", "commits_median"),
        ):
            if kind in m.statements:
                figure.values[label] = float(m.statements[kind][key])
    return timing, counts


def bench_database(
    name: str, codes: list[Code], work: Path, args: argparse.Namespace
) -> dict[str, Measured]:
    measured: dict[str, Measured] = {}
    log.print(f"[bold]{name}[/bold]")
    for code in codes:
        m = measured.setdefault(code.label, Measured())
        try:
            with fresh_database(name, work, code.label, args.postgres_url) as url:
                http = measure_http(code, name, url, work, args)
                m.orders, m.rejections, m.problem = http.orders, http.rejections, http.problem
            with fresh_database(name, work, code.label + "-stmt", args.postgres_url) as url:
                log.print(f"  {code.label}: counting statements in process…")
                m.statements = count_statements(code, url, args.statement_requests)
        except RuntimeError as exc:
            m.problem = str(exc).splitlines()[0]
            log.print(f"  {code.label} failed: {exc}", markup=False, style="red")
    return measured


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="small sizes: seconds, for a test")
    parser.add_argument("--orders", type=int, help="orders posted, then rejected (default 3000)")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, help="time cap of each load (default 60 s)")
    parser.add_argument("--stores", type=int, help="default 20")
    parser.add_argument("--products", type=int, help="default 10")
    parser.add_argument("--workers", type=int, default=2, help="API processes on PostgreSQL")
    parser.add_argument("--statement-requests", type=int, help="requests counted (default 20)")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES)
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    add_arguments(parser)
    args = parser.parse_args(argv)
    quick = args.quick
    for name, full, small in (
        ("orders", 3000, 150),
        ("seconds", 60.0, 20.0),
        ("stores", 20, 8),
        ("products", 10, 4),
        ("statement_requests", 20, 5),
    ):
        if getattr(args, name) is None:
            setattr(args, name, small if quick else full)
    args.warm_up = 20 if quick else 100
    if args.orders < 1 or args.seconds <= 0 or args.clients < 1 or args.stores < 2:
        parser.error("--orders, --seconds, --clients must be positive and --stores at least 2")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    stop_on_sigterm()
    out = console()
    log.print(f"Start: {setting()}")
    timings: list[Figure] = []
    counts: list[Figure] = []
    labels: list[str] = []
    try:
        with (
            versions(args) as codes,
            tempfile.TemporaryDirectory(prefix="reroute-bench-") as directory,
            ExitStack(),
        ):
            labels = [code.label for code in codes]
            names = ["SQLite"]
            if args.no_postgres:
                log.print("PostgreSQL: skipped (--no-postgres).")
            elif problem := postgres_problem(args.postgres_url):
                log.print(f"{problem}; skipping PostgreSQL.", markup=False, style="yellow")
            else:
                names.append("PostgreSQL")
            for name in names:
                measured = bench_database(name, list(codes), Path(directory), args)
                timing, count = figures(name, measured)
                timings += timing
                counts += count
    except KeyboardInterrupt:
        log.print("Interrupted; servers stopped, baseline removed. Figures so far:")
    started = time.strftime("%Y-%m-%d %H:%M")
    out.print(
        table(
            f"Over HTTP at {args.clients} keep-alive clients ({started})",
            timings,
            labels,
            caption=(
                f"{setting()}. SQLite: one `reroute serve`; PostgreSQL: `reroute serve --workers "
                f"{args.workers}`. Up to {args.orders:,} single-item orders, then each of their "
                f"items rejected as {REASON}; each load capped at {args.seconds:g} s. Latencies "
                "are of every request sent, errors included (listed below the tables)."
            ),
        )
    )
    out.print(
        table(
            "SQL statements per request (counted in process, median)",
            counts,
            labels,
            caption="Every statement and COMMIT the request sends, authentication included.",
        )
    )
    for figure in timings:
        if figure.note:
            out.print(figure.note.strip(), markup=False)
    failed = any(f.problems for f in timings + counts) or any(f.note for f in timings)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
