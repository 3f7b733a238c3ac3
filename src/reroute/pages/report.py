"""Report an issue with an item, or with a shipment's marked items: a reason and a comment,
a confirmation that says what will happen (counted by the server, stock included), then one
rejection, and a notice of where each item went.

The form and the confirmation are GET pages (what was chosen rides in the query), and only
the final save posts, then redirects to the list: Back never asks to send a form again. Bad
input ends on the form again, filled with what was typed and a plain message.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import Response
from fastapi.routing import APIRoute

from reroute.api import paths  # noqa: F401  (the {name:key} path convertor)
from reroute.api.schemas.common import NUL_MESSAGE
from reroute.domain.access import STORE_ROLES, Principal, absent
from reroute.domain.clock import utcnow
from reroute.domain.errors import Conflict, DomainError, Invalid, NotFound
from reroute.domain.reasons import InventoryEffect, Reason
from reroute.domain.rejection import MAX_COMMENT
from reroute.pages.store import safe_back
from reroute.pages.web import (
    ContextDep,
    PageRoute,
    PersonDep,
    check_csrf,
    notify,
    redirect,
    render,
)
from reroute.services import blocks, reasons, rejection
from reroute.services.context import Context
from reroute.services.rejection import RejectionResult
from reroute.services.rejection_preview import (
    SYSTEM_REASONS,
    Preview,
    Reportable,
    preview_rejection,
    reportable,
)
from reroute.services.whereabouts import where_they_went

NUL = "\x00"


async def refuse_nul_but_comment(request: Request) -> None:
    """As every page, NUL is refused in any path id, query or form field, but the comment:
    there it is the associate's typing, answered on the form again (see `_problems`)."""
    fields = [*request.path_params.items(), *request.query_params.multi_items()]
    if request.method == "POST":
        fields += (await request.form()).multi_items()
    for name, value in fields:
        if name == "comment":
            continue
        if NUL in name or (isinstance(value, str) and NUL in value):
            raise Invalid(f"{NUL_MESSAGE} Check {name.replace(NUL, '') or 'the form'}.")


class ReportRoute(PageRoute):
    """A page route whose NUL check leaves the comment to the form (`refuse_nul_but_comment`)."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        kwargs["dependencies"] = [
            *(kwargs.get("dependencies") or []),
            Depends(refuse_nul_but_comment),
        ]
        APIRoute.__init__(self, path, endpoint, **kwargs)


router = APIRouter(
    prefix="/store/{facility_id}/shipments/{shipment_id}",
    route_class=ReportRoute,
    dependencies=[Depends(check_csrf)],
    include_in_schema=False,
)
# Fields are taken as typed and checked here, so that a wrong one is said on the form again
# (a declared limit would answer a bare refusal page instead).
QueryText = Annotated[str, Query()]
FormText = Annotated[str, Form()]
#: Items named in the notice after a rejection; a long cascade is summed up after these.
SHOWN = 8
#: What each inventory effect does to the store's stock, said plainly (one product, several).
EFFECTS = {
    InventoryEffect.ZERO: ("This store's stock of it is set to 0.", "set to 0"),
    InventoryEffect.DECREASE_QOH_AND_ATP: (
        "This store's stock of it is lowered by {q}.",
        "lowered by the quantities reported",
    ),
    InventoryEffect.DECREASE_ATP: (
        "{q} of it here will not be sold online any more.",
        "kept from online sale by the quantities reported",
    ),
    InventoryEffect.NONE: ("This store's stock of it is not changed.", "not changed"),
}


#: How long an associate may stop the product coming here, from the report ("" : not at all).
BLOCK_CHOICES = {"": "No", "1": "1 day", "3": "3 days", "7": "7 days", "30": "30 days"}


@dataclass
class Typed:
    """What the associate chose and typed, carried from the form to the confirmation and the
    save, and back to the form when something is to fix."""

    reason_id: str = ""
    comment: str = ""
    #: The marked items of a shipment's report (unused when one item is reported).
    marked: list[str] = field(default_factory=list)
    back: str = ""
    #: Days to stop sending the product here too ("" : not asked).
    block_days: str = ""

    def query(self, *, with_marked: bool) -> str:
        pairs = [("reason_id", self.reason_id), ("comment", self.comment), ("back", self.back)]
        if with_marked:
            pairs += [("item", i) for i in self.marked]
        return urlencode([(k, v) for k, v in pairs if v])


@dataclass(frozen=True)
class Target:
    """One item (`item_id`), or a shipment's marked items (`item_id` None)."""

    facility_id: str
    shipment_id: str
    item_id: str | None

    @property
    def base(self) -> str:
        url = f"/store/{_q(self.facility_id)}/shipments/{_q(self.shipment_id)}"
        if self.item_id is not None:
            url += f"/items/{_q(self.item_id)}"
        return url + "/report"


