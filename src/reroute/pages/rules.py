"""The routing rules document, edited as JSON; refused saves list every error with its path and
the line it is on, next to the text."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from reroute.domain.access import Principal
from reroute.domain.errors import Invalid
from reroute.pages.json_lines import line_of, value_lines
from reroute.pages.web import AdminDep, ContextDep, PageRoute, check_csrf, notify, redirect, render
from reroute.services import routing_rules
from reroute.services.context import Context

router = APIRouter(
    prefix="/admin/rules",
    route_class=PageRoute,
    dependencies=[Depends(check_csrf)],
    include_in_schema=False,
)
MAX_DOCUMENT = 200_000


@dataclass(frozen=True)
class Problem:
    path: str
    message: str
    line: int | None


def _page(
    request: Request,
    ctx: Context,
    actor: Principal,
    *,
    text: str | None = None,
    problems: list[Problem] | None = None,
) -> Response:
    document, is_default = routing_rules.get_rules(ctx, actor)
    return render(
        request,
        "admin/rules.html",
        422 if problems else 200,
        text=text if text is not None else json.dumps(document, indent=2),
        is_default=is_default,
        problems=problems or [],
        rows=max(20, min(60, (text or "").count("\n") + 2)),
    )


@router.get("")
def rules_page(request: Request, ctx: ContextDep, actor: AdminDep) -> Response:
    return _page(request, ctx, actor)


@router.post("")
def save_rules(
    request: Request,
    ctx: ContextDep,
    actor: AdminDep,
    document: Annotated[str, Form(max_length=MAX_DOCUMENT)],
) -> Response:
    try:
        parsed = json.loads(document)
    except json.JSONDecodeError as exc:
        problem = Problem("", f"Not JSON: {exc.msg} (column {exc.colno}).", exc.lineno)
        return _page(request, ctx, actor, text=document, problems=[problem])
    except RecursionError:
        problem = Problem("", "The JSON nests too deeply to read.", None)
        return _page(request, ctx, actor, text=document, problems=[problem])
    try:
        routing_rules.put_rules(ctx, parsed, actor)
    except Invalid as exc:
        lines = value_lines(document)
        problems = [Problem(e.path, e.message, line_of(lines, e.path)) for e in exc.errors]
        return _page(request, ctx, actor, text=document, problems=problems)
    notify(request, "Saved the routing rules: routing uses them from now on.")
    return redirect("/admin/rules")


@router.post("/reset")
def reset_rules(request: Request, ctx: ContextDep, actor: AdminDep) -> Response:
    routing_rules.reset_rules(ctx, actor)
    notify(request, "Back to the default routing rules.")
    return redirect("/admin/rules")
