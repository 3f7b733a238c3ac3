"""Small pure helpers of the pages: JSON line finding, the timeline, the analytics bars."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from reroute.pages.admin import timeline
from reroute.pages.analytics import TOP, chart
from reroute.pages.json_lines import line_of, value_lines


def test_value_lines_finds_the_line_of_every_value_by_its_path() -> None:
    text = json.dumps({"routings": [{"name": "a", "sort": ["x", "y"]}], "n": 1.5e3}, indent=2)
    lines = value_lines(text)
    rows = text.split("\n")
    for path, needle in {
        "routings.0.name": '"name": "a"',
        "routings.0.sort.1": '"y"',
        "n": '"n": 1500.0',
    }.items():
        assert needle in rows[lines[path] - 1], path


def test_a_missing_path_falls_back_to_its_nearest_parent_and_bad_json_to_nothing() -> None:
    text = '{\n "routings": [\n  {"name": "a"}\n ]\n}'
    lines = value_lines(text)
    assert line_of(lines, "routings.0.order_filter.catalog_ids") == 3
    assert line_of(lines, "elsewhere") == 1
    assert line_of(value_lines('{"a": [1, }'), "a.1") == 1
    assert line_of({}, "a") is None


def _row(event: str, request_id: str, item: str, at: datetime) -> dict[str, object]:
    return {
        "event": event,
        "actor": "user:a@example.com",
        "created_at": at,
        "facility_id": "S1",
        "reason_id": None,
        "request_id": request_id,
        "note": None,
        "item_id": item,
    }


def test_rows_written_together_make_one_moment_of_the_timeline() -> None:
    now = datetime(2026, 1, 2, 3, 4, tzinfo=UTC)
    moments = timeline(
        [
            _row("created", "r1", "1", now),
            _row("created", "r1", "2", now),
            _row("assigned", "r1", "1", now),
            _row("start", "r2", "1", now),
        ]
    )
    assert [(m.event, len(m.rows)) for m in moments] == [
        ("created", 2),
        ("assigned", 1),
        ("start", 1),
    ]


def test_bars_are_ranked_scaled_to_the_longest_and_the_tail_summed() -> None:
    counts = {f"F{n}": n for n in range(1, TOP + 4)}
    drawn = chart("By facility", counts, {"F13": "Lincoln Park"})
    assert drawn.bars[0].label == "Lincoln Park" and drawn.bars[0].length == 100
    assert len(drawn.bars) == TOP and drawn.others == 1 + 2 + 3
    assert drawn.total == sum(counts.values())
    assert chart("By reason", {}, {}).bars == []
