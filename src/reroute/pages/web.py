"""What every page route shares: templates, the signed-in person, CSRF on every form, notices
that survive a redirect, and errors answered as pages (403s logged) rather than JSON."""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException

from reroute.api.deps import SESSION_PRINCIPAL
from reroute.api.problems import status_of
from reroute.api.schemas.common import NUL_MESSAGE
from reroute.domain.access import Principal, Role
from reroute.domain.clock import as_utc
from reroute.domain.errors import DomainError, Forbidden, Invalid
from reroute.pages.session import CSRF_FIELD, csrf_matches, csrf_token
from reroute.services.context import Context

log = logging.getLogger("reroute.pages")
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
#: Pages show what the signed-in person may see: no cache keeps them.
NO_STORE = {"Cache-Control": "no-store"}
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' https: data:; style-src 'self'; "
        "script-src 'self'; frame-ancestors 'none'; form-action 'self'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    **NO_STORE,
}


def _when(value: datetime | None) -> str:
    return as_utc(value).strftime("%Y-%m-%d %H:%M UTC") if value else ""


def _iso(value: datetime | None) -> str:
    return as_utc(value).isoformat() if value else ""


def _label(value: object) -> str:
    return str(value).replace("_", " ")


templates.env.filters["when"] = _when
templates.env.filters["label"] = _label
templates.env.filters["iso"] = _iso


class SignInNeeded(Exception):
    """Raised where a page needs a signed-in person: answered with the sign-in page."""


def signed_in(request: Request) -> Principal | None:
    principal = request.scope.get(SESSION_PRINCIPAL)
    return principal if isinstance(principal, Principal) else None


def email_of(principal: Principal | None) -> str:
    return principal.id.removeprefix("user:") if principal else ""


def current(request: Request) -> Principal:
    principal = signed_in(request)
    if principal is None:
        raise SignInNeeded()
    return principal


def admin(actor: Annotated[Principal, Depends(current)]) -> Principal:
    if actor.role is not Role.ADMIN:
        raise Forbidden("This page is for admins.")
    return actor


PersonDep = Annotated[Principal, Depends(current)]
AdminDep = Annotated[Principal, Depends(admin)]


def context_of(request: Request) -> Context:
    context: Context = request.app.state.context
    return context


ContextDep = Annotated[Context, Depends(context_of)]


async def check_csrf(request: Request) -> None:
    """Every form post carries the session's token; a post from another site cannot."""
    if request.method != "POST":
        return
    form = await request.form()
    if not csrf_matches(request.session, form.get(CSRF_FIELD)):
        raise Forbidden("This form has expired or did not come from Reroute. Reload the page.")


async def refuse_nul(request: Request) -> None:
    """No path id, query or form field of a page may hold NUL: no name has one, and
    PostgreSQL cannot store it. One check here, so no page has to remember it."""
    fields = [*request.path_params.items(), *request.query_params.multi_items()]
    if request.method == "POST":
        fields += (await request.form()).multi_items()
    for name, value in fields:
        if "\x00" in name or (isinstance(value, str) and "\x00" in value):
            raise Invalid(f"{NUL_MESSAGE} Check {name.replace(chr(0), '') or 'the form'}.")


def notify(request: Request, title: str, lines: list[str] | None = None, kind: str = "ok") -> None:
    """A notice shown on the next page rendered (usually after a redirect)."""
    notices = request.session.setdefault("notices", [])
    notices.append({"kind": kind, "title": title, "lines": lines or []})


def render(request: Request, template: str, status_code: int = 200, **values: Any) -> HTMLResponse:
    principal = signed_in(request)
    values.update(
        user=principal,
        user_email=email_of(principal),
        is_admin=principal is not None and principal.role is Role.ADMIN,
        csrf_token=csrf_token(request.session),
        notices=request.session.pop("notices", []),
    )
    return templates.TemplateResponse(
        request, template, values, status_code=status_code, headers=HEADERS
    )


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303, headers=NO_STORE)


class PageRoute(APIRoute):
    """Answers a page's refusals as pages: not signed in goes to sign-in, a refusal renders
    the error page with its status, and every 403 is logged with who asked for what. Every
    page refuses NUL in what it is sent (`refuse_nul`)."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        kwargs["dependencies"] = [*(kwargs.get("dependencies") or []), Depends(refuse_nul)]
        super().__init__(path, endpoint, **kwargs)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except SignInNeeded:
                return redirect(f"/login?next={quote(request.url.path)}")
            except DomainError as exc:
                return _refused(request, status_of(exc), exc.title, exc.detail)
            except RequestValidationError as exc:
                fields = ", ".join(".".join(str(p) for p in e["loc"][1:]) for e in exc.errors())
                return _refused(request, 422, Invalid.title, f"Check {fields or 'the form'}.")
            except HTTPException as exc:
                return _refused(request, exc.status_code, DomainError.title, str(exc.detail))

        return page_handler


def _refused(request: Request, status: int, title: str, detail: str) -> HTMLResponse:
    if status == 403:
        who = signed_in(request)
        log.warning(
            "refused %s %s %s: %s",
            who.id if who else "anonymous",
            request.method,
            request.url.path,
            detail,
        )
    return render(request, "error.html", status, status=status, title=title, detail=detail)
