"""What the HTTP benchmarks share: a real server process on 127.0.0.1 and its database (a
temporary SQLite file, or a fresh PostgreSQL database dropped afterwards), the `reroute` command,
a catalog loaded over the API, and nearest-rank percentiles.

The server runs in its own session so that Ctrl-C reaches only the benchmark, which then stops
the server by its process id on the way out.
"""

from __future__ import annotations

import math
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

HOST = "127.0.0.1"
DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
START_TIMEOUT = 30.0
REQUEST_TIMEOUT = 15.0
CLI_TIMEOUT = 120.0
#: Around the Chicago Loop: every benchmark facility and customer is placed in this box.
CITY = (41.88, -87.63)

log = Console(stderr=True)


# Measuring ------------------------------------------------------------------------------------


def percentile_ms(latencies: list[float], fraction: float) -> float:
    """Nearest-rank percentile of latencies in seconds, answered in milliseconds."""
    if not latencies:
        return math.nan
    ordered = sorted(latencies)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)] * 1000


class Tickets:
    """Hands out the numbers 0..total-1 to client threads, each once."""

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


def load_average(minutes: int | None = None) -> str:
    """The machine's load average over 1, 5 and 15 minutes, or only over `minutes` (1, 5, 15)."""
    try:
        averages = dict(zip((1, 5, 15), os.getloadavg(), strict=True))
    except OSError:
        return "unknown"
    if minutes is not None:
        return f"{averages[minutes]:.2f}"
    return "load average " + " ".join(f"{a:.2f}" for a in averages.values())


def stop_on_sigterm() -> None:
    """A plain `kill` of the benchmark unwinds it as Ctrl-C does, so its server stops too."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))


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


def prepare(url: str) -> str:
    """Migrate the database at `url` and answer a fresh admin token for it."""
    reroute_cli("db", "upgrade", "--database-url", url)
    return reroute_cli("token", "create", "--role", "admin", "--database-url", url)


@contextmanager
def server(database_url: str, logs: Path) -> Iterator[str]:
    """A server process for `database_url`; answers its base URL and stops it on the way out."""
    port = free_port()
    command = [
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
    ]
    with _running(command, dict(os.environ), database_url, port, logs) as base_url:
        yield base_url


@contextmanager
def serve(
    command: list[str], env: dict[str, str], database_url: str, logs: Path, workers: int = 1
) -> Iterator[str]:
    """`<command> serve` (the `reroute` command of some version, run with `env`) on 127.0.0.1
    with `workers` API processes; answers its base URL and stops it on the way out."""
    port = free_port()
    arguments = [*command, "serve", "--host", HOST, "--port", str(port)]
    if workers > 1:
        arguments += ["--workers", str(workers)]
    with _running(arguments, env, database_url, port, logs) as base_url:
        yield base_url


@contextmanager
def _running(
    command: list[str], env: dict[str, str], database_url: str, port: int, logs: Path
) -> Iterator[str]:
    env = {**env, "REROUTE_DATABASE_URL": database_url, "REROUTE_LOG_LEVEL": "warning"}
    with logs.open("wb") as log_file:
        process = subprocess.Popen(
            command,
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
        # The server's own session: its worker processes, if any, go with it.
        os.killpg(process.pid, signal.SIGKILL)
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


def databases(
    stack: ExitStack, work: Path, postgres_url: str, no_postgres: bool
) -> Iterator[tuple[str, str]]:
    """(name, URL) of each database to measure: a SQLite file in `work`, then a fresh PostgreSQL
    database (entered on `stack`, so dropped when it closes) unless skipped or unreachable."""
    yield "SQLite", f"sqlite:///{work / 'bench.db'}"
    if no_postgres:
        log.print("PostgreSQL: skipped (--no-postgres).")
        return
    problem = postgres_problem(postgres_url)
    if problem:
        log.print(f"{problem}; skipping PostgreSQL.", markup=False, style="yellow")
        return
    yield "PostgreSQL", stack.enter_context(postgres_database(postgres_url))


# Data -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Catalog:
    facility_ids: list[str]
    product_ids: list[str]


def admin_client(base_url: str, token: str, timeout: float = REQUEST_TIMEOUT) -> httpx.Client:
    return httpx.Client(
        base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=timeout
    )


def put(client: httpx.Client, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """PUT that must succeed; answers the JSON body."""
    response = client.put(path, json=body)
    if response.status_code not in (200, 201):
        raise RuntimeError(f"PUT {path} answered {response.status_code}: {response.text[:500]}")
    answer: dict[str, Any] = response.json()
    return answer


def near_city(rng: random.Random) -> tuple[float, float]:
    """A point in the box around the city (mostly west of the lake)."""
    lat, lon = CITY
    return round(lat + rng.uniform(-0.3, 0.3), 5), round(lon + rng.uniform(-0.4, 0.1), 5)


def load_catalog(
    base_url: str,
    token: str,
    facilities: int,
    products: int,
    *,
    stock: int,
) -> Catalog:
    """Facilities around the city (the first a warehouse, the rest stores), products, and
    `stock` units of every product everywhere, all over the API."""
    rng = random.Random(7)
    catalog = Catalog(
        [f"F{n:03d}" for n in range(facilities)], [f"P{n:04d}" for n in range(products)]
    )
    with admin_client(base_url, token) as client:
        for n, facility in enumerate(catalog.facility_ids):
            latitude, longitude = near_city(rng)
            put(
                client,
                f"/api/v1/facilities/{facility}",
                {
                    "name": f"Bench store {n}",
                    "kind": "warehouse" if n == 0 else "store",
                    "external_location_id": f"{1000 + n}",
                    "fulfiller_id": "70125",
                    "latitude": latitude,
                    "longitude": longitude,
                    "capabilities": ["ship"] if n == 0 else ["ship", "pickup"],
                    "sequence": n,
                },
            )
        for n, product in enumerate(catalog.product_ids):
            put(
                client,
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
                    client,
                    f"/api/v1/facilities/{facility}/inventory/{product}",
                    {"quantity_on_hand": stock},
                )
    return catalog
