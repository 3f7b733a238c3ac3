"""Stock in sight: what a store holds of the products on a page of its lists, read at once."""

from __future__ import annotations

from collections.abc import Iterable

from reroute.domain.access import Principal
from reroute.domain.inventory import InventoryLevel
from reroute.services.context import Context
from reroute.storage.unit_of_work import unit_of_work


def levels_here(
    ctx: Context, facility_id: str, product_ids: Iterable[str], actor: Principal
) -> dict[str, InventoryLevel]:
    """Each product's level at the facility by product id (zero where none was counted), in
    one read for the whole page rather than one per card."""
    actor.require_facility(facility_id, "read stock")
    keys = {(facility_id, product_id) for product_id in product_ids}
    if not keys:
        return {}
    with unit_of_work(ctx.db, write=False) as uow:
        levels = uow.inventory.get_many(keys)
    return {product_id: level for (_, product_id), level in levels.items()}
