"""A store's lists (Open, In progress, Completed), searchable and paged, with the stock of each
item in sight, and the steps a shipment takes there: Start in one tap; Pack and Fulfill after a
confirmation page (Fulfill of a shipped order asks for the carrier and tracking number)."""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import Response

from reroute.domain.access import STORE_ROLES, Principal, absent
from reroute.domain.errors import Conflict, Invalid, NotFound
from reroute.domain.notifications import Tracking
from reroute.domain.orders import REJECTABLE, ShipmentState
from reroute.pages.web import (
    ContextDep,
    PageRoute,
    PersonDep,
    check_csrf,
    notify,
    redirect,
    render,
)
from reroute.services import catalog, fulfilment, shipments, stock_in_sight
from reroute.services.context import Context

router = APIRouter(
    prefix="/store",
    route_class=PageRoute,
    dependencies=[Depends(check_csrf)],
    include_in_schema=False,
)
PAGE_SIZE = 10


@dataclass(frozen=True)
class Tab:
    key: str
    title: str
    states: tuple[ShipmentState, ...]
    #: Only what changed since the start of today (the Completed list).
    today: bool = False


TABS = {
    tab.key: tab
    for tab in (
        Tab("open", "Open", (ShipmentState.READY,)),
        Tab("in-progress", "In progress", (ShipmentState.IN_PROGRESS,)),
        Tab("completed", "Completed", (ShipmentState.PACKED, ShipmentState.FULFILLED), True),
    )
}
#: The step each shipment state offers, and what the button says.
STEPS = {
    ShipmentState.READY: ("start", "Start"),
    ShipmentState.IN_PROGRESS: ("pack", "Pack"),
    ShipmentState.PACKED: ("fulfill", "Fulfill"),
}
#: The steps that ask first, and what their confirmation page says will happen.
CONFIRMED = {
    "pack": "Pack",
    "fulfill": "Fulfill",
}
#: What the page asks of a carrier and a tracking number: the API's limits, in plain words.
CARRIER_LIMIT = 100
TRACKING_LIMIT = 200
DONE = {
    "start": "started: it is on the In progress list",
    "pack": "packed: fulfill it from the Completed list when it leaves",
    "fulfill": "fulfilled",
}


def start_of_today() -> datetime:
    """Midnight where the server runs, as UTC (what the store calls "today")."""
    local = datetime.now().astimezone()
    return local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(UTC)


def list_url(facility_id: str, tab: str, q: str = "", page: int = 1) -> str:
    query = {k: v for k, v in (("q", q), ("page", str(page) if page > 1 else "")) if v}
    return f"/store/{quote(facility_id, safe='')}/{tab}" + (f"?{urlencode(query)}" if query else "")


def safe_back(facility_id: str, back: str) -> str:
    """Back to the list the form came from, never anywhere else."""
    prefix = f"/store/{quote(facility_id, safe='')}/"
    return back if back.startswith(prefix) and "//" not in back else list_url(facility_id, "open")


def _facilities_of(ctx: Context, actor: Principal) -> list[tuple[str, str]]:
    return [(f.id, f.name) for f in catalog.list_facilities(ctx, actor)]


@router.get("")
def choose(request: Request, ctx: ContextDep, actor: PersonDep) -> Response:
    facilities = _facilities_of(ctx, actor)
    if actor.is_associate and len(facilities) >= 1:
        return redirect(list_url(facilities[0][0], "open"))
    return render(request, "store/choose.html", facilities=facilities)


@router.get("/go")
def go(actor: PersonDep, facility: str, tab: str = "open") -> Response:
    """The facility switcher's target (a plain GET form; the page's script submits on change)."""
    return redirect(list_url(facility, tab if tab in TABS else "open"))


@router.get("/{facility_id}")
def facility_home(facility_id: str, actor: PersonDep) -> Response:
    return redirect(list_url(facility_id, "open"))


