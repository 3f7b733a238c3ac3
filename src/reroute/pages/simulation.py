"""What-if for admins: replay the last days' orders under the live rules and one other rule set
(a kept version, or a document pasted here), with stores that reject by a model, and compare.
Nothing is written; the report also downloads as one page that opens anywhere."""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response

from reroute.domain.access import Principal
from reroute.domain.errors import Invalid
from reroute.domain.routing.rules import default_rules, rules_to_json
from reroute.domain.settings import MOST_AMOUNT
from reroute.pages.rules import MAX_DOCUMENT
from reroute.pages.simulation_report import figures_view, render_report
from reroute.pages.web import NO_STORE, AdminDep, ContextDep, PageRoute, check_csrf, render
from reroute.services import routing_rules
from reroute.services.context import Context
from reroute.services.simulation import Rejections, SimulationRequest, simulate
from reroute.storage.unit_of_work import unit_of_work

router = APIRouter(
    prefix="/admin/simulate",
    route_class=PageRoute,
    dependencies=[Depends(check_csrf)],
    include_in_schema=False,
)
#: The days a page may replay, and the bound on the orders in them: a page waits for its answer.
MAX_DAYS = 31
MAX_ORDERS = 50_000
MAX_SEED = 2**31 - 1
#: What the second rule set is when the form names one: pasted text, or `version-<id>`.
PASTED = "pasted"
VERSION = "version-"
#: The downloaded report is opened from disk or mail: it may only style itself.
REPORT_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"
    ),
    "Content-Disposition": 'attachment; filename="simulation-report.html"',
    "X-Content-Type-Options": "nosniff",
    **NO_STORE,
}
Short = Annotated[str, Form(max_length=40)]


@dataclass(frozen=True)
class Asked:
    """The form as typed, kept to show again beside its problems."""

    days: str = "7"
    versus: str = ""
    document: str = ""
    rejections: str = Rejections.LEARNED
    seed: str = "0"
    cost_per_shipment: str = ""
    cost_per_km: str = ""
    #: The end of the window of a run shown (the download replays that same window); empty: now.
    until: str = ""


class FormProblems(Exception):
    """Fields that cannot be used as typed, each with what to change."""

    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__("; ".join(problems.values()))
        self.problems = problems


def _whole(text: str, low: int, high: int, what: str, problems: dict[str, str], key: str) -> int:
    try:
        value = int(text.strip())
    except ValueError:
        problems[key] = f"Give the {what} as a whole number from {low:,} to {high:,}."
        return low
    if not low <= value <= high:
        problems[key] = f"Give the {what} from {low:,} to {high:,}."
    return value


def _amount(text: str, problems: dict[str, str], key: str) -> float | None:
    """An empty amount means the setting's."""
    what = key.replace("_", " ")
    if not text.strip():
        return None
    try:
        value = float(text.strip())
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or not 0 <= value <= MOST_AMOUNT:
        most = f"{MOST_AMOUNT:,.0f}"
        problems[key] = f"Give the {what} as a number from 0 to {most}, or leave it out."
        return None
    return value


def _other_rules(ctx: Context, asked: Asked, problems: dict[str, str]) -> tuple[str, Any] | None:
    """The rule set compared with the live rules: a kept version or the pasted document."""
    if asked.versus == "":
        return None
    if asked.versus == PASTED:
        if not asked.document.strip():
            problems["document"] = "Paste a rules document to compare, or choose a version."
            return None
        try:
            return "pasted", json.loads(asked.document)
        except json.JSONDecodeError as exc:
            problems["document"] = f"Not JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})."
        except RecursionError:
            problems["document"] = "The JSON nests too deeply to read."
        return None
    number = asked.versus.removeprefix(VERSION)
    version = None
    if asked.versus.startswith(VERSION) and number.isdigit() and len(number) < 19:
        with unit_of_work(ctx.db, write=False) as uow:
            version = uow.routing.version(int(number))
    if version is None:
        problems["versus"] = "That version of the rules is no longer kept: choose another."
        return None
    document = rules_to_json(default_rules()) if version["was_default"] else version["document"]
    return f"version {version['id']}", document


def _until(text: str, now: datetime, problems: dict[str, str]) -> datetime:
    if not text.strip():
        return now
    try:
        until = datetime.fromisoformat(text.strip())
    except ValueError:
        until = None
    if until is None or until.tzinfo is None or until > now:
        problems["days"] = "The end of the days replayed is not a time that has been: run again."
        return now
    return until


