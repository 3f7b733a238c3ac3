"""The simulation report page: one self-contained HTML document that shows every figure side by
side, in words as well as charts, with whatever users named escaped."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

import pytest

from reroute.pages.simulation_report import CHARTS, figures_view, render_report

HOSTILE = '<script>alert("x")</script>'


def rule_set(name: str, **figures: Any) -> dict[str, Any]:
    found: dict[str, Any] = {
        "name": name,
        "items": 1500,
        "placed": 1450,
        "backorder": 40,
        "customer_care": 10,
        "shipments": 1300,
        "split_rate": 0.08,
        "distance_km": 12345.6,
        "cost": 11017.3,
        "rejections": 95,
        "first_attempt_acceptance": 0.94,
        "facilities": [
            {
                "facility_id": "S002",
                "name": "Quiet store",
                "kind": "store",
                "shipments": 5,
                "items": 6,
                "rejections": 0,
                "daily_capacity": 100,
                "busiest_day": 5,
                "load": 0.05,
            },
            {
                "facility_id": "S001",
                "name": f"Store {HOSTILE}",
                "kind": "store",
                "shipments": 40,
                "items": 52,
                "rejections": 3,
                "daily_capacity": 60,
                "busiest_day": 40,
                "load": 0.6667,
            },
            {
                "facility_id": "W1",
                "name": "Warehouse",
                "kind": "warehouse",
                "shipments": 900,
                "items": 1100,
                "rejections": 0,
                "daily_capacity": None,
                "busiest_day": 300,
                "load": None,
            },
        ],
    }
    found.update(figures)
    return found


@pytest.fixture
def report() -> dict[str, Any]:
    live = rule_set("live")
    other = rule_set(f"B {HOSTILE}", placed=1455, split_rate=0.1, cost=10900.05, rejections=80)
    return {
        "seed": 7,
        "orders": 1200,
        "source": "database",
        "since": "2026-11-01T00:00:00+00:00",
        "until": "2026-11-08T00:00:00+00:00",
        "rejections": "learned",
        "cost_per_shipment": 8.0,
        "cost_per_km": 0.05,
        "rule_sets": [live, other],
        "differences": [
            {
                "rule_set": other["name"],
                "against": "live",
                "items": 0,
                "placed": 5,
                "backorder": 0,
                "customer_care": 0,
                "shipments": 0,
                "split_rate": 0.02,
                "distance_km": 0.0,
                "cost": -117.25,
                "rejections": -15,
                "first_attempt_acceptance": 0.0,
            }
        ],
    }


class Outline(HTMLParser):
    """The page's elements and text, as a browser would read them."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.open: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in self.open:
            while self.open.pop() != tag:
                pass

    def handle_data(self, data: str) -> None:
        if "style" not in self.open:
            self.text.append(data)

    def words(self) -> str:
        return re.sub(r"\s+", " ", " ".join(self.text))

    def named(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for name, attrs in self.tags if name == tag]


def outline(page: str) -> Outline:
    parsed = Outline()
    parsed.feed(page)
    parsed.close()
    return parsed


def test_the_page_shows_every_figure_of_each_rule_set_and_the_difference(
    report: dict[str, Any],
) -> None:
    page = outline(render_report(report))
    words = page.words()
    for figure in ("1,450", "1,455", "12,345.6 km", "11,017.30", "10,900.05", "8.0%", "10.0%"):
        assert figure in words, figure
    assert "94.0%" in words and "1,200" in words and "learned from the rejection log" in words
    assert "+5" in words and "\N{MINUS SIGN}117.25" in words and "+2.0 points" in words
    assert "\N{MINUS SIGN}15" in words
    headers = [h.get("scope") for h in page.named("th")]
    assert headers and all(scope in ("col", "row") for scope in headers)
    assert len(page.named("title")) >= 1 and len(page.named("h1")) == 1


def test_one_chart_per_figure_each_named_in_words(report: dict[str, Any]) -> None:
    page = render_report(report)
    charts = re.findall(r'<svg class="sim-bars" role="img" aria-label="([^"]*)"', page)
    assert len(charts) == len(CHARTS) == 9
    assert any(label.startswith("Cost by rule set: live: 11,017.30;") for label in charts)
    # the longest bar is the largest figure; the other is drawn to scale
    cost = next(c for c in figures_view(report)["charts"] if c["key"] == "cost")
    lengths = [bar["width"] for bar in cost["bars"]]
    assert lengths[0] > lengths[1] > 0 and lengths[0] == pytest.approx(140)  # the longest bar


def test_names_users_gave_are_escaped_everywhere(report: dict[str, Any]) -> None:
    page = render_report(report)
    assert "<script" not in page
    assert "&lt;script&gt;" in page
    assert "B &lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page


def test_nothing_is_fetched_from_elsewhere_and_nothing_runs(report: dict[str, Any]) -> None:
    page = render_report(report)
    parsed = outline(page)
    assert not parsed.named("script") and not parsed.named("link") and not parsed.named("img")
    assert not re.search(r"(src|href)\s*=", page) and "http" not in page
    assert not re.search(r"url\(|@import", page)
    assert len(parsed.named("style")) == 1


def test_facilities_are_listed_busiest_first_with_their_load(report: dict[str, Any]) -> None:
    view = figures_view(report)
    rows = view["facilities"][0]["rows"]
    assert [r["facility_id"] for r in rows] == ["S001", "S002", "W1"]
    assert rows[0]["load"] == "66.7%" and rows[0]["length"] == pytest.approx(66.67)
    assert rows[2]["capacity"] == "no limit" and rows[2]["length"] == 0.0
    words = outline(render_report(report)).words()
    assert "Warehouse W1 warehouse 900 1,100 0 300 no limit" in words


def test_a_facility_over_its_capacity_shows_as_full_with_the_bar_at_its_end(
    report: dict[str, Any],
) -> None:
    report["rule_sets"][0]["facilities"][0].update(busiest_day=130, load=1.3)
    row = figures_view(report)["facilities"][0]["rows"][0]
    assert row["facility_id"] == "S002" and row["full"] and row["length"] == 100.0
    assert "130.0% (full)" in outline(render_report(report)).words()


def test_a_report_of_the_live_rules_alone_and_no_orders_still_renders() -> None:
    empty = rule_set("live", items=0, placed=0, shipments=0, cost=0.0, facilities=[])
    page = render_report(
        {
            "seed": 0,
            "orders": 0,
            "source": "file",
            "since": None,
            "until": None,
            "rejections": "none",
            "cost_per_shipment": 8.0,
            "cost_per_km": 0.05,
            "rule_sets": [empty],
            "differences": [],
        }
    )
    words = outline(page).words()
    assert "an orders file" in words and "No facility was given anything." in words
    assert "no store rejects" in words
