"""Rejection analytics: rejected items per day over a chosen period, and by facility, reason,
product and associate, drawn on the server (no chart library, no script). Every bar and row
leads to the rejections behind it, and what a page shows downloads as CSV."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from reroute.domain.clock import utcnow
from reroute.domain.errors import NotFound
from reroute.pages.web import NO_STORE, AdminDep, ContextDep, PageRoute, check_csrf, render
from reroute.services import catalog, reasons, rejection_log
from reroute.services.rejection_log import RejectionFilter

router = APIRouter(
    prefix="/admin/analytics",
    route_class=PageRoute,
    dependencies=[Depends(check_csrf)],
    include_in_schema=False,
)
WINDOWS = {"24h": ("last_24_hours", "Last 24 hours"), "7d": ("last_7_days", "Last 7 days")}
#: Bars per chart; the rest are summed in one line.
TOP = 10
#: The longest period a page draws, one bar a day.
MAX_DAYS = 366
#: Rejections to a page of the drill-down list.
LIST_PAGE = 50
#: How the drill-down names the records without a reason (no reason id has a hyphen).
NO_REASON = "-"
#: A cell starting with one of these is a formula to a spreadsheet: it is written after a quote.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
Text = Annotated[str, Query(max_length=200)]
DayText = Annotated[str, Query(max_length=40)]


class PeriodProblem(Exception):
    """A period asked for that cannot be drawn; the message says what to change."""


@dataclass(frozen=True)
class Period:
    since: datetime
    until: datetime
    title: str
    #: The query that names this period again in a link.
    query: dict[str, str]
    window: str | None = None
    #: The period in a sentence: "in the last 7 days", "from 2026-12-01 to 2026-12-03".
    phrase: str = ""

    def days(self) -> list[date]:
        first, last = self.since.date(), (self.until - timedelta(microseconds=1)).date()
        return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _day(text: str, what: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise PeriodProblem(f"Give the {what} date as year-month-day, e.g. 2026-12-01.") from None


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def period_of(window: str, start: str, end: str, now: datetime) -> Period:
    """The period of the page: from and to dates (whole UTC days) when given, else a window
    ending now (the last 7 days unless told otherwise)."""
    start, end = start.strip(), end.strip()
    if start or end:
        last = _day(end, "end") if end else now.date()
        first = _day(start, "start") if start else last - timedelta(days=6)
        if last < first:
            raise PeriodProblem("The end date comes before the start date: swap them.")
        if (last - first).days + 1 > MAX_DAYS:
            raise PeriodProblem(f"Choose at most {MAX_DAYS} days.")
        title = f"{first.isoformat()} to {last.isoformat()}"
        query = {"from": first.isoformat(), "to": last.isoformat()}
        since, until = _midnight(first), _midnight(last + timedelta(days=1))
        return Period(since, until, title, query, None, f"from {title}")
    window = window.strip() or "7d"
    if window not in WINDOWS:
        raise PeriodProblem("Choose the last 24 hours, the last 7 days or dates.")
    title = WINDOWS[window][1]
    query = {"window": window}
    # The last 7 days are whole days, today's so far included: one bar for each.
    week = _midnight(now.date() - timedelta(days=6))
    since = now - timedelta(hours=24) if window == "24h" else week
    return Period(since, now, title, query, window, f"in the {title.lower()}")


def one_day(day: date) -> Period:
    text = day.isoformat()
    since, until = _midnight(day), _midnight(day + timedelta(days=1))
    return Period(since, until, text, {"day": text}, None, f"on {text}")


@dataclass(frozen=True)
class Bar:
    label: str
    count: int
    #: Length of the bar, 0 to 100, relative to the chart's longest.
    length: float
    key: str = ""
    href: str = ""


@dataclass(frozen=True)
class Chart:
    title: str
    bars: list[Bar]
    others: int
    total: int
    dimension: str = ""


def chart(
    title: str,
    counts: dict[str, int],
    names: dict[str, str],
    link: Any = None,
    dimension: str = "",
    top: int | None = TOP,
) -> Chart:
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    longest = max((n for _, n in ranked), default=1)
    shown = ranked if top is None else ranked[:top]
    bars = [
        Bar(names.get(key, key), n, round(100 * n / longest, 1), key, link(key) if link else "")
        for key, n in shown
    ]
    rest = [] if top is None else ranked[top:]
    return Chart(title, bars, sum(n for _, n in rest), sum(counts.values()), dimension)


@dataclass(frozen=True)
class Analytics:
    period: Period
    trend: Chart
    charts: list[Chart]
    associates: Chart
    total: int
    totals: dict[str, int] = field(default_factory=dict)


def _drill(period: Period, **narrow: str) -> str:
    return "/admin/analytics/rejections?" + urlencode({**period.query, **narrow})


def person_of(actor: str) -> str:
    """A user's email, or the token or process as the record names it."""
    return actor.removeprefix("user:")


