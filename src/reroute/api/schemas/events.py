"""The body of every event type, as the outbox stores it and webhooks send it (SPEC 6.2).

One model per type, each with an example, so the OpenAPI document can list them under
`webhooks` and a receiver can generate its parsers from the same shapes the server writes.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from reroute.domain.notifications import EventType


class EventLine(BaseModel):
    """One item of an event. Quantities and identifiers are strings, as in the Store Decline."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid")

    item_id: str = Field(alias="itemID")
    shipment_id: str | None = Field(alias="shipmentID")
    part_number: str = Field(alias="partNumber")
    upc: str
    quantity: str
    location_availability: int | None = Field(
        alias="locationAvailability", description="The facility's QOH of the product after it"
    )
    reason_code: str | None = Field(alias="reasonCode")
    reason_description: str | None = Field(alias="reasonDescription")


class EventScope(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="forbid")

    mfg_id: str = Field(alias="mfgID")
    catalog_id: str = Field(alias="catalogID")
    fulfiller_id: str | None = Field(alias="fulfillerID")


class _Envelope(BaseModel):
    """What every event carries, key order included."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid")

    order_id: str | None = Field(alias="orderID")
    external_location_id: str | None = Field(alias="externalLocationID")
    location_name: str | None = Field(alias="locationName")
    event_time: str = Field(
        alias="eventTime",
        pattern=r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$",
        description="UTC, YYYY-MM-DD HH:MM:SS",
    )
    reason_code: str | None = Field(alias="reasonCode")
    reason_description: str | None = Field(alias="reasonDescription")
    order_item_id: str | None = Field(alias="orderItemID")
    data: list[EventLine]
    scope: EventScope


_SCOPE = {"mfgID": "11111", "catalogID": "0", "fulfillerID": "F-0042"}
_LOCATION = {"externalLocationID": "STORE-0042", "locationName": "Elm Street"}


def _line(**overrides: Any) -> dict[str, Any]:
    line: dict[str, Any] = {
        "itemID": "1001-1",
        "shipmentID": "S-7f3a9c",
        "partNumber": "PN-ROSE-12",
        "upc": "012345678905",
        "quantity": "2",
        "locationAvailability": 5,
        "reasonCode": None,
        "reasonDescription": None,
    }
    line.update(overrides)
    return line


def _example(event_type: str, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "eventTypeID": event_type,
        "orderID": "1001",
        **_LOCATION,
        "eventTime": "2026-12-02 20:15:00",
        "reasonCode": None,
        "reasonDescription": None,
        "orderItemID": None,
        "data": [_line()],
        "scope": dict(_SCOPE),
    }
    body.update(overrides)
    return body


def _config(example: dict[str, Any]) -> ConfigDict:
    return ConfigDict(
        populate_by_name=True, extra="forbid", json_schema_extra={"examples": [example]}
    )


class StoreDeclineEvent(_Envelope):
    """A facility declined items (rejection, cancellation at the facility, customer care)."""

    model_config = _config(
        _example(
            "StoreDeclineEvent",
            data=[_line(locationAvailability=0, reasonCode="104", reasonDescription="Damaged")],
        )
    )
    event_type_id: Literal["StoreDeclineEvent"] = Field(alias="eventTypeID")


class CancelShipmentEvent(_Envelope):
    """A whole shipment was canceled."""

    model_config = _config(
        _example("cancel_shipment", reasonCode="101", reasonDescription="Customer request")
    )
    event_type_id: Literal["cancel_shipment"] = Field(alias="eventTypeID")


class CancelItemEvent(_Envelope):
    """One item was canceled; `orderItemID` names it."""

    model_config = _config(_example("cancel_item", orderItemID="1001-1"))
    event_type_id: Literal["cancel_item"] = Field(alias="eventTypeID")


class ReadyShipmentEvent(_Envelope):
    """Routing placed items at a facility, ready for it to pick."""

    model_config = _config(_example("ready_shipment"))
    event_type_id: Literal["ready_shipment"] = Field(alias="eventTypeID")


class FulfilledShipmentEvent(_Envelope):
    """A shipment left its facility (shipped or picked up), with its tracking when given."""

    model_config = _config(
        _example(
            "fulfilled_shipment",
            data=[_line(locationAvailability=3)],
            carrier="UPS",
            trackingNumber="1Z999AA10123456784",
            trackingURL="https://www.ups.com/track?tracknum=1Z999AA10123456784",
        )
    )
    event_type_id: Literal["fulfilled_shipment"] = Field(alias="eventTypeID")
    carrier: str | None = None
    tracking_number: str | None = Field(default=None, alias="trackingNumber")
    tracking_url: str | None = Field(default=None, alias="trackingURL")


class BackorderItemEvent(_Envelope):
    """Items no facility can take now wait as backordered; the lines carry why."""

    model_config = _config(
        _example(
            "backorder_item",
            externalLocationID=None,
            locationName=None,
            data=[
                _line(
                    shipmentID=None,
                    locationAvailability=None,
                    reasonCode="backorder",
                    reasonDescription="No facility has enough stock.",
                )
            ],
            scope={**_SCOPE, "fulfillerID": None},
        )
    )
    event_type_id: Literal["backorder_item"] = Field(alias="eventTypeID")


class CustomerCareItemEvent(_Envelope):
    """Items went to customer care for a person to decide; the lines carry why."""

    model_config = _config(
        _example(
            "customer_care_item",
            externalLocationID=None,
            locationName=None,
            data=[
                _line(
                    shipmentID=None,
                    locationAvailability=None,
                    reasonCode="customer_care",
                    reasonDescription="The address could not be located.",
                )
            ],
            scope={**_SCOPE, "fulfillerID": None},
        )
    )
    event_type_id: Literal["customer_care_item"] = Field(alias="eventTypeID")


class PingEvent(_Envelope):
    """A test event for one endpoint; it belongs to no order."""

    model_config = _config(
        _example(
            "ping",
            orderID=None,
            externalLocationID=None,
            locationName=None,
            data=[],
            scope={**_SCOPE, "fulfillerID": None},
        )
    )
    event_type_id: Literal["ping"] = Field(alias="eventTypeID")


EVENT_MODELS: dict[str, type[BaseModel]] = {
    str(EventType.STORE_DECLINE): StoreDeclineEvent,
    str(EventType.CANCEL_SHIPMENT): CancelShipmentEvent,
    str(EventType.CANCEL_ITEM): CancelItemEvent,
    str(EventType.READY_SHIPMENT): ReadyShipmentEvent,
    str(EventType.FULFILLED_SHIPMENT): FulfilledShipmentEvent,
    str(EventType.BACKORDER_ITEM): BackorderItemEvent,
    str(EventType.CUSTOMER_CARE_ITEM): CustomerCareItemEvent,
    "ping": PingEvent,
}
