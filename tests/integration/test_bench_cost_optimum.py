"""The cost-optimum bench on a tiny instance: the optimum is a true lower bound of the engine's
expected cost, and both plans account for every line.

No gap is asserted: how near the engine comes is the bench's figure, not a property."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

pytest.importorskip("scipy", reason="the offline optimum needs scipy (a dev dependency)")

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from cost_optimum import measure


def test_the_engine_costs_no_less_than_the_optimum_and_every_line_is_counted() -> None:
    found = measure(orders=60, facilities=12, products=12, seed=2, seconds=20)
    assert found["message"].endswith("Optimal)"), found["message"]
    assert found["optimum"] > 0
    assert found["engine"] >= found["optimum"] - 1e-6 * found["optimum"]
    assert found["bound"] is not None and found["bound"] <= found["optimum"] + 1e-6
    assert found["gap"] == pytest.approx(found["engine"] / found["optimum"] - 1)
    assert found["lines"] > 60
    for plan in ("engine", "optimum"):
        assert found[f"placed_{plan}"] + found[f"unplaced_{plan}"] == found["lines"]
    assert found["placed_optimum"] > 0
