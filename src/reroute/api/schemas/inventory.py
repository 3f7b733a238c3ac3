"""Stock counts, levels and ledger rows."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from reroute.api.cursor import Page
from reroute.api.schemas.common import Strict
from reroute.domain.blocks import CountSource
from reroute.domain.inventory import InventoryLevel


class StockCountIn(Strict):
    quantity_on_hand: Annotated[int, Field(ge=0, le=100_000_000)]
    source: CountSource = Field(
        default=CountSource.FEED,
        description="`cycle_count`: the store's own physical count, which also lifts a hold a "
        "rejection left on the product here; `feed` (a POS or other system's figure) does not.",
    )

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"quantity_on_hand": 12}, {"quantity_on_hand": 3, "source": "cycle_count"}]
        }
    )


class LevelOut(BaseModel):
    facility_id: str
    product_id: str
    quantity_on_hand: int
    available_to_promise: int
    reserved: int

    @classmethod
    def of(cls, level: InventoryLevel) -> LevelOut:
        return cls(
            facility_id=level.facility_id,
            product_id=level.product_id,
            quantity_on_hand=level.quantity_on_hand,
            available_to_promise=level.available_to_promise,
            reserved=level.reserved,
        )


class LedgerRowOut(BaseModel):
    id: int
    qoh_diff: int
    atp_diff: int
    reserved_diff: int
    cause: str
    reference: str
    created_at: datetime


class LevelPage(Page[LevelOut]):
    """A facility's levels by product id; `next_cursor` is null on the last page."""


class LedgerPage(Page[LedgerRowOut]):
    """Ledger rows newest first; `next_cursor` reads on to older ones (null at the oldest)."""
