"""The rejection reasons an admin manages: add, edit, reorder, deactivate (never delete, so old
rejections keep their meaning)."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from pydantic import ValidationError

from reroute.api.schemas.rejection import ReasonIn
from reroute.domain.access import Principal
from reroute.domain.reasons import InventoryEffect
from reroute.pages.web import AdminDep, ContextDep, PageRoute, check_csrf, notify, redirect, render
from reroute.services import reasons
from reroute.services.context import Context
from reroute.services.rejection_preview import SYSTEM_REASONS

router = APIRouter(
    prefix="/admin/reasons",
    route_class=PageRoute,
    dependencies=[Depends(check_csrf)],
    include_in_schema=False,
)
Field = Annotated[str, Form(max_length=300)]
NEW_ID = re.compile(r"[A-Z][A-Z0-9_]{0,63}")
EFFECTS = {
    InventoryEffect.ZERO: "Stock set to 0 (not in stock)",
    InventoryEffect.DECREASE_QOH_AND_ATP: "Stock and availability lowered by the quantity",
    InventoryEffect.DECREASE_ATP: "Availability lowered by the quantity, stock kept",
    InventoryEffect.NONE: "No effect on stock",
}


def _page(
    request: Request,
    ctx: Context,
    actor: Principal,
    *,
    errors: dict[str, dict[str, str]] | None = None,
    drafts: dict[str, dict[str, str]] | None = None,
) -> Response:
    return render(
        request,
        "admin/reasons.html",
        422 if errors else 200,
        reasons=reasons.list_reasons(ctx, actor),
        effects=EFFECTS,
        system=SYSTEM_REASONS,
        errors=errors or {},
        drafts=drafts or {},
    )


def _validated(values: dict[str, str]) -> tuple[ReasonIn | None, dict[str, str]]:
    body = {
        "label": values["label"],
        "inventory_effect": values["inventory_effect"],
        "cascade": values["cascade"] == "on",
        "decline_code": values["decline_code"],
        "decline_description": values["decline_description"],
        "sequence": values["sequence"] or "100",
        "active": values["active"] == "on",
    }
    try:
        return ReasonIn.model_validate(body), {}
    except ValidationError as exc:
        return None, {str(e["loc"][0]): e["msg"] for e in exc.errors()}


@router.get("")
def reason_list(request: Request, ctx: ContextDep, actor: AdminDep) -> Response:
    return _page(request, ctx, actor)


@router.post("/new")
def add_reason(
    request: Request,
    ctx: ContextDep,
    actor: AdminDep,
    reason_id: Field = "",
    label: Field = "",
    inventory_effect: Field = "",
    cascade: Field = "",
    decline_code: Field = "",
    decline_description: Field = "",
) -> Response:
    known = {r.id: r for r in reasons.list_reasons(ctx, actor)}
    sequence = max((r.sequence for r in known.values()), default=0) + 10
    values = {
        "reason_id": reason_id.strip().upper(),
        "label": label,
        "inventory_effect": inventory_effect,
        "cascade": cascade,
        "decline_code": decline_code,
        "decline_description": decline_description,
        "sequence": str(sequence),
        "active": "on",
    }
    body, problems = _validated(values)
    if not NEW_ID.fullmatch(values["reason_id"]):
        problems["reason_id"] = "Use capital letters, digits and _ (like WRONG_SIZE)."
    elif values["reason_id"] in known:
        problems["reason_id"] = f"A reason {values['reason_id']} exists; edit it above."
    if body is None or problems:
        return _page(request, ctx, actor, errors={"": problems}, drafts={"": values})
    reasons.put_reason(ctx, body.to_domain(values["reason_id"]), actor)
    notify(request, f"Added the reason {body.label}.")
    return redirect("/admin/reasons")


@router.post("/{reason_id}")
def save_reason(
    request: Request,
    ctx: ContextDep,
    actor: AdminDep,
    reason_id: str,
    label: Field = "",
    inventory_effect: Field = "",
    cascade: Field = "",
    decline_code: Field = "",
    decline_description: Field = "",
    sequence: Field = "",
    active: Field = "",
) -> Response:
    if reason_id not in {r.id for r in reasons.list_reasons(ctx, actor)}:
        notify(request, f"No reason {reason_id}.", kind="error")
        return redirect("/admin/reasons")
    values = {
        "label": label,
        "inventory_effect": inventory_effect,
        "cascade": cascade,
        "decline_code": decline_code,
        "decline_description": decline_description,
        "sequence": sequence,
        "active": active,
    }
    body, problems = _validated(values)
    if body is None:
        return _page(request, ctx, actor, errors={reason_id: problems}, drafts={reason_id: values})
    reasons.put_reason(ctx, body.to_domain(reason_id), actor)
    state = "" if body.active else " It is no longer offered to associates."
    notify(request, f"Saved the reason {body.label}.{state}")
    return redirect("/admin/reasons")


@router.post("/{reason_id}/move")
def move_reason(
    request: Request,
    ctx: ContextDep,
    actor: AdminDep,
    reason_id: str,
    direction: Annotated[str, Form(pattern="^(up|down)$")],
) -> Response:
    reasons.move_reason(ctx, reason_id, -1 if direction == "up" else 1, actor)
    return redirect(f"/admin/reasons#reason-{reason_id}")
