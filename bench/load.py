"""Keep-alive HTTP clients on threads, each request timed, bounded in count and in time.

Clients use the standard library's `http.client`, one persistent connection each: it costs the
client far less CPU than a full-featured client, which matters when clients and server share
two cores.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from server import HOST, REQUEST_TIMEOUT, Tickets, percentile_ms

#: number -> (path, JSON body) of the request to send for that ticket.
Request = Callable[[int], tuple[str, dict[str, Any]]]
#: (number, status, parsed body) -> an error to count, or "" when the answer is the one wanted.
Check = Callable[[int, int, Any], str]


@dataclass
class Load:
    clients: int
    seconds: float = 0.0
    done: int = 0
    errors: int = 0
    latencies: list[float] = field(default_factory=list)
    error_kinds: Counter[str] = field(default_factory=Counter)
    first_error: str = ""

    @property
    def rate(self) -> float:
        return self.done / self.seconds if self.seconds else 0.0

    def p(self, fraction: float) -> float:
        return percentile_ms(self.latencies, fraction)

    def failed(self, kind: str, detail: str) -> None:
        self.errors += 1
        self.error_kinds[kind] += 1
        self.first_error = self.first_error or detail

    def add(self, other: Load) -> None:
        self.done += other.done
        self.errors += other.errors
        self.latencies += other.latencies
        self.error_kinds += other.error_kinds
        self.first_error = self.first_error or other.first_error

    def errors_line(self) -> str:
        kinds = ", ".join(f"{kind}: {n}" for kind, n in self.error_kinds.most_common())
        return f"{self.errors} errors ({kinds}); the first: {self.first_error}"


def _client(
    base_url: str,
    token: str,
    tickets: Tickets,
    request: Request,
    check: Check,
    deadline: float,
    stop: threading.Event,
) -> Load:
    where = urlsplit(base_url)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    mine = Load(1)
    connection = http.client.HTTPConnection(
        where.hostname or HOST, where.port, timeout=REQUEST_TIMEOUT
    )
    try:
        while not stop.is_set() and time.monotonic() < deadline:
            number = tickets.take()
            if number is None:
                break
            path, body = request(number)
            payload = json.dumps(body).encode()
            started = time.perf_counter()
            try:
                connection.request("POST", path, payload, headers)
                response = connection.getresponse()
                data = response.read()
            except (OSError, http.client.HTTPException) as exc:
                mine.latencies.append(time.perf_counter() - started)
                mine.failed(type(exc).__name__, f"{type(exc).__name__}: {exc}")
                connection.close()  # the next request opens a fresh connection
                continue
            mine.latencies.append(time.perf_counter() - started)
            try:
                answer = json.loads(data) if data else None
            except ValueError:
                answer = None
            problem = check(number, response.status, answer)
            if problem:
                mine.failed(f"HTTP {response.status}", problem)
            else:
                mine.done += 1
    finally:
        connection.close()
    return mine


def drive(
    base_url: str,
    token: str,
    *,
    clients: int,
    count: int,
    seconds: float,
    request: Request,
    check: Check,
) -> Load:
    """Send up to `count` requests (ticket numbers 0..count-1, each once) from `clients` threads
    for at most `seconds`."""
    tickets = Tickets(count)
    stop = threading.Event()
    load = Load(clients)
    started = time.perf_counter()
    deadline = time.monotonic() + seconds
    pool = ThreadPoolExecutor(max_workers=clients, thread_name_prefix="client")
    try:
        futures = [
            pool.submit(_client, base_url, token, tickets, request, check, deadline, stop)
            for _ in range(clients)
        ]
        for future in futures:
            load.add(future.result())
    except BaseException:
        stop.set()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    load.seconds = time.perf_counter() - started
    return load