def _analytics(ctx: Any, actor: Any, period: Period) -> Analytics:
    counts = rejection_log.rejection_counts(ctx, actor, RejectionFilter(period.since, period.until))
    facilities = {f.id: f.name for f in catalog.list_facilities(ctx, actor)}
    reason_names = {r.id: r.label for r in reasons.list_reasons(ctx, actor)}
    reason_names[""] = "No reason given"
    products = {}
    for product_id in sorted(counts["product"], key=lambda p: -counts["product"][p])[:TOP]:
        try:
            products[product_id] = catalog.get_product(ctx, product_id).name
        except NotFound:
            continue
    per_day = {d.isoformat(): counts["day"].get(d.isoformat(), 0) for d in period.days()}
    longest = max(per_day.values(), default=0) or 1
    trend = Chart(
        "Per day",
        [
            Bar(day, n, round(100 * n / longest, 1), day, _drill(period, day=day))
            for day, n in per_day.items()
        ],
        0,
        sum(per_day.values()),
        "day",
    )
    charts = [
        chart(
            "By facility",
            counts["facility"],
            facilities,
            lambda k: _drill(period, facility=k),
            "facility",
        ),
        chart(
            "By reason",
            counts["reason"],
            reason_names,
            lambda k: _drill(period, reason=k or NO_REASON),
            "reason",
        ),
        chart(
            "By product",
            counts["product"],
            products,
            lambda k: _drill(period, product=k),
            "product",
        ),
    ]
    people = {a: person_of(a) for a in counts["actor"]}
    associates = chart(
        "By associate",
        counts["actor"],
        people,
        lambda k: _drill(period, actor=k),
        "actor",
        top=None,
    )
    return Analytics(period, trend, charts, associates, sum(counts["facility"].values()))


@router.get("")
def analytics(
    request: Request,
    ctx: ContextDep,
    actor: AdminDep,
    window: DayText = "",
    start: Annotated[str, Query(alias="from", max_length=40)] = "",
    end: Annotated[str, Query(alias="to", max_length=40)] = "",
) -> Response:
    """The period's trend per day, its counts by facility, reason, product and associate."""
    form = {"start": start, "end": end}
    try:
        period = period_of(window, start, end, utcnow())
    except PeriodProblem as problem:
        return render(
            request,
            "admin/analytics.html",
            422,
            problem=str(problem),
            form=form,
            windows=WINDOWS,
            window=None,
            shown=None,
        )
    shown = _analytics(ctx, actor, period)
    return render(
        request,
        "admin/analytics.html",
        problem=None,
        form=form if not period.window else {"start": "", "end": ""},
        windows=WINDOWS,
        window=period.window,
        title=period.title,
        shown=shown,
        csv_url="/admin/analytics/export.csv?" + urlencode(period.query),
    )


