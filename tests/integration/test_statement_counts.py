"""Statements sent to the database per request on the hot paths. A count, not a timing: the
same on a busy machine as on an idle one. Caches are warm (an earlier request of each kind ran
first), as they are in a running server.

The bounds are today's counts, so that a change adding a statement to the hot path is seen here
first. The goal is 15 per rejection on PostgreSQL; today's 20 are: the levels lock, shipment and
order together, the items, the reference version (which also vouches for the caller's token),
the rejection's writes (items, shipment, levels, exclusions, records), the re-route's reads
(stock, exclusions, the target level) and its writes (shipment, items, levels, outbox), then at
the end of the transaction the ledger, the history and the day counters, one statement each,
and last the sync clock's stamp on the changed orders (one statement on PostgreSQL, two on
SQLite, which has no UPDATE inside WITH). SQLite adds the savepoint around each request of a
group commit."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import event

from reroute.services.context import Context
from tests.support import Headers, create, put_product, stocked

#: Upper bounds by database: (per rejection, per order creation).
MOST = {"postgresql": (20, 18), "sqlite": (25, 23)}


@contextmanager
def counted(context: Context) -> Iterator[list[str]]:
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    event.listen(context.db.engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(context.db.engine, "before_cursor_execute", count)


def _reject(client: TestClient, admin: Headers, order: Any, reason: str) -> None:
    item = order["items"][0]
    answer = client.post(
        f"/api/v1/shipments/{item['shipment_id']}/items/{item['item_id']}/reject",
        json={"reason_id": reason},
        headers=admin,
    )
    assert answer.status_code == 200, answer.text


def test_a_rejection_and_an_order_creation_stay_within_their_statements(
    client: TestClient, admin: Headers, context: Context
) -> None:
    product = put_product(client, admin)
    # Facility ids in distance order: the re-route's level sorts after the one the rejection
    # holds. (One sorting before is taken between two more statements, the brief lock wait.)
    for km in (1, 2, 3):
        stocked(client, admin, km, {product: 1000}, facility_id=f"F-STMT-{km}")
    warm = create(client, admin, [(product, 1)])
    _reject(client, admin, warm, "DAMAGED")
    with counted(context) as creating:
        order = create(client, admin, [(product, 1)])
    with counted(context) as rejecting:
        _reject(client, admin, order, "DAMAGED")
    print(f"\nstatements per order creation: {len(creating)}, per rejection: {len(rejecting)}")
    for name, statements in (("creation", creating), ("rejection", rejecting)):
        print(name)
        for statement in statements:
            print("   ", " ".join(statement.split())[:110])
    most_per_rejection, most_per_order = MOST[context.db.engine.dialect.name]
    assert len(rejecting) <= most_per_rejection, rejecting
    assert len(creating) <= most_per_order, creating
