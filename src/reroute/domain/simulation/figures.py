"""A replay's outcome as the report's figures, and the difference between two rule sets."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from reroute.domain.facilities import Facility
from reroute.domain.orders import ItemState
from reroute.domain.routing.costs import CostModel
from reroute.domain.simulation.replay import Outcome

#: An item the replay left at a facility (or that left it, shipped).
PLACED = frozenset({ItemState.READY, ItemState.IN_PROGRESS, ItemState.PACKED, ItemState.FULFILLED})
#: The figures of a rule set that a difference is taken of, in the report's order.
SCALARS = (
    "items",
    "placed",
    "backorder",
    "customer_care",
    "shipments",
    "split_rate",
    "distance_km",
    "cost",
    "rejections",
    "taken_along",
    "first_attempt_acceptance",
)


def figures(
    name: str, outcome: Outcome, facilities: Sequence[Facility], costs: CostModel
) -> dict[str, Any]:
    states: Counter[ItemState] = Counter()
    shipments: set[tuple[str, str]] = set()
    per_order: Counter[str] = Counter()
    for order in outcome.orders.values():
        for item in order.items:
            states[item.state] += 1
            if item.state in PLACED and item.facility_id is not None:
                key = (order.id, item.facility_id)
                if key not in shipments:
                    shipments.add(key)
                    per_order[order.id] += 1
    placed = sum(n for state, n in states.items() if state in PLACED)
    orders = len(outcome.orders)
    distance = sum(outcome.distance_km.get(key, 0.0) for key in shipments)
    left = outcome.rejections + outcome.taken_along
    return {
        "name": name,
        "items": sum(states.values()),
        "placed": placed,
        "backorder": states[ItemState.BACKORDER],
        "customer_care": states[ItemState.CUSTOMER_CARE],
        "shipments": len(shipments),
        "split_rate": _share(sum(1 for n in per_order.values() if n > 1), orders),
        "distance_km": round(distance, 1),
        "cost": round(len(shipments) * costs.per_shipment + distance * costs.per_km, 2),
        "rejections": outcome.rejections,
        "taken_along": outcome.taken_along,
        "first_attempt_acceptance": _share(outcome.placements - left, outcome.placements, 1.0),
        "facilities": _facilities(outcome, facilities),
    }


def _facilities(outcome: Outcome, facilities: Sequence[Facility]) -> list[dict[str, Any]]:
    """Each facility given anything: its shipments, items, rejections, and its busiest day
    against its daily capacity."""
    given: Counter[str] = Counter()
    busiest: Counter[str] = Counter()
    for (facility_id, _day), n in outcome.shipments_given.items():
        given[facility_id] += n
        busiest[facility_id] = max(busiest[facility_id], n)
    rows: list[dict[str, Any]] = []
    for facility in facilities:
        if not outcome.items_given[facility.id]:
            continue
        capacity = facility.daily_capacity
        rows.append(
            {
                "facility_id": facility.id,
                "name": facility.name,
                "kind": str(facility.kind),
                "shipments": given[facility.id],
                "items": outcome.items_given[facility.id],
                "rejections": outcome.rejected_at[facility.id],
                "daily_capacity": capacity,
                "busiest_day": busiest[facility.id],
                "load": round(busiest[facility.id] / capacity, 4) if capacity else None,
            }
        )
    rows.sort(key=lambda r: (-float(r["load"] or 0.0), -int(r["shipments"]), str(r["facility_id"])))
    return rows


def difference(rule_set: Mapping[str, Any], against: Mapping[str, Any]) -> dict[str, Any]:
    """`rule_set` minus `against`, figure by figure."""
    found: dict[str, Any] = {"rule_set": rule_set["name"], "against": against["name"]}
    for key in SCALARS:
        delta = rule_set[key] - against[key]
        found[key] = round(delta, 4) if isinstance(delta, float) else delta
    return found


def _share(part: int, whole: int, empty: float = 0.0) -> float:
    return round(part / whole, 4) if whole else empty
