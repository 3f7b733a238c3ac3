"""An order as routing sees it: its items waiting for a facility, its ship-to as a point, and
the facilities where it already has a shipment waiting to be started (extending one opens
none). Live routing, the rules' dry run and the simulation all make this one conversion."""

from __future__ import annotations

from reroute.domain.orders import ROUTABLE, ItemState, Order
from reroute.domain.routing.engine import Line, OrderToRoute
from reroute.domain.routing.geo import unit_vector


def to_route(order: Order) -> OrderToRoute:
    lines = [Line(i.item_id, i.product_id, i.quantity) for i in order.items if i.state in ROUTABLE]
    address = order.ship_to
    vector = (
        unit_vector(address.latitude, address.longitude)
        if address.latitude is not None and address.longitude is not None
        else None
    )
    return OrderToRoute(
        order_id=order.id,
        method=order.shipping_method,
        lines=lines,
        vector=vector,
        latitude=address.latitude or 0.0,
        longitude=address.longitude or 0.0,
        catalog_id=order.catalog_id,
        priority=order.priority,
        ship_complete=order.ship_complete,
        pickup_facility_id=order.pickup_facility_id,
        open_shipments=frozenset(ready_shipments(order)),
    )


def ready_shipments(order: Order) -> dict[str, str]:
    """Facility to shipment id, for this order's shipments still waiting to be started."""
    return {
        i.facility_id: i.shipment_id
        for i in order.items
        if i.state is ItemState.READY and i.facility_id and i.shipment_id
    }
