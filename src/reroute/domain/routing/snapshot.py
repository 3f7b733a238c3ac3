"""What routing knows while it decides: facilities as sites, stock, load, exclusions.

A snapshot is loaded for a batch of orders and kept current as the engine plans: every unit the
engine promises is taken off its ATP here at once, so the next order in the batch sees it gone.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

from reroute.domain.blocks import Block
from reroute.domain.facilities import Capability, Facility, FacilityKind
from reroute.domain.routing.acceptance import NO_HISTORY, AcceptanceModel
from reroute.domain.routing.costs import DEFAULT_COSTS, CostModel
from reroute.domain.routing.geo import Vector, unit_vector


@dataclass(frozen=True)
class Site:
    id: str
    kind: FacilityKind
    capabilities: frozenset[Capability]
    vector: Vector
    sequence: int | None
    safety_stock: int
    daily_capacity: int | None
    cell: tuple[int, int]

    @classmethod
    def of(cls, facility: Facility) -> Site:
        return cls(
            id=facility.id,
            kind=facility.kind,
            capabilities=frozenset(facility.capabilities),
            vector=unit_vector(facility.latitude, facility.longitude),
            sequence=facility.sequence,
            safety_stock=facility.safety_stock,
            daily_capacity=facility.daily_capacity,
            cell=cell_of(facility.latitude, facility.longitude),
        )


Key = tuple[str, str]  # (facility id, product id)


def cell_of(latitude: float, longitude: float) -> tuple[int, int]:
    return math.floor(latitude), wrap_column(math.floor(longitude))


def wrap_column(column: int) -> int:
    """Cells of whole degrees of longitude go round the antimeridian: from -180 to 179."""
    return (column + 180) % 360 - 180


@dataclass
class Snapshot:
    """Active facilities and the stock routing may promise, for one batch (or one request)."""

    sites: dict[str, Site]
    #: ATP by (facility, product): what is left to promise, safety stock not yet subtracted.
    atp: dict[Key, int] = field(default_factory=dict)
    #: Shipments each facility was given today, for daily capacity.
    load: dict[str, int] = field(default_factory=dict)
    #: How likely each facility is to reject each product (nobody rejects without history).
    acceptance: AcceptanceModel = NO_HISTORY
    #: Facilities that rejected an item, by (order id, item id): never again for that item.
    exclusions: dict[Key, set[str]] = field(default_factory=dict)
    #: Derived data the engine keeps between orders (which facilities a rule admits at all).
    memo: dict[object, frozenset[str]] = field(default_factory=dict)
    #: What shipments, distance and re-routes cost, for the `cost` sort key.
    costs: CostModel = DEFAULT_COSTS
    #: Blocks and holds in force, by (facility, product): routing does not go there for it.
    blocks: dict[Key, list[Block]] = field(default_factory=dict)
    #: The facilities of `blocks`, by product.
    _blocked: dict[str, set[str]] = field(default_factory=dict)
    #: Facilities that held each product above their safety stock when it was loaded.
    _stocked: dict[str, set[str]] = field(default_factory=dict)
    #: Facilities by grid cell of whole degrees, to look near an address first.
    grid: dict[tuple[int, int], list[str]] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        facilities: Iterable[Facility],
        atp: dict[Key, int] | None = None,
        *,
        load: dict[str, int] | None = None,
        acceptance: AcceptanceModel = NO_HISTORY,
        exclusions: dict[Key, set[str]] | None = None,
        costs: CostModel = DEFAULT_COSTS,
    ) -> Snapshot:
        sites = {f.id: Site.of(f) for f in facilities if f.active}
        snapshot = cls(sites, {}, load or {}, acceptance, exclusions or {}, costs=costs)
        for site in sites.values():
            snapshot.grid.setdefault(site.cell, []).append(site.id)
        snapshot.add_stock(atp or {})
        return snapshot

    def fresh(self) -> Snapshot:
        """A snapshot of the same facilities (sharing what derives from them), with no stock."""
        return Snapshot(self.sites, memo=self.memo, grid=self.grid)

    def add_stock(self, atp: dict[Key, int], blocks: dict[Key, list[Block]] | None = None) -> None:
        """Take in fresh ATP figures (newly loaded products, or rows others changed), with the
        blocks in force on those levels (a level given without blocks has none now)."""
        blocks = blocks or {}
        for key, value in atp.items():
            self.atp[key] = value
            facility_id, product_id = key
            if key in blocks:
                self.blocks[key] = blocks[key]
                self._blocked.setdefault(product_id, set()).add(facility_id)
                continue
            if self.blocks.pop(key, None) is not None:
                self._blocked[product_id].discard(facility_id)
            site = self.sites.get(facility_id)
            if site is not None and value > site.safety_stock:
                self._stocked.setdefault(product_id, set()).add(facility_id)

    def blocked_for(self, product_id: str) -> list[Block]:
        """Blocks and holds that kept routing from a facility holding this product."""
        return [
            b for f in self._blocked.get(product_id, _NONE) for b in self.blocks[(f, product_id)]
        ]

    def stocked(self, product_id: str) -> set[str]:
        """Facilities that held the product above safety stock (some may be short by now)."""
        return self._stocked.get(product_id, _NONE)

    def promisable(self, facility_id: str, product_id: str) -> int:
        site = self.sites.get(facility_id)
        if site is None or (facility_id, product_id) in self.blocks:
            return 0
        return self.atp.get((facility_id, product_id), 0) - site.safety_stock

    def take(self, facility_id: str, product_id: str, quantity: int) -> None:
        self.atp[(facility_id, product_id)] = self.atp.get((facility_id, product_id), 0) - quantity

    def has_capacity(self, facility_id: str) -> bool:
        site = self.sites[facility_id]
        return site.daily_capacity is None or self.load.get(facility_id, 0) < site.daily_capacity


_NONE: set[str] = set()