# One item ---------------------------------------------------------------------------------


@router.get("/items/{item_id:key}/report")
def item_form(
    request: Request,
    ctx: ContextDep,
    actor: PersonDep,
    facility_id: str,
    shipment_id: str,
    item_id: str,
    reason_id: QueryText = "",
    comment: QueryText = "",
    back: QueryText = "",
) -> Response:
    target = Target(facility_id, shipment_id, item_id)
    return _form(request, ctx, actor, target, Typed(reason_id, comment, [], back))


@router.get("/items/{item_id:key}/report/confirm")
def item_confirm(
    request: Request,
    ctx: ContextDep,
    actor: PersonDep,
    facility_id: str,
    shipment_id: str,
    item_id: str,
    reason_id: QueryText = "",
    comment: QueryText = "",
    back: QueryText = "",
) -> Response:
    target = Target(facility_id, shipment_id, item_id)
    return _confirm(request, ctx, actor, target, Typed(reason_id, comment, [], back))


@router.post("/items/{item_id:key}/report/confirm")
def item_confirm_posted(
    facility_id: str,
    shipment_id: str,
    item_id: str,
    actor: PersonDep,
    reason_id: FormText = "",
    comment: FormText = "",
    back: FormText = "",
) -> Response:
    """A form posted here (an older page's) lands on the confirmation page, reached by GET."""
    target = Target(facility_id, shipment_id, item_id)
    typed = Typed(reason_id, comment, [], back)
    return redirect(f"{target.base}/confirm?{typed.query(with_marked=False)}")


@router.post("/items/{item_id:key}/report")
def item_report(
    request: Request,
    ctx: ContextDep,
    actor: PersonDep,
    facility_id: str,
    shipment_id: str,
    item_id: str,
    reason_id: FormText = "",
    comment: FormText = "",
    back: FormText = "",
    block_days: FormText = "",
) -> Response:
    target = Target(facility_id, shipment_id, item_id)
    return _save(request, ctx, actor, target, Typed(reason_id, comment, [], back, block_days))


# A shipment's marked items ----------------------------------------------------------------


@router.get("/report")
def shipment_form(
    request: Request,
    ctx: ContextDep,
    actor: PersonDep,
    facility_id: str,
    shipment_id: str,
    reason_id: QueryText = "",
    comment: QueryText = "",
    item: Annotated[list[str] | None, Query()] = None,
    back: QueryText = "",
) -> Response:
    """Every open item is marked at first: the whole shipment, unless the associate unmarks."""
    target = Target(facility_id, shipment_id, None)
    return _form(request, ctx, actor, target, Typed(reason_id, comment, item or [], back))


@router.get("/report/confirm")
def shipment_confirm(
    request: Request,
    ctx: ContextDep,
    actor: PersonDep,
    facility_id: str,
    shipment_id: str,
    reason_id: QueryText = "",
    comment: QueryText = "",
    item: Annotated[list[str] | None, Query()] = None,
    back: QueryText = "",
) -> Response:
    target = Target(facility_id, shipment_id, None)
    return _confirm(request, ctx, actor, target, Typed(reason_id, comment, item or [], back))


@router.post("/report/confirm")
def shipment_confirm_posted(
    facility_id: str,
    shipment_id: str,
    actor: PersonDep,
    reason_id: FormText = "",
    comment: FormText = "",
    item: Annotated[list[str] | None, Form()] = None,
    back: FormText = "",
) -> Response:
    """As for one item: a posted form lands on the confirmation page, reached by GET."""
    target = Target(facility_id, shipment_id, None)
    typed = Typed(reason_id, comment, item or [], back)
    return redirect(f"{target.base}/confirm?{typed.query(with_marked=True)}")


@router.post("/report")
def shipment_report(
    request: Request,
    ctx: ContextDep,
    actor: PersonDep,
    facility_id: str,
    shipment_id: str,
    reason_id: FormText = "",
    comment: FormText = "",
    item: Annotated[list[str] | None, Form()] = None,
    back: FormText = "",
    block_days: FormText = "",
) -> Response:
    target = Target(facility_id, shipment_id, None)
    typed = Typed(reason_id, comment, item or [], back, block_days)
    return _save(request, ctx, actor, target, typed)


