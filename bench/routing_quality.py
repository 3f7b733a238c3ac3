"""Routing quality: how far Reroute's choices are from the best possible on one instance.

    python bench/routing_quality.py [--orders 2000] [--facilities 100] [--seconds 120]

On one generated instance (orders over a region, facilities with limited stock) three plans are
compared by split rate (orders in more than one shipment), total great-circle distance (one trip
per shipment, from the facility to the ship-to address) and items left unplaced:

- Reroute: the routing engine with the default rules, orders taken one by one in id order;
- naive: every item to the nearest facility that still has it, splitting whenever that differs;
- optimum: the offline optimum of the same instance, all orders known at once, as a mixed-integer
  program solved with HiGHS (scipy.optimize.milp): minimise 1,000 km per unplaced item, plus
  SHIPMENT_KM per shipment, plus each shipment's distance. The solver's own gap is printed.
"""

from __future__ import annotations

import argparse
import random
import time
from dataclasses import dataclass

import numpy as np
from rich.console import Console
from rich.table import Table
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import coo_matrix

from reroute.domain.facilities import Capability, Facility, FacilityKind
from reroute.domain.orders import ShippingMethod
from reroute.domain.routing.engine import Line, OrderToRoute, plan_order
from reroute.domain.routing.geo import distance_km, unit_vector
from reroute.domain.routing.rules import default_rules
from reroute.domain.routing.snapshot import Snapshot

SHIPMENT_KM = 300.0  # what one more parcel is worth, in km of distance, to the optimum
UNPLACED_KM = 1000.0


@dataclass
class Instance:
    facilities: list[Facility]
    stock: dict[tuple[str, str], int]
    orders: list[tuple[str, float, float, list[Line]]]


@dataclass
class Outcome:
    shipments: dict[str, set[str]]  # order id -> facilities
    unplaced: int