def safe_cell(value: object) -> str:
    """The cell as text a spreadsheet shows as text: never run as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_response(header: list[str], rows: list[list[object]], filename: str) -> Response:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([safe_cell(v) for v in row])
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"', **NO_STORE},
    )


def _name_of_file(period: Period, what: str) -> str:
    return f"{what}-{period.since.date().isoformat()}-{period.until.date().isoformat()}.csv"


@router.get("/export.csv")
def analytics_csv(
    request: Request,
    ctx: ContextDep,
    actor: AdminDep,
    window: DayText = "",
    start: Annotated[str, Query(alias="from", max_length=40)] = "",
    end: Annotated[str, Query(alias="to", max_length=40)] = "",
) -> Response:
    """The bars and rows of the analytics page for the same period, one line each."""
    try:
        period = period_of(window, start, end, utcnow())
    except PeriodProblem as problem:
        return Response(str(problem), status_code=422, media_type="text/plain", headers=NO_STORE)
    shown = _analytics(ctx, actor, period)
    rows: list[list[object]] = []
    for c in [shown.trend, *shown.charts, shown.associates]:
        rows.extend([c.dimension, b.key, b.label, b.count] for b in c.bars)
        if c.others:
            rows.append([c.dimension, "", "Others", c.others])
    return csv_response(
        ["chart", "key", "label", "items"], rows, _name_of_file(period, "rejection-analytics")
    )


@dataclass(frozen=True)
class Drill:
    """The rejections behind one bar: the period (or one day) and what it is narrowed to."""

    period: Period
    #: The period of the analytics page the bar was on.
    back: Period
    where: RejectionFilter
    #: The words that say what the list holds, e.g. "at Andersonville".
    narrowed: list[str]
    query: dict[str, str]


def _drill_of(
    ctx: Any,
    actor: Any,
    window: str,
    start: str,
    end: str,
    day: str,
    facility: str,
    reason: str,
    product: str,
    person: str,
) -> Drill:
    day = day.strip()
    back = period_of(window, start, end, utcnow())
    period = one_day(_day(day, "day")) if day else back
    facilities = {f.id: f.name for f in catalog.list_facilities(ctx, actor)}
    reason_names = {r.id: r.label for r in reasons.list_reasons(ctx, actor)}
    narrowed = []
    if facility:
        narrowed.append(f"at {facilities.get(facility, facility)}")
    if reason:
        said = "no reason given" if reason == NO_REASON else reason_names.get(reason, reason)
        narrowed.append(f"for {said}")
    if product:
        try:
            narrowed.append(f"of {catalog.get_product(ctx, product).name}")
        except NotFound:
            narrowed.append(f"of product {product}")
    if person:
        narrowed.append(f"by {person_of(person)}")
    where = RejectionFilter(
        period.since,
        period.until,
        facility_id=facility or None,
        reason_id=("" if reason == NO_REASON else reason) or None,
        product_id=product or None,
        actor=person or None,
    )
    narrow = {
        "day": day,
        "facility": facility,
        "reason": reason,
        "product": product,
        "actor": person,
    }
    query = {**back.query, **{k: v for k, v in narrow.items() if v}}
    return Drill(period, back, where, narrowed, query)


@dataclass(frozen=True)
class Asked:
    """What a drill-down list (its page and its CSV) is asked for: a period, what narrows it,
    and where the page starts."""

    window: str
    start: str
    end: str
    day: str
    facility: str
    reason: str
    product: str
    person: str
    before: int | None

    def narrowing(self) -> tuple[str, ...]:
        return (
            self.window,
            self.start,
            self.end,
            self.day,
            self.facility,
            self.reason,
            self.product,
            self.person,
        )


def asked_for(
    window: DayText = "",
    start: Annotated[str, Query(alias="from", max_length=40)] = "",
    end: Annotated[str, Query(alias="to", max_length=40)] = "",
    day: DayText = "",
    facility: Text = "",
    reason: Text = "",
    product: Text = "",
    person: Annotated[str, Query(alias="actor", max_length=200)] = "",
    before: Annotated[int | None, Query(ge=1)] = None,
) -> Asked:
    return Asked(window, start, end, day, facility, reason, product, person, before)


@router.get("/rejections")
def rejections_behind(
    request: Request,
    ctx: ContextDep,
    actor: AdminDep,
    asked: Annotated[Asked, Depends(asked_for)],
) -> Response:
    """The rejections behind a bar or row of the analytics page, newest first."""
    try:
        drill = _drill_of(ctx, actor, *asked.narrowing())
    except PeriodProblem as problem:
        return render(
            request,
            "admin/analytics_rejections.html",
            422,
            problem=str(problem),
            drill=None,
            rows=[],
        )
    rows = rejection_log.rejections_behind(
        ctx, actor, drill.where, limit=LIST_PAGE + 1, before_id=asked.before
    )
    older_url = None
    if len(rows) > LIST_PAGE:
        rows = rows[:LIST_PAGE]
        older_url = "/admin/analytics/rejections?" + urlencode(
            {**drill.query, "before": rows[-1]["id"]}
        )
    before = asked.before
    page_query = {**drill.query, **({"before": str(before)} if before else {})}
    return render(
        request,
        "admin/analytics_rejections.html",
        problem=None,
        drill=drill,
        rows=rows,
        older_url=older_url,
        newest_url=("/admin/analytics/rejections?" + urlencode(drill.query)) if before else None,
        back_url="/admin/analytics?" + urlencode(drill.back.query),
        csv_url="/admin/analytics/rejections.csv?" + urlencode(page_query),
        **_names(ctx, actor, rows),
    )


def _names(ctx: Any, actor: Any, rows: list[dict[str, Any]]) -> dict[str, Any]:
    products = {}
    for product_id in {r["product_id"] for r in rows}:
        try:
            products[product_id] = catalog.get_product(ctx, product_id).name
        except NotFound:
            continue
    return {
        "facilities": {f.id: f.name for f in catalog.list_facilities(ctx, actor)},
        "reasons": {r.id: r.label for r in reasons.list_reasons(ctx, actor)},
        "products": products,
        "person_of": person_of,
    }


@router.get("/rejections.csv")
def rejections_csv(
    request: Request,
    ctx: ContextDep,
    actor: AdminDep,
    asked: Annotated[Asked, Depends(asked_for)],
) -> Response:
    """The rows of that list page, one line per rejected item."""
    try:
        drill = _drill_of(ctx, actor, *asked.narrowing())
    except PeriodProblem as problem:
        return Response(str(problem), status_code=422, media_type="text/plain", headers=NO_STORE)
    rows = rejection_log.rejections_behind(
        ctx, actor, drill.where, limit=LIST_PAGE, before_id=asked.before
    )
    names = _names(ctx, actor, rows)
    lines: list[list[object]] = [
        [
            r["created_at"].isoformat(),
            r["order_id"],
            r["item_id"],
            names["facilities"].get(r["facility_id"], r["facility_id"]),
            names["products"].get(r["product_id"], r["product_id"]),
            r["quantity"],
            names["reasons"].get(r["reason_id"], r["reason_id"]) if r["reason_id"] else "",
            "yes" if r["cascaded"] else "no",
            person_of(r["actor"]),
            r["comment"] or "",
        ]
        for r in rows
    ]
    header = [
        "rejected_at",
        "order_id",
        "item_id",
        "facility",
        "product",
        "quantity",
        "reason",
        "taken_along",
        "by",
        "comment",
    ]
    return csv_response(header, lines, _name_of_file(drill.period, "rejections"))
