"""Stock counts and what a facility holds of a product."""

from __future__ import annotations

import logging
from typing import Any

from reroute.domain.access import Principal, Role
from reroute.domain.blocks import CountSource
from reroute.domain.errors import Busy, NotFound
from reroute.domain.facilities import Product
from reroute.domain.inventory import InventoryLevel
from reroute.services.context import Context
from reroute.services.routing import claim_orders, route_orders
from reroute.storage.unit_of_work import UnitOfWork, transact, unit_of_work

log = logging.getLogger("reroute.inventory")

#: Backordered orders routed at once when a count raises ATP; the rest wait for a batch run.
BACKORDERS_AT_ONCE = 200


def _require_known(uow: UnitOfWork, facility_id: str, product_id: str) -> None:
    if uow.facilities.get(facility_id) is None:
        raise NotFound(f"No facility {facility_id}.")
    if uow.products.get(product_id) is None:
        raise NotFound(f"No product {product_id}.")


def count_stock(
    ctx: Context,
    facility_id: str,
    product_id: str,
    quantity_on_hand: int,
    actor: Principal,
    source: CountSource = CountSource.FEED,
) -> InventoryLevel:
    """Record a stock count: QOH becomes the count, ATP moves by the same difference.

    The store's own physical count (`cycle_count`) also lifts a hold a rejection left on the
    product there: the store has looked. A feed's count does not (it may restore the very
    units the store said were not there)."""
    actor.require_role(Role.ADMIN, Role.INTEGRATION)

    def work(uow: UnitOfWork) -> tuple[InventoryLevel, bool]:
        _require_known(uow, facility_id, product_id)
        before = uow.inventory.get(facility_id, product_id, lock=True).available_to_promise
        level = apply_count(uow, facility_id, product_id, quantity_on_hand, actor.id)
        lifted = source is CountSource.CYCLE_COUNT and uow.blocks.lift_hold(facility_id, product_id)
        promisable = level.available_to_promise > 0
        return level, level.available_to_promise > max(before, 0) or (lifted and promisable)

    level, arrived = transact(ctx.db, work)
    if not arrived:
        return level

    # The count stands on its own; the backorders it can serve are routed next, in their own
    # transaction, holding no lock of the count's while they lock other facilities' stock.
    def route(uow: UnitOfWork) -> tuple[int, int]:
        # Held while routing, so the difference below is routing's own, not another count's.
        held = uow.inventory.get(facility_id, product_id, lock=True)
        route_backorders(ctx, uow, product_id, actor.id)
        after = uow.inventory.get(facility_id, product_id)
        return (
            after.available_to_promise - held.available_to_promise,
            after.reserved - held.reserved,
        )

    try:
        atp_diff, reserved_diff = transact(ctx.db, route)
    except Busy:
        log.warning("backorders of %s left for the next routing run: stock was busy", product_id)
        return level
    # The levels the count set, less what its backorders took here: another count since is
    # that count's own answer.
    level.available_to_promise += atp_diff
    level.reserved += reserved_diff
    return level


def route_backorders(ctx: Context, uow: UnitOfWork, product_id: str, actor: str) -> None:
    """Stock arrived: route the orders waiting for this product at once (a bounded number;
    the rest wait for the next batch run)."""
    ids = uow.routing.backordered_orders(product_id, BACKORDERS_AT_ONCE)
    if ids:
        route_orders(ctx, uow, claim_orders(uow, ids), actor=actor)


def apply_count(
    uow: UnitOfWork, facility_id: str, product_id: str, quantity_on_hand: int, reference: str
) -> InventoryLevel:
    """The count inside a caller's transaction (the API, or a whole import file)."""
    level = uow.inventory.get(facility_id, product_id, lock=True)
    entry = level.count(quantity_on_hand, reference)
    uow.inventory.save(level, [entry] if entry.qoh_diff else [], uow.now)
    return level


def get_level(ctx: Context, facility_id: str, product_id: str, actor: Principal) -> InventoryLevel:
    actor.require_facility(facility_id)
    with unit_of_work(ctx.db, write=False) as uow:
        _require_known(uow, facility_id, product_id)
        return uow.inventory.get(facility_id, product_id)


def levels_at_facility(
    ctx: Context, facility_id: str, actor: Principal, *, after: str | None, limit: int
) -> list[InventoryLevel]:
    """A facility's levels by product id, after product `after`; 404 for no such facility."""
    actor.require_facility(facility_id)
    with unit_of_work(ctx.db, write=False) as uow:
        if uow.facilities.get(facility_id) is None:
            raise NotFound(f"No facility {facility_id}.")
        return uow.inventory.levels_after(facility_id, after, limit)


def get_ledger(
    ctx: Context,
    facility_id: str,
    product_id: str,
    actor: Principal,
    *,
    limit: int = 100,
    before_id: int | None = None,
) -> list[dict[str, Any]]:
    actor.require_facility(facility_id)
    with unit_of_work(ctx.db, write=False) as uow:
        _require_known(uow, facility_id, product_id)
        return uow.inventory.ledger(facility_id, product_id, limit=limit, before_id=before_id)


def stock_at(
    ctx: Context,
    facility_id: str,
    actor: Principal,
    *,
    text: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[tuple[Product, InventoryLevel]], int]:
    """A facility's stock, product by product (searched by id, SKU, UPC or name), and the total."""
    actor.require_facility(facility_id)
    with unit_of_work(ctx.db, write=False) as uow:
        if uow.facilities.get(facility_id) is None:
            raise NotFound(f"No facility {facility_id}.")
        found, total = uow.inventory.levels_at(facility_id, text=text, limit=limit, offset=offset)
        products = uow.products.get_many([product_id for product_id, _ in found])
    return [(products[p], level) for p, level in found if p in products], total
