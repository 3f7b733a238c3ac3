"""Every change of the routing rules keeps the document it replaced, whichever way it came (the
API's PUT and DELETE, the pages): who wrote it and when, who replaced it and when. A refused
change keeps nothing."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from reroute.domain.access import SYSTEM
from reroute.domain.routing.rules import default_rules, rules_to_json
from reroute.services import routing_rules
from reroute.services.context import Context


def versions(context: Context) -> list[dict[str, Any]]:
    return routing_rules.list_versions(context, SYSTEM)


def renamed(name: str) -> dict[str, Any]:
    document = rules_to_json(default_rules())
    document["routings"][0]["name"] = name
    return document


def test_a_put_keeps_what_it_replaced_with_who_and_when(
    client: TestClient, context: Context, admin: dict[str, str]
) -> None:
    first = client.put("/api/v1/routing/rules", json=renamed("First"), headers=admin)
    assert first.status_code == 200, first.text
    [defaults] = versions(context)
    assert defaults["was_default"] and defaults["written_by"] is None
    assert defaults["replaced_by"].startswith("token:")
    kept = routing_rules.compare_version(context, defaults["id"], SYSTEM).version
    assert kept["document"] == rules_to_json(default_rules())

    second = client.put("/api/v1/routing/rules", json=renamed("Second"), headers=admin)
    assert second.status_code == 200
    newest, older = versions(context)
    assert older["id"] == defaults["id"]
    assert not newest["was_default"]
    assert newest["written_by"] == defaults["replaced_by"]
    assert newest["written_at"] == defaults["replaced_at"]
    assert newest["replaced_at"] >= newest["written_at"]
    document = routing_rules.compare_version(context, newest["id"], SYSTEM).version["document"]
    assert document["routings"][0]["name"] == "First"


def test_a_delete_keeps_the_saved_rules_as_a_version(
    client: TestClient, context: Context, admin: dict[str, str]
) -> None:
    client.put("/api/v1/routing/rules", json=renamed("Saved"), headers=admin)
    assert client.delete("/api/v1/routing/rules", headers=admin).status_code == 200
    newest = versions(context)[0]
    document = routing_rules.compare_version(context, newest["id"], SYSTEM).version["document"]
    assert document["routings"][0]["name"] == "Saved"
    restored = routing_rules.restore_version(context, newest["id"], SYSTEM)
    assert restored["routings"][0]["name"] == "Saved"
    assert len(versions(context)) == 3  # the restore kept the defaults it replaced


def test_refused_changes_keep_no_version(
    client: TestClient, context: Context, admin: dict[str, str]
) -> None:
    bad = renamed("Bad")
    bad["routings"][0]["inventory_rules"][0]["sort"] = ["nearest"]
    assert client.put("/api/v1/routing/rules", json=bad, headers=admin).status_code == 422
    stale = {"If-Match": '"not-the-tag"', **admin}
    answer = client.put("/api/v1/routing/rules", json=renamed("Late"), headers=stale)
    assert answer.status_code == 412
    assert versions(context) == []


def test_the_diff_marks_what_a_restore_brings_back_and_takes_away(
    client: TestClient, context: Context, admin: dict[str, str]
) -> None:
    client.put("/api/v1/routing/rules", json=renamed("Old name"), headers=admin)
    client.put("/api/v1/routing/rules", json=renamed("New name"), headers=admin)
    newest = versions(context)[0]
    comparison = routing_rules.compare_version(context, newest["id"], SYSTEM)
    changed = [(line.kind, line.text.strip()) for line in comparison.lines if line.kind != "same"]
    assert changed == [
        ("removed", '"name": "Old name",'),
        ("added", '"name": "New name",'),
    ]
    same = routing_rules.compare_version(context, versions(context)[-1]["id"], SYSTEM)
    assert not same.same  # the defaults differ from "New name"
