"""Rejection analytics: how many items were rejected by facility, by reason and by product over
the last 24 hours and 7 days, drawn as bars on the server (no chart library, no script)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from reroute.domain.errors import NotFound
from reroute.pages.web import AdminDep, ContextDep, PageRoute, check_csrf, render
from reroute.services import catalog, reasons, rejection_log

router = APIRouter(
    prefix="/admin/analytics",
    route_class=PageRoute,
    dependencies=[Depends(check_csrf)],
    include_in_schema=False,
)
WINDOWS = {"24h": ("last_24_hours", "Last 24 hours"), "7d": ("last_7_days", "Last 7 days")}
#: Bars per chart; the rest are summed in one line.
TOP = 10


@dataclass(frozen=True)
class Bar:
    label: str
    count: int
    #: Length of the bar, 0 to 100, relative to the chart's longest.
    length: float


@dataclass(frozen=True)
class Chart:
    title: str
    bars: list[Bar]
    others: int
    total: int


def chart(title: str, counts: dict[str, int], names: dict[str, str]) -> Chart:
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    longest = max((n for _, n in ranked), default=1)
    bars = [Bar(names.get(key, key), n, round(100 * n / longest, 1)) for key, n in ranked[:TOP]]
    return Chart(title, bars, sum(n for _, n in ranked[TOP:]), sum(counts.values()))


@router.get("")
def analytics(
    request: Request,
    ctx: ContextDep,
    actor: AdminDep,
    window: Annotated[str, Query(pattern="^(24h|7d)$")] = "7d",
) -> Response:
    _, counts = rejection_log.search_rejections(ctx, actor, limit=1)
    key, title = WINDOWS[window]
    chosen = counts[key]
    facilities = {f.id: f.name for f in catalog.list_facilities(ctx, actor)}
    reason_names = {r.id: r.label for r in reasons.list_reasons(ctx, actor)}
    reason_names[""] = "No reason given"
    top_products = sorted(chosen["product"], key=lambda p: -chosen["product"][p])[:TOP]
    products = {}
    for product_id in top_products:
        try:
            products[product_id] = catalog.get_product(ctx, product_id).name
        except NotFound:
            continue
    charts = [
        chart("By facility", chosen["facility"], facilities),
        chart("By reason", chosen["reason"], reason_names),
        chart("By product", chosen["product"], products),
    ]
    return render(
        request,
        "admin/analytics.html",
        window=window,
        windows=WINDOWS,
        title=title,
        charts=charts,
        totals={k: sum(counts[w]["facility"].values()) for k, (w, _) in WINDOWS.items()},
    )
