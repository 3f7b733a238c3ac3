"""Figures of one run, each version's value side by side with the ratio and the issue's target."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field

from rich.console import Console
from rich.table import Table

from server import load_average

#: Wide enough that no table wraps, also when the output goes to a file.
WIDTH = 160


@dataclass(frozen=True)
class Target:
    """What the issue asks of a figure: at least or at most `value`."""

    at_least: bool
    value: float

    def met(self, figure: float) -> bool:
        return figure >= self.value if self.at_least else figure <= self.value

    def __str__(self) -> str:
        return f"{'≥' if self.at_least else '≤'} {self.value:,g}"


def at_least(value: float) -> Target:
    return Target(True, value)


def at_most(value: float) -> Target:
    return Target(False, value)


@dataclass
class Figure:
    """One measured quantity, by version label ("baseline", "current")."""

    name: str
    unit: str
    target: Target | None = None
    digits: int = 1
    values: dict[str, float] = field(default_factory=dict)
    #: What went wrong with a version's measurement, instead of its value.
    problems: dict[str, str] = field(default_factory=dict)
    note: str = ""

    def show(self, label: str) -> str:
        if label in self.problems:
            return f"failed: {self.problems[label]}"[:60]
        if label not in self.values:
            return "—"
        return f"{self.values[label]:,.{self.digits}f}"

    def ratio(self) -> str:
        before, after = self.values.get("baseline"), self.values.get("current")
        if before is None or after is None or before == 0:
            return "—"
        return f"{after / before:.2f}x"

    def verdict(self) -> str:
        if self.target is None:
            return ""
        value = self.values.get("current")
        if value is None:
            return "[red]MISS[/red] (not measured)"
        return "[green]PASS[/green]" if self.target.met(value) else "[red]MISS[/red]"


def console() -> Console:
    return Console() if sys.stdout.isatty() else Console(width=WIDTH)


def table(
    title: str,
    figures: list[Figure],
    labels: list[str],
    caption: str = "",
    issue: int = 10,
) -> Table:
    result = Table(title=title, caption=caption or None, caption_justify="left")
    result.add_column("figure", justify="left")
    result.add_column("unit", justify="left")
    for label in labels:
        result.add_column(label, justify="right")
    if "baseline" in labels:
        result.add_column("current ÷ baseline", justify="right")
    result.add_column(f"target (issue {issue})", justify="right")
    result.add_column("verdict", justify="left")
    for figure in figures:
        row = [figure.name, figure.unit, *(figure.show(label) for label in labels)]
        if "baseline" in labels:
            row.append(figure.ratio())
        row += [str(figure.target) if figure.target else "", figure.verdict()]
        result.add_row(*row)
    return result


def setting() -> str:
    return f"{os.cpu_count()} CPUs, {load_average()}"
