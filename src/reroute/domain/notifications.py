"""Notification payloads (SPEC section 6.2), built exactly as the Store Decline document shows:
key order, strings for identifiers, quantities and codes, an integer `locationAvailability`,
`eventTime` as UTC `YYYY-MM-DD HH:MM:SS`."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

DEFAULT_DECLINE = ("101", "Don't have enough quantity.")


class EventType(StrEnum):
    STORE_DECLINE = "StoreDeclineEvent"
    CANCEL_SHIPMENT = "cancel_shipment"
    CANCEL_ITEM = "cancel_item"
    READY_SHIPMENT = "ready_shipment"
    FULFILLED_SHIPMENT = "fulfilled_shipment"
    BACKORDER_ITEM = "backorder_item"
    CUSTOMER_CARE_ITEM = "customer_care_item"


class DeliveryStatus(StrEnum):
    """Where one event's delivery to one webhook stands (SPEC 6.3): tried until delivered or
    failed; canceled when its webhook is deleted; a replay makes it pending again."""

    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"
    CANCELED = "canceled"


@dataclass(frozen=True)
class Location:
    external_location_id: str
    name: str
    fulfiller_id: str


@dataclass(frozen=True)
class PayloadLine:
    item_id: str
    shipment_id: str | None
    part_number: str
    upc: str
    quantity: int
    location_availability: int | None
    reason_code: str | None
    reason_description: str | None


@dataclass(frozen=True)
class Tracking:
    """How a shipment travels, as its facility confirmed it; all optional."""

    carrier: str | None = None
    tracking_number: str | None = None
    tracking_url: str | None = None


@dataclass(frozen=True)
class Event:
    """One notification, ready for the outbox: its type, order, and the exact body."""

    type: EventType
    order_id: str
    body: str


def event_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def build(
    event_type: EventType,
    *,
    order_id: str,
    location: Location | None,
    moment: datetime,
    lines: Sequence[PayloadLine],
    mfg_id: str,
    catalog_id: str,
    reason: tuple[str, str] | None = None,
    order_item_id: str | None = None,
    tracking: Tracking | None = None,
) -> Event:
    """The body of SPEC 6.2. `reason` is the top-level one of a whole-shipment action (None
    when the lines carry their own). A fulfilled shipment adds its tracking after `scope`, so
    every other type keeps the Store Decline's keys exactly."""
    body: dict[str, Any] = {
        "eventTypeID": str(event_type),
        "orderID": order_id,
        "externalLocationID": location.external_location_id if location else None,
        "locationName": location.name if location else None,
        "eventTime": event_time(moment),
        "reasonCode": reason[0] if reason else None,
        "reasonDescription": reason[1] if reason else None,
        "orderItemID": order_item_id if event_type is EventType.CANCEL_ITEM else None,
        "data": [
            {
                "itemID": line.item_id,
                "shipmentID": line.shipment_id,
                "partNumber": line.part_number,
                "upc": line.upc,
                "quantity": str(line.quantity),
                "locationAvailability": line.location_availability,
                "reasonCode": line.reason_code,
                "reasonDescription": line.reason_description,
            }
            for line in lines
        ],
        "scope": {
            "mfgID": mfg_id,
            "catalogID": catalog_id or "0",
            "fulfillerID": location.fulfiller_id if location else None,
        },
    }
    if event_type is EventType.FULFILLED_SHIPMENT:
        tracking = tracking or Tracking()
        body["carrier"] = tracking.carrier
        body["trackingNumber"] = tracking.tracking_number
        body["trackingURL"] = tracking.tracking_url
    return Event(event_type, order_id, json.dumps(body, ensure_ascii=False))
