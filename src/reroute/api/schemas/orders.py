"""Orders: the creation body, and the order as the API shows it."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, EmailStr, Field

from reroute.api.schemas.common import Identifier, Name, Strict, Text
from reroute.domain.orders import (
    Address,
    ItemState,
    Order,
    OrderItem,
    ShipmentState,
    ShippingMethod,
)
from reroute.services.orders import OrderView


class CustomerIn(Strict):
    name: Name
    email: EmailStr


class ShipToIn(Strict):
    line1: Text = ""
    line2: Text = ""
    city: Text = ""
    region: Text = ""
    postal_code: Text = ""
    country: Text = ""
    latitude: Annotated[float, Field(ge=-90, le=90)] | None = None
    longitude: Annotated[float, Field(ge=-180, le=180)] | None = None


class ItemIn(Strict):
    item_id: Identifier
    product_id: Identifier
    quantity: Annotated[int, Field(ge=1, le=10_000)]


class OrderIn(Strict):
    order_id: Identifier
    catalog_id: Identifier = "0"
    customer: CustomerIn
    shipping_method: ShippingMethod = ShippingMethod.STANDARD
    pickup_facility_id: Identifier | None = None
    ship_complete: bool = False
    inventory_based: bool = True
    priority: Annotated[int, Field(ge=0, le=100)] = 0
    ship_to: ShipToIn = Field(default_factory=ShipToIn)
    items: Annotated[list[ItemIn], Field(min_length=1, max_length=500)]

    def body_hash(self) -> str:
        """The same order sent twice hashes the same, whatever its key order or defaults."""
        canonical = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()

    def to_domain(self) -> Order:
        return Order(
            id=self.order_id,
            catalog_id=self.catalog_id,
            customer_name=self.customer.name,
            customer_email=str(self.customer.email),
            shipping_method=self.shipping_method,
            ship_to=Address(**self.ship_to.model_dump()),
            items=[OrderItem(i.item_id, i.product_id, i.quantity) for i in self.items],
            pickup_facility_id=self.pickup_facility_id,
            ship_complete=self.ship_complete,
            inventory_based=self.inventory_based,
            priority=self.priority,
        )


class ItemOut(BaseModel):
    item_id: str
    product_id: str
    quantity: int
    state: ItemState
    facility_id: str | None
    shipment_id: str | None


class ShipmentSummaryOut(BaseModel):
    shipment_id: str
    facility_id: str
    state: ShipmentState
    created_at: datetime | None


class HistoryOut(BaseModel):
    id: int
    event: str
    item_id: str | None
    shipment_id: str | None
    from_state: str | None
    to_state: str | None
    facility_id: str | None
    reason_id: str | None
    actor: str
    request_id: str | None
    note: str | None
    created_at: datetime


class OrderOut(BaseModel):
    order_id: str
    catalog_id: str
    customer: dict[str, str]
    shipping_method: ShippingMethod
    pickup_facility_id: str | None
    ship_complete: bool
    inventory_based: bool
    priority: int
    ship_to: dict[str, Any]
    created_at: datetime | None
    items: list[ItemOut]
    shipments: list[ShipmentSummaryOut]
    history: list[HistoryOut]

    @classmethod
    def of(cls, view: OrderView) -> OrderOut:
        order = view.order
        return cls(
            order_id=order.id,
            catalog_id=order.catalog_id,
            customer={"name": order.customer_name, "email": order.customer_email},
            shipping_method=order.shipping_method,
            pickup_facility_id=order.pickup_facility_id,
            ship_complete=order.ship_complete,
            inventory_based=order.inventory_based,
            priority=order.priority,
            ship_to=order.ship_to.__dict__,
            created_at=order.created_at,
            items=[ItemOut(**i.__dict__) for i in order.items],
            shipments=[
                ShipmentSummaryOut(
                    shipment_id=s.id,
                    facility_id=s.facility_id,
                    state=s.state,
                    created_at=s.created_at,
                )
                for s in view.shipments
            ],
            history=[HistoryOut(**h) for h in view.history],
        )
