"""Blocks and holds of a product at a facility."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from reroute.api.schemas.common import Strict
from reroute.domain.blocks import Block, BlockKind
from reroute.domain.clock import utcnow


class BlockIn(Strict):
    until: AwareDatetime | None = Field(
        default=None, description="When the block ends (with a time zone), within a year"
    )
    days: Annotated[int, Field(ge=1, le=365)] | None = Field(
        default=None, description="Or: the block ends this many days from now"
    )
    note: Annotated[str, StringConstraints(max_length=500, strip_whitespace=True)] = ""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"days": 3, "note": "Display units only; don't send me this for 3 days"},
                {"until": "2026-12-24T00:00:00Z", "note": "Recall"},
            ]
        }
    )

    @model_validator(mode="after")
    def _one_end(self) -> BlockIn:
        if (self.until is None) == (self.days is None):
            raise ValueError("Give until or days (one of them).")
        return self

    def ends(self) -> datetime:
        if self.until is not None:
            return self.until
        assert self.days is not None
        return utcnow() + timedelta(days=self.days)


class BlockOut(BaseModel):
    facility_id: str
    product_id: str
    kind: BlockKind
    until: datetime
    note: str | None
    reason_id: str | None = Field(description="The rejection reason a hold followed")
    created_by: str
    created_at: datetime | None

    @classmethod
    def of(cls, b: Block) -> BlockOut:
        return cls(
            facility_id=b.facility_id,
            product_id=b.product_id,
            kind=b.kind,
            until=b.until,
            note=b.note,
            reason_id=b.reason_id,
            created_by=b.created_by,
            created_at=b.created_at,
        )


class BlockList(BaseModel):
    items: list[BlockOut]
