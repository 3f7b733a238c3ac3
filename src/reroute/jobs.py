"""Scheduled jobs the worker runs beside webhook delivery: the idle sweep (every minute, when
an idle limit is set) and scheduled routing (every `routing_interval_minutes`). Each run is
claimed in the database first (`job_runs`), so that however many worker processes run on one
database, one runs a job at a time and no run comes sooner than its interval."""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import partial

from reroute.domain.access import SYSTEM
from reroute.services import idle, routing_batch
from reroute.services.context import Context
from reroute.storage.unit_of_work import UnitOfWork, transact, unit_of_work

log = logging.getLogger("reroute.jobs")
#: How often the scheduler looks whether a job is due.
TICK_SECONDS = 15.0
IDLE_SWEEP, ROUTING = "idle_sweep", "routing"
SWEEP_EVERY = timedelta(minutes=1)
#: A holder that died mid-run gives the job up after this long.
LEASE = timedelta(minutes=30)


@dataclass(frozen=True)
class Ran:
    job: str
    summary: str


class Scheduler:
    """`tick()` runs what is due now (tests call it, moving the database's clock);
    `start()` ticks in a thread until `stop()`."""

    def __init__(self, ctx: Context, holder: str | None = None) -> None:
        self.ctx = ctx
        self.holder = holder or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def tick(self) -> list[Ran]:
        """Each job that is due and free, run once by this holder."""
        with unit_of_work(self.ctx.db, write=False) as uow:
            settings = self.ctx.settings(uow)
            ready, pack = idle.limits(self.ctx, uow)
        due: list[tuple[str, timedelta, Callable[[], str]]] = []
        if ready or pack is not None:
            due.append((IDLE_SWEEP, SWEEP_EVERY, self._sweep))
        if settings.routing_interval_minutes > 0:
            every = timedelta(minutes=settings.routing_interval_minutes)
            due.append((ROUTING, every, self._route))
        ran = []
        for name, every, run in due:
            if not transact(self.ctx.db, partial(self._claim, name=name, every=every)):
                continue
            try:
                ran.append(Ran(name, run()))
            except Exception:
                log.exception("scheduled job %s failed; it runs again when next due", name)
            finally:
                transact(self.ctx.db, partial(self._release, name=name))
        return ran

    def _claim(self, uow: UnitOfWork, *, name: str, every: timedelta) -> bool:
        return uow.jobs.claim(name, self.holder, uow.now, every, LEASE)

    def _release(self, uow: UnitOfWork, *, name: str) -> None:
        uow.jobs.release(name, self.holder, uow.now)

    def _sweep(self) -> str:
        done = idle.sweep(self.ctx)
        if done.taken_back:
            log.info(
                "idle sweep took back %d item(s) of %d shipment(s)",
                done.taken_back,
                done.shipments,
            )
        return f"{done.taken_back} taken back of {done.found} found idle"

    def _route(self) -> str:
        result = routing_batch.run_batch(self.ctx, SYSTEM)
        return f"{result.orders} order(s) routed"

    # Running ------------------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="scheduler", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.tick()
            except Exception:  # a database hiccup must not end the schedule for good
                log.exception("scheduler tick failed; trying again shortly")
            self._stop.wait(TICK_SECONDS)