# The three steps --------------------------------------------------------------------------


def _form(
    request: Request,
    ctx: Context,
    actor: Principal,
    target: Target,
    typed: Typed,
    problems: dict[str, str] | None = None,
    found: Reportable | None = None,
) -> Response:
    """The form, filled with `typed`; with `problems`, a 422 that says what to fix."""
    _may_report(actor, target)
    typed.back = safe_back(target.facility_id, typed.back)
    found = found or _reportable(ctx, actor, target)
    gone = _gone(found, target, typed.marked if problems is not None else [])
    if gone:
        return _left(request, typed.back, gone)
    assert found is not None
    if target.item_id is None and problems is None and not typed.marked:
        typed.marked = [line.item.item_id for line in found.lines]
    return render(
        request,
        "store/report.html",
        status_code=422 if problems else 200,
        found=found,
        lines=_lines_of(found, target),
        target=target,
        typed=typed,
        problems=problems or {},
        reasons=_offered(ctx, actor),
        max_comment=MAX_COMMENT,
    )


def _confirm(
    request: Request, ctx: Context, actor: Principal, target: Target, typed: Typed
) -> Response:
    _may_report(actor, target)
    typed.back = safe_back(target.facility_id, typed.back)
    found = _reportable(ctx, actor, target)
    gone = _gone(found, target, typed.marked)
    if gone:
        return _left(request, typed.back, gone)
    assert found is not None
    offered = _offered(ctx, actor)
    problems = _problems(typed, offered, target)
    if problems:
        return _form(request, ctx, actor, target, typed, problems, found)
    choice = target.item_id if target.item_id is not None else tuple(typed.marked)
    try:
        preview = preview_rejection(ctx, target.shipment_id, choice, typed.reason_id, actor)
    except (Conflict, NotFound):
        return _left(request, typed.back, _nothing_open(found, target))
    except Invalid:  # the reason was switched off meanwhile
        problems = {"reason_id": "Choose one of the reasons listed."}
        return _form(request, ctx, actor, target, typed, problems, found)
    return render(
        request,
        "store/confirm.html",
        p=preview,
        target=target,
        typed=typed,
        comment=typed.comment.strip(),
        effect=_effect(preview),
        change=f"{target.base}?{typed.query(with_marked=target.item_id is None)}",
        block_choices=BLOCK_CHOICES,
    )


def _save(
    request: Request, ctx: Context, actor: Principal, target: Target, typed: Typed
) -> Response:
    """The one write: a refusal writes nothing and says why; success redirects to the list."""
    _may_report(actor, target)
    typed.back = safe_back(target.facility_id, typed.back)
    problems = _problems(typed, _offered(ctx, actor), target)
    if problems:
        return _form(request, ctx, actor, target, typed, problems)
    found = _reportable(ctx, actor, target)
    if found is None:
        raise NotFound(absent("shipment", target.shipment_id))
    comment = typed.comment.strip() or None
    request_id = uuid.uuid4().hex
    try:
        if target.item_id is not None:
            result = rejection.reject_item(
                ctx, target.shipment_id, target.item_id, typed.reason_id, comment, actor, request_id
            )
        else:
            result = rejection.reject_items(
                ctx, target.shipment_id, typed.marked, typed.reason_id, comment, actor, request_id
            )
    except Conflict as exc:
        notify(request, "Nothing was changed", [exc.detail], kind="error")
        return redirect(typed.back)
    went = where_they_went(ctx, result)
    chosen = [r for r in result.rejected if not r.cascaded]
    if target.item_id is not None:
        first = went[0] if went else None
        title = f"Reported {first.product_name}: it has left this store." if first else "Reported."
    else:
        n = len(chosen)
        title = (
            f"Reported {n} item{'s' if n != 1 else ''} of order {found.order.id}: "
            f"{'they have' if n != 1 else 'it has'} left this store."
        )
    lines = [w.sentence() for w in went]
    if len(lines) > SHOWN:  # the notice rides in the session cookie: keep it small
        lines = [*lines[:SHOWN], f"… and {len(lines) - SHOWN} more taken back from this store."]
    lines += _block_after(ctx, actor, target, typed, result)
    notify(request, title, lines)
    return redirect(typed.back)


