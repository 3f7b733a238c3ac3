"""Signing in and out, and where each person lands."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from reroute.domain.access import Principal, Role
from reroute.domain.errors import Invalid
from reroute.pages.session import session_token, sign_in
from reroute.pages.web import ContextDep, PageRoute, check_csrf, redirect, render, signed_in
from reroute.services import users

router = APIRouter(
    route_class=PageRoute, dependencies=[Depends(check_csrf)], include_in_schema=False
)


def home_of(principal: Principal) -> str:
    return "/admin/orders" if principal.role is Role.ADMIN else "/store"


def _safe_next(target: str | None) -> str | None:
    """Only a path on this site: never an address elsewhere (`//host`, `https://…`), and
    nothing a person could not have typed."""
    if (
        target
        and target.startswith("/")
        and not target.startswith("//")
        and "\\" not in target
        and target.isprintable()
    ):
        return target
    return None


@router.get("/")
def home(request: Request) -> Response:
    principal = signed_in(request)
    return redirect(home_of(principal) if principal else "/login")


@router.get("/login")
def login_page(request: Request, next: str | None = None) -> Response:
    principal = signed_in(request)
    if principal is not None:
        return redirect(_safe_next(next) or home_of(principal))
    return render(request, "login.html", next=_safe_next(next) or "", email="", error=None)


@router.post("/login")
async def login(
    request: Request,
    ctx: ContextDep,
    email: Annotated[str, Form(max_length=320)],
    password: Annotated[str, Form(max_length=1000)],
    next: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    values = {"next": _safe_next(next) or "", "email": email.replace("\x00", "")}
    try:
        user = await run_in_threadpool(users.authenticate, ctx, email, password)
    except users.SignInRefused as exc:
        return render(request, "login.html", 401, **values, error=exc.detail)
    except Invalid as exc:
        error = " ".join(e.message for e in exc.errors) or exc.detail
        return render(request, "login.html", 422, **values, error=error)
    except users.HashingBusy as exc:
        page = render(request, "login.html", 429, **values, error=exc.detail)
        page.headers["Retry-After"] = str(exc.retry_after)
        return page
    earlier = session_token(request.session)
    if earlier is not None:
        await run_in_threadpool(users.end_session, ctx, earlier)
    token = await run_in_threadpool(users.start_session, ctx, user)
    sign_in(request.session, token)
    return redirect(_safe_next(next) or home_of(users.principal_of(user)))


@router.post("/logout")
async def logout(request: Request, ctx: ContextDep) -> Response:
    token = session_token(request.session)
    if token is not None:
        await run_in_threadpool(users.end_session, ctx, token)
    request.session.clear()
    return redirect("/login")
