"""Settings an admin can change while the service runs (`PATCH /api/v1/settings`)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

#: The highest per-token request limit an admin may set (per minute).
MOST_REQUESTS_PER_MINUTE = 1_000_000
#: The longest idle limit or routing interval an admin may set, in minutes (30 days).
MOST_MINUTES = 43_200
#: The highest cost parameter an admin may set.
MOST_AMOUNT = 1_000_000.0


@dataclass(frozen=True)
class RuntimeSettings:
    #: The deployment's tenant id, sent as `scope.mfgID` in notifications.
    mfg_id: str = "0"
    #: Rejecting one item of a shipment lets only that item leave (off: the whole shipment).
    partial_rejection: bool = True
    #: Route a new order as soon as it is created (off: it waits for a batch run).
    route_on_create: bool = True
    #: Requests each API token (or signed-in user) may send per minute, in each API process;
    #: 0: no limit.
    requests_per_minute_per_token: int = 0
    #: Minutes an item may stay ready at a facility without being started before it is taken
    #: back (IDLE_TIMEOUT) and routed elsewhere; 0: off. A facility may set its own.
    idle_reject_after_minutes: int = 0
    #: Minutes an item may stay in progress without being packed before it is taken back; 0: off.
    idle_pack_after_minutes: int = 0
    #: Minutes between scheduled routing runs over queued and backordered items; 0: off.
    routing_interval_minutes: int = 5
    #: What the `cost` sort key (and the simulation) counts per shipment, per km of distance,
    #: and per re-route a rejection causes, in the retailer's currency.
    routing_cost_per_shipment: float = 8.0
    routing_cost_per_km: float = 0.05
    routing_reroute_penalty: float = 15.0

    def merged(self, overrides: dict[str, Any]) -> RuntimeSettings:
        known = {f.name for f in fields(self)}
        return RuntimeSettings(
            **{**asdict(self), **{k: v for k, v in overrides.items() if k in known}}
        )

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
