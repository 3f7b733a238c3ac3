"""The invariant checker itself: silent on a database that real requests wrote (rejections with
effects and cascades, a count below what is reserved, fulfilment, cancellation, customer care),
and loud, naming the ids, on each kind of damage done to that database by hand."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert, select, update

from reroute.domain.clock import utcnow
from reroute.services.context import Context
from reroute.storage import tables
from tests.invariants import Violation, check, violations
from tests.support import Headers, create, put_product, read, stocked


@dataclass
class Story:
    s1: str
    s2: str
    p1: str
    p2: str
    #: An order with one item of p1 ready at s2 (rerouted there after a rejection at s1).
    ready_order: str
    ready_shipment: str


def post(client: TestClient, admin: Headers, path: str, body: Any = None) -> Any:
    response = client.post(path, json=body or {}, headers=admin)
    assert response.status_code == 200, response.text
    return response.json()


def shipment_of(client: TestClient, admin: Headers, order_id: str, item_id: str = "1") -> str:
    item = next(i for i in read(client, admin, order_id)["items"] if i["item_id"] == item_id)
    assert item["shipment_id"], item
    return str(item["shipment_id"])


@pytest.fixture
def story(client: TestClient, admin: Headers) -> Story:
    """A small day at two stores, every step through the API."""
    p1, p2 = put_product(client, admin), put_product(client, admin)
    s1 = stocked(client, admin, 1, {p1: 5, p2: 5})
    s2 = stocked(client, admin, 3, {p1: 5})
    a = create(client, admin, [(p1, 2)])["order_id"]
    b = create(client, admin, [(p1, 1), (p2, 1)])["order_id"]
    d = create(client, admin, [(p1, 1)])["order_id"]
    # Damaged at s1: ATP falls there, the item goes to s2.
    post(
        client,
        admin,
        f"/api/v1/shipments/{shipment_of(client, admin, a)}/items/1/reject",
        {"reason_id": "DAMAGED"},
    )
    for step in ("start", "pack", "fulfill"):
        post(client, admin, f"/api/v1/shipments/{shipment_of(client, admin, b)}/{step}")
    # A count below what s1 still promises: ATP below 0, by a count.
    response = client.put(
        f"/api/v1/facilities/{s1}/inventory/{p1}", json={"quantity_on_hand": 0}, headers=admin
    )
    assert response.status_code == 200 and response.json()["available_to_promise"] < 0
    # Not in stock: zero, and cascade.
    post(
        client,
        admin,
        f"/api/v1/shipments/{shipment_of(client, admin, d)}/reject",
        {"reason_id": "NOT_IN_STOCK"},
    )
    post(client, admin, f"/api/v1/orders/{a}/cancel")
    e = create(client, admin, [(p2, 1)])["order_id"]
    post(client, admin, f"/api/v1/shipments/{shipment_of(client, admin, e)}/customer-care")
    ready = create(client, admin, [(p1, 1)])["order_id"]
    ready_shipment = shipment_of(client, admin, ready)
    # s2 now promises more than a count finds: ATP stays below 0 at the end.
    response = client.put(
        f"/api/v1/facilities/{s2}/inventory/{p1}", json={"quantity_on_hand": 1}, headers=admin
    )
    assert response.status_code == 200 and response.json()["available_to_promise"] < 0
    return Story(s1, s2, p1, p2, ready, ready_shipment)


def edit(context: Context, *statements: Any) -> None:
    with context.db.engine.begin() as conn:
        for statement in statements:
            conn.execute(statement)


def level(context: Context, facility_id: str, product_id: str) -> Any:
    t = tables.inventory_levels
    with context.db.engine.connect() as conn:
        return conn.execute(
            select(t).where(t.c.facility_id == facility_id, t.c.product_id == product_id)
        ).one()


def ledger_row(facility_id: str, product_id: str, **values: Any) -> Any:
    row = {
        "facility_id": facility_id,
        "product_id": product_id,
        "qoh_diff": 0,
        "atp_diff": 0,
        "reserved_diff": 0,
        "cause": "reserve",
        "reference": "",
        "created_at": utcnow(),
    }
    row.update(values)
    return insert(tables.inventory_ledger).values(**row)


def move_level(facility_id: str, product_id: str, qoh: int, atp: int, reserved: int) -> Any:
    t = tables.inventory_levels
    return (
        update(t)
        .where(t.c.facility_id == facility_id, t.c.product_id == product_id)
        .values(
            quantity_on_hand=t.c.quantity_on_hand + qoh,
            available_to_promise=t.c.available_to_promise + atp,
            reserved=t.c.reserved + reserved,
        )
    )


def of_kind(found: list[Violation], kind: str) -> list[str]:
    return [v.text for v in found if v.kind == kind]


def test_a_database_written_by_real_requests_breaks_no_invariant(
    story: Story, database_url: str
) -> None:
    assert violations(database_url) == []


def test_a_counter_that_moved_without_the_ledger_is_named(
    story: Story, context: Context, database_url: str
) -> None:
    edit(context, move_level(story.s1, story.p2, 1, 0, 0))

    found = of_kind(check(database_url), "counters != ledger")

    assert len(found) == 1
    assert story.s1 in found[0] and story.p2 in found[0] and "QOH" in found[0]


def test_one_item_reserved_at_two_facilities_and_its_empty_shipment_are_named(
    story: Story, context: Context, database_url: str
) -> None:
    """The race of the issue: a second routing reserves the item at s1 too and opens a
    shipment there that no item is in."""
    reference = f"{story.ready_order}/1"
    now = utcnow()
    edit(
        context,
        ledger_row(story.s1, story.p1, cause="stock_count", qoh_diff=1, atp_diff=1),
        move_level(story.s1, story.p1, 1, 1, 0),
        ledger_row(story.s1, story.p1, atp_diff=-1, reserved_diff=1, reference=reference),
        move_level(story.s1, story.p1, 0, -1, 1),
        insert(tables.shipments).values(
            order_id=story.ready_order,
            facility_id=story.s1,
            state="ready",
            created_at=now,
            updated_at=now,
        ),
    )

    found = check(database_url)

    assert of_kind(found, "counters != ledger") == []
    (twice,) = of_kind(found, "item held at two facilities")
    assert reference in twice and story.s1 in twice and story.s2 in twice
    (reserved,) = of_kind(found, "reserved != open items")
    assert story.s1 in reserved and story.p1 in reserved
    (empty,) = of_kind(found, "open shipment without items")
    assert story.ready_order in empty and story.s1 in empty


def test_an_item_that_left_without_its_release_is_named(
    story: Story, context: Context, database_url: str
) -> None:
    t = tables.order_items
    edit(
        context,
        update(t)
        .where(t.c.order_id == story.ready_order)
        .values(state="canceled", facility_id=None, shipment_id=None),
    )

    found = check(database_url)

    (item,) = of_kind(found, "item ledger != state")
    assert f"{story.ready_order}/1" in item and story.s2 in item
    (reserved,) = of_kind(found, "reserved != open items")
    assert story.s2 in reserved and story.p1 in reserved
    (empty,) = of_kind(found, "open shipment without items")
    assert story.ready_shipment in empty


def test_a_reservation_that_oversells_and_a_fall_below_zero_without_a_count_are_named(
    story: Story, context: Context, database_url: str
) -> None:
    atp = level(context, story.s1, story.p2).available_to_promise
    assert atp >= 0
    edit(
        context,
        ledger_row(
            story.s1,
            story.p2,
            cause="reject:decrease_atp",
            atp_diff=-(atp + 2),
            reference=f"{story.ready_order}/1",
        ),
        move_level(story.s1, story.p2, 0, -(atp + 2), 0),
    )

    found = of_kind(check(database_url), "ATP < 0 not by a count")

    assert len(found) == 1
    assert story.s1 in found[0] and story.p2 in found[0] and "reject:decrease_atp" in found[0]


def test_a_reservation_below_zero_is_named(
    story: Story, context: Context, database_url: str
) -> None:
    order = create_order_row(context, story.p2)
    atp = level(context, story.s1, story.p2).available_to_promise
    edit(
        context,
        ledger_row(story.s1, story.p2, atp_diff=-(atp + 1), reserved_diff=atp + 1, reference=order),
        move_level(story.s1, story.p2, 0, -(atp + 1), atp + 1),
    )

    found = of_kind(check(database_url), "ATP < 0 not by a count")

    assert any(order in t and "left ATP at -1" in t for t in found), found


def create_order_row(context: Context, product_id: str) -> str:
    """A queued item written straight to the tables; answers its ledger reference."""
    now = utcnow()
    order_id = f"O-hand-{now.timestamp():.0f}"
    edit(
        context,
        insert(tables.orders).values(
            id=order_id,
            catalog_id="0",
            customer_name="Hand",
            customer_email="hand@example.com",
            shipping_method="standard",
            ship_complete=False,
            inventory_based=True,
            priority=0,
            ship_to={},
            body_hash="0" * 64,
            created_at=now,
            updated_at=now,
        ),
        insert(tables.order_items).values(
            order_id=order_id,
            item_id="1",
            line=1,
            product_id=product_id,
            quantity=1,
            state="queued",
            updated_at=now,
        ),
    )
    return f"{order_id}/1"


def test_a_shipment_whose_state_does_not_follow_its_items_is_named(
    story: Story, context: Context, database_url: str
) -> None:
    t = tables.shipments
    edit(context, update(t).where(t.c.id == int(story.ready_shipment)).values(state="packed"))

    (found,) = of_kind(check(database_url), "shipment state != items")

    assert story.ready_shipment in found and "ready" in found


def test_an_item_that_left_but_still_names_its_facility_is_named(
    story: Story, context: Context, database_url: str
) -> None:
    reference = create_order_row(context, story.p1)
    t = tables.order_items
    order_id = reference.split("/")[0]
    edit(context, update(t).where(t.c.order_id == order_id).values(facility_id=story.s1))

    (found,) = of_kind(check(database_url), "item fields")

    assert reference in found and story.s1 in found


def test_a_ledger_entry_of_no_item_is_named(
    story: Story, context: Context, database_url: str
) -> None:
    edit(
        context,
        ledger_row(
            story.s1, story.p2, cause="release", reference="nobody/1", atp_diff=1, reserved_diff=-1
        ),
        ledger_row(
            story.s1, story.p2, cause="reserve", reference="nobody/1", atp_diff=-1, reserved_diff=1
        ),
    )

    (found,) = of_kind(check(database_url), "ledger names no item")

    assert "'nobody/1'" in found and story.s1 in found


def test_a_facility_given_more_shipments_than_its_daily_capacity_is_named(
    story: Story, context: Context, database_url: str
) -> None:
    f, d = tables.facilities, tables.facility_days
    edit(
        context,
        update(f).where(f.c.id == story.s2).values(daily_capacity=1),
        update(d).where(d.c.facility_id == story.s2).values(shipments=d.c.shipments + 1),
    )

    found = check(database_url)

    (over,) = of_kind(found, "over daily capacity")
    assert story.s2 in over and "capacity of 1" in over
    (counter,) = of_kind(found, "day counter != shipments")
    assert story.s2 in counter


def test_a_fulfilled_shipment_that_holds_nothing_is_named(
    story: Story, context: Context, database_url: str
) -> None:
    t = tables.shipments
    with context.db.engine.connect() as conn:
        ended = conn.execute(select(t.c.id).where(t.c.state == "canceled")).scalars().first()
    assert ended is not None
    edit(context, update(t).where(t.c.id == ended).values(state="fulfilled"))

    (found,) = of_kind(check(database_url), "fulfilled shipment without items")

    assert f"Shipment {ended} " in found
