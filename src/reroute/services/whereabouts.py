"""Where each rejected item went, in the names a store associate reads (not ids)."""

from __future__ import annotations

from dataclasses import dataclass

from reroute.domain.orders import ItemState
from reroute.services.context import Context
from reroute.services.rejection import RejectionResult
from reroute.storage.unit_of_work import unit_of_work


@dataclass(frozen=True)
class Whereabout:
    order_id: str
    item_id: str
    product_name: str
    #: Taken along by the rejection (cascade or the rest of a ship-complete shipment).
    cascaded: bool
    state: ItemState
    facility_name: str | None

    def sentence(self) -> str:
        if self.state in (ItemState.READY, ItemState.IN_PROGRESS) and self.facility_name:
            where = f"now at {self.facility_name}"
        elif self.state is ItemState.BACKORDER:
            where = "on backorder until stock arrives"
        elif self.state is ItemState.CUSTOMER_CARE:
            where = "sent to customer care"
        else:
            where = "waiting for routing"
        return f"Order {self.order_id}, {self.product_name}: {where}."


def where_they_went(ctx: Context, result: RejectionResult) -> list[Whereabout]:
    """One line per rejected item, the item the person chose first."""
    routed = {(r.order_id, r.item_id): r for r in result.routed}
    with unit_of_work(ctx.db, write=False) as uow:
        orders = uow.orders.get_many([r.order_id for r in result.rejected])
        product_ids = [
            item.product_id
            for r in result.rejected
            if (item := orders[r.order_id].item(r.item_id)) is not None
        ]
        products = uow.products.get_many(product_ids)
        facility_ids = [r.facility_id for r in result.routed if r.facility_id]
        names = {f.id: f.name for f in uow.facilities.list(facility_ids)}
    found = []
    for rejected in sorted(result.rejected, key=lambda r: r.cascaded):
        item = orders[rejected.order_id].item(rejected.item_id)
        product = products.get(item.product_id) if item else None
        went = routed.get((rejected.order_id, rejected.item_id))
        state = went.state if went else rejected.state
        facility = went.facility_id if went else None
        found.append(
            Whereabout(
                rejected.order_id,
                rejected.item_id,
                product.name if product else f"item {rejected.item_id}",
                rejected.cascaded,
                state,
                names.get(facility) if facility else None,
            )
        )
    return found
