"""A simulation's report as one HTML page that needs nothing else: it is downloaded, mailed and
opened offline, so its style sits inline, its charts are inline SVG and nothing is linked.

The same figures show on the admin page (`simulation/_figures.html`): `figures_view` turns the
report into the strings and bar lengths both templates draw, so neither needs filters of its own.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader

from reroute.domain.simulation.figures import SCALARS

_env = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=True,
    trim_blocks=True,
    lstrip_blocks=True,
)

#: Bars are drawn to this many units at most (a share of the longest).
BAR = 100.0
#: A chart's drawing, in its own units: per rule set its name, and under it the bar and the
#: figure in words; narrow, so that the text stays legible in a card a third of a page wide.
CHART_WIDTH, CHART_BAR, CHART_ROW, CHART_TEXT = 240, 140, 40, 14
#: A name is cut to this many characters inside a chart; the table holds it whole.
CHART_NAME = 28
#: One colour per rule set, in the order compared (dark enough on white for text beside it).
COLOURS = ("#1f5fbf", "#c2571a", "#1c7c45", "#7a3fb0", "#a11d48", "#2f6f7e", "#6b5b00", "#444c59")
#: A facility whose busiest day is at or above this share of its capacity shows as full.
FULL = 1.0


def _count(value: Any) -> str:
    return f"{int(value):,}"


def _km(value: Any) -> str:
    return f"{float(value):,.1f} km"


def _money(value: Any) -> str:
    return f"{float(value):,.2f}"


def _share(value: Any) -> str:
    return f"{float(value) * 100:.1f}%"


def _signed(text: str, value: float) -> str:
    if value > 0:
        return f"+{text}"
    if value < 0:
        return f"\N{MINUS SIGN}{text.lstrip('-')}"
    return text


def _count_delta(value: Any) -> str:
    return _signed(f"{abs(int(value)):,}", float(value))


def _km_delta(value: Any) -> str:
    return _signed(f"{abs(float(value)):,.1f} km", float(value))


def _money_delta(value: Any) -> str:
    return _signed(f"{abs(float(value)):,.2f}", float(value))


def _share_delta(value: Any) -> str:
    """A difference of shares in percentage points: 8% to 10% is +2.0 points, not +25%."""
    return _signed(f"{abs(float(value)) * 100:.1f} points", float(value))


Format = Callable[[Any], str]
#: Each figure of a rule set: its key, label, how it is written, and how a difference is.
FIGURES: tuple[tuple[str, str, Format, Format], ...] = (
    ("items", "Items", _count, _count_delta),
    ("placed", "Items placed", _count, _count_delta),
    ("backorder", "Backorder", _count, _count_delta),
    ("customer_care", "Customer care", _count, _count_delta),
    ("shipments", "Shipments", _count, _count_delta),
    ("split_rate", "Split orders", _share, _share_delta),
    ("distance_km", "Distance", _km, _km_delta),
    ("cost", "Cost", _money, _money_delta),
    ("rejections", "Rejections", _count, _count_delta),
    ("taken_along", "Items taken along by a rejection", _count, _count_delta),
    ("first_attempt_acceptance", "First-attempt acceptance", _share, _share_delta),
)
#: The figures drawn as charts, one chart each: all but the two counts that say little alone.
CHARTS = tuple(key for key in SCALARS if key not in ("items", "taken_along"))
_BY_KEY = {key: (label, shown, delta) for key, label, shown, delta in FIGURES}
_REJECTIONS = {
    "learned": "learned from the rejection log",
    "none": "no store rejects",
    "file": "rates from a file",
}


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _written(value: Any, how: Format) -> str:
    return "\N{EM DASH}" if _number(value) is None else how(value)


def _cut(name: str) -> str:
    return name if len(name) <= CHART_NAME else name[: CHART_NAME - 1] + "\N{HORIZONTAL ELLIPSIS}"


def _lengths(values: list[float | None]) -> list[float]:
    """Bars to scale with the largest; a figure below zero or missing draws no bar."""
    top = max((v for v in values if v is not None), default=0.0)
    return [round(BAR * v / top, 2) if top > 0 and v is not None and v > 0 else 0.0 for v in values]


def _chart(key: str, rule_sets: list[Mapping[str, Any]], index: int) -> dict[str, Any]:
    label, shown, _ = _BY_KEY[key]
    values = [_number(r.get(key)) for r in rule_sets]
    bars = []
    for n, (rule_set, length) in enumerate(zip(rule_sets, _lengths(values), strict=True)):
        name = str(rule_set.get("name", ""))
        bars.append(
            {
                "name": name,
                "short": _cut(name),
                "value": _written(rule_set.get(key), shown),
                "width": round(CHART_BAR * length / BAR, 2),
                "text_x": round(4 + CHART_BAR * length / BAR, 2),
                "colour": COLOURS[n % len(COLOURS)],
                "y": n * CHART_ROW,
            }
        )
    words = "; ".join(f"{b['name']}: {b['value']}" for b in bars)
    return {
        "id": f"chart-{index}",
        "key": key,
        "title": label,
        "bars": bars,
        "height": CHART_ROW * max(1, len(bars)),
        "width": CHART_WIDTH,
        "font": CHART_TEXT,
        "text": f"{label} by rule set: {words}." if bars else f"{label}: no rule sets.",
    }


def _facility(row: Mapping[str, Any]) -> dict[str, Any]:
    load = _number(row.get("load"))
    capacity = _number(row.get("daily_capacity"))
    return {
        "facility_id": str(row.get("facility_id", "")),
        "name": str(row.get("name", "")),
        "kind": str(row.get("kind", "")).replace("_", " "),
        "shipments": _written(row.get("shipments"), _count),
        "given": _written(row.get("items"), _count),
        "rejections": _written(row.get("rejections"), _count),
        "capacity": _count(capacity) if capacity is not None else "no limit",
        "busiest_day": _written(row.get("busiest_day"), _count),
        "load": _share(load) if load is not None else "\N{EM DASH}",
        "length": round(BAR * min(max(load, 0.0), FULL), 2) if load is not None else 0.0,
        "full": load is not None and load >= FULL,
        "load_drawn": load is not None,
    }


def _busiest_first(row: Mapping[str, Any]) -> tuple[float, float, str]:
    return (
        -(_number(row.get("load")) or 0.0),
        -(_number(row.get("busiest_day")) or 0.0),
        str(row.get("facility_id", "")),
    )


def _when(value: Any) -> str:
    """A time of the report to the minute, in UTC."""
    if not value:
        return ""
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def figures_view(report: Mapping[str, Any]) -> dict[str, Any]:
    """What `_figures.html` draws of `report`, every figure already written as text."""
    rule_sets: list[Mapping[str, Any]] = list(report.get("rule_sets") or [])
    differences: list[Mapping[str, Any]] = list(report.get("differences") or [])
    present = [key for key, *_ in FIGURES if any(key in r for r in rule_sets)]
    rows = []
    for key in present:
        label, shown, delta = _BY_KEY[key]
        rows.append(
            {
                "label": label,
                "cells": [_written(r.get(key), shown) for r in rule_sets],
                "deltas": [_written(d.get(key), delta) for d in differences],
            }
        )
    charts = [_chart(key, rule_sets, n) for n, key in enumerate(CHARTS) if key in present]
    facilities = [
        {
            "id": f"load-{n}",
            "name": str(r.get("name", "")),
            "rows": [_facility(f) for f in sorted(r.get("facilities") or [], key=_busiest_first)],
        }
        for n, r in enumerate(rule_sets)
    ]
    since, until = _when(report.get("since")), _when(report.get("until"))
    if report.get("source") == "file":
        orders_from = "an orders file, replayed from today's stock"
    elif since:
        orders_from = f"orders created from {since} to {until or 'now'}"
    else:
        orders_from = "orders from the database"
    facts = [
        ("Orders replayed", _written(report.get("orders"), _count)),
        ("Orders", orders_from),
        ("Stores rejecting", _REJECTIONS.get(str(report.get("rejections")), "")),
        ("Seed", str(report.get("seed", ""))),
        ("Cost per shipment", _written(report.get("cost_per_shipment"), _money)),
        ("Cost per km", _written(report.get("cost_per_km"), _money)),
    ]
    if "reroute_penalty" in report:
        facts.append(("Reroute penalty", _written(report.get("reroute_penalty"), _money)))
    return {
        "facts": facts,
        "names": [str(r.get("name", "")) for r in rule_sets],
        "difference_names": [
            f"{d.get('rule_set', '')} \N{MINUS SIGN} {d.get('against', '')}" for d in differences
        ],
        "rows": rows,
        "charts": charts,
        "facilities": facilities,
        "bar": BAR,
    }


def render_report(report: Mapping[str, Any]) -> str:
    """The standalone page of `report` (what the simulation answers, or `--json` prints)."""
    return _env.get_template("simulation/report.html").render(sim=figures_view(report))
