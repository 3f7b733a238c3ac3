"""Orders: the creation body, and the order as the API shows it."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, EmailStr, Field, StringConstraints

from reroute.api.schemas.common import Identifier, Name, PlatformId, Strict
from reroute.domain.codes import COUNTRIES, CURRENCIES
from reroute.domain.orders import (
    Address,
    ItemState,
    Order,
    OrderItem,
    Shipment,
    ShipmentState,
    ShippingMethod,
)
from reroute.services.orders import OrderView


class CustomerIn(Strict):
    name: Name
    email: EmailStr


def _or_empty(value: str | None) -> str:
    return value or ""


def _country(value: str | None) -> str:
    code = (value or "").strip().upper()
    if code and code not in COUNTRIES:
        raise ValueError(f"{value!r} is not an ISO 3166-1 alpha-2 country code (such as 'US').")
    return code


def _currency(value: str) -> str:
    code = value.strip().upper()
    if code not in CURRENCIES:
        raise ValueError(f"{value!r} is not an ISO 4217 currency code (such as 'USD').")
    return code


# Address text by its bound; null, as platforms send an empty field, is taken as "".
Line = Annotated[
    Annotated[str, StringConstraints(max_length=300, strip_whitespace=True)] | None,
    AfterValidator(_or_empty),
]
Short = Annotated[
    Annotated[str, StringConstraints(max_length=200, strip_whitespace=True)] | None,
    AfterValidator(_or_empty),
]
Phone = Annotated[
    Annotated[str, StringConstraints(max_length=40, strip_whitespace=True)] | None,
    AfterValidator(_or_empty),
]
Postal = Annotated[
    Annotated[str, StringConstraints(max_length=20, strip_whitespace=True)] | None,
    AfterValidator(_or_empty),
]


#: Bounds of what an order carries for the platform, as the schema states them.
MAX_TAGS = 50
MAX_TAG = 100
MAX_ATTRIBUTES = 50
MAX_ATTRIBUTE_KEY = 100
MAX_ATTRIBUTE_VALUE = 1000
MAX_NOTES = 5000

Tag = Annotated[str, StringConstraints(min_length=1, max_length=MAX_TAG, strip_whitespace=True)]
AttributeKey = Annotated[
    str, StringConstraints(min_length=1, max_length=MAX_ATTRIBUTE_KEY, strip_whitespace=True)
]
AttributeValue = Annotated[str, StringConstraints(max_length=MAX_ATTRIBUTE_VALUE)]


class ShipToIn(Strict):
    """Where a shipped order goes. Without coordinates, a US address is placed at its ZIP
    code's centre; one that cannot be placed is taken, and its items go to customer care."""

    name: Short = Field("", description="The recipient; up to 200 characters")
    company: Short = Field("", description="The recipient's company; up to 200 characters")
    phone: Phone = Field("", description="The recipient's phone; up to 40 characters")
    email: Annotated[
        EmailStr | Literal[""] | None,
        AfterValidator(_or_empty),
        Field(description="The recipient's email"),
    ] = ""
    line1: Line = Field("", description="Street and number; up to 300 characters")
    line2: Line = Field("", description="Apartment, suite, floor; up to 300 characters")
    city: Line = Field("", description="Up to 300 characters")
    region: Line = Field("", description="State, province or region, e.g. IL; up to 300 characters")
    postal_code: Postal = Field("", description="ZIP or postal code; up to 20 characters")
    country: Annotated[
        str | None,
        AfterValidator(_country),
        Field(
            description="ISO 3166-1 alpha-2 country code, e.g. US (any case)",
            pattern=r"^[A-Za-z]{2}$",
        ),
    ] = ""
    latitude: Annotated[float, Field(ge=-90, le=90)] | None = None
    longitude: Annotated[float, Field(ge=-180, le=180)] | None = None

    def to_domain(self) -> Address:
        return Address(
            name=self.name or "",
            company=self.company or "",
            phone=self.phone or "",
            email=str(self.email or ""),
            line1=self.line1 or "",
            line2=self.line2 or "",
            city=self.city or "",
            region=self.region or "",
            postal_code=self.postal_code or "",
            country=self.country or "",
            latitude=self.latitude,
            longitude=self.longitude,
        )


