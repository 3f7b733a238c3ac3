"""What a placement is expected to cost, for the `cost` sort key and the simulation's report.

A shipment costs its handling plus its distance; each item a store may reject costs, with that
probability, a re-route (the customer waits, another store picks). Parameters are settings.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CostModel:
    per_shipment: float = 8.0
    per_km: float = 0.05
    #: What routing an item again after a store rejects it costs, on top of the new shipment.
    reroute_penalty: float = 15.0

    def shipment(self, distance_km: float | None) -> float:
        return self.per_shipment + self.per_km * (distance_km or 0.0)


DEFAULT_COSTS = CostModel()