def _block_after(
    ctx: Context, actor: Principal, target: Target, typed: Typed, result: RejectionResult
) -> list[str]:
    """The associate also asked to stop sending the product here for a few days. The
    rejection stands on its own; the block follows it, and says so if it could not be set."""
    if not typed.block_days:
        return []
    days = int(typed.block_days)
    until = utcnow() + timedelta(days=days)
    said = []
    for product_id in dict.fromkeys(level.product_id for level in result.levels):
        try:
            blocks.put_block(
                ctx, target.facility_id, product_id, until, "Asked while reporting an issue", actor
            )
        except DomainError as exc:
            said.append(f"It could not be blocked here: {exc.detail}")
        else:
            said.append(f"Not sent here again for {days} day{'s' if days != 1 else ''}.")
    return said


# Helpers ----------------------------------------------------------------------------------


def _may_report(actor: Principal, target: Target) -> None:
    """Reporting is a store action (associates of the facility and admins), checked before
    the rejection's own checks and before anything is written."""
    where = f"shipment {target.shipment_id}"
    actor.require_role(*STORE_ROLES, action="report an issue", target=where)
    actor.require_facility(target.facility_id, "report an issue")


def _reportable(ctx: Context, actor: Principal, target: Target) -> Reportable | None:
    """The shipment as the form shows it; None when it is not at this store (any more)."""
    found = reportable(ctx, target.shipment_id, actor)  # another store's: 404, as absent
    return found if found.shipment.facility_id == target.facility_id else None


def _gone(found: Reportable | None, target: Target, marked: Sequence[str]) -> list[str]:
    """Why there is nothing to report here any more, in plain words; [] when there is."""
    if found is None:
        return [f"Shipment {target.shipment_id} is not at this store."]
    if target.item_id is not None:
        if found.line(target.item_id) is None:
            return _nothing_open(found, target)
        return []
    if not found.lines:
        return _nothing_open(found, target)
    left = [i for i in marked if found.line(i) is None]
    if left:
        return [
            f"Order {found.order.id}, item {i}: no longer open at this store (reported, "
            "packed or moved on meanwhile)."
            for i in left
        ]
    return []


def _nothing_open(found: Reportable | None, target: Target) -> list[str]:
    if found is None or target.item_id is None:
        order = f"Order {found.order.id}" if found else f"Shipment {target.shipment_id}"
        return [f"{order}: nothing of it is open at this store any more."]
    return [
        f"Order {found.order.id}, item {target.item_id}: this item is no longer open at this "
        "store (reported, packed or moved on meanwhile)."
    ]


def _left(request: Request, back: str, lines: list[str]) -> Response:
    """Nothing to report any more (already reported, for one): said on the list, plainly."""
    notify(request, "Nothing to report here any more. Nothing was changed.", lines, kind="info")
    return redirect(back)


def _offered(ctx: Context, actor: Principal) -> list[Reason]:
    """The reasons an associate may give: active, in sequence, never the system's own."""
    listed = reasons.list_reasons(ctx, actor, active_only=True)
    return [r for r in listed if r.id not in SYSTEM_REASONS]


def _problems(typed: Typed, offered: list[Reason], target: Target) -> dict[str, str]:
    """What to fix, by field, in plain words. A NUL typed into the comment is taken out (the
    form shows the rest), and said."""
    problems: dict[str, str] = {}
    if not typed.reason_id:
        problems["reason_id"] = "Choose a reason."
    elif typed.reason_id not in {r.id for r in offered}:
        problems["reason_id"] = "Choose one of the reasons listed."
        typed.reason_id = ""
    if NUL in typed.comment:
        typed.comment = typed.comment.replace(NUL, "")
        problems["comment"] = (
            "The comment held an invisible NUL character, which cannot be kept: it was "
            "taken out. Check the comment and continue."
        )
    elif len(typed.comment.strip()) > MAX_COMMENT:
        problems["comment"] = (
            f"Keep the comment under {MAX_COMMENT:,} characters "
            f"(it has {len(typed.comment.strip()):,})."
        )
    if target.item_id is None and not typed.marked:
        problems["item"] = "Mark at least one item."
    if typed.block_days not in BLOCK_CHOICES:
        problems["block_days"] = "Choose how long to stop sending it here, or not at all."
        typed.block_days = ""
    return problems


def _lines_of(found: Reportable, target: Target) -> list[Any]:
    if target.item_id is None:
        return list(found.lines)
    return [line for line in found.lines if line.item.item_id == target.item_id]


def _effect(p: Preview) -> str:
    one, many = EFFECTS[p.reason.inventory_effect]
    if len(p.chosen) == 1:
        return one.format(q=p.item.quantity)
    return f"This store's stock of each is {many}."


def _q(value: str) -> str:
    return quote(value, safe="")
