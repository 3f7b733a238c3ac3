"""A store's shipments, as its lists show them."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from reroute.api.schemas.orders import ShipToOut
from reroute.domain.orders import ItemState, ShipmentState, ShippingMethod
from reroute.services.shipments import ShipmentPage, ShipmentView


class ShipmentItemOut(BaseModel):
    item_id: str
    product_id: str
    sku: str
    upc: str
    name: str
    image_url: str | None
    quantity: int
    state: ItemState


class ShipmentOut(BaseModel):
    shipment_id: str
    order_id: str
    facility_id: str
    state: ShipmentState
    customer_name: str
    shipping_method: ShippingMethod
    ordered_at: datetime | None
    ship_to: ShipToOut
    items: list[ShipmentItemOut]

    @classmethod
    def of(cls, view: ShipmentView) -> ShipmentOut:
        items = []
        for item in view.items:
            product = view.products[item.product_id]
            items.append(
                ShipmentItemOut(
                    item_id=item.item_id,
                    product_id=item.product_id,
                    sku=product.sku,
                    upc=product.upc,
                    name=product.name,
                    image_url=product.image_url,
                    quantity=item.quantity,
                    state=item.state,
                )
            )
        return cls(
            shipment_id=view.shipment.id,
            order_id=view.order.id,
            facility_id=view.shipment.facility_id,
            state=view.shipment.state,
            customer_name=view.order.customer_name,
            shipping_method=view.order.shipping_method,
            ordered_at=view.order.created_at,
            ship_to=ShipToOut.of(view.order.ship_to),
            items=items,
        )


class ShipmentListOut(BaseModel):
    total: int
    shipments: list[ShipmentOut]

    @classmethod
    def of(cls, page: ShipmentPage) -> ShipmentListOut:
        return cls(total=page.total, shipments=[ShipmentOut.of(v) for v in page.shipments])
