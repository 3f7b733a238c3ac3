"""The routing rules document, edited as JSON beside its line numbers: a refused save marks
each error at its line and keeps the text as typed; every save keeps what it replaced as a
version (compared and restored from here); a dry run tries the text on an order, saving nothing."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import Response

from reroute.api.schemas.common import MAX_ROW_ID
from reroute.domain.access import Principal
from reroute.domain.errors import Invalid, NotFound
from reroute.pages.json_lines import line_of, value_lines
from reroute.pages.web import AdminDep, ContextDep, PageRoute, check_csrf, notify, redirect, render
from reroute.services import routing_rules, rules_dry_run
from reroute.services.context import Context

router = APIRouter(
    prefix="/admin/rules",
    route_class=PageRoute,
    dependencies=[Depends(check_csrf)],
    include_in_schema=False,
)
MAX_DOCUMENT = 200_000
#: The text area grows with the document up to this many rows, then scrolls.
MAX_ROWS = 1000
VersionId = Annotated[int, Path(ge=1, le=MAX_ROW_ID)]


@dataclass(frozen=True)
class Problem:
    path: str
    message: str
    line: int | None
    column: int | None = None


class Unreadable(Exception):
    """The text is not JSON (or nests too deeply): one problem, at its line if known."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.message)
        self.problem = problem


def _read(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        message = f"Not JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})."
        raise Unreadable(Problem("", message, exc.lineno, exc.colno)) from exc
    except RecursionError as exc:
        raise Unreadable(Problem("", "The JSON nests too deeply to read.", None)) from exc


def _marked(text: str, exc: Invalid) -> list[Problem]:
    """Each validation error at the line of its path in the text as typed."""
    lines = value_lines(text)
    return [Problem(e.path, e.message, line_of(lines, e.path)) for e in exc.errors]


def _page(
    request: Request,
    ctx: Context,
    actor: Principal,
    *,
    status_code: int = 200,
    text: str | None = None,
    problems: list[Problem] | None = None,
    order_id: str = "",
    tried: rules_dry_run.DryRun | None = None,
    refused: str = "Not saved",
) -> Response:
    document, is_default = routing_rules.get_rules(ctx, actor)
    shown = text if text is not None else routing_rules.pretty(document)
    count = shown.count("\n") + 1
    problems = problems or []
    return render(
        request,
        "admin/rules.html",
        status_code,
        text=shown,
        is_default=is_default,
        problems=problems,
        bad_lines={p.line for p in problems if p.line},
        line_count=count,
        rows=max(20, min(MAX_ROWS, count + 1)),
        order_id=order_id,
        tried=tried,
        refused=refused,
        versions=routing_rules.list_versions(ctx, actor),
        kept=routing_rules.KEPT_VERSIONS,
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
    order_id: Annotated[str, Form(max_length=255)] = "",
) -> Response:
    keep: dict[str, Any] = {"text": document, "order_id": order_id}
    try:
        routing_rules.put_rules(ctx, _read(document), actor)
    except Unreadable as exc:
        return _page(request, ctx, actor, status_code=422, problems=[exc.problem], **keep)
    except Invalid as exc:
        problems = _marked(document, exc)
        return _page(request, ctx, actor, status_code=422, problems=problems, **keep)
    notify(request, "Saved the routing rules: routing uses them from now on.")
    return redirect("/admin/rules")


@router.post("/try")
def try_rules(
    request: Request,
    ctx: ContextDep,
    actor: AdminDep,
    document: Annotated[str, Form(max_length=MAX_DOCUMENT)],
    order_id: Annotated[str, Form(max_length=255)] = "",
) -> Response:
    """A dry run answers in place (it writes nothing, so there is nothing to redirect after):
    the text stays in the editor, saved or not, and the placements show beside it."""
    wanted = order_id.strip()
    keep: dict[str, Any] = {"text": document, "order_id": order_id, "refused": "Not tried"}
    if not wanted:
        problem = Problem("", "Type the id of the order to try these rules on.", None)
        return _page(request, ctx, actor, status_code=422, problems=[problem], **keep)
    try:
        tried = rules_dry_run.try_rules(ctx, _read(document), wanted, actor)
    except Unreadable as exc:
        return _page(request, ctx, actor, status_code=422, problems=[exc.problem], **keep)
    except Invalid as exc:
        problems = _marked(document, exc)
        return _page(request, ctx, actor, status_code=422, problems=problems, **keep)
    except NotFound:
        problem = Problem("", f"There is no order {wanted}: check its id.", None)
        return _page(request, ctx, actor, status_code=404, problems=[problem], **keep)
    return _page(request, ctx, actor, tried=tried, **keep)


@router.get("/reset")
def confirm_reset(request: Request, ctx: ContextDep, actor: AdminDep) -> Response:
    """Going back to the defaults asks first: it changes routing at once."""
    _, is_default = routing_rules.get_rules(ctx, actor)
    return render(request, "admin/rules_reset.html", is_default=is_default)


@router.post("/reset")
def reset_rules(request: Request, ctx: ContextDep, actor: AdminDep) -> Response:
    routing_rules.reset_rules(ctx, actor)
    notify(
        request,
        "Back to the default routing rules.",
        ["The rules they replaced are kept as a version: restore them from the list."],
    )
    return redirect("/admin/rules")


def _version_page(
    request: Request,
    ctx: Context,
    actor: Principal,
    version_id: int,
    status_code: int = 200,
    problems: list[str] | None = None,
) -> Response:
    comparison = routing_rules.compare_version(ctx, version_id, actor)
    return render(
        request,
        "admin/rules_version.html",
        status_code,
        comparison=comparison,
        version=comparison.version,
        problems=problems or [],
    )


@router.get("/versions/{version_id}")
def version_page(
    request: Request, ctx: ContextDep, actor: AdminDep, version_id: VersionId
) -> Response:
    return _version_page(request, ctx, actor, version_id)


@router.post("/versions/{version_id}/restore")
def restore_version(
    request: Request, ctx: ContextDep, actor: AdminDep, version_id: VersionId
) -> Response:
    try:
        routing_rules.restore_version(ctx, version_id, actor)
    except Invalid as exc:
        problems = [f"{e.path}: {e.message}" if e.path else e.message for e in exc.errors]
        return _version_page(request, ctx, actor, version_id, 422, problems)
    notify(
        request,
        f"Restored version {version_id} of the routing rules: routing uses it from now on.",
        ["The rules it replaced are kept as a version too."],
    )
    return redirect("/admin/rules")