@router.get("/{facility_id}/{tab}")
def store_list(
    request: Request,
    ctx: ContextDep,
    actor: PersonDep,
    facility_id: str,
    tab: str,
    q: Annotated[str, Query(max_length=100)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    actor.require_facility(facility_id)
    chosen = TABS.get(tab)
    if chosen is None:
        raise NotFound(f"No list {tab!r}: use Open, In progress or Completed.")
    facility = catalog.get_facility(ctx, facility_id, actor)
    q = q.strip()
    today = start_of_today()

    def listing(t: Tab, limit: int, offset: int = 0) -> shipments.ShipmentPage:
        return shipments.store_list(
            ctx,
            facility_id,
            list(t.states),
            actor,
            text=q or None,
            limit=limit,
            offset=offset,
            since=today if t.today else None,
        )

    found = listing(chosen, PAGE_SIZE, (page - 1) * PAGE_SIZE)
    counts = {t.key: (found.total if t is chosen else listing(t, 1).total) for t in TABS.values()}
    pages = max(1, math.ceil(found.total / PAGE_SIZE))
    here = list_url(facility_id, tab, q, page)
    shown = {item.product_id for card in found.shipments for item in card.items}
    stock = stock_in_sight.levels_here(ctx, facility_id, shown, actor)
    return render(
        request,
        "store/list.html",
        facility=facility,
        facilities=_facilities_of(ctx, actor),
        tabs=TABS.values(),
        tab=chosen,
        counts=counts,
        q=q,
        cards=found.shipments,
        stock=stock,
        page=page,
        pages=pages,
        total=found.total,
        here=here,
        steps=STEPS,
        confirmed=CONFIRMED,
        rejectable=REJECTABLE,
        previous_url=list_url(facility_id, tab, q, page - 1) if page > 1 else None,
        next_url=list_url(facility_id, tab, q, page + 1) if page < pages else None,
    )


def _shipment_here(
    ctx: Context, actor: Principal, facility_id: str, shipment_id: str, action: str
) -> shipments.ShipmentView:
    """The shipment the step names, if it is at this store and the caller may act there."""
    actor.require_role(*STORE_ROLES, action="store step", target=f"shipment {shipment_id}")
    actor.require_facility(facility_id, "store step")
    if action not in fulfilment.STEPS:
        raise NotFound(f"No step {action!r}: use start, pack or fulfill.")
    view = shipments.get_shipment(ctx, shipment_id, actor)
    if view.shipment.facility_id != facility_id:
        raise NotFound(absent("shipment", shipment_id))
    return view


def tracking_problems(carrier: str, tracking_number: str) -> list[str]:
    """What to fix in the carrier and tracking number typed, in plain words (none: fine).
    Both or neither: a tracking number means nothing without its carrier."""
    problems = []
    if len(carrier) > CARRIER_LIMIT:
        problems.append(f"Keep the carrier under {CARRIER_LIMIT:,} characters.")
    if len(tracking_number) > TRACKING_LIMIT:
        problems.append(f"Keep the tracking number under {TRACKING_LIMIT:,} characters.")
    if tracking_number and not carrier:
        problems.append("Add the carrier of this tracking number, or leave both empty.")
    if carrier and not tracking_number:
        problems.append("Add the tracking number, or leave the carrier empty too.")
    return problems


def _confirmation(
    request: Request,
    ctx: Context,
    actor: Principal,
    view: shipments.ShipmentView,
    action: str,
    back: str,
    *,
    carrier: str = "",
    tracking_number: str = "",
    problems: list[str] | None = None,
) -> Response:
    facility_id = view.shipment.facility_id
    stock = stock_in_sight.levels_here(ctx, facility_id, {i.product_id for i in view.items}, actor)
    return render(
        request,
        "store/step.html",
        status_code=422 if problems else 200,
        view=view,
        action=action,
        label=CONFIRMED[action],
        back=back,
        stock=stock,
        carrier=carrier,
        tracking_number=tracking_number,
        problems=problems or [],
    )


@router.get("/{facility_id}/shipments/{shipment_id}/{action}")
def confirm_step(
    request: Request,
    ctx: ContextDep,
    actor: PersonDep,
    facility_id: str,
    shipment_id: str,
    action: str,
    back: Annotated[str, Query(max_length=2000)] = "",
) -> Response:
    """Pack and Fulfill ask first, on a page reached by GET: Back from it is harmless, and a
    shipment that moved on meanwhile sends the associate back to the list, saying so."""
    view = _shipment_here(ctx, actor, facility_id, shipment_id, action)
    back = safe_back(facility_id, back)
    if action not in CONFIRMED:
        raise NotFound(f"No confirmation for {action!r}: use pack or fulfill.")
    offered = STEPS.get(view.shipment.state)
    if offered is None or offered[0] != action:
        notify(
            request,
            "Nothing was changed",
            [
                f"Order {view.order.id} is {_label_of(view.shipment.state)} now: it cannot be "
                f"{'packed' if action == 'pack' else 'fulfilled'}."
            ],
            kind="error",
        )
        return redirect(back)
    return _confirmation(request, ctx, actor, view, action, back)


def _label_of(state: ShipmentState) -> str:
    return str(state).replace("_", " ")


@router.post("/{facility_id}/shipments/{shipment_id}/{action}")
def step(
    request: Request,
    ctx: ContextDep,
    actor: PersonDep,
    facility_id: str,
    shipment_id: str,
    action: str,
    back: Annotated[str, Form(max_length=2000)] = "",
    carrier: Annotated[str, Form(max_length=20_000)] = "",
    tracking_number: Annotated[str, Form(max_length=20_000)] = "",
) -> Response:
    """One step of a shipment; fulfilling a shipped one keeps the carrier and tracking typed.
    Bad tracking input shows the confirmation again, filled, saying what to fix (nothing is
    written)."""
    view = _shipment_here(ctx, actor, facility_id, shipment_id, action)
    carrier, tracking_number = carrier.strip(), tracking_number.strip()
    if action == "fulfill":
        problems = tracking_problems(carrier, tracking_number)
        if problems:
            return _confirmation(
                request,
                ctx,
                actor,
                view,
                action,
                safe_back(facility_id, back),
                carrier=carrier,
                tracking_number=tracking_number,
                problems=problems,
            )
    given = Tracking(carrier or None, tracking_number or None)
    tracking = given if action == "fulfill" and given != Tracking() else None
    try:
        order_id = fulfilment.advance(ctx, shipment_id, action, actor, uuid.uuid4().hex, tracking)
    except (Conflict, Invalid) as exc:
        notify(request, "Nothing was changed", [exc.detail], kind="error")
    else:
        notify(request, f"Order {order_id} {DONE[action]}.")
    return redirect(safe_back(facility_id, back))
