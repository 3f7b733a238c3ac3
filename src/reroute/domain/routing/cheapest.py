"""The cheapest plan of one order by expected cost, for rules that sort by `cost` first.

A plan is a set of at most `limit` facilities that between them can take every line; it costs
each facility's shipment (none where the order has one ready) plus, per line, the expected
re-route cost at the chosen facility that takes it most reliably. One facility that holds
everything is only one such plan: two near stores may cost less than one far warehouse.

The search is exact over the options it keeps, branch and bound: options sorted by shipment
cost, a branch cut once its shipments plus the least re-route cost every line could have reach
the best plan found. Per set of lines an option can take only the `KEEP` cheapest options are
kept, and at most `MAX_NODES` sets are looked at, so an order with many lines and many stores
costs a bounded time; the plan returned is then the best found, never an infeasible one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

#: Options kept per set of lines: the cheapest few that can take exactly that set.
KEEP = 3
#: Sets of facilities looked at before the best found so far is taken.
MAX_NODES = 4000


@dataclass(frozen=True)
class Option:
    """A facility as a part of a plan: what a shipment from it costs, and per line it can take
    (by index) what sending it there is expected to cost in re-routes."""

    facility_id: str
    shipment: float
    lines: dict[int, float]

    @property
    def alone(self) -> float:
        return self.shipment + sum(self.lines.values())


def cheapest(options: Sequence[Option], limit: int) -> dict[int, str] | None:
    """Line index to facility id for the cheapest plan covering every line some option takes;
    None when no `limit` options cover them all."""
    kept = _keep(options)
    if not kept or limit < 1:
        return None
    need = frozenset(n for option in kept for n in option.lines)
    floor = {n: min(o.lines[n] for o in kept if n in o.lines) for n in need}
    least = sum(floor.values())
    best_cost = float("inf")
    best: tuple[Option, ...] = ()
    nodes = 0

    def cost_of(chosen: tuple[Option, ...]) -> float:
        return sum(o.shipment for o in chosen) + sum(
            min(o.lines[n] for o in chosen if n in o.lines) for n in need
        )

    def search(
        start: int, chosen: tuple[Option, ...], shipments: float, left: frozenset[int]
    ) -> None:
        nonlocal best_cost, best, nodes
        if not left:
            cost = cost_of(chosen)
            if cost < best_cost:
                best_cost, best = cost, chosen
        if len(chosen) == limit:
            return
        for n in range(start, len(kept)):
            option = kept[n]
            if shipments + option.shipment + least >= best_cost or nodes >= MAX_NODES:
                return  # sorted by shipment: every later option costs at least as much
            nodes += 1
            search(
                n + 1, (*chosen, option), shipments + option.shipment, left - option.lines.keys()
            )

    search(0, (), 0.0, need)
    if not best:
        return None
    return {
        n: min((o for o in best if n in o.lines), key=lambda o: o.lines[n]).facility_id
        for n in need
    }


def _keep(options: Sequence[Option]) -> list[Option]:
    """The `KEEP` cheapest options per set of lines, by shipment cost (then id)."""
    groups: dict[frozenset[int], list[Option]] = {}
    for option in options:
        if option.lines:
            groups.setdefault(frozenset(option.lines), []).append(option)
    kept = [
        option
        for group in groups.values()
        for option in sorted(group, key=lambda o: (o.alone, o.facility_id))[:KEEP]
    ]
    return sorted(kept, key=lambda o: (o.shipment, o.facility_id))
