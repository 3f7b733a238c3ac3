"""Rejection reasons, rejection requests and their answers."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from reroute.api.cursor import Page
from reroute.api.etag import tag_of_value
from reroute.api.schemas.common import Identifier, Name, PlatformId, Strict
from reroute.domain.orders import ItemState
from reroute.domain.reasons import InventoryEffect, Reason
from reroute.domain.rejection import MAX_COMMENT
from reroute.services.rejection import RejectionResult

Comment = Annotated[str, StringConstraints(max_length=MAX_COMMENT, strip_whitespace=True)]
Code = Annotated[str, StringConstraints(pattern=r"^[0-9]{1,6}$")]


class ReasonIn(Strict):
    label: Name
    inventory_effect: InventoryEffect
    cascade: bool = False
    decline_code: Code
    decline_description: Name
    sequence: Annotated[int, Field(ge=0, le=1_000_000)] = 100
    active: bool = True
    hold_hours: Annotated[int, Field(ge=1, le=8760)] | None = Field(
        default=None,
        description="After a rejection with this reason, routing keeps the product away from "
        "that facility this many hours (a cycle count lifts it); null: no hold.",
    )

    def to_domain(self, reason_id: str) -> Reason:
        return Reason(
            reason_id,
            self.label,
            self.inventory_effect,
            self.cascade,
            self.decline_code,
            self.decline_description,
            self.sequence,
            self.active,
            self.hold_hours,
        )

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "label": "Damaged",
                    "inventory_effect": "decrease_qoh_and_atp",
                    "cascade": False,
                    "decline_code": "102",
                    "decline_description": "Item damaged in store.",
                    "sequence": 20,
                    "active": True,
                }
            ]
        }
    )


class ReasonOut(BaseModel):
    reason_id: str
    label: str
    inventory_effect: InventoryEffect
    cascade: bool
    decline_code: str
    decline_description: str
    sequence: int
    active: bool
    hold_hours: int | None
    etag: str = Field(
        description="This version's entity tag: send it as `If-Match` on `PUT` to save "
        "only over this version (412 if another admin saved first)."
    )

    @classmethod
    def of(cls, r: Reason) -> ReasonOut:
        shown = {
            "reason_id": r.id,
            "label": r.label,
            "inventory_effect": str(r.inventory_effect),
            "cascade": r.cascade,
            "decline_code": r.decline_code,
            "decline_description": r.decline_description,
            "sequence": r.sequence,
            "active": r.active,
            "hold_hours": r.hold_hours,
        }
        return cls(**shown, etag=tag_of_value(shown))


class RejectIn(Strict):
    reason_id: Identifier | None = Field(
        default=None, description="An active reason; none means the default decline (101)."
    )
    comment: Comment | None = None

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"reason_id": "NOT_IN_STOCK", "comment": "Shelf empty"}]}
    )


class RejectShipmentIn(RejectIn):
    item_ids: list[PlatformId] | None = Field(
        default=None,
        min_length=1,
        max_length=500,
        description="Only these items of the shipment (those an associate marked), in one "
        "transaction: if any one is no longer open there, none is rejected. Left out, or "
        "naming every open item, it is the whole shipment's rejection (one decline).",
    )

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"reason_id": "DAMAGED", "comment": "Both torn", "item_ids": ["1", "2"]}]
        }
    )


class RejectedOut(BaseModel):
    order_id: str
    item_id: str
    shipment_id: str
    facility_id: str
    reason_id: str | None
    cascaded: bool


class RoutedOut(BaseModel):
    order_id: str
    item_id: str
    state: ItemState
    facility_id: str | None
    shipment_id: str | None


class LevelBrief(BaseModel):
    product_id: str
    quantity_on_hand: int
    available_to_promise: int


class RejectionOut(BaseModel):
    rejected: list[RejectedOut]
    routed: list[RoutedOut]
    inventory: LevelBrief = Field(description="The rejecting facility's level of the product.")
    levels: list[LevelBrief] = Field(description="Every product rejected there, first first.")

    @classmethod
    def of(cls, result: RejectionResult) -> RejectionOut:
        levels = [
            LevelBrief(
                product_id=lv.product_id,
                quantity_on_hand=lv.quantity_on_hand,
                available_to_promise=lv.available_to_promise,
            )
            for lv in result.levels
        ]
        return cls(
            rejected=[
                RejectedOut(
                    order_id=r.order_id,
                    item_id=r.item_id,
                    shipment_id=r.shipment_id,
                    facility_id=r.facility_id,
                    reason_id=r.reason_id,
                    cascaded=r.cascaded,
                )
                for r in result.rejected
            ],
            routed=[
                RoutedOut(
                    order_id=r.order_id,
                    item_id=r.item_id,
                    state=r.state,
                    facility_id=r.facility_id,
                    shipment_id=r.shipment_id,
                )
                for r in result.routed
            ],
            inventory=levels[0],
            levels=levels,
        )


class RejectionRowOut(BaseModel):
    id: int
    order_id: str
    item_id: str
    shipment_id: str
    facility_id: str
    product_id: str
    quantity: int
    reason_id: str | None
    comment: str | None
    cascaded: bool
    actor: str
    created_at: datetime


class RejectionCountsOut(BaseModel):
    by_facility: dict[str, int]
    by_reason: dict[str, int]
    by_product: dict[str, int]


class RejectionsOut(Page[RejectionRowOut]):
    """Rejections newest first (`next_cursor` reads on to older ones, null at the oldest), and
    the counts of the last 24 hours and 7 days, the same on every page."""

    last_24_hours: RejectionCountsOut
    last_7_days: RejectionCountsOut