class ItemIn(Strict):
    item_id: PlatformId
    product_id: Identifier
    quantity: Annotated[int, Field(ge=1, le=10_000)]
    unit_price: (
        Annotated[
            Decimal,
            Field(
                ge=0,
                max_digits=18,
                decimal_places=4,
                description='The price of one unit, e.g. "19.90" (a number or a decimal text); '
                "needs `currency`",
            ),
        ]
        | None
    ) = None
    currency: (
        Annotated[
            str,
            AfterValidator(_currency),
            Field(pattern=r"^[A-Za-z]{3}$", description="ISO 4217 code, e.g. USD; with unit_price"),
        ]
        | None
    ) = None


class OrderIn(Strict):
    order_id: PlatformId
    catalog_id: Identifier = "0"
    customer: CustomerIn
    shipping_method: ShippingMethod = ShippingMethod.STANDARD
    pickup_facility_id: Identifier | None = None
    ship_complete: bool = False
    inventory_based: bool = True
    priority: Annotated[int, Field(ge=0, le=100)] = 0
    ship_to: ShipToIn = Field(default_factory=ShipToIn)
    items: Annotated[list[ItemIn], Field(min_length=1, max_length=500)]
    external_id: Annotated[
        str | None,
        StringConstraints(max_length=255, strip_whitespace=True),
        Field(description="The order's id or name on the platform; up to 255 characters"),
    ] = None
    channel: Annotated[
        str | None,
        StringConstraints(max_length=64, strip_whitespace=True),
        Field(description="Where it was sold (web, pos, marketplace …); up to 64 characters"),
    ] = None
    notes: Annotated[
        str | None,
        StringConstraints(max_length=MAX_NOTES),
        Field(description=f"The customer's or merchant's note; up to {MAX_NOTES} characters"),
    ] = None
    tags: Annotated[
        list[Tag],
        Field(
            max_length=MAX_TAGS,
            description=f"Up to {MAX_TAGS} tags of 1 to {MAX_TAG} characters",
        ),
    ] = Field(default_factory=list)
    attributes: Annotated[
        dict[AttributeKey, AttributeValue],
        Field(
            max_length=MAX_ATTRIBUTES,
            description=f"Up to {MAX_ATTRIBUTES} text values by key: keys of 1 to "
            f"{MAX_ATTRIBUTE_KEY} characters, values up to {MAX_ATTRIBUTE_VALUE}",
        ),
    ] = Field(default_factory=dict)

    def body_hash(self) -> str:
        """The same order sent twice hashes the same, whatever its key order or defaults.
        Fields added since the first version count only when given, so an order created
        before them still answers 200 to the same body sent again."""
        body = self.model_dump(mode="json")
        _drop_unset(body, _ADDED_ORDER_FIELDS)
        _drop_unset(body["ship_to"], _ADDED_SHIP_TO_FIELDS)
        for item in body["items"]:
            _drop_unset(item, _ADDED_ITEM_FIELDS)
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()

    def to_domain(self) -> Order:
        return Order(
            id=self.order_id,
            catalog_id=self.catalog_id,
            customer_name=self.customer.name,
            customer_email=str(self.customer.email),
            shipping_method=self.shipping_method,
            ship_to=self.ship_to.to_domain(),
            items=[
                OrderItem(
                    i.item_id,
                    i.product_id,
                    i.quantity,
                    unit_price=i.unit_price,
                    currency=i.currency,
                )
                for i in self.items
            ],
            pickup_facility_id=self.pickup_facility_id,
            ship_complete=self.ship_complete,
            inventory_based=self.inventory_based,
            priority=self.priority,
            external_id=self.external_id or None,
            channel=self.channel or None,
            notes=self.notes or None,
            tags=list(self.tags),
            attributes=dict(self.attributes),
        )

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "order_id": "#1001",
                    "external_id": "gid://shopify/Order/5512345678901",
                    "channel": "web",
                    "customer": {"name": "Ada Lovelace", "email": "ada@example.com"},
                    "shipping_method": "standard",
                    "ship_to": {
                        "name": "Ada Lovelace",
                        "company": "Analytical Engines Ltd",
                        "phone": "+1 312 555 0100",
                        "line1": "233 S Wacker Dr",
                        "line2": "Suite 4400",
                        "city": "Chicago",
                        "region": "IL",
                        "postal_code": "60606",
                        "country": "US",
                    },
                    "notes": "Leave at the front desk.",
                    "tags": ["vip"],
                    "attributes": {"gift_wrap": "yes"},
                    "items": [
                        {
                            "item_id": "gid://shopify/LineItem/1",
                            "product_id": "P-100",
                            "quantity": 2,
                            "unit_price": "19.90",
                            "currency": "USD",
                        }
                    ],
                }
            ]
        }
    )


