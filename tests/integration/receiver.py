"""A real webhook receiver for tests: an HTTP server on 127.0.0.1 in a thread.

Every request is verified with the public `standardwebhooks` library; what it accepted is
recorded as (webhook-id, raw body) and de-duplicated on the webhook-id, as an integrator would.
Tests script its faults: answer a status (500, 410) for the next N requests, sleep before
answering (so the sender times out), reset the connection, trickle the answer a byte at a time,
answer a huge body, redirect, or be shut down and started again on the same port (connection
refused in between). It counts the connections it accepted, and for trickled and huge answers
how many bytes it got out before the sender closed the connection.
"""

from __future__ import annotations

import contextlib
import json
import socket
import struct
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from reroute.delivery.worker import WorkerSettings

PATH = "/hooks/reroute"


@dataclass(frozen=True)
class Action:
    """What the receiver does with one request: `status` answers that code (after `sleep`
    seconds), with `body` if given and a Location header if `location` is; `reset` closes the
    connection with a TCP reset instead of answering; `trickle` sends the answer's head one
    byte every that many seconds (it never ends, unless the sender waits for TRICKLE_BYTES);
    `reply_bytes` answers a body of that many bytes, written as fast as the sender reads."""

    status: int = 204
    sleep: float = 0.0
    reset: bool = False
    trickle: float = 0.0
    reply_bytes: int = 0
    body: bytes | None = None
    location: str | None = None


OK = Action()
#: Bytes a trickled answer has at most (so a trickle ends even if nobody hangs up).
TRICKLE_BYTES = 200


@dataclass(frozen=True)
class End:
    """How a trickled or huge answer ended: `sent` bytes got out (head included for a
    trickle, body only for a huge one); `complete` when all of it did; `at` time.monotonic()."""

    sent: int
    complete: bool
    at: float


@dataclass(frozen=True)
class Request:
    webhook_id: str
    timestamp: str
    body: bytes
    answered: int | None  # None: the connection was reset, or the answer trickled
    at: float
    host: str = ""  # the Host header
    signature: str = ""  # the webhook-signature header (space-separated signatures)


@dataclass
class _State:
    secret: str | None = None
    script: deque[Action] = field(default_factory=deque)
    default: Action = OK
    #: Verified requests that arrived, counted before the scripted action (sleep...) starts.
    arrivals: int = 0
    #: Every verified request, whatever it was answered.
    requests: list[Request] = field(default_factory=list)
    #: Requests that failed verification (should stay empty): (reason, headers, body).
    invalid: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)
    #: Accepted events by webhook-id, in the order each id was first accepted.
    unique: dict[str, bytes] = field(default_factory=dict)
    #: Accepted requests in arrival order, duplicates included.
    accepted: list[Request] = field(default_factory=list)
    #: Ids accepted twice with different bodies (should stay empty).
    conflicts: list[str] = field(default_factory=list)
    #: Connections accepted, whether or not a request came over them.
    connections: int = 0
    #: How each trickled or huge answer ended, in order.
    ends: list[End] = field(default_factory=list)


