"""What every use case needs from its surroundings: the database and the settings' defaults."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from reroute.domain.settings import RuntimeSettings
from reroute.services.reference import reference
from reroute.storage.database import Database
from reroute.storage.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class Security:
    """Limits and policies fixed at start (from `REROUTE_*`), read by adapters and services."""

    #: Let webhook endpoints target loopback, private, link-local and metadata addresses.
    allow_private_webhook_targets: bool = False
    #: Request bodies larger than this are refused with 413 before they are read.
    max_body_bytes: int = 1_048_576
    #: How long an `Idempotency-Key` is remembered.
    idempotency_ttl_hours: float = 24.0
    #: Proxy headers trusted to say the request came over https (e.g. "x-forwarded-proto").
    trusted_proxy_headers: tuple[str, ...] = ()
    #: Password hashes computed at once in this process; more sign-ins wait, then get 429.
    max_parallel_hashes: int = 4


@dataclass
class Context:
    db: Database
    defaults: RuntimeSettings = field(default_factory=RuntimeSettings)
    security: Security = field(default_factory=Security)
    #: Called after a commit that wrote something a background worker should look at.
    wake_listeners: list[Callable[[], None]] = field(default_factory=list)
    #: Read-mostly data kept between requests, each entry validated by its owner before use.
    cache: dict[str, Any] = field(default_factory=dict)

    def wake(self) -> None:
        """Something was written for the background workers: tell them now, not at next poll."""
        for listener in self.wake_listeners:
            listener()

    def settings(self, uow: UnitOfWork) -> RuntimeSettings:
        """The defaults with what an admin changed, from the checked copy (`services.reference`)."""
        return reference(self, uow).settings
