"""A store's shipments, as its lists show them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, StringConstraints

from reroute.api.cursor import Page
from reroute.api.schemas.common import Strict
from reroute.api.schemas.orders import ShipToOut, TrackingOut, tracking_of
from reroute.domain.notifications import Tracking
from reroute.domain.orders import ItemState, ShipmentState, ShippingMethod
from reroute.services.shipments import ShipmentView


def _web_address(value: str) -> str:
    parts = urlsplit(value)
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or any(c.isspace() for c in value)
    ):
        raise ValueError("A tracking URL is an http or https address without spaces.")
    return value


Carrier = Annotated[str, StringConstraints(min_length=1, max_length=100, strip_whitespace=True)]
TrackingNumber = Annotated[
    str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)
]
TrackingUrl = Annotated[
    str,
    StringConstraints(min_length=1, max_length=2000, strip_whitespace=True),
    AfterValidator(_web_address),
]


class FulfillIn(Strict):
    """How a shipped shipment travels; all optional, and none for a pickup."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "carrier": "UPS",
                    "tracking_number": "1Z999AA10123456784",
                    "tracking_url": "https://www.ups.com/track?tracknum=1Z999AA10123456784",
                }
            ]
        },
    )

    carrier: Carrier | None = None
    tracking_number: TrackingNumber | None = None
    tracking_url: TrackingUrl | None = None

    def tracking(self) -> Tracking:
        return Tracking(self.carrier, self.tracking_number, self.tracking_url)


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
    tracking: TrackingOut | None
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
            tracking=tracking_of(view.shipment),
            items=items,
        )


class ShipmentListOut(Page[ShipmentOut]):
    """A page of a store's shipments, newest first; `total` counts every one that matches."""

    total: int
