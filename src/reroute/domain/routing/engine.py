"""Choosing facilities for one order's queued items (SPEC section 5).

For each inventory rule of the order's routing, in order: one facility that can take every item,
best by the rule's sort; failing that, and only where the rule allows a split and the customer did
not ask for ship-complete, as few facilities as possible (an exact search for two, then greedy),
ties broken by the sort. A rule sorted by `cost` first that may split instead takes the plan of
least expected cost, single or split (`cheapest`). Items of a product a split just placed that no
facility held together get a second pass. What a rule cannot place goes to the next rule, or to
backorder or customer care as the rule says. Every unit chosen is taken off the snapshot at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace

from reroute.domain.facilities import Capability
from reroute.domain.orders import ItemState, ShippingMethod
from reroute.domain.routing.cheapest import Option, cheapest
from reroute.domain.routing.geo import (
    Vector,
    cosine,
    cosine_within,
    km_from_cosine,
    ring_floor_km,
)
from reroute.domain.routing.rules import InventoryRule, RulesDocument, SortKey, Unplaced
from reroute.domain.routing.snapshot import Snapshot, cell_of, wrap_column

#: The capability a facility needs to serve each shipping method.
NEEDED = {
    ShippingMethod.STANDARD: Capability.SHIP,
    ShippingMethod.EXPRESS: Capability.SHIP,
    ShippingMethod.SAME_DAY: Capability.SAME_DAY,
    ShippingMethod.PICKUP: Capability.PICKUP,
}
#: Above this many items the exact two-facility search gives way to the greedy one.
EXACT_SPLIT_LIMIT = 12
#: Candidate pools this small are simply sorted by distance; larger ones are walked on the grid.
NEAR_WALK_THRESHOLD = 24
#: Rings of whole-degree cells walked before looking at every candidate instead.
MAX_RING = 6
#: Margin on the ring's distance floor, for great circles a little shorter than parallels.
RING_SAFETY = 0.95


def _ring_cells(row: int, column: int, ring: int) -> Iterator[tuple[int, int]]:
    """The cells at Chebyshev distance `ring` around (row, column), across the antimeridian."""
    if ring == 0:
        yield row, wrap_column(column)
        return
    for dc in range(-ring, ring + 1):
        yield row - ring, wrap_column(column + dc)
        yield row + ring, wrap_column(column + dc)
    for dr in range(-ring + 1, ring):
        yield row + dr, wrap_column(column - ring)
        yield row + dr, wrap_column(column + ring)


@dataclass(frozen=True)
class Line:
    """A queued item to place."""

    item_id: str
    product_id: str
    quantity: int


@dataclass
class OrderToRoute:
    order_id: str
    method: ShippingMethod
    lines: list[Line]
    vector: Vector | None = None
    latitude: float = 0.0
    longitude: float = 0.0
    catalog_id: str = "0"
    priority: int = 0
    ship_complete: bool = False
    pickup_facility_id: str | None = None
    #: Facilities that already hold a ready shipment of this order (extending it adds no load).
    open_shipments: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Placement:
    line: Line
    facility_id: str
    rule: str
    distance_km: float | None


@dataclass
class OrderPlan:
    order_id: str
    placements: list[Placement] = field(default_factory=list)
    unplaced: list[Line] = field(default_factory=list)
    #: Where unplaced lines go: backorder (wait for stock) or customer_care (needs a person).
    unplaced_state: ItemState = ItemState.BACKORDER
    note: str = ""

    @property
    def facilities(self) -> list[str]:
        return list(dict.fromkeys(p.facility_id for p in self.placements))


def plan_order(order: OrderToRoute, rules: RulesDocument, snapshot: Snapshot) -> OrderPlan:
    plan = OrderPlan(order.order_id)
    routing = rules.routing_for(order.method, order.catalog_id, order.priority)
    if routing is None:
        plan.unplaced = list(order.lines)
        plan.note = "No routing matches this order."
        return plan
    remaining = list(order.lines)
    used = set(order.open_shipments)
    for rule in routing.inventory_rules:
        by_rule: set[str] = set()
        chosen = _Rule(order, rule, snapshot).place(remaining)
        while chosen:
            for line in remaining:
                facility_id = chosen.get(line.item_id)
                if facility_id is None:
                    continue
                snapshot.take(facility_id, line.product_id, line.quantity)
                by_rule.add(facility_id)
                if facility_id not in used:
                    used.add(facility_id)
                    snapshot.load[facility_id] = snapshot.load.get(facility_id, 0) + 1
                plan.placements.append(
                    Placement(line, facility_id, rule.name, _distance(order, snapshot, facility_id))
                )
            placed = [line for line in remaining if line.item_id in chosen]
            remaining = [line for line in remaining if line.item_id not in chosen]
            chosen = _again(order, rule, snapshot, remaining, placed, by_rule, used)
        if not remaining:
            return plan
        if rule.unplaced is Unplaced.BACKORDER:
            plan.note = f"{rule.name}: no eligible facility has stock."
            break
        if rule.unplaced is Unplaced.CUSTOMER_CARE:
            plan.unplaced_state = ItemState.CUSTOMER_CARE
            plan.note = f"{rule.name}: no eligible facility; a person must decide."
            break
    else:
        plan.note = plan.note or "No eligible facility has stock."
    plan.unplaced = remaining
    return plan


def _again(
    order: OrderToRoute,
    rule: InventoryRule,
    snapshot: Snapshot,
    remaining: list[Line],
    placed: list[Line],
    by_rule: set[str],
    used: set[str],
) -> dict[str, str]:
    """A second pass of a splitting rule, for items of a product it has just placed: the split
    reckons each item against a facility's whole ATP, so two items of one product that no
    facility holds together leave the second behind. Now that the first is taken off the
    snapshot, the rest is placed within the shipments the rule has left."""
    left = rule.max_shipments - len(by_rule)
    if (
        not remaining
        or not rule.split
        or order.ship_complete
        or left < 1
        or not {line.product_id for line in placed} & {line.product_id for line in remaining}
    ):
        return {}
    extended = replace(order, open_shipments=frozenset(used))
    return _Rule(extended, replace(rule, max_shipments=left), snapshot).place(remaining)


def _products(lines: Sequence[Line]) -> Iterator[str]:
    return (line.product_id for line in lines)


def _distance(order: OrderToRoute, snapshot: Snapshot, facility_id: str) -> float | None:
    if order.vector is None:
        return None
    return km_from_cosine(cosine(order.vector, snapshot.sites[facility_id].vector))


class _Rule:
    """One inventory rule applied to one order."""

    def __init__(self, order: OrderToRoute, rule: InventoryRule, snapshot: Snapshot) -> None:
        self.order = order
        self.rule = rule
        self.snapshot = snapshot
        limit = rule.facility_filter.max_distance_km
        self.limit = cosine_within(limit) if limit is not None and order.vector else None
        self._near: dict[str, float] = {}

    def place(self, lines: Sequence[Line]) -> dict[str, str]:
        """Item id to facility id, for the lines this rule places."""
        admitted = self._admitted()
        if self.order.method is ShippingMethod.PICKUP:
            pool: set[str] = {self.order.pickup_facility_id or ""} & admitted
        else:
            stocked = sorted((self.snapshot.stocked(ln.product_id) for ln in lines), key=len)
            pool = stocked[0] & admitted
            for other in stocked[1:]:
                pool &= other
        if self._by_cost(lines):
            cheapest_plan = self._cheapest(lines, admitted)
            if cheapest_plan is not None:
                return cheapest_plan
        best = self._best_single(pool, lines)
        if best is not None:
            return {line.item_id: best for line in lines}
        if not self.rule.split or self.order.ship_complete or len(lines) < 2:
            return {}
        return self._split(lines, admitted)

    def _by_cost(self, lines: Sequence[Line]) -> bool:
        """Whether the rule ranks whole plans by expected cost: a split may then beat a single."""
        return (
            self.rule.sort[0] is SortKey.COST
            and self.rule.split
            and not self.order.ship_complete
            and self.order.method is not ShippingMethod.PICKUP
            and len(lines) >= 2
        )

    def _cheapest(self, lines: Sequence[Line], admitted: frozenset[str]) -> dict[str, str] | None:
        """The plan of least expected cost (see `cheapest`), or None to fall back to the fewest
        facilities: when no plan within the rule's shipments covers what can be covered, or
        when items of one product would together ask a facility for more than it has."""
        snapshot = self.snapshot
        acceptance, costs = snapshot.acceptance, snapshot.costs
        per_facility: dict[str, dict[int, float]] = {}
        for n, takers in enumerate(self._takers(lines, admitted)):
            product_id = lines[n].product_id
            for facility_id in takers:
                rate = acceptance.rejection_rate(facility_id, product_id)
                per_facility.setdefault(facility_id, {})[n] = costs.reroute_penalty * rate
        options = [
            Option(facility_id, self._shipment_cost(facility_id), taken)
            for facility_id, taken in per_facility.items()
            if self._open_to_order(facility_id)
        ]
        found = cheapest(options, self.rule.max_shipments)
        if found is None:
            return None
        chosen: dict[str, list[Line]] = {}
        for n, facility_id in found.items():
            chosen.setdefault(facility_id, []).append(lines[n])
        for facility_id, taken in chosen.items():
            if len(self._takes(facility_id, taken)) != len(taken):
                return None
        return {lines[n].item_id: facility_id for n, facility_id in found.items()}

    def _shipment_cost(self, facility_id: str) -> float:
        if facility_id in self.order.open_shipments:
            return 0.0
        distance = km_from_cosine(self._closeness(facility_id)) if self.order.vector else 0.0
        return self.snapshot.costs.shipment(distance)

    def _best_single(self, pool: set[str], lines: Sequence[Line]) -> str | None:
        """The best-sorted facility of `pool` that can take every line.

        When distance sorts first, the grid is walked outwards from the address, ring by ring,
        and the walk stops once no farther ring could hold anything nearer than the best found:
        most orders look at a handful of facilities, not at every one that has the product.
        """
        if self.rule.sort[0] is not SortKey.DISTANCE or self.order.vector is None:
            return self._first_that_takes_all(
                sorted(pool, key=lambda f: self._sort_key(f, lines)), lines
            )
        if len(pool) <= NEAR_WALK_THRESHOLD:
            return self._nearest_that_takes_all(pool, lines)
        order = self.order
        grid = self.snapshot.grid
        row, column = cell_of(order.latitude, order.longitude)
        best: str | None = None
        seen = 0
        for ring in range(MAX_RING + 1):
            if best is not None:
                best_km = km_from_cosine(self._closeness(best))
                if best_km < ring_floor_km(order.latitude, ring) * RING_SAFETY:
                    return best
            members = [
                f
                for cell in _ring_cells(row, column, ring)
                for f in grid.get(cell, ())
                if f in pool
            ]
            seen += len(members)
            found = self._nearest_that_takes_all(members, lines)
            if found is not None and (
                best is None or self._sort_key(found, lines) < self._sort_key(best, lines)
            ):
                best = found
            if seen >= len(pool):
                return best
        # The walk ended before it could prove its best the nearest: look at every candidate.
        return self._nearest_that_takes_all(pool, lines)

    def _nearest_that_takes_all(self, pool: Iterable[str], lines: Sequence[Line]) -> str | None:
        walk = sorted(pool, key=self._closeness, reverse=True)
        best: str | None = None
        best_key: tuple[object, ...] = ()
        for facility_id in walk:
            if best is not None and self._closeness(facility_id) < self._closeness(best):
                break
            if self._takes_all(facility_id, lines):
                key = self._sort_key(facility_id, lines)
                if best is None or key < best_key:
                    best, best_key = facility_id, key
        return best

    def _first_that_takes_all(self, ranked: list[str], lines: Sequence[Line]) -> str | None:
        return next((f for f in ranked if self._takes_all(f, lines)), None)

    def _takes_all(self, facility_id: str, lines: Sequence[Line]) -> bool:
        return self._open_to_order(facility_id) and len(self._takes(facility_id, lines)) == len(
            lines
        )

    # Candidates ---------------------------------------------------------------------------

    def _admitted(self) -> frozenset[str]:
        """Facilities this rule may use for this shipping method at all (kept per snapshot)."""
        memo_key = (self.rule.facility_filter, self.order.method)
        admitted = self.snapshot.memo.get(memo_key)
        if admitted is None:
            needed = NEEDED[self.order.method]
            wanted = self.rule.facility_filter
            admitted = frozenset(
                site.id
                for site in self.snapshot.sites.values()
                if needed in site.capabilities
                and (not wanted.kinds or site.kind in wanted.kinds)
                and site.capabilities.issuperset(wanted.capabilities)
                and (not wanted.facility_ids or site.id in wanted.facility_ids)
            )
            self.snapshot.memo[memo_key] = admitted
        return admitted

    def _closeness(self, facility_id: str) -> float:
        near = self._near.get(facility_id)
        if near is None:
            vector = self.order.vector
            near = cosine(vector, self.snapshot.sites[facility_id].vector) if vector else 1.0
            self._near[facility_id] = near
        return near

    def _open_to_order(self, facility_id: str) -> bool:
        """Within the rule's radius, and under daily capacity unless the order is there already."""
        if self.limit is not None and self._closeness(facility_id) < self.limit:
            return False
        return facility_id in self.order.open_shipments or self.snapshot.has_capacity(facility_id)

    def _sort_key(self, facility_id: str, lines: Sequence[Line]) -> tuple[object, ...]:
        snapshot = self.snapshot
        key: list[object] = []
        for sort in self.rule.sort:
            if sort is SortKey.DISTANCE:
                key.append(-self._closeness(facility_id))
            elif sort is SortKey.ATP:
                key.append(-sum(snapshot.promisable(facility_id, ln.product_id) for ln in lines))
            elif sort is SortKey.SEQUENCE:
                sequence = snapshot.sites[facility_id].sequence
                key.extend((sequence is None, sequence or 0))
            elif sort is SortKey.ACCEPTANCE:
                key.append(-snapshot.acceptance.acceptance(facility_id, _products(lines)))
            else:
                key.append(self._expected_cost(facility_id, lines))
        key.append(facility_id)
        return tuple(key)

    def _expected_cost(self, facility_id: str, lines: Sequence[Line]) -> float:
        """A new shipment's cost (none when the order has one there already) plus each item's
        chance of being rejected times the cost of routing it again."""
        snapshot = self.snapshot
        rejections = snapshot.acceptance.expected_rejections(facility_id, _products(lines))
        return snapshot.costs.reroute_penalty * rejections + self._shipment_cost(facility_id)

    def _takes(self, facility_id: str, lines: Sequence[Line]) -> list[Line]:
        """The lines this facility can take together, in order, within its ATP."""
        snapshot = self.snapshot
        excluded = snapshot.exclusions
        order_id = self.order.order_id
        promised: dict[str, int] = {}
        taken = []
        for line in lines:
            if facility_id in excluded.get((order_id, line.item_id), ()):
                continue
            already = promised.get(line.product_id, 0)
            if snapshot.promisable(facility_id, line.product_id) - already >= line.quantity:
                promised[line.product_id] = already + line.quantity
                taken.append(line)
        return taken

    # Splits -------------------------------------------------------------------------------

    def _split(self, lines: Sequence[Line], admitted: frozenset[str]) -> dict[str, str]:
        """As few facilities as possible: an exact pair if one covers everything, else greedy.

        Facilities are grouped by which lines each could take on its own; only the best-sorted
        facility of each group matters, so few are ever sorted.
        """
        takers = self._takers(lines, admitted)
        masks: dict[str, set[int]] = {}
        for n, facilities in enumerate(takers):
            for facility_id in facilities:
                masks.setdefault(facility_id, set()).add(n)
        groups: dict[frozenset[int], list[str]] = {}
        for facility_id, mask_set in masks.items():
            if self._open_to_order(facility_id):
                groups.setdefault(frozenset(mask_set), []).append(facility_id)
        best_for_mask: dict[frozenset[int], tuple[tuple[object, ...], str]] = {}
        for mask, group in groups.items():
            if self.rule.sort[0] is SortKey.DISTANCE:  # only the nearest can be the best
                nearest = max(map(self._closeness, group))
                group = [f for f in group if self._closeness(f) == nearest]
            key, facility_id = min((self._sort_key(f, lines), f) for f in group)
            best_for_mask[mask] = (key, facility_id)
        if not best_for_mask:
            return {}
        ranked = [f for _, f in sorted(best_for_mask.values())]
        rank = {f: n for n, f in enumerate(ranked)}
        by_mask = {mask: f for mask, (_, f) in best_for_mask.items()}
        everything = frozenset(range(len(lines)))
        if self.rule.max_shipments >= 2 and len(lines) <= EXACT_SPLIT_LIMIT:
            pair = self._best_pair(by_mask, rank, everything)
            if pair is not None:
                return self._assign(lines, list(pair), rank)
            if self.rule.max_shipments >= 3:
                triple = self._best_triple(by_mask, rank, len(lines))
                if triple is not None:
                    return self._assign(lines, list(triple), rank)
        return self._greedy(lines, by_mask, rank)

    def _takers(self, lines: Sequence[Line], admitted: frozenset[str]) -> list[set[str]]:
        """Per line, the admitted facilities that could take it on its own."""
        snapshot = self.snapshot
        takers: list[set[str]] = []
        for line in lines:
            excluded = snapshot.exclusions.get((self.order.order_id, line.item_id), ())
            takers.append(
                {
                    f
                    for f in snapshot.stocked(line.product_id) & admitted
                    if f not in excluded
                    and snapshot.promisable(f, line.product_id) >= line.quantity
                }
            )
        return takers

    @staticmethod
    def _best_pair(
        best_for_mask: dict[frozenset[int], str], rank: dict[str, int], everything: frozenset[int]
    ) -> tuple[str, str] | None:
        masks = sorted(best_for_mask.items(), key=lambda m: rank[m[1]])
        best: tuple[int, int] | None = None
        found: tuple[str, str] | None = None
        for n, (first_mask, first) in enumerate(masks):
            if best is not None and rank[first] > best[0]:
                break
            for second_mask, second in masks[n + 1 :]:
                if first_mask | second_mask == everything:
                    candidate = (rank[first], rank[second])
                    if best is None or candidate < best:
                        best, found = candidate, (first, second)
                    break
        return found

    @staticmethod
    def _best_triple(
        best_for_mask: dict[frozenset[int], str], rank: dict[str, int], size: int
    ) -> tuple[str, ...] | None:
        """Three facilities that hold every line between them, the best-ranked such three; None
        when no three do. Called once no pair does, so three is then the fewest.

        `holding[s]` is the best rank of a facility holding at least the lines of bit set `s`
        (a superset closure over the 2**size sets, size being at most EXACT_SPLIT_LIMIT). A
        facility some better-ranked one outholds is never needed, so only the others are paired;
        the best third for each pair is then one look-up.
        """
        nobody = len(rank)
        holding = [nobody] * (1 << size)
        bits: dict[str, int] = {}
        for mask, facility_id in best_for_mask.items():
            bits[facility_id] = sum(1 << n for n in mask)
            holding[bits[facility_id]] = min(holding[bits[facility_id]], rank[facility_id])
        for n in range(size):
            step = 1 << n
            for s in range(1 << size):
                if not s & step and holding[s | step] < holding[s]:
                    holding[s] = holding[s | step]
        by_rank = {rank[f]: f for f in bits}
        useful = sorted(rank[f] for f, b in bits.items() if holding[b] == rank[f])
        everything = (1 << size) - 1
        best: tuple[int, ...] | None = None
        for n, first in enumerate(useful):
            for second in useful[n + 1 :]:
                third = holding[everything & ~(bits[by_rank[first]] | bits[by_rank[second]])]
                if third != nobody:
                    candidate = tuple(sorted((first, second, third)))
                    if best is None or candidate < best:
                        best = candidate
        return None if best is None else tuple(by_rank[r] for r in best)

    def _greedy(
        self, lines: Sequence[Line], best_for_mask: dict[frozenset[int], str], rank: dict[str, int]
    ) -> dict[str, str]:
        left = frozenset(range(len(lines)))
        chosen: list[str] = []
        while left and len(chosen) < self.rule.max_shipments:
            pick = max(best_for_mask.items(), key=lambda m: (len(m[0] & left), -rank[m[1]]))
            if not pick[0] & left:
                break
            chosen.append(pick[1])
            left = left - pick[0]
        return self._assign(lines, chosen, rank)

    def _assign(
        self, lines: Sequence[Line], facilities: list[str], rank: dict[str, int]
    ) -> dict[str, str]:
        """Each line to the best-ranked chosen facility that can still take it."""
        placed: dict[str, str] = {}
        for facility_id in sorted(facilities, key=lambda f: rank[f]):
            open_lines = [line for line in lines if line.item_id not in placed]
            for line in self._takes(facility_id, open_lines):
                placed[line.item_id] = facility_id
        return placed
