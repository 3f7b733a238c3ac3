"""The routing rules document and batch runs."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Response
from pydantic import BaseModel

from reroute.api import etag
from reroute.api.deps import ActorDep, ContextDep, OneHopRoute
from reroute.domain.routing.rules import default_rules, rules_to_json
from reroute.services import routing_batch, routing_rules

router = APIRouter(prefix="/routing", tags=["routing"], route_class=OneHopRoute)


class RulesOut(BaseModel):
    default: bool
    document: dict[str, Any]


class RunOut(BaseModel):
    orders: int
    items: dict[str, int]
    seconds: float


RulesBody = Annotated[
    dict[str, Any],
    Body(
        description=(
            "routings[] (name, order_filter{shipping_methods, catalog_ids, min_priority, "
            "max_priority}, inventory_rules[] (name, facility_filter{kinds, capabilities, "
            "max_distance_km, facility_ids}, split, max_shipments, sort[distance|atp|sequence|"
            "acceptance|cost], unplaced next_rule|backorder|customer_care))"
        ),
        examples=[rules_to_json(default_rules())],
    ),
]


@router.get("/rules", response_model=RulesOut, responses=etag.NOT_MODIFIED)
def get_rules(ctx: ContextDep, actor: ActorDep, if_none_match: etag.IfNoneMatch = None) -> Response:
    """The rules in force; `default` is true while none were saved. The `ETag` goes back as
    `If-Match` on `PUT`, and as `If-None-Match` here (304 while nothing changed)."""
    document, is_default = routing_rules.get_rules(ctx, actor)
    return etag.answer(RulesOut(default=is_default, document=document), if_none_match)


@router.put("/rules", response_model=RulesOut)
def put_rules(
    body: RulesBody, ctx: ContextDep, actor: ActorDep, if_match: etag.IfMatch = None
) -> Response:
    """Replace the rules; refused with every bad path listed (422) unless all of it is valid.
    With `If-Match` (the `ETag` read), refused with 412 if another admin saved first."""

    def still_current(document: dict[str, Any], is_default: bool) -> bool:
        shown = etag.tag_of_model(RulesOut(default=is_default, document=document))
        return etag.match(if_match, shown)

    precondition = still_current if if_match is not None else None
    saved = routing_rules.put_rules(ctx, body, actor, precondition)
    return etag.answer(RulesOut(default=False, document=saved))


@router.delete("/rules", response_model=RulesOut)
def reset_rules(ctx: ContextDep, actor: ActorDep) -> Response:
    """Forget the saved rules: the defaults apply again."""
    return etag.answer(RulesOut(default=True, document=routing_rules.reset_rules(ctx, actor)))


@router.post("/runs", response_model=RunOut)
def run_batch(ctx: ContextDep, actor: ActorDep) -> RunOut:
    """Route every queued and backordered item now; answers counts by outcome."""
    result = routing_batch.run_batch(ctx, actor)
    return RunOut(
        orders=result.orders, items=dict(result.outcomes), seconds=round(result.seconds, 3)
    )
