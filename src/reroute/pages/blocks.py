"""A store's blocked and held products, with an unblock button: for its associates and for
admins (linked from the store lists and the admin's facility page)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from reroute.domain.access import STORE_ROLES
from reroute.domain.blocks import BlockKind
from reroute.pages.web import ContextDep, PageRoute, PersonDep, check_csrf, notify, redirect, render
from reroute.services import blocks, catalog
from reroute.storage.unit_of_work import unit_of_work

router = APIRouter(
    prefix="/store/{facility_id}/blocks",
    route_class=PageRoute,
    dependencies=[Depends(check_csrf)],
    include_in_schema=False,
)


@router.get("")
def blocks_page(request: Request, ctx: ContextDep, actor: PersonDep, facility_id: str) -> Response:
    actor.require_role(*STORE_ROLES, action="see blocks", target=f"facility {facility_id}")
    facility = catalog.get_facility(ctx, facility_id, actor)
    found = blocks.blocks_at(ctx, facility_id, actor)
    with unit_of_work(ctx.db, write=False) as uow:
        products = uow.products.get_many([b.product_id for b in found])
    return render(
        request,
        "store/blocks.html",
        facility=facility,
        blocks=[b for b in found if b.kind is BlockKind.BLOCK],
        holds=[b for b in found if b.kind is BlockKind.HOLD],
        products=products,
    )


@router.post("/{product_id}/unblock")
def unblock(
    request: Request,
    ctx: ContextDep,
    actor: PersonDep,
    facility_id: str,
    product_id: str,
    name: Annotated[str, Form(max_length=300)] = "",
) -> Response:
    if blocks.remove_block(ctx, facility_id, product_id, actor):
        notify(request, f"Unblocked {name or product_id}: routing may send it here again.")
    else:
        notify(request, "Nothing was changed", ["That product is not blocked here any more."])
    return redirect(f"/store/{facility_id}/blocks")
