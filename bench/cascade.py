"""One NOT_IN_STOCK taking back 10,000 reservations (the cascade), on SQLite and PostgreSQL, for
this checkout beside a baseline commit measured in the same run.

For each database and each version, on a fresh database, through that version's public commands
only: `reroute import` loads two stores around one city (no stock at the second), one product
with `--cascade` units at the first, and `--cascade` single-item orders; `reroute route` routes
them all to the first store. Then `reroute serve` starts on 127.0.0.1, the second store receives
stock over the API, and one rejection of one of those items as NOT_IN_STOCK is timed over HTTP:
it zeroes the stock, rejects every other reservation there as CASCADE, re-routes all of them to
the second store and commits before it answers.

    .venv/bin/python bench/cascade.py [--quick] [--cascade 10000] [--no-baseline | --baseline REF]
        [--no-postgres | --postgres-url URL]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from compare import Figure, at_most, console, setting, table
from over_http import fresh_database
from reject import (
    CASCADE_PRODUCT,
    CASCADE_SPARE,
    CASCADE_STORE,
    Cascade,
    order_body,
    time_cascade,
)
from server import CITY, DEFAULT_POSTGRES, log, postgres_problem, serve, stop_on_sigterm
from versions import Code, add_arguments, versions

TARGETS = {"SQLite": 2.0, "PostgreSQL": 4.0}
ROUTE_CHUNK = "1000"
#: Loading and routing the orders, per command.
SETUP_TIMEOUT = 900.0


def _write(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text(json.dumps(rows))
    return path


def seed(code: Code, url: str, count: int, work: Path) -> float:
    """The two stores, the product, its stock and `count` orders routed to the first store, with
    this version's `reroute import` and `reroute route`; answers the seconds it took."""
    started = time.perf_counter()
    lat, lon = CITY
    stores = [
        {
            "facility_id": facility_id,
            "name": f"Cascade store {tag}",
            "kind": "store",
            "external_location_id": f"9{tag}",
            "fulfiller_id": "70125",
            "latitude": lat + shift,
            "longitude": lon - shift,
            "capabilities": ["ship"],
        }
        for facility_id, tag, shift in ((CASCADE_STORE, "A", 0.0), (CASCADE_SPARE, "B", 0.05))
    ]
    product = {
        "product_id": CASCADE_PRODUCT,
        "sku": "SKU-CASCADE",
        "upc": "849999999999",
        "part_number": "29999999",
        "name": "Cascade product",
    }
    stock = {"facility_id": CASCADE_STORE, "product_id": CASCADE_PRODUCT, "quantity_on_hand": count}
    rng = random.Random(3)
    orders = [order_body(f"C-{n}", CASCADE_PRODUCT, rng) for n in range(count)]
    where = ("--database-url", url)
    tag = code.label
    code.cli("import", "facilities", str(_write(work / f"{tag}-facilities.json", stores)), *where)
    code.cli("import", "products", str(_write(work / f"{tag}-products.json", [product])), *where)
    code.cli("import", "stock", str(_write(work / f"{tag}-stock.json", [stock])), *where)
    code.cli(
        "import",
        "orders",
        str(_write(work / f"{tag}-orders.json", orders)),
        *where,
        timeout=SETUP_TIMEOUT,
    )
    code.cli("route", "--chunk", ROUTE_CHUNK, *where, timeout=SETUP_TIMEOUT)
    return time.perf_counter() - started


def measure(code: Code, name: str, url: str, work: Path, args: argparse.Namespace) -> Cascade:
    token = code.prepare(url)
    log.print(f"  {code.label}: importing and routing {args.cascade:,} orders…")
    took = seed(code, url, args.cascade, work)
    log.print(f"  … in {took:.1f} s; one NOT_IN_STOCK over HTTP…")
    logs = work / f"{code.label}-{name.lower()}-cascade-server.log"
    with serve(code.reroute(), code.env(), url, logs) as base_url:
        return time_cascade(name, base_url, token)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="300 reservations: seconds")
    parser.add_argument("--cascade", type=int, help="reservations taken back (default 10,000)")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES)
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    add_arguments(parser)
    args = parser.parse_args(argv)
    if args.cascade is None:
        args.cascade = 300 if args.quick else 10_000
    if args.cascade < 2:
        parser.error("--cascade must be at least 2")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    stop_on_sigterm()
    log.print(f"Start: {setting()}")
    figures: list[Figure] = []
    labels: list[str] = []
    try:
        with (
            versions(args) as codes,
            tempfile.TemporaryDirectory(prefix="reroute-bench-") as directory,
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
                log.print(f"[bold]{name}[/bold]")
                figure = Figure(
                    f"{name}: NOT_IN_STOCK taking back {args.cascade:,}",
                    "s",
                    at_most(TARGETS[name]),
                    2,
                )
                figures.append(figure)
                for code in codes:
                    try:
                        with fresh_database(
                            name, Path(directory), code.label, args.postgres_url
                        ) as url:
                            c = measure(code, name, url, Path(directory), args)
                    except RuntimeError as exc:
                        figure.problems[code.label] = str(exc).splitlines()[0]
                        log.print(f"  {code.label} failed: {exc}", markup=False, style="red")
                        continue
                    if c.error:
                        figure.problems[code.label] = c.error
                        continue
                    figure.values[code.label] = c.seconds
                    taken = c.rejected - 1  # the rejected item itself is not a cascade victim
                    wanted = c.reservations - 1
                    if taken != wanted or c.rerouted < wanted:
                        figure.note += (
                            f" {code.label}: {c.reservations:,} reserved, {c.rejected:,} "
                            f"rejected, {c.rerouted:,} re-routed to the second store."
                        )
    except KeyboardInterrupt:
        log.print("Interrupted; servers stopped, baseline removed. Figures so far:")
    out = console()
    out.print(
        table(
            "NOT_IN_STOCK cascade over HTTP (one POST: release, zero stock, reject the rest as "
            "CASCADE, re-route, commit)",
            figures,
            labels,
            caption=f"{setting()}. One `reroute serve` process; timed from request to answer.",
        )
    )
    for figure in figures:
        if figure.note:
            out.print(f"{figure.name}:{figure.note}", markup=False)
    return 1 if any(f.problems for f in figures) else 0


if __name__ == "__main__":
    sys.exit(main())