def make_instance(orders: int, facilities: int, products: int, seed: int) -> Instance:
    rng = random.Random(seed)
    # A region about 600 km across: a few cities, facilities clustered around them.
    cities = [(rng.uniform(38, 43), rng.uniform(-90, -82)) for _ in range(6)]
    made = []
    for n in range(facilities):
        lat, lon = rng.choice(cities)
        made.append(
            Facility(
                id=f"F{n:03d}",
                name=f"F{n}",
                kind=FacilityKind.STORE,
                external_location_id=str(n),
                fulfiller_id="1",
                latitude=lat + rng.gauss(0, 0.4),
                longitude=lon + rng.gauss(0, 0.5),
                capabilities=[Capability.SHIP],
            )
        )
    weights = [1 / (r + 1) ** 0.8 for r in range(products)]
    stock: dict[tuple[str, str], int] = {}
    for facility in made:
        for p in rng.sample(range(products), k=products // 4):
            stock[(facility.id, f"P{p:04d}")] = rng.randint(1, 6)
    queue = []
    for n in range(orders):
        lat, lon = rng.choice(cities)
        size = rng.choices([1, 2, 3, 4], [45, 30, 15, 10])[0]
        chosen = rng.choices(range(products), weights=weights, k=size)
        lines = [Line(str(i + 1), f"P{p:04d}", 1) for i, p in enumerate(chosen)]
        queue.append((f"O{n:05d}", lat + rng.gauss(0, 0.3), lon + rng.gauss(0, 0.4), lines))
    return Instance(made, stock, queue)


def to_route(order_id: str, lat: float, lon: float, lines: list[Line]) -> OrderToRoute:
    """An order of the instance as the engine takes it: standard shipping to (lat, lon)."""
    return OrderToRoute(
        order_id,
        ShippingMethod.STANDARD,
        list(lines),
        vector=unit_vector(lat, lon),
        latitude=lat,
        longitude=lon,
    )


def reroute_plan(instance: Instance) -> Outcome:
    snapshot = Snapshot.build(instance.facilities, instance.stock)
    rules = default_rules()
    outcome = Outcome({}, 0)
    for order_id, lat, lon, lines in instance.orders:
        plan = plan_order(to_route(order_id, lat, lon, lines), rules, snapshot)
        outcome.shipments[order_id] = {p.facility_id for p in plan.placements}
        outcome.unplaced += len(plan.unplaced)
    return outcome


def naive_plan(instance: Instance) -> Outcome:
    left = dict(instance.stock)
    where = {f.id: (f.latitude, f.longitude) for f in instance.facilities}
    outcome = Outcome({}, 0)
    for order_id, lat, lon, lines in instance.orders:
        used: set[str] = set()
        for line in lines:
            having = [f for f in where if left.get((f, line.product_id), 0) >= line.quantity]
            if not having:
                outcome.unplaced += 1
                continue
            nearest = min(having, key=lambda f: distance_km(lat, lon, *where[f]))
            left[(nearest, line.product_id)] -= line.quantity
            used.add(nearest)
        outcome.shipments[order_id] = used
    return outcome


def optimum_plan(instance: Instance, seconds: float) -> tuple[Outcome, float, str]:
    where = {f.id: (f.latitude, f.longitude) for f in instance.facilities}
    x_keys: list[tuple[int, int, str]] = []  # (order index, line index, facility)
    y_index: dict[tuple[int, str], int] = {}
    by_product: dict[str, list[str]] = {}
    for (facility_id, product_id), quantity in instance.stock.items():
        if quantity > 0:
            by_product.setdefault(product_id, []).append(facility_id)
    for o, (_, _, _, lines) in enumerate(instance.orders):
        for i, line in enumerate(lines):
            for facility_id in by_product.get(line.product_id, []):
                x_keys.append((o, i, facility_id))
                y_index.setdefault((o, facility_id), len(y_index))
    lines_flat = [
        (o, i) for o, (_, _, _, lines) in enumerate(instance.orders) for i in range(len(lines))
    ]
    u_index = {key: n for n, key in enumerate(lines_flat)}
    nx, ny, nu = len(x_keys), len(y_index), len(lines_flat)
    cost = np.zeros(nx + ny + nu)
    for (o, facility_id), n in y_index.items():
        _, lat, lon, _ = instance.orders[o]
        cost[nx + n] = SHIPMENT_KM + distance_km(lat, lon, *where[facility_id])
    cost[nx + ny :] = UNPLACED_KM
    rows, cols, vals, lower, upper = [], [], [], [], []
    row = 0
    # Every line placed once or counted unplaced.
    line_row = {key: row + n for n, key in enumerate(lines_flat)}
    row += nu
    for n, (o, i, _) in enumerate(x_keys):
        rows.append(line_row[(o, i)])
        cols.append(n)
        vals.append(1.0)
    for key, n in u_index.items():
        rows.append(line_row[key])
        cols.append(nx + ny + n)
        vals.append(1.0)
    lower += [1.0] * nu
    upper += [1.0] * nu
    # Stock.
    stock_row: dict[tuple[str, str], int] = {}
    for n, (o, i, facility_id) in enumerate(x_keys):
        product_id = instance.orders[o][3][i].product_id
        key = (facility_id, product_id)
        if key not in stock_row:
            stock_row[key] = row
            row += 1
            lower.append(0.0)
            upper.append(float(instance.stock[key]))
        rows.append(stock_row[key])
        cols.append(n)
        vals.append(1.0)
    # A line at a facility needs that order's shipment there: x - y <= 0.
    for n, (o, _, facility_id) in enumerate(x_keys):
        rows += [row, row]
        cols += [n, nx + y_index[(o, facility_id)]]
        vals += [1.0, -1.0]
        lower.append(-np.inf)
        upper.append(0.0)
        row += 1
    matrix = coo_matrix((vals, (rows, cols)), shape=(row, nx + ny + nu)).tocsr()
    result = milp(
        cost,
        constraints=LinearConstraint(matrix, lower, upper),
        integrality=np.ones(nx + ny + nu),
        bounds=Bounds(0, 1),
        options={"time_limit": seconds, "mip_rel_gap": 1e-4},
    )
    outcome = Outcome({order_id: set() for order_id, *_ in instance.orders}, 0)
    if result.x is None:
        raise SystemExit(f"The solver found no solution: {result.message}")
    for (o, facility_id), n in y_index.items():
        if result.x[nx + n] > 0.5:
            outcome.shipments[instance.orders[o][0]].add(facility_id)
    outcome.unplaced = round(float(result.x[nx + ny :].sum()))
    gap = float(getattr(result, "mip_gap", 0.0) or 0.0)
    return outcome, gap, str(result.message)


def measure(instance: Instance, outcome: Outcome) -> tuple[float, float, int, int]:
    where = {f.id: (f.latitude, f.longitude) for f in instance.facilities}
    located = {order_id: (lat, lon) for order_id, lat, lon, _ in instance.orders}
    split = sum(1 for s in outcome.shipments.values() if len(s) > 1)
    placed_orders = sum(1 for s in outcome.shipments.values() if s)
    distance = sum(
        distance_km(*located[order_id], *where[f])
        for order_id, facilities in outcome.shipments.items()
        for f in facilities
    )
    shipments = sum(len(s) for s in outcome.shipments.values())
    return split / max(placed_orders, 1), distance, shipments, outcome.unplaced


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--orders", type=int, default=2000)
    parser.add_argument("--facilities", type=int, default=100)
    parser.add_argument("--products", type=int, default=400)
    parser.add_argument("--seconds", type=float, default=120, help="solver time limit")
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    console = Console(width=150)  # the whole table, readable in a log file too
    instance = make_instance(args.orders, args.facilities, args.products, args.seed)
    items = sum(len(lines) for *_, lines in instance.orders)
    started = time.perf_counter()
    ours = reroute_plan(instance)
    ours_s = time.perf_counter() - started
    naive = naive_plan(instance)
    console.print(f"Solving the offline optimum ({items} items; at most {args.seconds:.0f} s)…")
    started = time.perf_counter()
    best, gap, message = optimum_plan(instance, args.seconds)
    best_s = time.perf_counter() - started
    reference = measure(instance, best)
    table = Table(title=f"{args.orders} orders, {items} items, {args.facilities} facilities")
    for column in (
        "plan",
        "split rate",
        "vs optimum",
        "distance km",
        "vs optimum",
        "shipments",
        "unplaced",
        "seconds",
    ):
        table.add_column(column, justify="right")
    for name, outcome, seconds in (
        ("Reroute", ours, ours_s),
        ("naive nearest", naive, None),
        ("optimum (HiGHS)", best, best_s),
    ):
        split, distance, shipments, unplaced = measure(instance, outcome)
        table.add_row(
            name,
            f"{split:.1%}",
            _gap(split, reference[0]),
            f"{distance:,.0f}",
            _gap(distance, reference[1]),
            f"{shipments:,}",
            str(unplaced),
            "" if seconds is None else f"{seconds:.2f}",
        )
    console.print(table)
    console.print(
        f"Solver: {message} (relative MIP gap {gap:.2%}). "
        f"The optimum knows every order at once; routing decides one order at a time."
    )


def _gap(value: float, reference: float) -> str:
    if reference == 0:
        return "—" if value == 0 else "+∞"
    return f"{(value - reference) / reference:+.1%}"


if __name__ == "__main__":
    main()
