"""`reroute simulate`: its options, its JSON and its refusals, on both databases."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from reroute.cli import app as cli
from reroute.services.context import Context
from tests.integration.test_simulation import fingerprint, orders_of, world
from tests.support import Headers, order_body

__all__ = ["world"]  # the fixture, shared with the service's tests


def simulate(context: Context, *args: str) -> Any:
    return CliRunner().invoke(cli, ["simulate", *args, "--database-url", context.db.url])


def test_the_json_report_has_each_rule_set_and_the_difference(
    client: TestClient, admin: Headers, context: Context, world: dict[str, Any], tmp_path: Path
) -> None:
    orders_of(client, admin, world)
    cost = tmp_path / "cheapest.json"
    cost.write_text(
        json.dumps({"routings": [{"name": "All", "inventory_rules": [{"sort": ["cost"]}]}]}),
        encoding="utf-8",
    )
    since = world["since"].isoformat()
    result = simulate(
        context, "--since", since, "--rules", "live", "--rules", str(cost), "--seed", "3", "--json"
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert [r["name"] for r in report["rule_sets"]] == ["live", "cheapest"]
    assert report["seed"] == 3 and report["orders"] == 12
    for figures in report["rule_sets"]:
        assert {"items", "placed", "backorder", "customer_care", "shipments", "split_rate"} <= set(
            figures
        )
        assert {"distance_km", "cost", "rejections", "first_attempt_acceptance"} <= set(figures)
        assert figures["items"] == 16 and figures["facilities"]
    assert report["differences"][0]["against"] == "live"


def test_the_table_names_every_figure(
    client: TestClient, admin: Headers, context: Context, world: dict[str, Any]
) -> None:
    orders_of(client, admin, world)
    result = simulate(context, "--since", world["since"].isoformat(), "--rejections", "none")
    assert result.exit_code == 0, result.output
    for label in ("Placed", "Backorder", "Split rate", "Distance (km)", "First-attempt acceptance"):
        assert label in result.stdout


def test_orders_from_a_file_are_replayed_and_not_written(
    client: TestClient, admin: Headers, context: Context, world: dict[str, Any], tmp_path: Path
) -> None:
    a, b = world["products"]
    bodies = [order_body([(a, 1)]), order_body([(a, 1), (b, 2)])]
    orders = tmp_path / "orders.json"
    orders.write_text(json.dumps(bodies), encoding="utf-8")
    before = fingerprint(context)
    result = simulate(context, "--orders", str(orders), "--rejections", "none", "--json")
    assert result.exit_code == 0, result.output
    (figures,) = json.loads(result.stdout)["rule_sets"]
    assert figures["items"] == 3 and figures["placed"] == 3 and figures["shipments"] == 2
    assert fingerprint(context) == before


def test_bad_options_are_refused_with_a_message_and_nothing_run(
    context: Context, tmp_path: Path
) -> None:
    not_json = tmp_path / "rules.json"
    not_json.write_bytes(b"\xff\x00{")
    bad_rules = tmp_path / "bad.json"
    bad_rules.write_text('{"routings": [{"name": ""}]}', encoding="utf-8")
    for args, words in [
        (["--since", "yesterday"], "give a date"),
        (["--since", "2026-11-01", "--rules", str(not_json)], "not a JSON document"),
        (["--since", "2026-11-01", "--rules", str(tmp_path / "none.json")], "no such file"),
        (["--since", "2026-11-01", "--rejections", "sometimes"], "learned, none, or a file"),
        (["--since", "2026-11-01", "--rules", str(bad_rules)], "bad:"),
        ([], "Give the orders"),
        (["--since", "2026-11-01", "--html", str(tmp_path / "no" / "r.html")], "no folder"),
    ]:
        result = simulate(context, *args)
        assert result.exit_code in (1, 2), (args, result.output)
        assert words in result.output, (args, result.output)
