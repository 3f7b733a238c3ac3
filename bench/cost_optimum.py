"""The `cost` sort key against the offline optimum of expected cost (issue 14).

    python bench/cost_optimum.py [--quick] [--orders 300] [--facilities 20] [--products 40]
                                 [--seed 1] [--seconds 60] [--supply ample,4,2,1.1]

The instance: facilities and orders from `routing_quality.make_instance` (a region about 600 km
across, one unit per line), with known rejection rates: a fifth of the facilities (seeded) reject
30 % of what they get, the others 2 %. Each product keeps the facilities `make_instance` stocked
it at. How much they hold is the `--supply` of each row: `ample`, every one of them holds all the
units the orders ask for, so that no order takes stock another would have wanted; a number,
those facilities share between them that many times the units asked for (rounded up, split in
proportion to the units `make_instance` gave each), so that orders compete for it. The table says
how many lines could not have their nearest facility, had every line gone there.

The expected cost of a plan, the same for every plan: per shipment (order, facility) the
shipment's cost (`CostModel.shipment` of the great-circle distance, as the engine reckons it),
plus per line placed the re-route penalty times the facility's rejection rate, plus
`UNPLACED_COST` per line left unplaced.

Three plans:

- the `cost` sort: `plan_order` over the orders one by one in id order, on one snapshot, with one
  inventory rule sorted by `cost` that may split into at most three shipments;
- one order at a time, each at its cheapest: the same order of decisions, but each order given
  the cheapest assignment the remaining stock allows (a small exact program per order). What the
  engine loses to it is its own choice within an order; what this loses to the optimum is not
  knowing the orders still to come, which no router that places an order when it arrives has;
- the offline optimum: every order known at once, a mixed-integer program solved with HiGHS
  (scipy.optimize.milp), at most three shipments an order like the rule. The solver's dual bound
  and relative gap are printed: the cost sort is never closer to the true optimum than to the bound.
"""

from __future__ import annotations

import argparse
import math
import random
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from rich.table import Table
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import coo_matrix

sys.path.insert(0, str(Path(__file__).resolve().parent))

from compare import Figure, at_most, console, setting, table
from reroute.domain.routing.acceptance import AcceptanceModel
from reroute.domain.routing.costs import CostModel
from reroute.domain.routing.engine import Line, plan_order
from reroute.domain.routing.geo import cosine, km_from_cosine, unit_vector
from reroute.domain.routing.rules import (
    InventoryRule,
    OrderFilter,
    Routing,
    RulesDocument,
    SortKey,
    Unplaced,
)
from reroute.domain.routing.snapshot import Snapshot
from routing_quality import Instance, make_instance, to_route

BAD_SHARE, BAD_RATE, GOOD_RATE = 0.2, 0.3, 0.02
#: Units in stock per unit asked for, per product, over all facilities that hold it; None:
#: every facility that holds the product holds all the units asked for.
SUPPLIES: tuple[float | None, ...] = (None, 4.0, 2.0, 1.1)
#: What a line left unplaced costs: more than any shipment in the region plus its re-route.
UNPLACED_COST = 200.0
MAX_SHIPMENTS = 3
TARGET_GAP = 0.03

#: Per order, the facility of each line in order (None: unplaced).
Plan = dict[str, list[str | None]]


@dataclass
class Problem:
    """An instance with what decides its cost: rates, cost settings, distances."""

    instance: Instance
    rates: dict[str, float]
    costs: CostModel
    #: (order id, facility id) -> km, as the engine computes it from unit vectors.
    km: dict[tuple[str, str], float]

    @property
    def lines(self) -> int:
        return sum(len(lines) for *_, lines in self.instance.orders)

    def shipment(self, order_id: str, facility_id: str) -> float:
        return self.costs.shipment(self.km[(order_id, facility_id)])

    def placed(self, facility_id: str) -> float:
        return self.costs.reroute_penalty * self.rates[facility_id]


@dataclass
class Solution:
    plan: Plan
    objective: float
    bound: float | None
    mip_gap: float | None
    message: str


def make_problem(
    orders: int, facilities: int, products: int, seed: int, supply: float | None = None
) -> Problem:
    instance = make_instance(orders, facilities, products, seed)
    instance.stock = competed_stock(instance, supply)
    ids = [f.id for f in instance.facilities]
    bad = set(random.Random(seed).sample(ids, round(len(ids) * BAD_SHARE)))
    rates = {f: BAD_RATE if f in bad else GOOD_RATE for f in ids}
    vectors = {f.id: unit_vector(f.latitude, f.longitude) for f in instance.facilities}
    km = {
        (order_id, f): km_from_cosine(cosine(unit_vector(lat, lon), vector))
        for order_id, lat, lon, _ in instance.orders
        for f, vector in vectors.items()
    }
    return Problem(instance, rates, CostModel(), km)


