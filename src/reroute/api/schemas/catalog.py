"""Facilities and products."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, field_validator

from reroute.api.cursor import Page
from reroute.api.schemas.common import Identifier, Name, Strict
from reroute.domain.facilities import Capability, Facility, FacilityKind, Product
from reroute.domain.settings import MOST_MINUTES

MAX_URL = 1000


class FacilityIn(Strict):
    name: Name
    kind: FacilityKind
    external_location_id: Identifier
    fulfiller_id: Identifier
    latitude: Annotated[float, Field(ge=-90, le=90)]
    longitude: Annotated[float, Field(ge=-180, le=180)]
    capabilities: list[Capability] = Field(default_factory=lambda: [Capability.SHIP])
    daily_capacity: Annotated[int, Field(ge=0, le=1_000_000)] | None = None
    safety_stock: Annotated[int, Field(ge=0, le=1_000_000)] = 0
    sequence: Annotated[int, Field(ge=-1_000_000, le=1_000_000)] | None = None
    active: bool = True
    idle_reject_after_minutes: Annotated[int, Field(ge=0, le=MOST_MINUTES)] | None = Field(
        default=None,
        description="Minutes an item may wait here unstarted before it is taken back and routed "
        "elsewhere; null: the setting `idle_reject_after_minutes`; 0: never here.",
    )

    def to_domain(self, facility_id: str) -> Facility:
        return Facility(
            id=facility_id,
            name=self.name,
            kind=self.kind,
            external_location_id=self.external_location_id,
            fulfiller_id=self.fulfiller_id,
            latitude=self.latitude,
            longitude=self.longitude,
            capabilities=list(dict.fromkeys(self.capabilities)),
            daily_capacity=self.daily_capacity,
            safety_stock=self.safety_stock,
            sequence=self.sequence,
            active=self.active,
            idle_reject_after_minutes=self.idle_reject_after_minutes,
        )

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "Chicago Loop",
                    "kind": "store",
                    "external_location_id": "S-0042",
                    "fulfiller_id": "F-0042",
                    "latitude": 41.8837,
                    "longitude": -87.6289,
                    "capabilities": ["ship", "pickup"],
                    "daily_capacity": 200,
                    "safety_stock": 1,
                }
            ]
        }
    )


class FacilityOut(BaseModel):
    facility_id: str
    name: str
    kind: FacilityKind
    external_location_id: str
    fulfiller_id: str
    latitude: float
    longitude: float
    capabilities: list[Capability]
    daily_capacity: int | None
    safety_stock: int
    sequence: int | None
    active: bool
    idle_reject_after_minutes: int | None

    @classmethod
    def of(cls, f: Facility) -> FacilityOut:
        return cls(
            facility_id=f.id,
            name=f.name,
            kind=f.kind,
            external_location_id=f.external_location_id,
            fulfiller_id=f.fulfiller_id,
            latitude=f.latitude,
            longitude=f.longitude,
            capabilities=f.capabilities,
            daily_capacity=f.daily_capacity,
            safety_stock=f.safety_stock,
            sequence=f.sequence,
            active=f.active,
            idle_reject_after_minutes=f.idle_reject_after_minutes,
        )


class ProductIn(Strict):
    sku: Identifier
    upc: Identifier
    part_number: Identifier
    name: Name
    image_url: HttpUrl | None = None

    @field_validator("image_url")
    @classmethod
    def _fits(cls, url: HttpUrl | None) -> HttpUrl | None:
        if url is not None and len(str(url)) > MAX_URL:
            raise ValueError(f"URL should have at most {MAX_URL} characters")
        return url

    def to_domain(self, product_id: str) -> Product:
        url = str(self.image_url) if self.image_url else None
        return Product(product_id, self.sku, self.upc, self.part_number, self.name, url)

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "sku": "TEE-BLK-M",
                    "upc": "012345678905",
                    "part_number": "TEE-100",
                    "name": "Black tee, size M",
                    "image_url": "https://shop.example/images/tee-blk.png",
                }
            ]
        }
    )


class ProductOut(BaseModel):
    product_id: str
    sku: str
    upc: str
    part_number: str
    name: str
    image_url: str | None

    @classmethod
    def of(cls, p: Product) -> ProductOut:
        return cls(
            product_id=p.id,
            sku=p.sku,
            upc=p.upc,
            part_number=p.part_number,
            name=p.name,
            image_url=p.image_url,
        )


class FacilityPage(Page[FacilityOut]):
    """Facilities by id; `next_cursor` is null on the last page."""


class ProductPage(Page[ProductOut]):
    """Products by id; `next_cursor` is null on the last page."""
