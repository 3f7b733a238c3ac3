"""Stock counts, levels and the ledger of one product at one facility."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from reroute.api.deps import ActorDep, ContextDep, OneHopRoute
from reroute.api.routers.catalog import FacilityId, ProductId
from reroute.api.schemas.inventory import LedgerRowOut, LevelOut, StockCountIn
from reroute.services import inventory

router = APIRouter(tags=["inventory"], route_class=OneHopRoute)
PATH = "/facilities/{facility_id}/inventory/{product_id}"


@router.put(PATH, response_model=LevelOut)
def count_stock(
    facility_id: FacilityId,
    product_id: ProductId,
    body: StockCountIn,
    ctx: ContextDep,
    actor: ActorDep,
) -> LevelOut:
    """A stock count: QOH becomes the count; ATP moves by the same difference."""
    level = inventory.count_stock(ctx, facility_id, product_id, body.quantity_on_hand, actor)
    return LevelOut.of(level)


@router.get(PATH, response_model=LevelOut)
def get_level(
    facility_id: FacilityId, product_id: ProductId, ctx: ContextDep, actor: ActorDep
) -> LevelOut:
    return LevelOut.of(inventory.get_level(ctx, facility_id, product_id, actor))


@router.get(PATH + "/ledger", response_model=list[LedgerRowOut])
def get_ledger(
    facility_id: FacilityId,
    product_id: ProductId,
    ctx: ContextDep,
    actor: ActorDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    before_id: Annotated[
        int | None, Query(ge=1, le=2**62, description="Page on: rows older than this id")
    ] = None,
) -> list[LedgerRowOut]:
    """Every move of QOH and ATP, newest first."""
    rows = inventory.get_ledger(
        ctx, facility_id, product_id, actor, limit=limit, before_id=before_id
    )
    return [LedgerRowOut(**r) for r in rows]