class Receiver:
    """Start with `start()`; `url` is where to subscribe; set `secret` once the webhook exists."""

    def __init__(self) -> None:
        self._state = _State()
        self._changed = threading.Condition()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        self.port = 0

    # Life -------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{PATH}"

    @property
    def running(self) -> bool:
        return self._server is not None

    def start(self) -> Receiver:
        """Listen (on the port used before, if this receiver ran already)."""
        assert self._server is None, "already running"
        self._stopping.clear()
        server = _Server(("127.0.0.1", self.port), _Handler)
        server.receiver = self
        self.port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening and drop every open connection: the port refuses until `start()`."""
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        server.server_close()
        with self._changed:
            open_now = list(self._connections)
        for conn in open_now:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(5)

    def restart(self) -> None:
        self.stop()
        self.start()

    def __enter__(self) -> Receiver:
        return self if self.running else self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    # Script -----------------------------------------------------------------------------

    @property
    def secret(self) -> str | None:
        return self._state.secret

    @secret.setter
    def secret(self, value: str) -> None:
        self._state.secret = value

    def then(self, action: Action, times: int = 1) -> Receiver:
        """Answer the next `times` requests (after those already scripted) with `action`."""
        with self._changed:
            self._state.script.extend([action] * times)
        return self

    def fail(self, times: int, status: int = 500) -> Receiver:
        return self.then(Action(status=status), times)

    def sleep(self, seconds: float, times: int = 1) -> Receiver:
        return self.then(Action(sleep=seconds), times)

    def reset(self, times: int = 1) -> Receiver:
        return self.then(Action(reset=True), times)

    def always(self, action: Action) -> Receiver:
        """What to do once the script is used up."""
        with self._changed:
            self._state.default = action
        return self

    # What arrived -------------------------------------------------------------------------

    @property
    def arrivals(self) -> int:
        with self._changed:
            return self._state.arrivals

    @property
    def requests(self) -> list[Request]:
        with self._changed:
            return list(self._state.requests)

    @property
    def accepted(self) -> list[Request]:
        with self._changed:
            return list(self._state.accepted)

    @property
    def unique(self) -> dict[str, bytes]:
        with self._changed:
            return dict(self._state.unique)

    @property
    def invalid(self) -> list[tuple[str, dict[str, str], bytes]]:
        with self._changed:
            return list(self._state.invalid)

    @property
    def conflicts(self) -> list[str]:
        with self._changed:
            return list(self._state.conflicts)

    @property
    def connections(self) -> int:
        with self._changed:
            return self._state.connections

    @property
    def ends(self) -> list[End]:
        with self._changed:
            return list(self._state.ends)

    def wait_for(self, check: Callable[[Receiver], bool], timeout: float) -> bool:
        """Wait (at most `timeout` seconds) until `check(self)` holds; answers whether it does."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                if check(self):
                    return True
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._changed.wait(min(left, 0.1))

    # Called by the handler ------------------------------------------------------------------

    def _opened(self, conn: socket.socket) -> None:
        with self._changed:
            self._connections.add(conn)
            self._state.connections += 1
            self._changed.notify_all()

    def _ended(self, sent: int, complete: bool) -> None:
        with self._changed:
            self._state.ends.append(End(sent, complete, time.monotonic()))
            self._changed.notify_all()

    def _closed(self, conn: socket.socket) -> None:
        with self._changed:
            self._connections.discard(conn)

    def _next_action(self) -> Action:
        """The action for a request that just arrived (and count it as arrived)."""
        with self._changed:
            self._state.arrivals += 1
            self._changed.notify_all()
            return self._state.script.popleft() if self._state.script else self._state.default

    def _verify(self, headers: dict[str, str], body: bytes) -> str | None:
        """None when the request is genuine, else why not."""
        secret = self._state.secret
        if secret is None:
            return "no secret set"
        try:
            Webhook(secret).verify(body, headers)
        except WebhookVerificationError as exc:
            return str(exc) or type(exc).__name__
        except Exception as exc:  # malformed headers are a failed verification too
            return f"{type(exc).__name__}: {exc}"
        return None

    def _record(self, headers: dict[str, str], body: bytes, answered: int | None) -> None:
        request = Request(
            headers["webhook-id"],
            headers["webhook-timestamp"],
            body,
            answered,
            time.monotonic(),
            headers.get("host", ""),
            headers.get("webhook-signature", ""),
        )
        with self._changed:
            state = self._state
            state.requests.append(request)
            if answered is not None and 200 <= answered < 300:
                state.accepted.append(request)
                known = state.unique.setdefault(request.webhook_id, body)
                if known != body:
                    state.conflicts.append(request.webhook_id)
            self._changed.notify_all()

    def _invalid(self, reason: str, headers: dict[str, str], body: bytes) -> None:
        with self._changed:
            self._state.invalid.append((reason, headers, body))
            self._changed.notify_all()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    receiver: Receiver

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Resets and shutdowns break connections on purpose: nothing to print."""


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.server.receiver._opened(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.receiver._closed(self.connection)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""

    def do_POST(self) -> None:
        receiver = self.server.receiver
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length)
        headers = {k.lower(): v for k, v in self.headers.items()}
        if self.path != PATH:
            self._answer(404)
            return
        problem = receiver._verify(headers, body)
        if problem is not None:
            receiver._invalid(problem, headers, body)
            self._answer(400)
            return
        action = receiver._next_action()
        if action.reset:
            receiver._record(headers, body, None)
            # SO_LINGER 0: closing sends RST rather than FIN.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True
            return
        if action.sleep and receiver._stopping.wait(action.sleep):
            return  # shut down while sleeping: the request is never answered
        if action.trickle:
            receiver._record(headers, body, None)
            self._trickle(action.trickle)
            return
        # Recorded before answering: once the sender sees the answer, the test sees the record.
        receiver._record(headers, body, action.status)
        if action.reply_bytes:
            self._huge(action.status, action.reply_bytes)
            return
        self._answer(action.status, action.body, action.location)

    def _answer(self, status: int, body: bytes | None = None, location: str | None = None) -> None:
        payload = (
            body
            if body is not None
            else b""
            if status == 204
            else b'{"ok": false}'
            if status >= 300
            else b'{"ok": true}'
        )
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(payload)))
        if location is not None:
            self.send_header("location", location)
        self.end_headers()
        self.wfile.write(payload)
        self.wfile.flush()

    def _trickle(self, every: float) -> None:
        """The head of a 200 answer, one byte every `every` seconds, until the sender hangs
        up (a write fails), the receiver stops, or TRICKLE_BYTES are out."""
        head = b"HTTP/1.1 200 OK\r\nx-padding: " + b"." * TRICKLE_BYTES
        sent = 0
        self.close_connection = True
        for byte in head[:TRICKLE_BYTES]:
            if self.server.receiver._stopping.wait(every):
                break
            try:
                self.connection.sendall(bytes([byte]))
            except OSError:
                break
            sent += 1
        self.server.receiver._ended(sent, sent >= TRICKLE_BYTES)

    def _huge(self, status: int, size: int) -> None:
        """A body of `size` bytes, written until all is out or the sender hangs up."""
        self.send_response(status)
        self.send_header("content-type", "text/plain")
        self.send_header("content-length", str(size))
        self.end_headers()
        self.close_connection = True
        chunk = b"x" * 65_536
        sent = 0
        while sent < size:
            part = chunk[: size - sent]
            try:
                self.connection.sendall(part)
            except OSError:
                break
            sent += len(part)
        self.server.receiver._ended(sent, sent >= size)


# The harness the notification tests share ---------------------------------------------------

ALL_TYPES = ["StoreDeclineEvent", "cancel_shipment", "cancel_item", "ready_shipment"]


def subscribe(
    client: Any, admin: dict[str, str], receiver: Receiver, event_types: list[str] | None = None
) -> dict[str, Any]:
    """Subscribe `receiver` through the API and give it the secret the answer shows once."""
    response = client.post(
        "/api/v1/webhooks",
        json={"url": receiver.url, "event_types": event_types or ALL_TYPES},
        headers=admin,
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    receiver.secret = created["secret"]
    return created


#: Retries a few hundredths of a second apart, so a test sees a schedule through quickly.
FAST_SCHEDULE = (0.0, *[0.05] * 11)


def fast_settings(**overrides: Any) -> WorkerSettings:
    """Worker settings for tests: a quick schedule and short timeouts, overridable."""
    values: dict[str, Any] = {
        "schedule": FAST_SCHEDULE,
        "lease_seconds": 30.0,
        "concurrency": 8,
        "batch": 64,
        "poll_seconds": 0.05,
        "connect_timeout": 1.0,
        "read_timeout": 5.0,
    }
    values.update(overrides)
    return WorkerSettings(**values)


def deliver_until(worker: Any, check: Callable[[], bool], timeout: float) -> bool:
    """Run delivery rounds until `check()` holds, at most `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        sent = worker.run_once()
        if check():
            return True
        if time.monotonic() >= deadline:
            return False
        if not sent:
            time.sleep(0.02)


def assert_exactly_the_feed_in_order(receiver: Receiver, events: list[dict[str, Any]]) -> None:
    """After de-duplication on webhook-id the receiver holds exactly these events (bodies
    equal to the feed's), each genuine, each id always with the same body, and the events of
    each order arrived in the order they were written."""
    unique = receiver.unique
    assert receiver.invalid == []
    assert receiver.conflicts == []
    assert sorted(unique) == sorted(e["event_id"] for e in events)
    for event in events:
        assert json.loads(unique[event["event_id"]]) == event["body"]
    arrived = list(unique)
    for order_id in {e["order_id"] for e in events}:
        written = [e["event_id"] for e in events if e["order_id"] == order_id]
        assert [i for i in arrived if i in set(written)] == written, order_id


def read_feed(client: Any, headers: dict[str, str], after: int = 0) -> list[dict[str, Any]]:
    """Every event of GET /api/v1/events after the event numbered `after`, page by page (the
    first page by `after`, the next ones by the `next_cursor` each page gives)."""
    found: list[dict[str, Any]] = []
    params: dict[str, Any] = {"after": after, "limit": 1000}
    for _ in range(1000):
        response = client.get("/api/v1/events", params=params, headers=headers)
        assert response.status_code == 200, response.text
        page = response.json()
        if not page["items"]:
            return found
        found.extend(page["items"])
        params = {"cursor": page["next_cursor"], "limit": 1000}
    raise AssertionError("the event feed did not end")
