"""Learned acceptance in live routing, on both databases: what it is counted from, and routing
by it per facility and product."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from fastapi.testclient import TestClient

from reroute.domain.clock import utcnow
from reroute.services.context import Context
from reroute.storage.unit_of_work import unit_of_work
from tests.integration.test_rejection_api import rejected_ok
from tests.integration.test_routing_api import put_rules, where
from tests.support import Headers, create, put_product, stocked


def test_a_store_that_rejects_one_product_loses_that_product_not_the_others(
    client: TestClient, admin: Headers, context: Context
) -> None:
    """A (1 km) is good at q and rejected p twice; B (10 km) rejected r four times. Sorted by
    acceptance, p now goes to B and q still to A."""
    p, q, r = (put_product(client, admin) for _ in range(3))
    a = stocked(client, admin, 1, {p: 20, q: 20})
    b = stocked(client, admin, 10, {p: 20, q: 20, r: 4})
    for _ in range(10):
        assert where(create(client, admin, [(q, 1)])) == {"1": ("ready", a)}
    for _ in range(4):
        rejected_ok(client, admin, create(client, admin, [(r, 1)]), reason_id="DAMAGED")
    for _ in range(2):
        rejected_ok(client, admin, create(client, admin, [(p, 1)]), reason_id="DAMAGED")
    with unit_of_work(context.db, write=False) as uow:
        counts = uow.routing.acceptance_counts(utcnow() - timedelta(days=1), utcnow())
    assert (counts.facilities[a].assigned, counts.facilities[a].rejected) == (12, 2)
    assert (counts.facilities[b].assigned, counts.facilities[b].rejected) == (6, 4)
    assert (counts.pairs[(a, p)].assigned, counts.pairs[(a, p)].rejected) == (2, 2)
    assert (a, q) not in counts.pairs  # never rejected there: the facility's rate stands
    put_rules(client, admin, {"sort": ["acceptance", "distance"]})
    context.cache.clear()  # routing keeps the model for a minute
    assert where(create(client, admin, [(p, 1)])) == {"1": ("ready", b)}
    assert where(create(client, admin, [(q, 1)])) == {"1": ("ready", a)}
    # The cost sort weighs the same chances against the 9 km farther: with the default costs a
    # likely re-route (15 x a share of about a half) outweighs 0.45 of distance.
    put_rules(client, admin, {"sort": ["cost"]})
    assert where(create(client, admin, [(p, 1)])) == {"1": ("ready", b)}
    assert where(create(client, admin, [(q, 1)])) == {"1": ("ready", a)}


def test_the_counts_cover_only_their_window(
    client: TestClient, admin: Headers, context: Context
) -> None:
    p = put_product(client, admin)
    a = stocked(client, admin, 1, {p: 5})
    rejected_ok(client, admin, create(client, admin, [(p, 1)]), reason_id="DAMAGED")
    later = utcnow() + timedelta(minutes=1)
    # Facilities' totals are kept by day: a window from tomorrow on has none of today's.
    tomorrow = datetime.combine(later.date() + timedelta(days=1), time(), UTC)
    with unit_of_work(context.db, write=False) as uow:
        now = uow.routing.acceptance_counts(later - timedelta(days=1), later)
        after = uow.routing.acceptance_counts(tomorrow, tomorrow + timedelta(days=1))
    assert now.pairs[(a, p)].rejected == 1 and now.facilities[a].rejected == 1
    assert not after.pairs and sum(t.rejected for t in after.facilities.values()) == 0
