"""Orders to sync: the query of `GET /orders` and its page."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Query
from pydantic import BaseModel, Field

from reroute.api.cursor import Page
from reroute.api.schemas.common import NO_NUL, Identifier
from reroute.domain.errors import FieldError, Invalid
from reroute.domain.orders import ItemState, ShippingMethod
from reroute.services.order_sync import OrderFilter, SyncedOrder


class SyncedItemOut(BaseModel):
    item_id: str
    product_id: str
    quantity: int
    state: ItemState
    facility_id: str | None
    shipment_id: str | None


class SyncedOrderOut(BaseModel):
    order_id: str
    customer: dict[str, str]
    shipping_method: ShippingMethod
    pickup_facility_id: str | None
    created_at: datetime
    updated_at: datetime = Field(
        description="Moves with every change to the order, in commit order; pass the last one "
        "seen as `updated_after` on the next poll"
    )
    items: list[SyncedItemOut]

    @classmethod
    def of(cls, order: SyncedOrder) -> SyncedOrderOut:
        return cls(
            order_id=order.id,
            customer={"name": order.customer_name, "email": order.customer_email},
            shipping_method=order.shipping_method,
            pickup_facility_id=order.pickup_facility_id,
            created_at=order.created_at,
            updated_at=order.updated_at,
            items=[SyncedItemOut(**i.__dict__) for i in order.items],
        )


class OrderPage(Page[SyncedOrderOut]):
    """Orders by `updated_at`, then id; `next_cursor` is null on the last page."""


def _moment(name: str, value: datetime | None) -> datetime | None:
    """A time of the query in UTC (a time without offset is taken as UTC)."""
    if value is None:
        return None
    try:
        return value.astimezone(UTC) if value.tzinfo is not None else value.replace(tzinfo=UTC)
    except (OverflowError, ValueError):
        raise Invalid(
            f"{name} is out of range.", [FieldError(name, "Give a time between years 1 and 9999.")]
        ) from None


def _time(description: str) -> Any:
    return Query(description=description)


def sync_filter(
    item_state: Annotated[
        ItemState | None, Query(description="Orders with an item in this state")
    ] = None,
    facility_id: Annotated[
        Identifier | None, Query(description="Orders with an item at this facility")
    ] = None,
    shipping_method: ShippingMethod | None = None,
    created_after: Annotated[datetime | None, _time("Created strictly after")] = None,
    created_before: Annotated[datetime | None, _time("Created strictly before")] = None,
    updated_after: Annotated[
        datetime | None,
        _time("Changed strictly after: the last `updated_at` the previous poll saw"),
    ] = None,
    updated_before: Annotated[datetime | None, _time("Changed strictly before")] = None,
    customer_email: Annotated[
        str | None,
        Query(max_length=320, pattern=NO_NUL, description="The customer's email, any case"),
    ] = None,
    q: Annotated[
        str | None,
        Query(
            max_length=100,
            pattern=NO_NUL,
            description="Text anywhere in the order id, customer name or email",
        ),
    ] = None,
) -> OrderFilter:
    """The query of `GET /orders` as the repository's filter."""
    return OrderFilter(
        item_state=str(item_state) if item_state else None,
        facility_id=facility_id,
        shipping_method=str(shipping_method) if shipping_method else None,
        created_after=_moment("created_after", created_after),
        created_before=_moment("created_before", created_before),
        updated_after=_moment("updated_after", updated_after),
        updated_before=_moment("updated_before", updated_before),
        customer_email=customer_email,
        text=q.strip() if q and q.strip() else None,
    )
