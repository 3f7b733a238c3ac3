"""A file of rejection rates for the simulation: CSV with columns facility_id, product_id (empty:
every product of the facility) and rate (0 to 1). Every problem is reported at its line."""

from __future__ import annotations

import math
from collections.abc import Collection
from pathlib import Path

from reroute.importing.files import Problems, read

COLUMNS = ("facility_id", "product_id", "rate")


def read_rates(path: Path, facilities: Collection[str]) -> list[tuple[str, str | None, float]]:
    """(facility, product or None, rate) for each line; raises ImportFailed with every problem."""
    problems = Problems()
    if path.suffix.lower() != ".csv":
        problems.add(path.name, "rejection rates come as a .csv file")
        problems.raise_if_any()
    contents = read(path, problems)
    problems.raise_if_any()
    missing = [c for c in COLUMNS if c not in contents.columns]
    if missing:
        problems.add(path.name, f"missing column(s): {', '.join(missing)}")
        problems.raise_if_any()
    rates: list[tuple[str, str | None, float]] = []
    for record in contents.records:
        facility_id = str(record.values.get("facility_id") or "").strip()
        product_id = str(record.values.get("product_id") or "").strip() or None
        text = str(record.values.get("rate") or "").strip()
        if facility_id not in facilities:
            problems.add(record.where, f"no facility {facility_id!r}", "facility_id")
        try:
            rate = float(text)
        except ValueError:
            problems.add(record.where, "give a number from 0 to 1, like 0.05", "rate")
            continue
        if not math.isfinite(rate) or not 0.0 <= rate <= 1.0:
            problems.add(record.where, "give a number from 0 to 1, like 0.05", "rate")
            continue
        rates.append((facility_id, product_id, rate))
    problems.raise_if_any()
    return rates
