"""Near-static data (settings, reasons, routing rules, webhook subscribers, facilities, the
products notifications name) kept in
memory by each process and trusted only after one read of `reference_version`, which database
triggers move on every change to that data, from any process.

The read happens inside the caller's transaction, once per transaction: a transaction sees the
data as of its own check, on PostgreSQL as on SQLite. A copy loaded by a transaction is shared
with other threads only after that transaction commits, so a copy that saw uncommitted changes
is never taken for the committed state of its version.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property, partial
from typing import TYPE_CHECKING, Any

from reroute.domain.facilities import Facility, Product
from reroute.domain.reasons import Reason
from reroute.domain.routing.rules import RulesDocument, default_rules, parse_rules
from reroute.domain.routing.snapshot import Snapshot
from reroute.domain.settings import RuntimeSettings
from reroute.storage.database import writes_sent
from reroute.storage.unit_of_work import UnitOfWork

if TYPE_CHECKING:
    from reroute.services.context import Context

#: Where the process keeps the latest committed copy (`Context.cache`).
CACHE_KEY = "reference"
#: Where a transaction keeps the copy it checked (an attribute of its `UnitOfWork`).
CHECKED = "_reference"
#: Where a transaction keeps the version it read, with the write count it was read at.
VERSION = "_reference_version"


@dataclass(frozen=True)
class Facilities:
    by_id: Mapping[str, Facility]
    #: Routing's view of the active ones (sites, grid); copy with `.fresh()` before use.
    sites: Snapshot


@dataclass(frozen=True)
class Reference:
    """One consistent copy of the near-static data. Shared between threads: read only."""

    #: The `reference_version` it was loaded at; None when the row was missing (not cached).
    version: int | None
    settings: RuntimeSettings
    #: Every reason, active or not, in list order (sequence, then id).
    reasons: tuple[Reason, ...]
    #: The routing rules document as saved, or None when the defaults apply.
    saved_rules: Mapping[str, Any] | None
    #: Webhooks not deleted and the event types each wants, as `OutboxRepository.append` takes.
    subscribers: list[tuple[str, list[str]]]
    facilities: Facilities
    #: Products as notifications name them, filled on first use (not the whole catalogue).
    products: dict[str, Product] = field(default_factory=dict, repr=False)
    reasons_by_id: Mapping[str, Reason] = field(init=False)
    _subscribers_by_event: Mapping[str, tuple[str, ...]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        by_event: defaultdict[str, list[str]] = defaultdict(list)
        for webhook_id, event_types in self.subscribers:
            for event_type in event_types:
                by_event[event_type].append(webhook_id)
        object.__setattr__(self, "reasons_by_id", {r.id: r for r in self.reasons})
        object.__setattr__(
            self, "_subscribers_by_event", {k: tuple(v) for k, v in by_event.items()}
        )

    @cached_property
    def rules(self) -> RulesDocument:
        """The document in force, parsed on first use (a broken one fails routing only)."""
        if self.saved_rules is None:
            return default_rules()
        return parse_rules(dict(self.saved_rules))

    def products_of(self, uow: UnitOfWork, ids: Iterable[str]) -> dict[str, Product]:
        """These products, read from the database only the first time this copy meets them.
        Products are data of this version like the rest: a change to one moves the version."""
        wanted = set(ids)
        missing = [i for i in wanted if i not in self.products]
        if missing:
            # Assignments of whole entries: threads sharing this copy see one or the other.
            self.products.update(uow.products.get_many(missing))
        return {i: self.products[i] for i in wanted if i in self.products}

    def reason(self, reason_id: str) -> Reason | None:
        return self.reasons_by_id.get(reason_id)

    def subscribers_of(self, event_type: str) -> tuple[str, ...]:
        """Ids of the webhooks that want this event type."""
        return self._subscribers_by_event.get(str(event_type), ())


def current_version(uow: UnitOfWork) -> int | None:
    """This transaction's `reference_version`, read once and read again only after the
    transaction sent a write (which may have moved it: the triggers run in the transaction)."""
    known: tuple[int | None, int] | None = getattr(uow, VERSION, None)
    writes = writes_sent(uow.conn)
    if known is not None and known[1] == writes:
        return known[0]
    version = uow.settings.reference_version()
    setattr(uow, VERSION, (version, writes))
    return version


def reference(ctx: Context, uow: UnitOfWork) -> Reference:
    """The near-static data as this transaction sees it: the process's copy when the version
    still matches (one statement, once per transaction), else loaded again.

    A transaction that changes this data after its first call here keeps the copy it checked."""
    checked: Reference | None = getattr(uow, CHECKED, None)
    if checked is not None:
        return checked
    version = current_version(uow)
    current: Reference | None = ctx.cache.get(CACHE_KEY)
    if current is None or version is None or current.version != version:
        current = _load(ctx, uow, version)
        if version is not None:
            uow.after_commit.append(partial(_publish, ctx, current))
    setattr(uow, CHECKED, current)
    return current


def _publish(ctx: Context, loaded: Reference) -> None:
    ctx.cache[CACHE_KEY] = loaded


def _load(ctx: Context, uow: UnitOfWork, version: int | None) -> Reference:
    listed = uow.facilities.list()
    return Reference(
        version=version,
        settings=ctx.defaults.merged(uow.settings.all()),
        reasons=tuple(uow.rejections.reasons()),
        saved_rules=uow.routing.rules(),
        subscribers=uow.outbox.subscribers(),
        facilities=Facilities({f.id: f for f in listed}, Snapshot.build(listed)),
    )
