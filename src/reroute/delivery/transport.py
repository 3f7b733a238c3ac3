"""One webhook request, sent so that the target can neither reach inside nor hold on.

- The connection goes to an address that was checked: the host is resolved once, every address
  it resolved to is checked (`targets`), and the socket connects to one of those very addresses.
  A name whose DNS answer changes between the check and the connection (rebinding) cannot slip
  through, because there is no second lookup. TLS still verifies the certificate against the
  host name, and the Host header is the URL's.
- One deadline covers the whole exchange: connecting, the TLS handshake, sending and reading.
  Every socket operation waits at most for what is left of it, so a target that trickles a
  byte every few seconds is cut when the deadline passes.
- The reply is read up to a cap; whatever follows is left unread and the connection is closed.
- No redirects are followed: the status is the answer.

httpcore is used directly (httpx's own transport sits on it) because it accepts a network
backend, the one place where every connection is opened.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from ssl import SSLContext
from typing import Any

import httpcore
import httpx

from reroute.delivery import targets

#: When the exchange under way in this thread must end (time.monotonic()); None: no deadline.
_deadline: ContextVar[float | None] = ContextVar("reroute_webhook_deadline", default=None)


@contextmanager
def exchange_deadline(seconds: float) -> Iterator[None]:
    """Within the block, every connection of this thread ends its reads and writes by then."""
    token = _deadline.set(time.monotonic() + seconds)
    try:
        yield
    finally:
        _deadline.reset(token)


def _bounded(timeout: float | None, expired: type[Exception], doing: str) -> float | None:
    """`timeout`, shortened to what is left of the deadline; raises `expired` once it passed."""
    deadline = _deadline.get()
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise expired(f"the deadline for the whole exchange passed while {doing}")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    """A connection whose every read and write ends by the current exchange's deadline."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _bounded(timeout, httpcore.ReadTimeout, "reading"))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _bounded(timeout, httpcore.WriteTimeout, "sending"))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        # Python bounds the whole handshake by the socket's timeout, not each step of it.
        left = _bounded(timeout, httpcore.ConnectTimeout, "negotiating TLS")
        return _DeadlineStream(self._inner.start_tls(ssl_context, server_hostname, left))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class GuardedBackend(httpcore.NetworkBackend):
    """Opens connections only to checked addresses (see the module's docstring)."""

    def __init__(
        self,
        allow_private: Callable[[], bool],
        resolve: targets.Resolver = targets.system_resolve,
        inner: httpcore.NetworkBackend | None = None,
    ) -> None:
        self._allow_private = allow_private
        self._resolve = resolve
        self._inner = inner or httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        try:
            addresses = self._resolve(host, port)
        except (OSError, UnicodeError) as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
        if not self._allow_private():
            refused = targets.refusal(host, addresses)
            if refused is not None:
                raise targets.TargetRefused(refused)
        failure: Exception = httpcore.ConnectError(f"{host} resolved to no address")
        for address in addresses:
            left = _bounded(timeout, httpcore.ConnectTimeout, "connecting")
            try:
                stream = self._inner.connect_tcp(address, port, left, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
                continue
            return _DeadlineStream(stream)
        raise failure

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("webhooks are sent over TCP only")

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


@dataclass(frozen=True)
class Reply:
    """What came of one request. `status` is None when no answer arrived; `refused` when the
    target was not allowed and nothing was sent."""

    status: int | None
    retry_after: str | None
    excerpt: str | None
    error: str | None
    refused: bool = False


@dataclass(frozen=True)
class Limits:
    """How long and how much one exchange may take; the worker's settings give the values."""

    deadline: float
    connect_timeout: float
    #: Longest silence between two reads (the deadline bounds them all together).
    read_timeout: float
    reply_bytes: int
    excerpt_chars: int


class Sender:
    """Posts webhook requests; one connection pool per sending thread (they share nothing)."""

    def __init__(
        self,
        limits: Limits,
        allow_private: Callable[[], bool],
        resolve: targets.Resolver = targets.system_resolve,
    ) -> None:
        self.limits = limits
        self._backend = GuardedBackend(allow_private, resolve)
        self._ssl = httpx.create_ssl_context()
        self._local = threading.local()
        self._pools: list[httpcore.ConnectionPool] = []
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            pools, self._pools = self._pools, []
        for pool in pools:
            pool.close()

    def _pool(self) -> httpcore.ConnectionPool:
        pool: httpcore.ConnectionPool | None = getattr(self._local, "pool", None)
        if pool is None:
            pool = httpcore.ConnectionPool(
                ssl_context=self._ssl,
                max_connections=8,
                keepalive_expiry=5.0,
                network_backend=self._backend,
            )
            self._local.pool = pool
            with self._lock:
                self._pools.append(pool)
        return pool

    def post(self, url: str, headers: dict[str, str], body: bytes) -> Reply:
        with exchange_deadline(self.limits.deadline):
            return self._post(url, headers, body)

    def _post(self, url: str, headers: dict[str, str], body: bytes) -> Reply:
        limits = self.limits
        status: int | None = None
        retry_after: str | None = None
        read = bytearray()
        try:
            target = httpx.URL(url)  # the same parsing (IDNA, escaping) as at registration
            origin = httpcore.URL(
                scheme=target.raw_scheme,
                host=target.raw_host,
                port=target.port,
                target=target.raw_path,
            )
            timeouts = {
                "connect": limits.connect_timeout,
                "read": limits.read_timeout,
                "write": limits.read_timeout,
                "pool": limits.deadline,
            }
            with self._pool().stream(
                "POST",
                origin,
                headers=[(k.encode(), v.encode()) for k, v in headers.items()],
                content=body,
                extensions={"timeout": timeouts},
            ) as response:
                status = response.status
                retry_after = _header(response.headers, b"retry-after")
                for chunk in response.iter_stream():
                    read += chunk[: limits.reply_bytes - len(read)]
                    if len(read) >= limits.reply_bytes:
                        break  # the rest stays unread; closing drops the connection
        except targets.TargetRefused as exc:
            return Reply(None, None, None, clean(str(exc.refusal)), refused=True)
        except Exception as exc:  # any failure of the exchange is an attempt's outcome
            excerpt = self._excerpt(read) if status is not None else None
            return Reply(status, retry_after, excerpt, clean(f"{type(exc).__name__}: {exc}"))
        return Reply(status, retry_after, self._excerpt(read), None)

    def _excerpt(self, read: bytearray) -> str:
        return clean(bytes(read).decode("utf-8", errors="replace")[: self.limits.excerpt_chars])


def _header(headers: list[tuple[bytes, bytes]], name: bytes) -> str | None:
    for key, value in headers:
        if key.lower() == name:
            return value.decode("latin-1")
    return None


def clean(text: str, limit: int = 500) -> str:
    """Text fit to store: PostgreSQL refuses NUL characters in text."""
    return text.replace("\x00", "\ufffd")[:limit]
