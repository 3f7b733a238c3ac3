"""What-if: replay orders against rule sets, with stores that reject by a model, and report.

Everything the replay needs is read in one read-only transaction (the orders, the stock and
blocks of the starting moment, the day's shipments so far, the rejection log the models learn
from); the replays then run in memory (`domain.simulation.replay`), one copy per rule set.
Nothing is written, ever.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from reroute import geocoding
from reroute.domain.errors import FieldError, Invalid
from reroute.domain.orders import Order
from reroute.domain.reasons import SYSTEM_REASONS, Reason
from reroute.domain.routing.acceptance import AcceptanceModel
from reroute.domain.routing.costs import CostModel
from reroute.domain.routing.rules import RulesDocument, parse_rules
from reroute.domain.settings import MOST_AMOUNT
from reroute.domain.simulation.figures import difference, figures
from reroute.domain.simulation.replay import Outcome, Replay, Stores, World
from reroute.importing.files import ImportFailed, Problems, read
from reroute.importing.orders import check_orders
from reroute.importing.rejection_rates import read_rates
from reroute.services.context import Context
from reroute.services.reference import reference
from reroute.services.stock_view import ACCEPTANCE_WINDOW, costs_of
from reroute.storage.unit_of_work import UnitOfWork, unit_of_work

#: Rule sets one simulation compares.
MAX_RULE_SETS = 8
#: Orders one simulation replays unless the caller sets its own bound.
MAX_ORDERS = 500_000
#: Orders read per statement.
_CHUNK = 5000
#: The reason a store is taken to give when the log has none to learn from.
DEFAULT_REASON = "NOT_IN_STOCK"


class Rejections:
    LEARNED = "learned"
    NONE = "none"
    FILE = "file"


@dataclass(frozen=True)
class SimulationRequest:
    #: Orders created at or after `since` and before `until` (default: now); or, instead,
    #: the orders of an import-format file (`orders_file`), replayed from today's stock.
    since: datetime | None = None
    until: datetime | None = None
    orders_file: Path | None = None
    #: (name, rules document) to compare; none: the live rules alone.
    rules: Sequence[tuple[str, Any]] = ()
    #: "learned" (from the rejection log) or "none"; `rates_file` (CSV) replaces either.
    rejections: str = Rejections.LEARNED
    rates_file: Path | None = None
    seed: int = 0
    #: None: the settings' values.
    cost_per_shipment: float | None = None
    cost_per_km: float | None = None
    reroute_penalty: float | None = None
    #: More orders than this are refused (None: MAX_ORDERS).
    max_orders: int | None = None
    #: What routing knows of the stores (the `acceptance` and `cost` sort keys); None: what live
    #: routing knows at the end of the window (today, for a file): the 30 days before it.
    routing_model: AcceptanceModel | None = None


@dataclass
class Simulation:
    report: dict[str, Any]
    #: Each rule set's outcome, by name, for a caller that looks closer than the report.
    outcomes: dict[str, Outcome] = field(default_factory=dict)


def simulate(ctx: Context, request: SimulationRequest) -> dict[str, Any]:
    """The report of `request` (raises Invalid, with every problem, on bad input)."""
    return run(ctx, request).report


def run(ctx: Context, request: SimulationRequest) -> Simulation:
    _check(request)
    with unit_of_work(ctx.db, write=False) as uow:
        loaded = _load(ctx, uow, request)
    world, rule_sets, routing_model, stores, costs, start = loaded
    simulation = Simulation(
        {
            "seed": request.seed,
            "orders": len(world.orders),
            "source": "file" if request.orders_file else "database",
            "since": start.isoformat() if request.orders_file is None else None,
            "until": (request.until or start).isoformat() if request.orders_file is None else None,
            "rejections": Rejections.FILE if request.rates_file else request.rejections,
            "cost_per_shipment": costs.per_shipment,
            "cost_per_km": costs.per_km,
            "reroute_penalty": costs.reroute_penalty,
            "rule_sets": [],
            "differences": [],
        }
    )
    for name, rules in rule_sets:
        replay = Replay(
            world,
            rules,
            routing_model=routing_model,
            stores=stores,
            costs=costs,
            seed=request.seed,
        )
        outcome = replay.run()
        simulation.outcomes[name] = outcome
        simulation.report["rule_sets"].append(figures(name, outcome, world.facilities, costs))
    first, *others = simulation.report["rule_sets"]
    simulation.report["differences"] = [difference(other, first) for other in others]
    return simulation


def _check(request: SimulationRequest) -> None:
    problems: list[FieldError] = []
    if request.orders_file is None and request.since is None:
        problems.append(FieldError("since", "Give the orders: a file, or a time to start from."))
    if request.orders_file is not None and request.since is not None:
        problems.append(FieldError("since", "Give a file of orders or a time, not both."))
    for name, moment in (("since", request.since), ("until", request.until)):
        if moment is not None and moment.tzinfo is None:
            problems.append(FieldError(name, "Give the time with its UTC offset."))
    if request.since and request.until and request.until <= request.since:
        problems.append(FieldError("until", "The end comes after the start."))
    if request.rejections not in (Rejections.LEARNED, Rejections.NONE):
        problems.append(FieldError("rejections", "Use learned, none, or a file of rates."))
    if len(request.rules) > MAX_RULE_SETS:
        problems.append(FieldError("rules", f"Compare at most {MAX_RULE_SETS} rule sets."))
    names = [name for name, _ in request.rules]
    if len(set(names)) != len(names):
        problems.append(FieldError("rules", "Give each rule set its own name."))
    for name, value in (
        ("cost_per_shipment", request.cost_per_shipment),
        ("cost_per_km", request.cost_per_km),
        ("reroute_penalty", request.reroute_penalty),
    ):
        if value is not None and not 0 <= value <= MOST_AMOUNT:
            problems.append(FieldError(name, f"Give an amount from 0 to {MOST_AMOUNT:,.0f}."))
    if problems:
        raise Invalid("The simulation cannot run as asked.", problems)


def _load(
    ctx: Context, uow: UnitOfWork, request: SimulationRequest
) -> tuple[World, list[tuple[str, RulesDocument]], AcceptanceModel, Stores, CostModel, datetime]:
    ref = reference(ctx, uow)
    facilities = uow.facilities.list()
    known = {f.id for f in facilities}
    rule_sets = _rule_sets(request.rules, known, ref.rules)
    limit = request.max_orders or MAX_ORDERS
    now = uow.now
    if request.orders_file is not None:
        start = now
        orders = _orders_of_file(uow, request.orders_file, start)
        levels = uow.inventory.all_levels()
        day_start = datetime.combine(start.date(), datetime.min.time(), start.tzinfo)
    else:
        assert request.since is not None
        start = request.since
        until = request.until or now
        ids = uow.orders.created_between(start, until, limit + 1)
        if len(ids) > limit:
            raise Invalid(
                f"More than {limit:,} orders in that time: choose a shorter one.",
                [FieldError("since", "Too many orders.")],
            )
        orders = _orders(uow, ids)
        levels = uow.inventory.levels_as_of(start)
        day_start = datetime.combine(start.date(), datetime.min.time(), start.tzinfo)
    if len(orders) > limit:
        raise Invalid(f"More than {limit:,} orders: give fewer.", [FieldError("orders", "")])
    blocks: dict[tuple[str, str], list[Any]] = {}
    for block in uow.blocks.in_force_at(start):
        blocks.setdefault((block.facility_id, block.product_id), []).append(block)
    end = request.until or now
    world = World(
        facilities=facilities,
        levels=levels,
        blocks=blocks,
        load=uow.routing.shipments_opened(day_start, start),
        orders=orders,
        reasons=ref.reasons_by_id,
        partial_rejection=ref.settings.partial_rejection,
    )
    routing_model = request.routing_model or AcceptanceModel.learned(
        uow.routing.acceptance_counts(end - ACCEPTANCE_WINDOW, end)
    )
    stores = Stores(
        _rates(uow, request, known, end),
        _reason_mix(uow, ref.reasons_by_id, end - ACCEPTANCE_WINDOW, end),
    )
    settings_costs = costs_of(ref.settings)
    costs = dataclasses.replace(
        settings_costs,
        per_shipment=_given(request.cost_per_shipment, settings_costs.per_shipment),
        per_km=_given(request.cost_per_km, settings_costs.per_km),
        reroute_penalty=_given(request.reroute_penalty, settings_costs.reroute_penalty),
    )
    return world, rule_sets, routing_model, stores, costs, start


def _given(value: float | None, default: float) -> float:
    return default if value is None else value


def _rule_sets(
    documents: Sequence[tuple[str, Any]], facilities: set[str], live: RulesDocument
) -> list[tuple[str, RulesDocument]]:
    if not documents:
        return [("live", live)]
    found = []
    problems: list[FieldError] = []
    for name, document in documents:
        if document is None:  # the live rules under a name of the caller's
            found.append((name, live))
            continue
        try:
            found.append((name, parse_rules(document, facilities)))
        except Invalid as exc:
            problems.extend(FieldError(f"{name}: {e.path}", e.message) for e in exc.errors)
            if not exc.errors:
                problems.append(FieldError(name, exc.detail))
    if problems:
        raise Invalid("A rules document cannot be used.", problems)
    return found


def _orders(uow: UnitOfWork, ids: Sequence[str]) -> list[Order]:
    """The orders, in the order created (ids as given)."""
    found: dict[str, Order] = {}
    for start in range(0, len(ids), _CHUNK):
        found.update(uow.orders.get_many(ids[start : start + _CHUNK]))
    return [found[i] for i in ids if i in found]


def _orders_of_file(uow: UnitOfWork, path: Path, start: datetime) -> list[Order]:
    """The file's orders, checked as an import checks them, located as order creation locates
    them, each at `start` (a file gives no times: its order is the replay's)."""
    problems = Problems()
    try:
        contents = read(path, problems)
        problems.raise_if_any()
        entries = check_orders(contents, problems, path.name, lambda _n: None)
        problems.raise_if_any()
    except ImportFailed as exc:
        raise Invalid(
            f"{path.name} cannot be replayed.", [FieldError("orders", p) for p in exc.problems]
        ) from None
    orders = [e.order for e in entries]
    wanted = sorted({i.product_id for o in orders for i in o.items})
    known = uow.products.existing_ids(wanted)
    unknown = [p for p in wanted if p not in known]
    if unknown:
        shown = ", ".join(unknown[:10]) + (" ..." if len(unknown) > 10 else "")
        raise Invalid(f"{path.name} names products that do not exist: {shown}.")
    for order in orders:
        order.created_at = start
        if order.needs_location and not order.ship_to.located:
            found = geocoding.locate(order.ship_to.country, order.ship_to.postal_code)
            if isinstance(found, geocoding.Located):
                order.located_at(found.latitude, found.longitude)
    return orders


def _rates(
    uow: UnitOfWork, request: SimulationRequest, facilities: set[str], end: datetime
) -> AcceptanceModel:
    if request.rates_file is not None:
        try:
            return AcceptanceModel.fixed(read_rates(request.rates_file, facilities))
        except ImportFailed as exc:
            raise Invalid(
                f"{request.rates_file.name} cannot be used.",
                [FieldError("rates", p) for p in exc.problems],
            ) from None
    if request.rejections == Rejections.NONE:
        return AcceptanceModel()
    return AcceptanceModel.learned(uow.routing.acceptance_counts(end - ACCEPTANCE_WINDOW, end))


def _reason_mix(
    uow: UnitOfWork, reasons: dict[str, Reason] | Any, since: datetime, until: datetime
) -> dict[str, list[tuple[str, float]]]:
    """The reasons each store gave, by how often; "" holds the chain's mix, or the default
    reason where the log has none."""
    mix: dict[str, list[tuple[str, float]]] = {}
    chain: dict[str, float] = {}
    for facility_id, given in uow.rejections.reason_mix(since, until).items():
        usable = {r: n for r, n in given.items() if r not in SYSTEM_REASONS}
        if usable:
            mix[facility_id] = sorted(usable.items())
            for reason_id, n in usable.items():
                chain[reason_id] = chain.get(reason_id, 0.0) + n
    if chain:
        mix[""] = sorted(chain.items())
    else:
        fallback = DEFAULT_REASON if DEFAULT_REASON in reasons else ""
        if not fallback:
            chosen = [r for r in reasons.values() if r.active and r.id not in SYSTEM_REASONS]
            fallback = chosen[0].id if chosen else ""
        mix[""] = [(fallback, 1.0)]
    return mix
