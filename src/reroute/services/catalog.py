"""Facilities and products: create or replace, read."""

from __future__ import annotations

from reroute.domain.access import LOADERS, Principal
from reroute.domain.errors import NotFound
from reroute.domain.facilities import Facility, Product
from reroute.services.context import Context
from reroute.storage.unit_of_work import unit_of_work


def put_facility(ctx: Context, facility: Facility, actor: Principal) -> tuple[Facility, bool]:
    actor.require_role(*LOADERS, action="put facility", target=f"facility {facility.id}")
    with unit_of_work(ctx.db) as uow:
        created = uow.facilities.save(facility, uow.now)
    return facility, created


def get_facility(ctx: Context, facility_id: str, actor: Principal) -> Facility:
    actor.require_facility(facility_id, "read facility")
    with unit_of_work(ctx.db, write=False) as uow:
        facility = uow.facilities.get(facility_id)
    if facility is None:
        raise NotFound(f"No facility {facility_id}.")
    return facility


def list_facilities(ctx: Context, actor: Principal) -> list[Facility]:
    with unit_of_work(ctx.db, write=False) as uow:
        return uow.facilities.list(sorted(actor.facilities) if actor.is_associate else None)


def facility_page(
    ctx: Context, actor: Principal, *, after: str | None, limit: int
) -> list[Facility]:
    """Facilities by id after `after` (an associate sees its own)."""
    with unit_of_work(ctx.db, write=False) as uow:
        return uow.facilities.page(actor.facilities if actor.is_associate else None, after, limit)


def put_product(ctx: Context, product: Product, actor: Principal) -> tuple[Product, bool]:
    actor.require_role(*LOADERS, action="put product", target=f"product {product.id}")
    with unit_of_work(ctx.db) as uow:
        created = uow.products.save(product, uow.now)
    return product, created


def get_product(ctx: Context, product_id: str) -> Product:
    with unit_of_work(ctx.db, write=False) as uow:
        product = uow.products.get(product_id)
    if product is None:
        raise NotFound(f"No product {product_id}.")
    return product


def product_page(ctx: Context, *, after: str | None, limit: int) -> list[Product]:
    """Products by id after `after`."""
    with unit_of_work(ctx.db, write=False) as uow:
        return uow.products.page(after, limit)
