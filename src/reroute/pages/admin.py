"""Admin pages for reading what happened: an order with its whole history as a timeline.
(The facilities and their stock are in `reroute.pages.facilities`.)"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from reroute.api import paths  # noqa: F401  (the {name:key} path convertor)
from reroute.api.cursor import decode as decode_cursor
from reroute.api.cursor import encode as encode_cursor
from reroute.domain.errors import Invalid, NotFound
from reroute.domain.orders import ItemState
from reroute.pages.web import AdminDep, ContextDep, PageRoute, check_csrf, redirect, render
from reroute.services import catalog, order_sync, order_trail, orders, reasons, rejection_log

router = APIRouter(
    prefix="/admin",
    route_class=PageRoute,
    dependencies=[Depends(check_csrf)],
    include_in_schema=False,
)
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


#: Orders to a page of the search, and the list its cursors belong to.
ORDER_PAGE = 25
ORDER_CURSOR = "admin-orders"


@router.get("/orders")
def find_order(
    request: Request,
    ctx: ContextDep,
    actor: AdminDep,
    q: Text = "",
    state: Text = "",
    facility: Text = "",
    cursor: Annotated[str, Query(max_length=2000)] = "",
) -> Response:
    """Search orders by part of the id, the customer's name or email, an item state and a
    facility, a page at a time (the cursor keeps the filters); an exact id alone opens that
    order. Without a search, the latest rejections, each a way into its order."""
    q, state, facility = q.strip(), state.strip(), facility.strip()
    facilities = {f.id: f.name for f in catalog.list_facilities(ctx, actor)}
    values: dict[str, Any] = {
        "q": q,
        "state": state,
        "facility": facility,
        "states": [str(s) for s in ItemState],
        "facilities": facilities,
        "reasons": {r.id: r.label for r in reasons.list_reasons(ctx, actor)},
    }
    problem = None
    if state and state not in values["states"]:
        problem = "Choose an item state from the list."
    elif facility and facility not in facilities:
        problem = "Choose a facility from the list."
    after = None
    if problem is None:
        try:
            after = decode_cursor(ORDER_CURSOR, cursor, datetime, str)
        except Invalid:
            problem = "That page link is out of date: search again from the first page."
    if problem is not None:
        return render(request, "admin/orders.html", 422, problem=problem, found=None, **values)
    if q and not state and not facility and not cursor:
        try:
            orders.get_order(ctx, q, actor)
        except NotFound:
            pass
        else:
            return redirect(f"/admin/orders/{quote(q, safe='')}")
    if not (q or state or facility):
        rows, _ = rejection_log.search_rejections(ctx, actor, limit=20)
        return render(request, "admin/orders.html", rejections=rows, found=None, **values)
    where = order_sync.OrderFilter(
        item_state=state or None, facility_id=facility or None, text=q or None
    )
    start = (after[0], after[1]) if after else None
    found = order_sync.list_orders(ctx, actor, where, after=start, limit=ORDER_PAGE + 1)
    filters = {k: v for k, v in (("q", q), ("state", state), ("facility", facility)) if v}
    next_url = None
    if len(found) > ORDER_PAGE:
        found = found[:ORDER_PAGE]
        last = found[-1]
        key = encode_cursor(ORDER_CURSOR, [last.updated_at, last.id])
        next_url = "/admin/orders?" + urlencode({**filters, "cursor": key})
    return render(
        request,
        "admin/orders.html",
        found=found,
        rejections=[],
        next_url=next_url,
        first_url=("/admin/orders?" + urlencode(filters)) if cursor else None,
        **values,
    )


@router.get("/orders/{order_id:key}")
def order_detail(request: Request, ctx: ContextDep, actor: AdminDep, order_id: str) -> Response:
    """The order, its history, what its rejections did to stock and the notifications sent."""
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
        trail=order_trail.trail(ctx, actor, view.order.id),
        facilities={f.id: f.name for f in catalog.list_facilities(ctx, actor)},
        reasons={r.id: r.label for r in reasons.list_reasons(ctx, actor)},
    )
