"""What `reroute simulate` reads besides its options (rules documents) and how it shows the
report: a table on the terminal, or one HTML page."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from reroute.domain.simulation.figures import SCALARS

#: A rules document read from a file is at most this large (the API's own bound is smaller).
MAX_RULES_BYTES = 1_000_000
#: How each figure is shown: its label and its format.
SHOWN = {
    "items": ("Items", "{:,}"),
    "placed": ("Placed", "{:,}"),
    "backorder": ("Backorder", "{:,}"),
    "customer_care": ("Customer care", "{:,}"),
    "shipments": ("Shipments", "{:,}"),
    "split_rate": ("Split rate", "{:.1%}"),
    "distance_km": ("Distance (km)", "{:,.1f}"),
    "cost": ("Cost", "{:,.2f}"),
    "rejections": ("Rejections", "{:,}"),
    "taken_along": ("Taken along", "{:,}"),
    "first_attempt_acceptance": ("First-attempt acceptance", "{:.1%}"),
}


def read_rules(paths: list[Path], err: Console) -> list[tuple[str, Any]]:
    """(name, document) for each `--rules`: the file's name without its extension, or `live`
    (None: the rules in force). Exits with a message on a file that is not a JSON document."""
    found: list[tuple[str, Any]] = []
    names: set[str] = set()
    for path in paths:
        if str(path) == "live":
            name, document = "live", None
        else:
            document = _document(path, err)
            name = path.stem
        base, n = name, 1
        while name in names:
            n += 1
            name = f"{base} ({n})"
        names.add(name)
        found.append((name, document))
    return found


def _document(path: Path, err: Console) -> Any:
    def refuse(why: str) -> typer.Exit:
        err.print(f"[red]--rules {escape(str(path))}:[/red] {escape(why)}", soft_wrap=True)
        return typer.Exit(2)

    try:
        if path.stat().st_size > MAX_RULES_BYTES:
            raise refuse(f"larger than {MAX_RULES_BYTES:,} bytes")
        return json.loads(path.read_bytes().decode("utf-8"))
    except FileNotFoundError:
        raise refuse("no such file (or use `live` for the rules in force)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise refuse(f"not a JSON document ({exc})") from None


def _shown(key: str, value: Any, signed: bool = False) -> str:
    text = SHOWN[key][1].format(abs(value) if signed else value)
    if signed:
        return ("+" if value > 0 else "-" if value < 0 else "±") + text
    return text


def print_report(report: dict[str, Any]) -> None:
    console = Console()
    rule_sets = report["rule_sets"]
    table = Table(title=f"{report['orders']:,} orders replayed, seed {report['seed']}")
    table.add_column("Figure")
    for figures in rule_sets:
        table.add_column(escape(figures["name"]), justify="right")
    for diff in report["differences"]:
        table.add_column(f"{escape(diff['rule_set'])} - {escape(diff['against'])}", justify="right")
    for key in SCALARS:
        row = [SHOWN[key][0]]
        row += [_shown(key, figures[key]) for figures in rule_sets]
        row += [_shown(key, diff[key], signed=True) for diff in report["differences"]]
        table.add_row(*row)
    console.print(table)
    for figures in rule_sets:
        busy = [f for f in figures["facilities"] if f["load"] is not None][:5]
        if not busy:
            continue
        loads = Table(title=f"{escape(figures['name'])}: busiest facilities against capacity")
        for column in ("Facility", "Busiest day", "Capacity", "Load"):
            loads.add_column(column, justify="left" if column == "Facility" else "right")
        for f in busy:
            loads.add_row(
                escape(f"{f['name']} ({f['facility_id']})"),
                f"{f['busiest_day']:,}",
                f"{f['daily_capacity']:,}",
                f"{f['load']:.0%}",
            )
        console.print(loads)


def write_html(report: dict[str, Any], path: Path) -> None:
    from reroute.pages.simulation_report import render_report

    path.write_text(render_report(report), encoding="utf-8")
