"""Admin pages for reading what happened: an order with its whole history as a timeline, and
the facilities with their stock."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from reroute.api import paths  # noqa: F401  (the {name:key} path convertor)
from reroute.domain.errors import NotFound
from reroute.pages.web import AdminDep, ContextDep, PageRoute, check_csrf, redirect, render
from reroute.services import catalog, inventory, orders, reasons, rejection_log

router = APIRouter(
    prefix="/admin",
    route_class=PageRoute,
    dependencies=[Depends(check_csrf)],
    include_in_schema=False,
)
STOCK_PAGE = 50
#: History events as a timeline names them.
EVENTS = {
    "created": "Created",
    "assigned": "Assigned",
    "start": "Started",
    "pack": "Packed",
    "fulfill": "Fulfilled",
    "rejected": "Rejected",
    "backorder": "Backordered",
    "customer_care": "Sent to customer care",
    "canceled": "Canceled",
}
Text = Annotated[str, Query(max_length=100)]


@dataclass
class Moment:
    """Rows of the history written together by one request: one point on the timeline."""

    at: datetime
    event: str
    actor: str
    facility_id: str | None
    reason_id: str | None
    note: str | None
    rows: list[dict[str, Any]] = field(default_factory=list)


def timeline(history: list[dict[str, Any]]) -> list[Moment]:
    moments: list[Moment] = []
    for row in history:
        last = moments[-1] if moments else None
        same = last is not None and (
            last.event,
            last.actor,
            last.at,
            last.facility_id,
            last.reason_id,
            last.rows[0]["request_id"],
        ) == (
            row["event"],
            row["actor"],
            row["created_at"],
            row["facility_id"],
            row["reason_id"],
            row["request_id"],
        )
        if last is not None and same:
            last.rows.append(row)
            continue
        moments.append(
            Moment(
                row["created_at"],
                row["event"],
                row["actor"],
                row["facility_id"],
                row["reason_id"],
                row["note"],
                [row],
            )
        )
    return moments


@router.get("")
def admin_home(actor: AdminDep) -> Response:
    return redirect("/admin/orders")


@router.get("/orders")
def find_order(request: Request, ctx: ContextDep, actor: AdminDep, q: Text = "") -> Response:
    """Open an order by its id; below, the latest rejections, each a way into its order."""
    q = q.strip()
    missing = None
    if q:
        try:
            orders.get_order(ctx, q, actor)
        except NotFound:
            missing = q
        else:
            return redirect(f"/admin/orders/{quote(q, safe='')}")
    rows, _ = rejection_log.search_rejections(ctx, actor, limit=20)
    return render(
        request,
        "admin/orders.html",
        q=q,
        missing=missing,
        rejections=rows,
        facilities={f.id: f.name for f in catalog.list_facilities(ctx, actor)},
        reasons={r.id: r.label for r in reasons.list_reasons(ctx, actor)},
    )


@router.get("/orders/{order_id:key}")
def order_detail(request: Request, ctx: ContextDep, actor: AdminDep, order_id: str) -> Response:
    view = orders.get_order(ctx, order_id, actor)
    products = {}
    for item in view.order.items:
        try:
            products[item.product_id] = catalog.get_product(ctx, item.product_id)
        except NotFound:
            continue
    return render(
        request,
        "admin/order.html",
        view=view,
        products=products,
        moments=timeline(view.history),
        events=EVENTS,
        facilities={f.id: f.name for f in catalog.list_facilities(ctx, actor)},
        reasons={r.id: r.label for r in reasons.list_reasons(ctx, actor)},
    )


@router.get("/facilities")
def facility_list(request: Request, ctx: ContextDep, actor: AdminDep) -> Response:
    return render(request, "admin/facilities.html", facilities=catalog.list_facilities(ctx, actor))


@router.get("/facilities/{facility_id}")
def facility_stock(
    request: Request,
    ctx: ContextDep,
    actor: AdminDep,
    facility_id: str,
    q: Text = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    facility = catalog.get_facility(ctx, facility_id, actor)
    q = q.strip()
    levels, total = inventory.stock_at(
        ctx, facility_id, actor, text=q or None, limit=STOCK_PAGE, offset=(page - 1) * STOCK_PAGE
    )
    pages = max(1, math.ceil(total / STOCK_PAGE))

    def page_url(n: int) -> str:
        query = urlencode({k: v for k, v in (("q", q), ("page", str(n))) if v})
        return f"/admin/facilities/{quote(facility_id, safe='')}?{query}"

    return render(
        request,
        "admin/facility.html",
        facility=facility,
        levels=levels,
        total=total,
        q=q,
        page=page,
        pages=pages,
        previous_url=page_url(page - 1) if page > 1 else None,
        next_url=page_url(page + 1) if page < pages else None,
    )
