"""Facilities for admins: the list, each one's stock, an edit form (the API's `FacilityIn`
checks it), a stock count of a product there, and that product's ledger at the facility."""

from __future__ import annotations

import math
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import Response
from pydantic import ValidationError

from reroute.api.schemas.catalog import FacilityIn
from reroute.api.schemas.common import MAX_ROW_ID
from reroute.domain.access import Principal
from reroute.domain.errors import Invalid, NotFound
from reroute.domain.facilities import Capability, Facility
from reroute.pages.settings import problems_of
from reroute.pages.web import AdminDep, ContextDep, PageRoute, check_csrf, notify, redirect, render
from reroute.services import catalog, inventory
from reroute.services.context import Context

router = APIRouter(
    prefix="/admin/facilities",
    route_class=PageRoute,
    dependencies=[Depends(check_csrf)],
    include_in_schema=False,
)
STOCK_PAGE = 50
LEDGER_PAGE = 25
#: The most a count may say (the API's limit too).
MOST_COUNTED = 100_000_000
CAPABILITIES = {
    Capability.SHIP: "Ships to customers",
    Capability.PICKUP: "Pickup in store",
    Capability.SAME_DAY: "Same-day delivery",
}
#: Ledger causes as a person reads them.
CAUSES = {
    "stock_count": "Stock count",
    "reserve": "Reserved for an order",
    "release": "Reservation given back",
    "ship": "Shipped",
}
Text = Annotated[str, Query(max_length=100)]
Short = Annotated[str, Form(max_length=200)]
Chosen = Annotated[list[str] | None, Form()]


def _url(facility_id: str, *rest: str) -> str:
    return "/".join(["/admin/facilities", quote(facility_id, safe=""), *rest])


@router.get("")
def facility_list(request: Request, ctx: ContextDep, actor: AdminDep) -> Response:
    return render(request, "admin/facilities.html", facilities=catalog.list_facilities(ctx, actor))


def _stock_page(
    request: Request,
    ctx: Context,
    actor: Principal,
    facility_id: str,
    q: str = "",
    page: int = 1,
    status_code: int = 200,
    count_draft: dict[str, str] | None = None,
    count_problem: str = "",
) -> Response:
    facility = catalog.get_facility(ctx, facility_id, actor)
    levels, total = inventory.stock_at(
        ctx, facility_id, actor, text=q or None, limit=STOCK_PAGE, offset=(page - 1) * STOCK_PAGE
    )
    pages = max(1, math.ceil(total / STOCK_PAGE))

    def page_url(n: int) -> str:
        query = urlencode({k: v for k, v in (("q", q), ("page", str(n))) if v})
        return f"{_url(facility_id)}?{query}"

    return render(
        request,
        "admin/facility.html",
        status_code,
        facility=facility,
        levels=levels,
        total=total,
        q=q,
        page=page,
        pages=pages,
        previous_url=page_url(page - 1) if page > 1 else None,
        next_url=page_url(page + 1) if page < pages else None,
        capabilities=CAPABILITIES,
        count_draft=count_draft or {"product_id": "", "quantity_on_hand": ""},
        count_problem=count_problem,
    )


