"""What every use case needs from its surroundings: the database and the settings' defaults."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from reroute.domain.settings import RuntimeSettings
from reroute.storage.database import Database
from reroute.storage.unit_of_work import UnitOfWork


@dataclass
class Context:
    db: Database
    defaults: RuntimeSettings = field(default_factory=RuntimeSettings)
    #: Called after a commit that wrote something a background worker should look at.
    wake_listeners: list[Callable[[], None]] = field(default_factory=list)
    #: Read-mostly data kept between requests, each entry validated by its owner before use.
    cache: dict[str, Any] = field(default_factory=dict)

    def wake(self) -> None:
        """Something was written for the background workers: tell them now, not at next poll."""
        for listener in self.wake_listeners:
            listener()

    def settings(self, uow: UnitOfWork) -> RuntimeSettings:
        return self.defaults.merged(uow.settings.all())
