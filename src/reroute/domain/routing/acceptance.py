"""How likely a facility is to reject a product it is given, learned from what it did.

Few stores reject a given product often enough for its own rate to mean much, so the rate of
each (facility, product) is smoothed toward the facility's rate, and the facility's toward the
whole chain's: each level counts as a number of pseudo-assignments at the level above's rate
(an empirical-Bayes beta prior). A product the facility was never given takes the facility's
rate; a facility never given anything takes the chain's.

The same model serves live routing (the `acceptance` and `cost` sort keys) and the simulation,
where rates may also be given outright (`fixed`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

#: Pseudo-assignments at the chain's rate that a facility's own record is weighed against.
FACILITY_PRIOR = 20.0
#: Pseudo-assignments at the facility's rate that a product's own record there is weighed against.
PRODUCT_PRIOR = 5.0


@dataclass
class Tally:
    """Items given and items rejected (by the store itself: a cascade's take-backs are not
    the store's choice)."""

    assigned: int = 0
    rejected: int = 0

    def add(self, assigned: int, rejected: int) -> None:
        self.assigned += assigned
        self.rejected += rejected


@dataclass
class AcceptanceCounts:
    """What a model is learned from: tallies per facility and per (facility, product)."""

    facilities: dict[str, Tally] = field(default_factory=dict)
    pairs: dict[tuple[str, str], Tally] = field(default_factory=dict)

    def add(self, facility_id: str, product_id: str, assigned: int, rejected: int) -> None:
        self.facilities.setdefault(facility_id, Tally()).add(assigned, rejected)
        self.pairs.setdefault((facility_id, product_id), Tally()).add(assigned, rejected)

    def add_facility(self, facility_id: str, assigned: int, rejected: int) -> None:
        """A facility's own totals, where no product breakdown is kept for all of them."""
        self.facilities.setdefault(facility_id, Tally()).add(assigned, rejected)


def _smoothed(tally: Tally, prior_rate: float, weight: float) -> float:
    return (tally.rejected + weight * prior_rate) / (tally.assigned + weight)


class AcceptanceModel:
    """Rejection probability by facility and product; 0 everywhere when it knows nothing."""

    def __init__(
        self,
        chain: float = 0.0,
        facilities: Mapping[str, float] | None = None,
        pairs: Mapping[tuple[str, str], float] | None = None,
    ) -> None:
        self.chain = chain
        self.facilities = dict(facilities or {})
        self.pairs = dict(pairs or {})

    @classmethod
    def learned(cls, counts: AcceptanceCounts) -> AcceptanceModel:
        assigned = sum(t.assigned for t in counts.facilities.values())
        rejected = sum(t.rejected for t in counts.facilities.values())
        chain = rejected / assigned if assigned else 0.0
        facilities = {f: _smoothed(t, chain, FACILITY_PRIOR) for f, t in counts.facilities.items()}
        pairs = {
            key: _smoothed(t, facilities.get(key[0], chain), PRODUCT_PRIOR)
            for key, t in counts.pairs.items()
        }
        return cls(chain, facilities, pairs)

    @classmethod
    def fixed(
        cls, rates: Iterable[tuple[str, str | None, float]], chain: float = 0.0
    ) -> AcceptanceModel:
        """Rates given outright: (facility, product or None for all its products, rate)."""
        facilities: dict[str, float] = {}
        pairs: dict[tuple[str, str], float] = {}
        for facility_id, product_id, rate in rates:
            if product_id:
                pairs[(facility_id, product_id)] = rate
            else:
                facilities[facility_id] = rate
        return cls(chain, facilities, pairs)

    @property
    def empty(self) -> bool:
        return not (self.chain or self.facilities or self.pairs)

    def rejection_rate(self, facility_id: str, product_id: str) -> float:
        rate = self.pairs.get((facility_id, product_id))
        if rate is None:
            rate = self.facilities.get(facility_id, self.chain)
        return rate

    def acceptance(self, facility_id: str, product_ids: Iterable[str]) -> float:
        """The chance the facility takes every one of these items."""
        chance = 1.0
        for product_id in product_ids:
            chance *= 1.0 - self.rejection_rate(facility_id, product_id)
        return chance

    def expected_rejections(self, facility_id: str, product_ids: Iterable[str]) -> float:
        """How many of these items the facility is expected to reject (each is routed again)."""
        return sum(self.rejection_rate(facility_id, p) for p in product_ids)


#: The model of a retailer without history: nobody rejects anything.
NO_HISTORY = AcceptanceModel()