@router.get("/{facility_id}")
def facility_stock(
    request: Request,
    ctx: ContextDep,
    actor: AdminDep,
    facility_id: str,
    q: Text = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    return _stock_page(request, ctx, actor, facility_id, q.strip(), page)


def _edit_page(
    request: Request,
    facility: Facility,
    status_code: int = 200,
    draft: dict[str, Any] | None = None,
    problems: dict[str, str] | None = None,
) -> Response:
    shown = draft or {
        "name": facility.name,
        "daily_capacity": "" if facility.daily_capacity is None else str(facility.daily_capacity),
        "safety_stock": str(facility.safety_stock),
        "sequence": "" if facility.sequence is None else str(facility.sequence),
        "active": facility.active,
        "capabilities": [str(c) for c in facility.capabilities],
    }
    return render(
        request,
        "admin/facility_edit.html",
        status_code,
        facility=facility,
        draft=shown,
        problems=problems or {},
        capabilities=CAPABILITIES,
    )


@router.get("/{facility_id}/edit")
def edit_facility(request: Request, ctx: ContextDep, actor: AdminDep, facility_id: str) -> Response:
    return _edit_page(request, catalog.get_facility(ctx, facility_id, actor))


#: What each field of the edit form accepts, said once for any of its errors.
EDIT_WORDS = {
    "name": "Give the facility a name of 1 to 200 characters.",
    "daily_capacity": "Give a whole number from 0 to 1,000,000, or leave it empty for no limit.",
    "safety_stock": "Give a whole number from 0 to 1,000,000 (0: none kept back).",
    "sequence": "Give a whole number from -1,000,000 to 1,000,000, or leave it empty.",
    "capabilities": "Choose among the options shown.",
}


@router.post("/{facility_id}")
def save_facility(
    request: Request,
    ctx: ContextDep,
    actor: AdminDep,
    facility_id: str,
    name: Short = "",
    daily_capacity: Short = "",
    safety_stock: Short = "",
    sequence: Short = "",
    active: Annotated[str, Form(max_length=10)] = "",
    capabilities: Chosen = None,
) -> Response:
    """Replaces the facility as the API's PUT does, keeping what this form does not show."""
    facility = catalog.get_facility(ctx, facility_id, actor)
    chosen = list(dict.fromkeys(capabilities or []))
    draft: dict[str, Any] = {
        "name": name,
        "daily_capacity": daily_capacity,
        "safety_stock": safety_stock,
        "sequence": sequence,
        "active": active == "on",
        "capabilities": chosen,
    }
    body = {
        "name": name,
        "kind": str(facility.kind),
        "external_location_id": facility.external_location_id,
        "fulfiller_id": facility.fulfiller_id,
        "latitude": facility.latitude,
        "longitude": facility.longitude,
        "capabilities": chosen,
        "daily_capacity": daily_capacity.strip() or None,
        "safety_stock": safety_stock.strip() or "0",
        "sequence": sequence.strip() or None,
        "active": active == "on",
    }
    try:
        checked = FacilityIn.model_validate(body)
    except ValidationError as exc:
        problems = {k: EDIT_WORDS.get(k, v) for k, v in problems_of(exc).items()}
        return _edit_page(request, facility, 422, draft, problems)
    saved, _ = catalog.put_facility(ctx, checked.to_domain(facility_id), actor)
    notify(request, f"Saved {saved.name}.")
    return redirect(_url(facility_id))


def _quantity(raw: str) -> int | None:
    text = raw.strip().replace(",", "")
    if not text.isdigit() or int(text) > MOST_COUNTED:
        return None
    return int(text)


COUNT_WORDS = f"Give the number counted: a whole number from 0 to {MOST_COUNTED:,}."


def _counted(
    request: Request, ctx: Context, actor: Principal, facility_id: str, product_id: str, qoh: int
) -> Response:
    """Records the count, then says what it did; a count below what is reserved is kept, and
    the notice says that ATP went below 0."""
    level = inventory.count_stock(ctx, facility_id, product_id, qoh, actor)
    lines = [
        f"On hand {level.quantity_on_hand} · available {level.available_to_promise} · "
        f"reserved {level.reserved}."
    ]
    kind = "ok"
    if level.available_to_promise < 0:
        kind = "error"
        lines.append(
            f"ATP went below 0 ({level.available_to_promise}): {level.reserved} reserved for "
            f"orders, {level.quantity_on_hand} on hand. The reservations stand, and routing "
            "sends nothing more of this product here until stock comes back."
        )
    notify(request, f"Counted {qoh} of {product_id}.", lines, kind=kind)
    return redirect(_url(facility_id, "products", quote(product_id, safe="")))


@router.post("/{facility_id}/count")
def count_any_product(
    request: Request,
    ctx: ContextDep,
    actor: AdminDep,
    facility_id: str,
    product_id: Annotated[str, Form(max_length=64)] = "",
    quantity_on_hand: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """A count of a product by its id, also one not yet held here."""
    catalog.get_facility(ctx, facility_id, actor)
    draft = {"product_id": product_id, "quantity_on_hand": quantity_on_hand}
    qoh = _quantity(quantity_on_hand)
    problem = "" if qoh is not None else COUNT_WORDS
    if qoh is not None:
        try:
            catalog.get_product(ctx, product_id.strip())
        except NotFound:
            problem = f"No product has the id “{product_id.strip()}”. Check it in the catalog."
    if problem or qoh is None:
        return _stock_page(
            request,
            ctx,
            actor,
            facility_id,
            status_code=422,
            count_draft=draft,
            count_problem=problem,
        )
    return _counted(request, ctx, actor, facility_id, product_id.strip(), qoh)


def _product_page(
    request: Request,
    ctx: Context,
    actor: Principal,
    facility_id: str,
    product_id: str,
    before: int | None = None,
    status_code: int = 200,
    draft: str | None = None,
    problem: str = "",
) -> Response:
    facility = catalog.get_facility(ctx, facility_id, actor)
    product = catalog.get_product(ctx, product_id)
    level = inventory.get_level(ctx, facility_id, product_id, actor)
    rows = inventory.get_ledger(
        ctx, facility_id, product_id, actor, limit=LEDGER_PAGE + 1, before_id=before
    )
    shown = rows[:LEDGER_PAGE]
    older = shown[-1]["id"] if len(rows) > LEDGER_PAGE else None
    here = _url(facility_id, "products", quote(product_id, safe=""))
    return render(
        request,
        "admin/facility_product.html",
        status_code,
        facility=facility,
        product=product,
        level=level,
        ledger=shown,
        causes=CAUSES,
        here=here,
        older_url=f"{here}?{urlencode({'before': older})}" if older else None,
        newest_url=here if before is not None else None,
        draft=str(level.quantity_on_hand) if draft is None else draft,
        problem=problem,
    )


@router.get("/{facility_id}/products/{product_id}")
def product_at_facility(
    request: Request,
    ctx: ContextDep,
    actor: AdminDep,
    facility_id: str,
    product_id: str,
    before: Annotated[int | None, Query(ge=1, le=MAX_ROW_ID)] = None,
) -> Response:
    """The product's level here, a count form, and its ledger newest first, paged."""
    return _product_page(request, ctx, actor, facility_id, product_id, before)


@router.post("/{facility_id}/products/{product_id}/count")
def count_product(
    request: Request,
    ctx: ContextDep,
    actor: AdminDep,
    facility_id: str,
    product_id: str,
    quantity_on_hand: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    qoh = _quantity(quantity_on_hand)
    if qoh is None:
        return _product_page(
            request,
            ctx,
            actor,
            facility_id,
            product_id,
            status_code=422,
            draft=quantity_on_hand,
            problem=COUNT_WORDS,
        )
    try:
        return _counted(request, ctx, actor, facility_id, product_id, qoh)
    except Invalid as exc:
        return _product_page(
            request,
            ctx,
            actor,
            facility_id,
            product_id,
            status_code=422,
            draft=quantity_on_hand,
            problem=exc.detail,
        )