def competed_stock(instance: Instance, supply: float | None) -> dict[tuple[str, str], int]:
    """`supply` times the demand per product, shared by the facilities that held it (None:
    each of them holds the whole demand)."""
    demand = Counter(line.product_id for *_, lines in instance.orders for line in lines)
    holders: dict[str, list[tuple[str, int]]] = {}
    for (facility_id, product_id), units in sorted(instance.stock.items()):
        holders.setdefault(product_id, []).append((facility_id, units))
    stock: dict[tuple[str, str], int] = {}
    for product_id, asked in demand.items():
        held = holders.get(product_id, [])
        if not held:
            continue
        if supply is None:
            stock.update({(f, product_id): asked for f, _ in held})
            continue
        units_in_all = math.ceil(asked * supply)
        weight = sum(units for _, units in held)
        shares = [(f, units_in_all * units / weight) for f, units in held]
        given = {f: math.floor(share) for f, share in shares}
        # Largest remainders take the units rounding down left over.
        left = units_in_all - sum(given.values())
        for f, _ in sorted(shares, key=lambda s: (math.floor(s[1]) - s[1], s[0]))[:left]:
            given[f] += 1
        stock.update({(f, product_id): units for f, units in given.items() if units})
    return stock


def contended(problem: Problem) -> int:
    """Lines that could not have their nearest holding facility, had every line gone there."""
    wanted: Counter[tuple[str, str]] = Counter()
    for order_id, _, _, lines in problem.instance.orders:
        for line in lines:
            having = [f for (f, p) in problem.instance.stock if p == line.product_id]
            if having:
                nearest = min(having, key=lambda f: (problem.km[(order_id, f)], f))
                wanted[(nearest, line.product_id)] += line.quantity
    return sum(max(0, n - problem.instance.stock[key]) for key, n in wanted.items())


def expected_cost(problem: Problem, plan: Plan) -> float:
    total = 0.0
    for order_id, facilities in plan.items():
        for facility_id in set(facilities) - {None}:
            assert facility_id is not None
            total += problem.shipment(order_id, facility_id)
        for facility_id in facilities:
            total += UNPLACED_COST if facility_id is None else problem.placed(facility_id)
    return total


def breakdown(problem: Problem, plan: Plan) -> dict[str, float]:
    """Where a plan's expected cost goes."""
    shipments = [(o, f) for o, fs in plan.items() for f in set(fs) if f is not None]
    placed = [f for fs in plan.values() for f in fs if f is not None]
    unplaced = sum(1 for fs in plan.values() for f in fs if f is None)
    return {
        "shipments": len(shipments),
        "split orders": sum(1 for fs in plan.values() if len(set(fs) - {None}) > 1),
        "shipping cost": sum(problem.shipment(o, f) for o, f in shipments),
        "km": sum(problem.km[key] for key in shipments),
        "expected rejections": sum(problem.rates[f] for f in placed),
        "re-route cost": sum(problem.placed(f) for f in placed),
        "unplaced": unplaced,
        "unplaced cost": unplaced * UNPLACED_COST,
    }


# The cost sort ------------------------------------------------------------------------------


def cost_rules() -> RulesDocument:
    return RulesDocument(
        routings=(
            Routing(
                "Lowest expected cost",
                OrderFilter(),
                (
                    InventoryRule(
                        "Lowest expected cost",
                        split=True,
                        max_shipments=MAX_SHIPMENTS,
                        sort=(SortKey.COST,),
                        unplaced=Unplaced.BACKORDER,
                    ),
                ),
            ),
        )
    )


def engine_plan(problem: Problem) -> Plan:
    instance = problem.instance
    acceptance = AcceptanceModel.fixed([(f, None, rate) for f, rate in problem.rates.items()])
    snapshot = Snapshot.build(
        instance.facilities, dict(instance.stock), acceptance=acceptance, costs=problem.costs
    )
    rules = cost_rules()
    plan: Plan = {}
    for order_id, lat, lon, lines in sorted(instance.orders, key=lambda o: o[0]):
        order = to_route(order_id, lat, lon, lines)
        placed = {
            p.line.item_id: p.facility_id for p in plan_order(order, rules, snapshot).placements
        }
        plan[order_id] = [placed.get(line.item_id) for line in lines]
    return plan


# The programs -------------------------------------------------------------------------------


