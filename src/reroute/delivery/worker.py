"""The delivery worker: claim due deliveries with a lease, send them signed, record each try.

Any number of workers may run on PostgreSQL (`FOR UPDATE SKIP LOCKED`); on SQLite one per
database file. A worker killed mid-send loses nothing: the lease on what it had claimed runs
out and another worker (or the same, started again) sends those deliveries again, under the same
`webhook-id`, so receivers drop the duplicate.

One endpoint cannot hold the others back. Each endpoint is a lane: the worker sends at most
`lane_width` of its deliveries at once (half the senders), and once the endpoint is slow (an
exchange took SLOW_AFTER or more, within the last SLOW_MEMORY) at most `slow_width` (an eighth),
so a slow endpoint occupies a few of the `concurrency` senders and never all of them. A quick
endpoint's deliveries are claimed up to a batch ahead, a slow one's no more than it may send at
once. Nothing waits for a round to end: a sender that finishes starts the next delivery waiting
in a lane with room, and outcomes are recorded in small batches as they come back. Every
exchange ends by its deadline and reads a capped reply (`transport`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING

from reroute.delivery import signing
from reroute.delivery.policy import DEFAULT_SCHEDULE, GONE, judge
from reroute.delivery.transport import Limits, Sender, clean
from reroute.domain.clock import utcnow
from reroute.services.context import Context
from reroute.storage.repositories.webhooks import Attempt, Claimed
from reroute.storage.unit_of_work import unit_of_work

if TYPE_CHECKING:
    from reroute.jobs import Scheduler

log = logging.getLogger("reroute.delivery")
EXCERPT = 500
#: An endpoint whose exchange lasted this long (or is in flight this long) is slow...
SLOW_AFTER = 1.0
#: ...for this long after: its lane narrows to `slow_width`.
SLOW_MEMORY = 60.0
#: How long the worker lets outcomes gather before recording them together (the next event of
#: a line waits for its head to be recorded).
RECORD_WITHIN = 0.005


@dataclass(frozen=True)
class WorkerSettings:
    schedule: tuple[float, ...] = DEFAULT_SCHEDULE
    lease_seconds: float = 60.0
    #: Requests in flight at once, over all endpoints.
    concurrency: int = 16
    #: Deliveries claimed and not yet finished, over all endpoints.
    batch: int = 64
    poll_seconds: float = 0.5
    connect_timeout: float = 2.0
    #: Longest silence while reading; `deadline` bounds the exchange as a whole.
    read_timeout: float = 15.0
    #: The whole exchange (connect, TLS, send, read) ends by then, however the target trickles.
    deadline: float = 15.0
    #: Bytes of a reply read at most (the first EXCERPT characters are kept).
    reply_bytes: int = 65_536
    #: Requests in flight to one quick endpoint; None: half of `concurrency`, at least one.
    per_endpoint: int | None = None

    @property
    def lane_width(self) -> int:
        if self.per_endpoint is not None:
            return max(1, min(self.per_endpoint, self.concurrency))
        return max(1, self.concurrency // 2)

    @property
    def slow_width(self) -> int:
        """Requests in flight to one slow endpoint."""
        return max(1, min(self.lane_width, self.concurrency // 8))

    def limits(self) -> Limits:
        return Limits(
            deadline=self.deadline,
            connect_timeout=self.connect_timeout,
            read_timeout=self.read_timeout,
            reply_bytes=self.reply_bytes,
            excerpt_chars=EXCERPT,
        )


@dataclass(frozen=True)
class Outcome:
    claimed: Claimed
    status_code: int | None
    duration_ms: int
    error: str | None
    excerpt: str | None
    retry_after: float | None
    refused: bool = False


@dataclass
class _Lane:
    """One endpoint's deliveries in this worker: claimed and waiting (with when their lease
    runs out), and those being sent (with when each started)."""

    waiting: deque[tuple[Claimed, float]] = field(default_factory=deque)
    flying: dict[int, float] = field(default_factory=dict)

    #: When one of its exchanges last lasted SLOW_AFTER or more (time.monotonic()).
    slow_at: float = float("-inf")

    @property
    def outstanding(self) -> int:
        return len(self.waiting) + len(self.flying)

    def slow(self, now: float) -> bool:
        if any(now - started >= SLOW_AFTER for started in self.flying.values()):
            self.slow_at = now
        return now - self.slow_at < SLOW_MEMORY


class DeliveryWorker:
    """`start()` runs it in a thread until `stop()`; `run_once()` is one synchronous round (for
    tests and `drain`). Use one or the other on a worker, not both at once."""

    def __init__(
        self, ctx: Context, settings: WorkerSettings | None = None, jobs: Scheduler | None = None
    ) -> None:
        self.ctx = ctx
        self.settings = settings or WorkerSettings()
        #: The scheduled jobs (idle sweep, scheduled routing) that run beside delivery.
        self.jobs = jobs
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._pool = ThreadPoolExecutor(self.settings.concurrency, thread_name_prefix="deliver")
        self._sender = Sender(
            self.settings.limits(), lambda: ctx.security.allow_private_webhook_targets
        )
        self._thread: threading.Thread | None = None
        # Lanes, what is in them, and outcomes not recorded yet; all under `_lock`.
        self._lock = threading.Condition()
        self._lanes: dict[str, _Lane] = {}
        self._ids: set[int] = set()  # every delivery waiting or flying here
        self._flying = 0
        self._returned: list[Outcome] = []
        #: Something may be claimable: new events, a lane with room, or the poll interval.
        self._news = True
        ctx.wake_listeners.append(self._written)

    # Running ------------------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name="delivery-worker", daemon=True)
        self._thread.start()
        if self.jobs is not None:
            self.jobs.start()

    def stop(self, timeout: float = 20.0) -> None:
        if self.jobs is not None:
            self.jobs.stop(timeout)
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._sender.close()

    def run(self) -> None:
        """Until stopped: record what came back, claim into lanes with room, then sleep until
        something comes back, is written, or the poll interval passes."""
        last_poll = time.monotonic()
        while not self._stop.is_set():
            try:
                with self._lock:
                    returned = bool(self._returned)
                if returned:  # let a few more come back, to record them together
                    self._stop.wait(RECORD_WITHIN)
                self._record_returned()
                if time.monotonic() - last_poll >= self.settings.poll_seconds:
                    last_poll = time.monotonic()
                    self._news = True
                self._refill()
            except Exception:  # a database hiccup must not end deliveries for good
                log.exception("delivery step failed; trying again shortly")
            self._wake.wait(self.settings.poll_seconds)
            self._wake.clear()
        with self._lock:  # what waits is not started; its lease runs out
            for lane in self._lanes.values():
                for claimed, _ in lane.waiting:
                    self._ids.discard(claimed.id)
                lane.waiting.clear()
        try:  # what flies ends by its deadline: record it rather than send it again
            self._settle(self.settings.deadline + 1.0)
        except Exception:
            log.exception("could not record the last deliveries; their leases will run out")

    def run_once(self) -> int:
        """One round: claim, send, wait for every answer, record. Answers how many were
        claimed."""
        self._record_returned()
        self._news = True
        claimed = self._refill()
        self._settle(self.settings.deadline * (1 + self.settings.batch) + 5.0)
        return claimed

    def drain(self, seconds: float = 30.0) -> None:
        """Deliver until nothing is due (for tests and the command line)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and self.run_once():
            pass

    # Claiming -----------------------------------------------------------------------------

    def _written(self) -> None:
        """A commit wrote events: look for them now, not at the next poll."""
        self._news = True
        self._wake.set()

    def _refill(self) -> int:
        """Claim into the lanes with room (if anything may be claimable) and start sending."""
        settings = self.settings
        with self._lock:
            if not self._news:
                return 0
            self._news = False
            now = time.monotonic()
            # A quick endpoint's deliveries are claimed up to a batch ahead, a slow one's no
            # more than it may send at once.
            room = {
                w: max(
                    0,
                    (settings.slow_width if lane.slow(now) else settings.batch) - lane.outstanding,
                )
                for w, lane in self._lanes.items()
            }
            skip = list(self._ids)
        claimed = self._claim(settings.batch, room, skip)
        expires = time.monotonic() + settings.lease_seconds
        with self._lock:
            for one in claimed:
                self._lanes.setdefault(one.webhook_id, _Lane()).waiting.append((one, expires))
                self._ids.add(one.id)
            self._start_locked()
        return len(claimed)

    def _claim(self, limit: int, room: dict[str, int], skip: list[int]) -> list[Claimed]:
        with unit_of_work(self.ctx.db, write=False) as uow:
            if not uow.webhooks.anything_due(uow.now):
                return []
        with unit_of_work(self.ctx.db) as uow:
            lease = uow.now + timedelta(seconds=self.settings.lease_seconds)
            return uow.webhooks.claim(
                uow.now,
                lease,
                limit,
                lane_depth=self.settings.batch,
                room=room,
                skip=skip,
            )

    # Sending ------------------------------------------------------------------------------

    def _start_locked(self) -> None:
        """Hand waiting deliveries to free senders, at most `lane_width` per endpoint (or
        `slow_width`, to a slow one), taking the lanes in turn. One whose lease ran out while it
        waited is left: another worker may have it by now, and it is claimed again when due."""
        settings = self.settings
        while self._flying < settings.concurrency:
            started = False
            for webhook_id, lane in list(self._lanes.items()):
                if self._flying >= settings.concurrency:
                    break
                now = time.monotonic()
                width = settings.slow_width if lane.slow(now) else settings.lane_width
                while lane.waiting and len(lane.flying) < width:
                    claimed, expires = lane.waiting.popleft()
                    now = time.monotonic()
                    if now >= expires:
                        self._ids.discard(claimed.id)
                        continue
                    lane.flying[claimed.id] = now
                    self._flying += 1
                    try:
                        self._pool.submit(self._deliver, claimed)
                    except RuntimeError:  # shutting down: the lease runs out
                        del lane.flying[claimed.id]
                        self._flying -= 1
                        self._ids.discard(claimed.id)
                        return
                    started = True
                    break  # one per lane per turn: lanes share the free senders
                if not lane.outstanding and not lane.slow(now):
                    del self._lanes[webhook_id]  # a slow one is remembered while it is
            if not started:
                return

    def _deliver(self, claimed: Claimed) -> None:
        """In a sender thread: send, hand the outcome back (whatever happened), start the next."""
        try:
            outcome = self._send(claimed)
        except Exception as exc:  # never lose the sender: a bug here is an attempt's error
            log.exception("sending delivery %s failed", claimed.id)
            outcome = Outcome(claimed, None, 0, clean(f"{type(exc).__name__}: {exc}"), None, None)
        with self._lock:
            self._returned.append(outcome)
            self._ids.discard(claimed.id)
            self._flying -= 1
            lane = self._lanes.get(claimed.webhook_id)
            if lane is not None:
                lane.flying.pop(claimed.id, None)
                if outcome.duration_ms >= SLOW_AFTER * 1000:
                    lane.slow_at = time.monotonic()
                if not lane.waiting:
                    self._news = True  # this lane has run dry: claim more of it
            self._start_locked()
            self._lock.notify_all()
        self._wake.set()

    def _send(self, claimed: Claimed) -> Outcome:
        started = time.perf_counter()
        now = utcnow()
        previous = claimed.previous_secret
        until = claimed.previous_until
        if until is None or now >= until:
            previous = None  # the overlap after a rotation is over: only the new secret signs
        headers = signing.headers(claimed.secret, claimed.message_id, now, claimed.body, previous)
        reply = self._sender.post(claimed.url, headers, claimed.body.encode("utf-8"))
        elapsed = int((time.perf_counter() - started) * 1000)
        return Outcome(
            claimed,
            reply.status,
            elapsed,
            reply.error,
            reply.excerpt,
            _seconds(reply.retry_after),
            reply.refused,
        )

    # Recording ----------------------------------------------------------------------------

    def _settle(self, timeout: float) -> None:
        """Wait (at most `timeout` seconds) until nothing waits or flies here, then record."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while self._ids and (left := deadline - time.monotonic()) > 0:
                self._lock.wait(left)
        self._record_returned()

    def _record_returned(self) -> int:
        with self._lock:
            outcomes, self._returned = self._returned, []
        if outcomes:
            self._record(outcomes)
        return len(outcomes)

    def _record(self, outcomes: list[Outcome]) -> None:
        with unit_of_work(self.ctx.db) as uow:
            attempts = []
            gone: list[str] = []
            for outcome in outcomes:
                claimed = outcome.claimed
                verdict = judge(
                    status_code=outcome.status_code,
                    attempts_done=claimed.attempts + 1,
                    now=uow.now,
                    schedule=self.settings.schedule,
                    retry_after=outcome.retry_after,
                    refused=outcome.refused,
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
                    gone.append(claimed.webhook_id)
                    uow.webhooks.set_active(claimed.webhook_id, False, GONE, uow.now)
            uow.webhooks.record_attempts(attempts, uow.now)
            for webhook_id in gone:
                uow.webhooks.fail_pending_of(webhook_id, GONE)


def _seconds(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None