_ADDED_ORDER_FIELDS = ("external_id", "channel", "notes", "tags", "attributes")
_ADDED_SHIP_TO_FIELDS = ("name", "company", "phone", "email")
_ADDED_ITEM_FIELDS = ("unit_price", "currency")


def _drop_unset(body: dict[str, Any], fields: tuple[str, ...]) -> None:
    for name in fields:
        if body.get(name) in (None, "", [], {}):
            body.pop(name, None)


class ShipToOut(BaseModel):
    """The ship-to as it was sent; latitude and longitude are found from the ZIP code when
    the platform sent none (null when it could not be located)."""

    name: str
    company: str
    phone: str
    email: str
    line1: str
    line2: str
    city: str
    region: str
    postal_code: str
    country: str
    latitude: float | None
    longitude: float | None

    @classmethod
    def of(cls, address: Address) -> ShipToOut:
        return cls(**address.__dict__)


class ItemOut(BaseModel):
    item_id: str
    product_id: str
    quantity: int
    state: ItemState
    facility_id: str | None
    shipment_id: str | None
    unit_price: Decimal | None
    currency: str | None

    @classmethod
    def of(cls, item: OrderItem) -> ItemOut:
        return cls(
            item_id=item.item_id,
            product_id=item.product_id,
            quantity=item.quantity,
            state=item.state,
            facility_id=item.facility_id,
            shipment_id=item.shipment_id,
            unit_price=item.unit_price,
            currency=item.currency,
        )


class TrackingOut(BaseModel):
    carrier: str | None
    tracking_number: str | None
    tracking_url: str | None


def tracking_of(shipment: Shipment) -> TrackingOut | None:
    """The tracking a fulfilled shipment was confirmed with; None when it has none."""
    if not (shipment.carrier or shipment.tracking_number or shipment.tracking_url):
        return None
    return TrackingOut(
        carrier=shipment.carrier,
        tracking_number=shipment.tracking_number,
        tracking_url=shipment.tracking_url,
    )


class ShipmentSummaryOut(BaseModel):
    shipment_id: str
    facility_id: str
    state: ShipmentState
    created_at: datetime | None
    tracking: TrackingOut | None


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
    ship_to: ShipToOut
    external_id: str | None
    channel: str | None
    notes: str | None
    tags: list[str]
    attributes: dict[str, str]
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
            ship_to=ShipToOut.of(order.ship_to),
            external_id=order.external_id,
            channel=order.channel,
            notes=order.notes,
            tags=order.tags,
            attributes=order.attributes,
            created_at=order.created_at,
            items=[ItemOut.of(i) for i in order.items],
            shipments=[
                ShipmentSummaryOut(
                    shipment_id=s.id,
                    facility_id=s.facility_id,
                    state=s.state,
                    created_at=s.created_at,
                    tracking=tracking_of(s),
                )
                for s in view.shipments
            ],
            history=[HistoryOut(**h) for h in view.history],
        )