def solve(
    problem: Problem,
    orders: list[tuple[str, float, float, list[Line]]],
    stock: dict[tuple[str, str], int],
    seconds: float,
) -> Solution:
    """The least expected cost of these orders from this stock, as a mixed-integer program.

    Variables: x[o,l,f] line l of order o at facility f (only where f holds its product),
    y[o,f] a shipment of o from f, u[o,l] line l unplaced; all binary.
    """
    holders: dict[str, list[str]] = {}
    for (facility_id, product_id), units in sorted(stock.items()):
        if units > 0:
            holders.setdefault(product_id, []).append(facility_id)
    x_keys: list[tuple[int, int, str]] = []
    y_index: dict[tuple[int, str], int] = {}
    u_keys: list[tuple[int, int]] = []
    for o, (_, _, _, lines) in enumerate(orders):
        for i, line in enumerate(lines):
            u_keys.append((o, i))
            for facility_id in holders.get(line.product_id, []):
                x_keys.append((o, i, facility_id))
                y_index.setdefault((o, facility_id), len(y_index))
    nx, ny, nu = len(x_keys), len(y_index), len(u_keys)
    cost = np.zeros(nx + ny + nu)
    for n, (_, _, facility_id) in enumerate(x_keys):
        cost[n] = problem.placed(facility_id)
    for (o, facility_id), n in y_index.items():
        cost[nx + n] = problem.shipment(orders[o][0], facility_id)
    cost[nx + ny :] = UNPLACED_COST
    rows: list[int] = []
    cols: list[int] = []
    vals: list[float] = []
    lower: list[float] = []
    upper: list[float] = []

    def row(entries: list[tuple[int, float]], low: float, high: float) -> None:
        number = len(lower)
        for column, value in entries:
            rows.append(number)
            cols.append(column)
            vals.append(value)
        lower.append(low)
        upper.append(high)

    # Each line placed once or unplaced.
    at_line: dict[tuple[int, int], list[tuple[int, float]]] = {}
    for n, (o, i, _) in enumerate(x_keys):
        at_line.setdefault((o, i), []).append((n, 1.0))
    for n, key in enumerate(u_keys):
        row([*at_line.get(key, []), (nx + ny + n, 1.0)], 1.0, 1.0)
    # Stock, in units.
    at_stock: dict[tuple[str, str], list[tuple[int, float]]] = {}
    for n, (o, i, facility_id) in enumerate(x_keys):
        line = orders[o][3][i]
        at_stock.setdefault((facility_id, line.product_id), []).append((n, line.quantity))
    for key, entries in at_stock.items():
        row(entries, 0.0, float(stock[key]))
    # A line at a facility needs the order's shipment there.
    for n, (o, _, facility_id) in enumerate(x_keys):
        row([(n, 1.0), (nx + y_index[(o, facility_id)], -1.0)], -np.inf, 0.0)
    # At most as many shipments as the rule allows.
    per_order: dict[int, list[tuple[int, float]]] = {}
    for (o, _), n in y_index.items():
        per_order.setdefault(o, []).append((nx + n, 1.0))
    for entries in per_order.values():
        if len(entries) > MAX_SHIPMENTS:
            row(entries, 0.0, float(MAX_SHIPMENTS))
    width = nx + ny + nu
    matrix = coo_matrix((vals, (rows, cols)), shape=(len(lower), width)).tocsr()
    result = milp(
        cost,
        constraints=LinearConstraint(matrix, lower, upper),
        integrality=np.ones(width),
        bounds=Bounds(0, 1),
        options={"time_limit": seconds, "mip_rel_gap": 1e-6},
    )
    if result.x is None:
        raise SystemExit(f"The solver found no solution: {result.message}")
    plan: Plan = {order_id: [None] * len(lines) for order_id, _, _, lines in orders}
    for n, (o, i, facility_id) in enumerate(x_keys):
        if result.x[n] > 0.5:
            plan[orders[o][0]][i] = facility_id
    bound = getattr(result, "mip_dual_bound", None)
    gap = getattr(result, "mip_gap", None)
    return Solution(
        plan,
        float(result.fun),
        None if bound is None else float(bound),
        None if gap is None else float(gap),
        str(result.message),
    )


def one_at_a_time(problem: Problem, seconds: float) -> Plan:
    """Each order in id order at its cheapest from the stock the earlier ones left."""
    left = dict(problem.instance.stock)
    plan: Plan = {}
    for order in sorted(problem.instance.orders, key=lambda o: o[0]):
        found = solve(problem, [order], left, seconds).plan[order[0]]
        for line, facility_id in zip(order[3], found, strict=True):
            if facility_id is not None:
                left[(facility_id, line.product_id)] -= line.quantity
        plan[order[0]] = found
    return plan


