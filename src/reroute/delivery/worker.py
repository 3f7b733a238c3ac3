"""The delivery worker: claim due deliveries with a lease, send them signed, record each try.

Any number of workers may run on PostgreSQL (`FOR UPDATE SKIP LOCKED`); on SQLite one per
database file. A worker killed mid-send loses nothing: the lease on what it had claimed runs
out and another worker (or the same, started again) sends those deliveries again, under the same
`webhook-id`, so receivers drop the duplicate.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta

import httpx

from reroute.delivery import signing
from reroute.delivery.policy import DEFAULT_SCHEDULE, judge
from reroute.domain.clock import utcnow
from reroute.services.context import Context
from reroute.storage.repositories.webhooks import Attempt, Claimed
from reroute.storage.unit_of_work import unit_of_work

log = logging.getLogger("reroute.delivery")
EXCERPT = 500


@dataclass(frozen=True)
class WorkerSettings:
    schedule: tuple[float, ...] = DEFAULT_SCHEDULE
    lease_seconds: float = 60.0
    concurrency: int = 16
    batch: int = 64
    poll_seconds: float = 0.5
    connect_timeout: float = 2.0
    read_timeout: float = 15.0


@dataclass(frozen=True)
class Outcome:
    claimed: Claimed
    status_code: int | None
    duration_ms: int
    error: str | None
    excerpt: str | None
    retry_after: float | None


class DeliveryWorker:
    def __init__(self, ctx: Context, settings: WorkerSettings | None = None) -> None:
        self.ctx = ctx
        self.settings = settings or WorkerSettings()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._local = threading.local()
        self._pool = ThreadPoolExecutor(self.settings.concurrency, thread_name_prefix="deliver")
        self._thread: threading.Thread | None = None
        ctx.wake_listeners.append(self._wake.set)

    # Running ------------------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name="delivery-worker", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 20.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self._pool.shutdown(wait=True, cancel_futures=True)

    def run(self) -> None:
        while not self._stop.is_set():
            try:
                sent = self.run_once()
            except Exception:  # a database hiccup must not end deliveries for good
                log.exception("delivery round failed; trying again shortly")
                sent = 0
            if sent == 0:
                self._wake.wait(self.settings.poll_seconds)
                self._wake.clear()

    def run_once(self) -> int:
        """One round: claim, send in parallel, record. Answers how many were sent."""
        claimed = self._claim()
        if not claimed:
            return 0
        outcomes = list(self._pool.map(self._send, claimed))
        self._record(outcomes)
        return len(outcomes)

    def drain(self, seconds: float = 30.0) -> None:
        """Deliver until nothing is due (for tests and the command line)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and self.run_once():
            pass

    # Steps --------------------------------------------------------------------------------

    def _claim(self) -> list[Claimed]:
        with unit_of_work(self.ctx.db, write=False) as uow:
            if not uow.webhooks.anything_due(uow.now):
                return []
        with unit_of_work(self.ctx.db) as uow:
            lease = uow.now + timedelta(seconds=self.settings.lease_seconds)
            return uow.webhooks.claim(uow.now, lease, self.settings.batch)

    def _client(self) -> httpx.Client:
        client: httpx.Client | None = getattr(self._local, "client", None)
        if client is None:
            timeout = httpx.Timeout(
                self.settings.read_timeout, connect=self.settings.connect_timeout
            )
            client = httpx.Client(timeout=timeout, follow_redirects=False)
            self._local.client = client
        return client

    def _send(self, claimed: Claimed) -> Outcome:
        started = time.perf_counter()
        headers = signing.headers(claimed.secret, claimed.message_id, utcnow(), claimed.body)
        try:
            response = self._client().post(claimed.url, content=claimed.body, headers=headers)
        except httpx.HTTPError as exc:
            elapsed = int((time.perf_counter() - started) * 1000)
            return Outcome(
                claimed, None, elapsed, f"{type(exc).__name__}: {exc}"[:EXCERPT], None, None
            )
        elapsed = int((time.perf_counter() - started) * 1000)
        retry_after = _seconds(response.headers.get("retry-after"))
        return Outcome(
            claimed, response.status_code, elapsed, None, response.text[:EXCERPT], retry_after
        )

    def _record(self, outcomes: list[Outcome]) -> None:
        with unit_of_work(self.ctx.db) as uow:
            attempts = []
            for outcome in outcomes:
                claimed = outcome.claimed
                verdict = judge(
                    status_code=outcome.status_code,
                    attempts_done=claimed.attempts + 1,
                    now=uow.now,
                    schedule=self.settings.schedule,
                    retry_after=outcome.retry_after,
                )
                attempts.append(
                    Attempt(
                        claimed.id,
                        verdict.status,
                        claimed.attempts + 1,
                        verdict.next_attempt_at,
                        outcome.status_code,
                        outcome.duration_ms,
                        outcome.error,
                        outcome.excerpt,
                    )
                )
                if verdict.disable_endpoint:
                    reason = "The endpoint answered 410 Gone."
                    uow.webhooks.set_active(claimed.webhook_id, False, reason, uow.now)
            uow.webhooks.record_attempts(attempts, uow.now)
            for outcome, attempt in zip(outcomes, attempts, strict=True):
                if attempt.status == "failed" and outcome.status_code == 410:
                    uow.webhooks.fail_pending_of(
                        outcome.claimed.webhook_id, "The endpoint answered 410 Gone."
                    )


def _seconds(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None
