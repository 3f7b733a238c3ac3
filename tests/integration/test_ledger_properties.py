"""The ledger through the real database: whatever happens, counters equal the ledger's sums.

Random operations (counts, reservations, releases, shipments) go through the repositories,
each in its own transaction as a service would run it; a refused operation raises inside its
transaction and so must leave nothing behind. Every example works on levels of its own.
"""

from __future__ import annotations

import uuid

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reroute.domain.errors import DomainError
from reroute.domain.facilities import Facility, FacilityKind, Product
from reroute.domain.inventory import InventoryLevel
from reroute.services.context import Context
from reroute.services.inventory import apply_count
from reroute.storage.unit_of_work import UnitOfWork, unit_of_work

Key = tuple[str, str]

operations = st.lists(
    st.tuples(
        st.sampled_from(["count", "reserve", "release", "ship"]),
        st.integers(min_value=0, max_value=1),  # which facility
        st.integers(min_value=0, max_value=1),  # which product
        st.integers(min_value=0, max_value=9),  # how many
    ),
    min_size=1,
    max_size=25,
)
database_examples = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def new_catalog(context: Context, safety_stock: int) -> tuple[list[str], list[str]]:
    """Two facilities and two products no other example uses."""
    tag = uuid.uuid4().hex[:8]
    facility_ids = [f"F-{tag}-{n}" for n in range(2)]
    product_ids = [f"P-{tag}-{n}" for n in range(2)]
    with unit_of_work(context.db) as uow:
        for facility_id in facility_ids:
            uow.facilities.save(
                Facility(
                    facility_id,
                    "Store",
                    FacilityKind.STORE,
                    facility_id,
                    "70125",
                    41.88,
                    -87.63,
                    safety_stock=safety_stock,
                ),
                uow.now,
            )
        for product_id in product_ids:
            uow.products.save(
                Product(product_id, product_id, product_id, product_id, "Thing"), uow.now
            )
    return facility_ids, product_ids


def apply(
    uow: UnitOfWork, name: str, key: Key, quantity: int, safety_stock: int, reference: str
) -> None:
    """One operation as a service runs it: lock the level, move it, save it with its entry."""
    if name == "count":
        apply_count(uow, *key, quantity, reference)
        return
    level = uow.inventory.get(*key, lock=True)
    if name == "reserve":
        entry = level.reserve(quantity, reference, safety_stock)
    elif name == "release":
        entry = level.release(quantity, reference)
    else:
        entry = level.ship(quantity, reference)
    uow.inventory.save(level, [entry], uow.now)


def apply_in_memory(level: InventoryLevel, name: str, quantity: int, safety_stock: int) -> None:
    if name == "count":
        level.count(quantity)
    elif name == "reserve":
        level.reserve(quantity, "", safety_stock)
    elif name == "release":
        level.release(quantity, "")
    else:
        level.ship(quantity, "")


def counters(level: InventoryLevel) -> tuple[int, int, int]:
    return level.quantity_on_hand, level.available_to_promise, level.reserved


def assert_counters_equal_ledger_sums(context: Context) -> dict[Key, InventoryLevel]:
    with unit_of_work(context.db, write=False) as uow:
        sums = uow.inventory.ledger_sums()
        levels = uow.inventory.all_levels()
    assert set(sums) <= set(levels), "ledger rows for a level that does not exist"
    for key, level in levels.items():
        assert counters(level) == sums.get(key, (0, 0, 0)), key
    return levels


@database_examples
@given(steps=operations, safety_stock=st.integers(min_value=0, max_value=2))
def test_random_moves_through_the_database_keep_every_counter_equal_to_its_ledger_sum(
    context: Context, steps: list[tuple[str, int, int, int]], safety_stock: int
) -> None:
    facility_ids, product_ids = new_catalog(context, safety_stock)
    model: dict[Key, InventoryLevel] = {}
    for index, (name, f, p, quantity) in enumerate(steps):
        key = (facility_ids[f], product_ids[p])
        expected = model.setdefault(key, InventoryLevel(*key))
        before = counters(expected)
        try:
            apply_in_memory(expected, name, quantity, safety_stock)
        except DomainError:
            refused = True
        else:
            refused = False
        try:
            with unit_of_work(context.db) as uow:
                apply(uow, name, key, quantity, safety_stock, f"step-{index}")
        except DomainError:
            assert refused, f"the database refused {name} {quantity} that the domain allows"
            assert counters(expected) == before
        else:
            assert not refused, f"the database accepted {name} {quantity} that the domain refuses"
    levels = assert_counters_equal_ledger_sums(context)
    for key, expected in model.items():
        stored = levels.get(key, InventoryLevel(*key))
        assert counters(stored) == counters(expected), key


@database_examples
@given(steps=operations)
def test_several_moves_in_one_transaction_commit_or_roll_back_together(
    context: Context, steps: list[tuple[str, int, int, int]]
) -> None:
    facility_ids, product_ids = new_catalog(context, 0)
    with unit_of_work(context.db) as uow:
        for f in range(2):
            for p in range(2):
                apply_count(uow, facility_ids[f], product_ids[p], 5, "opening")
    with unit_of_work(context.db, write=False) as uow:
        opening = {k: counters(v) for k, v in uow.inventory.all_levels().items()}
    try:
        with unit_of_work(context.db) as uow:
            for index, (name, f, p, quantity) in enumerate(steps):
                apply(uow, name, (facility_ids[f], product_ids[p]), quantity, 0, f"step-{index}")
    except DomainError:
        with unit_of_work(context.db, write=False) as uow:
            after = {k: counters(v) for k, v in uow.inventory.all_levels().items()}
        assert after == opening, "a transaction that failed part-way left some of its moves"
    assert_counters_equal_ledger_sums(context)
