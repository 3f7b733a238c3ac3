"""A batch run of routing: every queued and backordered item, a chunk of orders per
transaction, with one stock view carried from chunk to chunk."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from reroute.domain.access import Principal, Role
from reroute.domain.routing.rules import RulesDocument
from reroute.domain.routing.snapshot import Snapshot
from reroute.services.context import Context
from reroute.services.facility_cache import facilities
from reroute.services.reference import reference
from reroute.services.routing import Routed, claim_orders, route_orders
from reroute.services.stock_view import StockView
from reroute.storage.unit_of_work import UnitOfWork, transact, unit_of_work


@dataclass
class BatchResult:
    orders: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0


def run_batch(
    ctx: Context,
    actor: Principal,
    *,
    chunk: int = 1000,
    progress: Callable[[int, int], None] | None = None,
) -> BatchResult:
    """Route every queued and backordered item, a chunk of orders per transaction.

    Memory stays bounded by the chunk, however long the queue. `progress(done, total)` counts
    items. Orders whose stock a concurrent writer took stay queued for the next run.
    """
    actor.require_role(Role.ADMIN, Role.INTEGRATION)
    started = time.perf_counter()
    result = BatchResult()
    with unit_of_work(ctx.db, write=False) as uow:
        total = uow.routing.count_queued()
        rules = reference(ctx, uow).rules
        sites = facilities(ctx, uow).sites
    queue = _Queue(ctx, actor, rules, sites, chunk)
    done = 0
    after: str | None = None
    while True:
        ids, routed = queue.route_after(after)
        if not ids:
            break
        after = ids[-1]
        result.orders += len(ids)
        result.outcomes.update(str(r.state) for r in routed)
        done += len(routed)
        if progress is not None:
            progress(done, total)
    result.seconds = time.perf_counter() - started
    return result


class _Queue:
    """The routing queue taken a chunk at a time, each chunk in its own transaction."""

    def __init__(
        self, ctx: Context, actor: Principal, rules: RulesDocument, sites: Snapshot, size: int
    ) -> None:
        self.ctx, self.actor, self.rules, self.sites, self.size = ctx, actor, rules, sites, size
        self.stock = StockView(sites)
        #: Whether the stock view holds only what committed transactions did.
        self.settled = True

    def route_after(self, after: str | None) -> tuple[list[str], list[Routed]]:
        """The next chunk of queued orders after `after`, routed and committed."""
        routed = transact(self.ctx.db, lambda uow: self._route(uow, after))
        self.settled = True
        return routed

    def _route(self, uow: UnitOfWork, after: str | None) -> tuple[list[str], list[Routed]]:
        if not self.settled:
            # PostgreSQL chose the attempt before as a deadlock victim (concurrent writers lock
            # rows too): what it took off the snapshot never happened, so start from a fresh view.
            self.stock = StockView(self.sites)
        self.settled = False
        ids = uow.routing.queued_orders(after, self.size)
        if not ids:
            return ids, []
        orders = claim_orders(uow, ids)
        routed = route_orders(
            self.ctx, uow, orders, actor=self.actor.id, rules=self.rules, stock=self.stock
        )
        return ids, routed
