"""The run-time settings as one form an admin saves. The form is built from `RuntimeSettings`
itself, so a setting added there shows up here with no template change, and a save is
checked by the API's own `SettingsPatch`, so the page and `PATCH /api/v1/settings` accept
exactly the same values."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Annotated, Any, get_type_hints

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from reroute.api.schemas.admin import SettingsPatch
from reroute.domain.access import Principal
from reroute.pages.web import AdminDep, ContextDep, PageRoute, check_csrf, notify, redirect, render
from reroute.services import settings
from reroute.services.context import Context

router = APIRouter(
    prefix="/admin",
    route_class=PageRoute,
    dependencies=[Depends(check_csrf)],
    include_in_schema=False,
)
#: What a person reads for a setting; one not named here shows its name and the API's help.
WORDS: dict[str, tuple[str, str]] = {
    "partial_rejection": (
        "Partial rejection",
        "On: rejecting one item of a shipment lets only that item leave it. "
        "Off: the whole shipment leaves the store.",
    ),
    "route_on_create": (
        "Route new orders at once",
        "On: a new order is routed as soon as it is created. Off: it waits for a batch run.",
    ),
    "mfg_id": (
        "Tenant id (mfgID)",
        "Sent as scope.mfgID in every notification.",
    ),
    "requests_per_minute_per_token": (
        "Requests per minute per token",
        "How many API requests each token or signed-in person may send per minute, in each "
        "API process. 0: no limit.",
    ),
}
#: Longest text a setting's form field takes (the API's own limits are checked on top).
MAX_TEXT = 1000


@dataclass(frozen=True)
class SettingField:
    """One control of the form: what it is called, its kind, and what it holds."""

    name: str
    label: str
    help: str
    kind: str  # "bool", "int", "float" or "text"
    value: Any
    editable: bool


def _kind(kind: Any) -> str:
    if kind is bool:
        return "bool"
    if kind is int:
        return "int"
    if kind is float:
        return "float"
    return "text"


def setting_fields(
    current: Any, draft: dict[str, Any] | None = None, patch: type[Any] = SettingsPatch
) -> list[SettingField]:
    """The form's fields, one per field of the settings dataclass `current`, holding `draft`
    (what was typed) where given, else the current value. A field the API cannot change is
    shown but not editable."""
    hints = get_type_hints(type(current))
    shown = []
    for f in dataclasses.fields(current):
        kind = _kind(hints[f.name])
        described = patch.model_fields.get(f.name)
        label, help_text = WORDS.get(
            f.name,
            (
                f.name.replace("_", " ").capitalize(),
                (described.description or "") if described is not None else "",
            ),
        )
        value: Any = getattr(current, f.name)
        if draft is not None and f.name in draft:
            value = draft[f.name]
        shown.append(SettingField(f.name, label, help_text, kind, value, described is not None))
    return shown


def plain_message(error: ErrorDetails) -> str:
    """A validation error as a person reads it: no pattern, no field path."""
    kind = error["type"]
    limits = error.get("ctx") or {}
    if kind == "string_pattern_mismatch":
        return "Use only letters, digits and . _ : - (no spaces)."
    if kind == "string_too_short":
        return "Fill this in."
    if kind == "string_too_long":
        return f"Use at most {limits.get('max_length')} characters."
    if kind in ("greater_than_equal", "greater_than"):
        return f"Use a number of at least {limits.get('ge', limits.get('gt'))}."
    if kind in ("less_than_equal", "less_than"):
        return f"Use a number of at most {limits.get('le', limits.get('lt'))}."
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return "Give a whole number, like 12."
    if kind in ("float_parsing", "float_type"):
        return "Give a number, like 41.88."
    if kind in ("bool_parsing", "bool_type"):
        return "Choose on or off."
    if kind in ("enum", "literal_error"):
        return "Choose one of the options shown."
    return "Check this value."


def problems_of(exc: ValidationError) -> dict[str, str]:
    """The first plain message for each top-level field that failed."""
    problems: dict[str, str] = {}
    for error in exc.errors():
        name = str(error["loc"][0]) if error["loc"] else "form"
        problems.setdefault(name, plain_message(error))
    return problems


def _page(
    request: Request,
    ctx: Context,
    actor: Principal,
    status_code: int = 200,
    draft: dict[str, str] | None = None,
    problems: dict[str, str] | None = None,
) -> Response:
    current = settings.get_settings(ctx, actor)
    return render(
        request,
        "admin/settings.html",
        status_code,
        fields=setting_fields(current, draft),
        problems=problems or {},
    )


@router.get("/settings")
def settings_page(request: Request, ctx: ContextDep, actor: AdminDep) -> Response:
    return _page(request, ctx, actor)


def _changes(
    form: dict[str, str], fields: list[SettingField]
) -> tuple[dict[str, Any], dict[str, str]]:
    """The posted form as the values the API would be sent, and what cannot even be read as
    its kind. A checkbox left unticked is not posted: that is off."""
    changes: dict[str, Any] = {}
    problems: dict[str, str] = {}
    for f in fields:
        if not f.editable:
            continue
        raw = form.get(f.name, "")
        if f.kind == "bool":
            changes[f.name] = raw == "on"
            continue
        raw = raw.strip()
        if f.kind == "int":
            try:
                changes[f.name] = int(raw)
            except ValueError:
                problems[f.name] = "Give a whole number, like 12."
        elif f.kind == "float":
            try:
                changes[f.name] = float(raw)
            except ValueError:
                problems[f.name] = "Give a number, like 41.88."
        else:
            changes[f.name] = raw
    return changes, problems


async def posted_form(request: Request) -> dict[str, str]:
    """The posted form's text fields (read here, so the route itself can be a plain function
    run off the event loop)."""
    posted = await request.form()
    return {k: v for k, v in posted.items() if isinstance(v, str) and len(v) <= MAX_TEXT}


PostedForm = Annotated[dict[str, str], Depends(posted_form)]


@router.post("/settings")
def save_settings(request: Request, ctx: ContextDep, actor: AdminDep, form: PostedForm) -> Response:
    """Saves every setting of the form in one change; a refusal saves none of them."""
    current = settings.get_settings(ctx, actor)
    fields = setting_fields(current)
    changes, problems = _changes(form, fields)
    if not problems:
        try:
            checked = SettingsPatch.model_validate(changes)
        except ValidationError as exc:
            problems = problems_of(exc)
        else:
            saved = checked.model_dump(exclude_unset=True, exclude_none=True)
            settings.change_settings(ctx, saved, actor)
            notify(request, "Saved the settings.")
            return redirect("/admin/settings")
    draft: dict[str, Any] = {
        f.name: (form.get(f.name) == "on") if f.kind == "bool" else form.get(f.name, "")
        for f in fields
        if f.editable
    }
    return _page(request, ctx, actor, 422, draft=draft, problems=problems)
