"""Stock counts, levels and the ledger of one product at one facility."""

from __future__ import annotations

from fastapi import APIRouter

from reroute.api import cursor as cursors
from reroute.api.cursor import CursorParam, Limit
from reroute.api.deps import ActorDep, ContextDep, OneHopRoute
from reroute.api.routers.catalog import FacilityId, ProductId
from reroute.api.schemas.inventory import (
    LedgerPage,
    LedgerRowOut,
    LevelOut,
    LevelPage,
    StockCountIn,
)
from reroute.services import inventory

router = APIRouter(tags=["inventory"], route_class=OneHopRoute)
PATH = "/facilities/{facility_id}/inventory/{product_id}"
#: The cursor kinds of the two lists here.
STOCK, LEDGER = "stock", "ledger"


@router.get("/facilities/{facility_id}/inventory", response_model=LevelPage)
def list_facility_stock(
    facility_id: FacilityId,
    ctx: ContextDep,
    actor: ActorDep,
    limit: Limit = 100,
    cursor: CursorParam = None,
) -> LevelPage:
    """What the facility holds, product by product (by product id)."""
    after = cursors.decode(STOCK, cursor, str)
    rows = inventory.levels_at_facility(
        ctx, facility_id, actor, after=after[0] if after else None, limit=limit + 1
    )
    kept, next_cursor = cursors.page_of(STOCK, rows, limit, lambda lv: (lv.product_id,))
    return LevelPage(items=[LevelOut.of(lv) for lv in kept], next_cursor=next_cursor)


@router.put(PATH, response_model=LevelOut)
def count_stock(
    facility_id: FacilityId,
    product_id: ProductId,
    body: StockCountIn,
    ctx: ContextDep,
    actor: ActorDep,
) -> LevelOut:
    """A stock count: QOH becomes the count; ATP moves by the same difference."""
    level = inventory.count_stock(
        ctx, facility_id, product_id, body.quantity_on_hand, actor, body.source
    )
    return LevelOut.of(level)


@router.get(PATH, response_model=LevelOut)
def get_level(
    facility_id: FacilityId, product_id: ProductId, ctx: ContextDep, actor: ActorDep
) -> LevelOut:
    return LevelOut.of(inventory.get_level(ctx, facility_id, product_id, actor))


@router.get(PATH + "/ledger", response_model=LedgerPage)
def get_ledger(
    facility_id: FacilityId,
    product_id: ProductId,
    ctx: ContextDep,
    actor: ActorDep,
    limit: Limit = 100,
    cursor: CursorParam = None,
) -> LedgerPage:
    """Every move of QOH and ATP, newest first."""
    before = cursors.decode(LEDGER, cursor, int)
    rows = inventory.get_ledger(
        ctx,
        facility_id,
        product_id,
        actor,
        limit=limit + 1,
        before_id=before[0] if before else None,
    )
    kept, next_cursor = cursors.page_of(LEDGER, rows, limit, lambda r: (r["id"],))
    return LedgerPage(items=[LedgerRowOut(**r) for r in kept], next_cursor=next_cursor)
