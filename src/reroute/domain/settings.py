"""Settings an admin can change while the service runs (`PATCH /api/v1/settings`)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any


@dataclass(frozen=True)
class RuntimeSettings:
    #: The deployment's tenant id, sent as `scope.mfgID` in notifications.
    mfg_id: str = "0"
    #: Rejecting one item of a shipment lets only that item leave (off: the whole shipment).
    partial_rejection: bool = True
    #: Route a new order as soon as it is created (off: it waits for a batch run).
    route_on_create: bool = True

    def merged(self, overrides: dict[str, Any]) -> RuntimeSettings:
        known = {f.name for f in fields(self)}
        return RuntimeSettings(
            **{**asdict(self), **{k: v for k, v in overrides.items() if k in known}}
        )

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