def measure(
    orders: int = 300,
    facilities: int = 20,
    products: int = 40,
    seed: int = 1,
    seconds: float = 60,
    supply: float | None = None,
) -> dict[str, Any]:
    """The figure: the cost sort's expected cost beside the offline optimum's.

    Besides the keys the figure needs ("engine", "optimum", "bound", "gap", "unplaced_engine",
    "unplaced_optimum"): "lines", "placed_engine", "placed_optimum", "myopic" (one order at a
    time, each at its cheapest), "mip_gap", "message", "seconds_engine", "seconds_optimum",
    "contended" and "breakdown" (per plan, where its cost goes).
    """
    problem = make_problem(orders, facilities, products, seed, supply)
    started = time.perf_counter()
    ours = engine_plan(problem)
    engine_s = time.perf_counter() - started
    myopic = one_at_a_time(problem, seconds)
    started = time.perf_counter()
    best = solve(problem, problem.instance.orders, problem.instance.stock, seconds)
    optimum_s = time.perf_counter() - started
    engine = expected_cost(problem, ours)
    recomputed = expected_cost(problem, best.plan)
    assert abs(recomputed - best.objective) < 1e-6 * max(1.0, recomputed), (recomputed, best)
    unplaced = {
        name: sum(f is None for fs in p.values() for f in fs)
        for name, p in (
            ("engine", ours),
            ("optimum", best.plan),
        )
    }
    return {
        "engine": engine,
        "optimum": best.objective,
        "bound": best.bound,
        "gap": engine / best.objective - 1 if best.objective else 0.0,
        "unplaced_engine": unplaced["engine"],
        "unplaced_optimum": unplaced["optimum"],
        "lines": problem.lines,
        "placed_engine": sum(f is not None for fs in ours.values() for f in fs),
        "placed_optimum": sum(f is not None for fs in best.plan.values() for f in fs),
        "myopic": expected_cost(problem, myopic),
        "mip_gap": best.mip_gap,
        "message": best.message,
        "seconds_engine": engine_s,
        "seconds_optimum": optimum_s,
        "contended": contended(problem),
        "breakdown": {
            "cost sort": breakdown(problem, ours),
            "each order at its cheapest": breakdown(problem, myopic),
            "offline optimum": breakdown(problem, best.plan),
        },
    }


def supply_name(supply: float | None) -> str:
    return "ample" if supply is None else f"{supply:g}x"


def parse_supplies(text: str) -> list[float | None]:
    return [None if part.strip() == "ample" else float(part) for part in text.split(",")]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--orders", type=int, default=300)
    parser.add_argument("--facilities", type=int, default=20)
    parser.add_argument("--products", type=int, default=40)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=60, help="solver time limit")
    parser.add_argument(
        "--supply",
        type=parse_supplies,
        default=list(SUPPLIES),
        help="per row: ample, or units in stock per unit ordered (fewer: more competition)",
    )
    parser.add_argument("--quick", action="store_true", help="100 orders, 10 s for the solver")
    args = parser.parse_args()
    if args.quick:
        args.orders, args.seconds = min(args.orders, 100), min(args.seconds, 10)
    out = console()
    out.print(
        f"{args.orders} orders, {args.facilities} facilities, {args.products} products, "
        f"seed {args.seed}; the solver stops after {args.seconds:g} s …"
    )
    rows = []
    for supply in args.supply:
        found = measure(
            args.orders, args.facilities, args.products, args.seed, args.seconds, supply
        )
        rows.append((supply, found))
        out.print(f"  supply {supply_name(supply)}: {found['message']}")
    figures = []
    for supply, found in rows:
        name = supply_name(supply)
        bound = found["bound"]
        figures += [
            Figure(
                f"{name}: cost sort above the offline optimum",
                "%",
                at_most(TARGET_GAP * 100),
                2,
                {"current": found["gap"] * 100},
                note=f"{found['contended']} lines could not have their nearest facility",
            ),
            Figure(
                f"{name}: cost sort above one order at a time, each cheapest",
                "%",
                digits=2,
                values={"current": (found["engine"] / found["myopic"] - 1) * 100},
            ),
            Figure(
                f"{name}: cost sort above the solver's dual bound",
                "%",
                digits=2,
                values={} if not bound else {"current": (found["engine"] / bound - 1) * 100},
            ),
        ]
    caption = (
        f"{rows[0][1]['lines']} lines. The first row of each supply is the issue's figure; the "
        "second is what the engine loses by its own choice within an order; the difference is "
        f"what not knowing the later orders costs. {setting()}"
    )
    out.print(table("The cost sort against the offline optimum", figures, ["current"], caption, 14))
    where = Table(title="Expected cost and where it goes")
    where.add_column("supply", justify="left")
    where.add_column("plan", justify="left")
    columns = ["expected cost", *next(iter(rows[0][1]["breakdown"].values()))]
    for column in columns:
        where.add_column(column, justify="right")
    totals = ("engine", "myopic", "optimum")
    for supply, found in rows:
        plans: dict[str, dict[str, float]] = found["breakdown"]
        for total, (name, parts) in zip(totals, plans.items(), strict=True):
            where.add_row(
                supply_name(supply),
                name,
                f"{found[total]:,.1f}",
                *(f"{v:,.0f}" if isinstance(v, int) else f"{v:,.1f}" for v in parts.values()),
            )
    out.print(where)


if __name__ == "__main__":
    main()
