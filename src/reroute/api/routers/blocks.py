"""Products kept away from a facility: blocks an admin or the store asked for, holds a
rejection left."""

from __future__ import annotations

from fastapi import APIRouter, Response

from reroute.api.deps import ActorDep, ContextDep, OneHopRoute
from reroute.api.routers.catalog import FacilityId, ProductId
from reroute.api.schemas.blocks import BlockIn, BlockList, BlockOut
from reroute.services import blocks

router = APIRouter(tags=["blocks"], route_class=OneHopRoute)
PATH = "/facilities/{facility_id}/blocks/{product_id}"


@router.put(PATH, response_model=BlockOut, responses={404: {}})
def put_block(
    facility_id: FacilityId,
    product_id: ProductId,
    body: BlockIn,
    ctx: ContextDep,
    actor: ActorDep,
    response: Response,
) -> BlockOut:
    """Routing does not send this product to the facility until `until` (or for `days`);
    a block there already is replaced. An admin, or an associate of the facility."""
    block, created = blocks.put_block(ctx, facility_id, product_id, body.ends(), body.note, actor)
    response.status_code = 201 if created else 200
    return BlockOut.of(block)


@router.delete(PATH, status_code=204, responses={404: {}})
def delete_block(
    facility_id: FacilityId, product_id: ProductId, ctx: ContextDep, actor: ActorDep
) -> Response:
    """Lift the block (204 also when there was none: a repeat does nothing); a hold stays
    until it ends or the store's cycle count lifts it."""
    blocks.remove_block(ctx, facility_id, product_id, actor)
    return Response(status_code=204)


@router.get("/facilities/{facility_id}/blocks", response_model=BlockList, responses={404: {}})
def list_blocks(facility_id: FacilityId, ctx: ContextDep, actor: ActorDep) -> BlockList:
    """Blocks and holds in force at the facility, by product (`kind` says which)."""
    return BlockList(items=[BlockOut.of(b) for b in blocks.blocks_at(ctx, facility_id, actor)])
