"""Facilities and products."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from reroute.api.deps import ActorDep, ContextDep, OneHopRoute
from reroute.api.schemas.catalog import FacilityIn, FacilityOut, ProductIn, ProductOut
from reroute.api.schemas.common import Identifier
from reroute.services import catalog

router = APIRouter(tags=["facilities and products"], route_class=OneHopRoute)
FacilityId = Annotated[Identifier, Path(description="The facility's id")]
ProductId = Annotated[Identifier, Path(description="The product's id")]


@router.put("/facilities/{facility_id}", response_model=FacilityOut)
def put_facility(
    facility_id: FacilityId, body: FacilityIn, ctx: ContextDep, actor: ActorDep, response: Response
) -> FacilityOut:
    """Create or replace a facility (store or warehouse)."""
    facility, created = catalog.put_facility(ctx, body.to_domain(facility_id), actor)
    response.status_code = 201 if created else 200
    return FacilityOut.of(facility)


@router.get("/facilities", response_model=list[FacilityOut])
def list_facilities(ctx: ContextDep, actor: ActorDep) -> list[FacilityOut]:
    """All facilities (an associate sees its own)."""
    return [FacilityOut.of(f) for f in catalog.list_facilities(ctx, actor)]


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


@router.get("/products/{product_id}", response_model=ProductOut)
def get_product(product_id: ProductId, ctx: ContextDep, actor: ActorDep) -> ProductOut:
    return ProductOut.of(catalog.get_product(ctx, product_id))
