"""Facilities (stores and warehouses) and products."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class FacilityKind(StrEnum):
    STORE = "store"
    WAREHOUSE = "warehouse"


class Capability(StrEnum):
    SHIP = "ship"
    PICKUP = "pickup"
    SAME_DAY = "same_day"


@dataclass
class Facility:
    id: str
    name: str
    kind: FacilityKind
    external_location_id: str
    fulfiller_id: str
    latitude: float
    longitude: float
    capabilities: list[Capability] = field(default_factory=list)
    daily_capacity: int | None = None
    safety_stock: int = 0
    sequence: int | None = None
    active: bool = True
    #: Minutes an item may wait here unstarted before it is taken back (None: the setting;
    #: 0: never at this facility).
    idle_reject_after_minutes: int | None = None


@dataclass
class Product:
    id: str
    sku: str
    upc: str
    part_number: str
    name: str
    image_url: str | None = None
