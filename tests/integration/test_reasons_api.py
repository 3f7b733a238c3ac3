"""Rejection reasons as data an admin manages, on both databases (SPEC 4.1): the seeded
defaults, adding, renaming, reordering and deactivating them, validation, who may, and a
deactivated or unknown reason refused on a rejection with nothing written."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from reroute.domain.access import Role
from reroute.services.context import Context
from tests.conftest import make_token
from tests.integration.test_rejection_api import (
    assert_counters_equal_ledger,
    footprint,
    item,
    qoh_atp,
    reject,
    reject_shipment,
    rejected_ok,
    where,
    worked_example,
)
from tests.support import Headers, place, read

DEFAULTS = [
    ("NOT_IN_STOCK", "Not in stock", "zero", True, "101", "Don't have enough quantity."),
    ("MISMATCH", "Mismatch", "decrease_qoh_and_atp", False, "103", "Item does not match"),
    ("DAMAGED", "Damage", "decrease_atp", False, "104", "Damaged"),
    ("WORN_DISPLAY", "Worn display", "decrease_atp", False, "102", "On a mannequin or display"),
    (
        "CASCADE",
        "Same product rejected at this store",
        "none",
        False,
        "101",
        "Don't have enough quantity.",
    ),
    (
        "AVOID_SPLIT",
        "Rejected with the rest of the shipment",
        "none",
        False,
        "105",
        "Shipped together with a declined item",
    ),
    (
        "STORE_CAPACITY",
        "Store cannot take more today",
        "none",
        False,
        "106",
        "Location at capacity",
    ),
    ("IDLE_TIMEOUT", "Not accepted in time", "none", False, "107", "Not accepted in time"),
]


def reasons(client: TestClient, headers: Headers, **params: Any) -> list[Any]:
    response = client.get("/api/v1/rejection-reasons", params=params, headers=headers)
    assert response.status_code == 200, response.text
    found: list[Any] = response.json()
    return found


def ids(client: TestClient, headers: Headers, **params: Any) -> list[str]:
    return [r["reason_id"] for r in reasons(client, headers, **params)]


def put_reason(client: TestClient, headers: Headers, reason_id: str, **body: Any) -> Any:
    return client.put(f"/api/v1/rejection-reasons/{reason_id}", json=body, headers=headers)


def without_etag(reason: dict[str, Any]) -> dict[str, Any]:
    """A reason as answered, less its entity tag (tests/integration/test_etags.py)."""
    return {k: v for k, v in reason.items() if k != "etag"}


def reason_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "label": "Water damage",
        "inventory_effect": "decrease_qoh_and_atp",
        "cascade": False,
        "decline_code": "107",
        "decline_description": "Damaged by water",
        "sequence": 35,
        "active": True,
        "hold_hours": None,
    }
    body.update(overrides)
    return body


def test_the_eight_defaults_are_listed_in_sequence_with_their_effects_and_codes(
    client: TestClient, admin: Headers, context: Context
) -> None:
    shown = reasons(client, admin)
    assert [
        (
            r["reason_id"],
            r["label"],
            r["inventory_effect"],
            r["cascade"],
            r["decline_code"],
            r["decline_description"],
        )
        for r in shown
    ] == DEFAULTS
    assert all(r["active"] for r in shown)
    sequences = [r["sequence"] for r in shown]
    assert sequences == sorted(sequences) and len(set(sequences)) == 8
    # NOT_IN_STOCK keeps the product away from the store a day; no other default holds.
    assert {r["reason_id"]: r["hold_hours"] for r in shown if r["hold_hours"]} == {
        "NOT_IN_STOCK": 24
    }
    # Anyone signed in reads them: the store pages offer them to associates.
    associate = make_token(context, Role.ASSOCIATE, [place(client, admin, 1)])
    assert reasons(client, associate) == shown


def test_an_admin_adds_a_reason_with_201_then_renames_and_reorders_it_with_200(
    client: TestClient, admin: Headers
) -> None:
    created = put_reason(client, admin, "WATER_DAMAGE", **reason_body())
    assert created.status_code == 201, created.text
    assert without_etag(created.json()) == {"reason_id": "WATER_DAMAGE", **reason_body()}
    listed = ids(client, admin)
    assert listed.index("DAMAGED") < listed.index("WATER_DAMAGE") < listed.index("WORN_DISPLAY")

    changed = put_reason(
        client, admin, "WATER_DAMAGE", **reason_body(label="  Wet  ", sequence=1, cascade=True)
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["label"], changed.json()["sequence"]) == ("Wet", 1)
    shown = reasons(client, admin)
    assert without_etag(shown[0]) == {
        "reason_id": "WATER_DAMAGE",
        **reason_body(label="Wet", sequence=1, cascade=True),
    }
    assert len(shown) == 9

    # A default can be reordered and renamed too; its id (and old records' meaning) stays.
    moved = put_reason(
        client,
        admin,
        "STORE_CAPACITY",
        **reason_body(
            label="Too busy today",
            inventory_effect="none",
            decline_code="106",
            decline_description="Location at capacity",
            sequence=0,
        ),
    )
    assert moved.status_code == 200, moved.text
    assert ids(client, admin)[:2] == ["STORE_CAPACITY", "WATER_DAMAGE"]


def test_a_bad_reason_is_refused_422_with_the_field_and_nothing_is_saved(
    client: TestClient, admin: Headers
) -> None:
    before = reasons(client, admin)
    refused = {
        "inventory_effect": reason_body(inventory_effect="halve"),
        "decline_code": reason_body(decline_code="ABC"),
        "label": reason_body(label="   "),
        "decline_description": reason_body(decline_description=""),
        "sequence": reason_body(sequence=-1),
        "colour": {**reason_body(), "colour": "red"},
    }
    for path, body in refused.items():
        response = put_reason(client, admin, "BROKEN", **body)
        assert response.status_code == 422, (path, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert path in [e["path"] for e in response.json()["errors"]], response.json()
        # The same mistakes on an existing reason leave it as it was.
        assert put_reason(client, admin, "DAMAGED", **body).status_code == 422
    missing = reason_body()
    del missing["decline_code"]
    assert put_reason(client, admin, "BROKEN", **missing).status_code == 422
    response = put_reason(client, admin, "bad id!", **reason_body())
    assert response.status_code == 422, response.text
    assert reasons(client, admin) == before


def test_only_an_admin_may_change_reasons(
    client: TestClient, admin: Headers, context: Context
) -> None:
    before = reasons(client, admin)
    for role, facilities in ((Role.ASSOCIATE, [place(client, admin, 1)]), (Role.INTEGRATION, [])):
        headers = make_token(context, role, facilities)
        for reason_id in ("DAMAGED", "NEW_ONE"):
            response = put_reason(client, headers, reason_id, **reason_body(active=False))
            assert response.status_code == 403, response.text
            assert "admin" in response.json()["detail"]
    response = client.put(
        "/api/v1/rejection-reasons/DAMAGED", json=reason_body(active=False), headers={}
    )
    assert response.status_code == 401
    assert reasons(client, admin) == before


def test_a_deactivated_reason_cannot_be_used_and_a_refused_rejection_writes_nothing(
    client: TestClient, admin: Headers, context: Context
) -> None:
    ex = worked_example(client, admin)
    damaged = next(r for r in reasons(client, admin) if r["reason_id"] == "DAMAGED")
    body = {k: v for k, v in damaged.items() if k not in ("reason_id", "etag")}
    response = put_reason(client, admin, "DAMAGED", **{**body, "active": False})
    assert response.status_code == 200, response.text
    assert "DAMAGED" in ids(client, admin)
    assert "DAMAGED" not in ids(client, admin, active=True)
    assert len(ids(client, admin, active=True)) == 7

    shipment_id = item(ex.a)["shipment_id"]
    before = footprint(context)
    refused = reject(client, admin, shipment_id, "1", "DAMAGED")
    assert refused.status_code == 422, refused.text
    assert "inactive" in refused.json()["detail"]
    assert [e["path"] for e in refused.json()["errors"]] == ["reason_id"]
    assert reject_shipment(client, admin, shipment_id, "DAMAGED").status_code == 422
    assert footprint(context) == before
    assert where(read(client, admin, ex.a["order_id"])) == {"1": ("ready", ex.store)}

    assert put_reason(client, admin, "DAMAGED", **body).status_code == 200
    answer = rejected_ok(client, admin, ex.a, reason_id="DAMAGED")
    assert answer["rejected"][0]["reason_id"] == "DAMAGED"
    assert qoh_atp(client, admin, ex.store, ex.product) == (5, 3)


def test_a_reason_an_admin_added_applies_its_own_effect_and_cascade(
    client: TestClient, admin: Headers, context: Context
) -> None:
    created = put_reason(client, admin, "WATER_DAMAGE", **reason_body(cascade=True))
    assert created.status_code == 201, created.text
    ex = worked_example(client, admin)
    answer = rejected_ok(client, admin, ex.a, reason_id="WATER_DAMAGE")
    assert sorted((r["order_id"], r["reason_id"], r["cascaded"]) for r in answer["rejected"]) == (
        sorted([(ex.a["order_id"], "WATER_DAMAGE", False), (ex.b["order_id"], "CASCADE", True)])
    )
    # Both released (ATP 5), then lowered by the one rejected unit: QOH 4, ATP 4.
    assert qoh_atp(client, admin, ex.store, ex.product) == (4, 4)
    assert where(read(client, admin, ex.b["order_id"])) == {"1": ("ready", ex.other)}
    assert_counters_equal_ledger(context)