def request_of(ctx: Context, asked: Asked) -> SimulationRequest:
    """The simulation the form asks for (raises FormProblems)."""
    problems: dict[str, str] = {}
    days = _whole(asked.days, 1, MAX_DAYS, "number of days", problems, "days")
    seed = _whole(asked.seed, 0, MAX_SEED, "seed", problems, "seed")
    per_shipment = _amount(asked.cost_per_shipment, problems, "cost_per_shipment")
    per_km = _amount(asked.cost_per_km, problems, "cost_per_km")
    if asked.rejections not in (Rejections.LEARNED, Rejections.NONE):
        problems["rejections"] = "Choose how stores reject: learned, or not at all."
    other = _other_rules(ctx, asked, problems)
    until = _until(asked.until, ctx.db.clock(), problems)
    if problems:
        raise FormProblems(problems)
    # The live rules under their own name: the service replays exactly what routing uses.
    rules: list[tuple[str, Any]] = [("live", None)]
    if other is not None:
        rules.append(other)
    return SimulationRequest(
        since=until - timedelta(days=days),
        until=until,
        rules=rules,
        rejections=asked.rejections,
        seed=seed,
        cost_per_shipment=per_shipment,
        cost_per_km=per_km,
        max_orders=MAX_ORDERS,
    )


def _refusal(exc: Invalid) -> dict[str, str]:
    """The service's refusal as the form's problems: each line at the field it names."""
    fields = {"since": "days", "until": "days", "rules": "versus", "seed": "seed"}
    problems: dict[str, str] = {}
    lines = []
    for error in exc.errors:
        head, _, rest = error.path.partition(":")
        key = fields.get(head, head)
        if head == PASTED:  # a problem of the pasted document, at the text pasted
            key, message = "document", f"{rest.strip()}: {error.message}".strip(": ")
        elif head.startswith("version "):
            key, message = "versus", f"{head}, {rest.strip()}: {error.message}".strip(": ")
        else:
            message = error.message
        if key in ("days", "versus", "document", "seed", "cost_per_shipment", "cost_per_km"):
            problems[key] = " ".join(filter(None, (problems.get(key), message)))
        elif error.message:
            lines.append(f"{error.path}: {error.message}" if error.path else error.message)
    problems["form"] = " ".join([exc.detail, *lines])
    return problems


def _page(
    request: Request,
    ctx: Context,
    actor: Principal,
    asked: Asked,
    *,
    status_code: int = 200,
    problems: dict[str, str] | None = None,
    report: dict[str, Any] | None = None,
) -> Response:
    return render(
        request,
        "admin/simulate.html",
        status_code,
        asked=asked,
        kept={k: v for k, v in asdict(asked).items() if k != "until"},
        problems=problems or {},
        versions=routing_rules.list_versions(ctx, actor),
        sim=figures_view(report) if report is not None else None,
        ran_until=report.get("until") or "" if report is not None else "",
        max_days=MAX_DAYS,
        max_orders=MAX_ORDERS,
        max_document=MAX_DOCUMENT,
        pasted=PASTED,
        version_prefix=VERSION,
    )


def _run(ctx: Context, asked: Asked) -> dict[str, Any]:
    """The report the form asks for (raises FormProblems, whoever found the problem)."""
    try:
        return simulate(ctx, request_of(ctx, asked))
    except Invalid as exc:
        raise FormProblems(_refusal(exc)) from exc


def _asked(
    days: Short = "7",
    versus: Short = "",
    document: Annotated[str, Form(max_length=MAX_DOCUMENT)] = "",
    rejections: Short = Rejections.LEARNED,
    seed: Short = "0",
    cost_per_shipment: Short = "",
    cost_per_km: Short = "",
    until: Short = "",
) -> Asked:
    return Asked(days, versus, document, rejections, seed, cost_per_shipment, cost_per_km, until)


AskedDep = Annotated[Asked, Depends(_asked)]


@router.get("")
def simulate_page(request: Request, ctx: ContextDep, actor: AdminDep) -> Response:
    return _page(request, ctx, actor, Asked())


@router.post("")
def run_simulation(request: Request, ctx: ContextDep, actor: AdminDep, asked: AskedDep) -> Response:
    """The figures answer in place: a simulation writes nothing, so nothing to redirect after."""
    try:
        report = _run(ctx, asked)
    except FormProblems as exc:
        return _page(request, ctx, actor, asked, status_code=422, problems=exc.problems)
    return _page(request, ctx, actor, dataclasses.replace(asked, until=""), report=report)


@router.post("/report.html")
def download_report(
    request: Request, ctx: ContextDep, actor: AdminDep, asked: AskedDep
) -> Response:
    """The same simulation again (same seed, same answer) as the standalone page."""
    try:
        report = _run(ctx, asked)
    except FormProblems as exc:
        return _page(request, ctx, actor, asked, status_code=422, problems=exc.problems)
    return HTMLResponse(render_report(report), headers=REPORT_HEADERS)
