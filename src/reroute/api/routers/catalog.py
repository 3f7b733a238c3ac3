"""Facilities and products."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from reroute.api import cursor as cursors
from reroute.api.cursor import CursorParam, Limit
from reroute.api.deps import ActorDep, ContextDep, OneHopRoute
from reroute.api.schemas.catalog import (
    FacilityIn,
    FacilityOut,
    FacilityPage,
    ProductIn,
    ProductOut,
    ProductPage,
)
from reroute.api.schemas.common import Identifier
from reroute.services import catalog

router = APIRouter(tags=["facilities and products"], route_class=OneHopRoute)
FacilityId = Annotated[Identifier, Path(description="The facility's id")]
ProductId = Annotated[Identifier, Path(description="The product's id")]
#: The cursor kinds of the two lists here.
FACILITIES, PRODUCTS = "facilities", "products"


@router.put("/facilities/{facility_id}", response_model=FacilityOut)
def put_facility(
    facility_id: FacilityId, body: FacilityIn, ctx: ContextDep, actor: ActorDep, response: Response
) -> FacilityOut:
    """Create or replace a facility (store or warehouse)."""
    facility, created = catalog.put_facility(ctx, body.to_domain(facility_id), actor)
    response.status_code = 201 if created else 200
    return FacilityOut.of(facility)


@router.get("/facilities", response_model=FacilityPage)
def list_facilities(
    ctx: ContextDep, actor: ActorDep, limit: Limit = 100, cursor: CursorParam = None
) -> FacilityPage:
    """Facilities by id (an associate sees its own)."""
    after = cursors.decode(FACILITIES, cursor, str)
    rows = catalog.facility_page(ctx, actor, after=after[0] if after else None, limit=limit + 1)
    kept, next_cursor = cursors.page_of(FACILITIES, rows, limit, lambda f: (f.id,))
    return FacilityPage(items=[FacilityOut.of(f) for f in kept], next_cursor=next_cursor)


@router.get("/facilities/{facility_id}", response_model=FacilityOut)
def get_facility(facility_id: FacilityId, ctx: ContextDep, actor: ActorDep) -> FacilityOut:
    return FacilityOut.of(catalog.get_facility(ctx, facility_id, actor))


@router.put("/products/{product_id}", response_model=ProductOut)
def put_product(
    product_id: ProductId, body: ProductIn, ctx: ContextDep, actor: ActorDep, response: Response
) -> ProductOut:
    """Create or replace a product."""
    product, created = catalog.put_product(ctx, body.to_domain(product_id), actor)
    response.status_code = 201 if created else 200
    return ProductOut.of(product)


@router.get("/products", response_model=ProductPage)
def list_products(
    ctx: ContextDep, actor: ActorDep, limit: Limit = 100, cursor: CursorParam = None
) -> ProductPage:
    """Products by id."""
    after = cursors.decode(PRODUCTS, cursor, str)
    rows = catalog.product_page(ctx, after=after[0] if after else None, limit=limit + 1)
    kept, next_cursor = cursors.page_of(PRODUCTS, rows, limit, lambda p: (p.id,))
    return ProductPage(items=[ProductOut.of(p) for p in kept], next_cursor=next_cursor)


@router.get("/products/{product_id}", response_model=ProductOut)
def get_product(product_id: ProductId, ctx: ContextDep, actor: ActorDep) -> ProductOut:
    return ProductOut.of(catalog.get_product(ctx, product_id))
