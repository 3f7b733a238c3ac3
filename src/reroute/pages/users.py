"""The people who sign in, for admins: list them, create one, change a role and facilities,
set a new password, deactivate (after a confirmation) and reactivate. Each change is one
service call, so one transaction, and a refusal writes nothing."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import Response

from reroute.api.schemas.common import MAX_ROW_ID
from reroute.domain.access import Principal, Role
from reroute.domain.errors import Conflict, Invalid, NotFound
from reroute.pages.web import (
    AdminDep,
    ContextDep,
    PageRoute,
    check_csrf,
    email_of,
    notify,
    redirect,
    render,
)
from reroute.services import catalog, passwords, users
from reroute.services.context import Context
from reroute.storage.repositories.users import UserRecord

router = APIRouter(
    prefix="/admin/users",
    route_class=PageRoute,
    dependencies=[Depends(check_csrf)],
    include_in_schema=False,
)
ROLES = {Role.ASSOCIATE: "Store associate", Role.ADMIN: "Admin"}
Email = Annotated[str, Form(max_length=320)]
Password = Annotated[str, Form(max_length=passwords.MAX_LENGTH)]
Chosen = Annotated[list[str] | None, Form()]
RoleField = Annotated[str, Form(max_length=20)]
UserId = Annotated[int, Path(ge=1, le=MAX_ROW_ID)]
EMPTY_DRAFT: dict[str, Any] = {"email": "", "role": str(Role.ASSOCIATE), "facilities": []}


def _role(value: str) -> Role | None:
    try:
        role = Role(value)
    except ValueError:
        return None
    return role if role in ROLES else None


def _list_page(
    request: Request,
    ctx: Context,
    actor: Principal,
    status_code: int = 200,
    draft: dict[str, Any] | None = None,
    problems: dict[str, str] | None = None,
) -> Response:
    return render(
        request,
        "admin/users.html",
        status_code,
        people=users.list_users(ctx, actor),
        facilities=catalog.list_facilities(ctx, actor),
        roles=ROLES,
        draft=draft or EMPTY_DRAFT,
        problems=problems or {},
        me=email_of(actor),
    )


@router.get("")
def user_list(request: Request, ctx: ContextDep, actor: AdminDep) -> Response:
    return _list_page(request, ctx, actor)


def _field_problems(exc: Invalid) -> dict[str, str]:
    problems: dict[str, str] = {}
    for error in exc.errors:
        problems.setdefault(error.path.split(".")[0], error.message)
    return problems or {"form": exc.detail}


@router.post("")
def create_user(
    request: Request,
    ctx: ContextDep,
    actor: AdminDep,
    email: Email = "",
    role: RoleField = "",
    password: Password = "",
    facilities: Chosen = None,
) -> Response:
    """A new person; the password typed is never shown again, not even on a refusal."""
    chosen = list(dict.fromkeys(facilities or []))
    draft = {"email": email, "role": role, "facilities": chosen}
    picked = _role(role)
    if picked is None:
        problems = {"role": "Choose a store associate or an admin."}
        return _list_page(request, ctx, actor, 422, draft, problems)
    if picked is not Role.ASSOCIATE:
        chosen = []  # an admin reaches every facility: ticked ones mean nothing
    try:
        made = users.create_user(ctx, email, password, picked, chosen, actor)
    except Invalid as exc:
        return _list_page(request, ctx, actor, 422, draft, _field_problems(exc))
    except (Conflict, NotFound) as exc:
        field = "email" if isinstance(exc, Conflict) else "facilities"
        return _list_page(request, ctx, actor, 409, draft, {field: exc.detail})
    notify(request, f"Created {made.email}.", ["They can sign in now with the password you set."])
    return redirect("/admin/users")


def _user_page(
    request: Request,
    ctx: Context,
    actor: Principal,
    user: UserRecord,
    status_code: int = 200,
    draft: dict[str, Any] | None = None,
    problems: dict[str, str] | None = None,
    confirming: bool = False,
) -> Response:
    return render(
        request,
        "admin/user.html",
        status_code,
        person=user,
        facilities=catalog.list_facilities(ctx, actor),
        roles=ROLES,
        draft=draft or {"role": user.role, "facilities": user.facilities},
        problems=problems or {},
        is_me=email_of(actor) == user.email,
        confirming=confirming,
    )


@router.get("/{user_id}")
def user_detail(request: Request, ctx: ContextDep, actor: AdminDep, user_id: UserId) -> Response:
    return _user_page(request, ctx, actor, users.get_user(ctx, user_id, actor))


@router.post("/{user_id}/access")
def change_access(
    request: Request,
    ctx: ContextDep,
    actor: AdminDep,
    user_id: UserId,
    role: RoleField = "",
    facilities: Chosen = None,
) -> Response:
    user = users.get_user(ctx, user_id, actor)
    chosen = list(dict.fromkeys(facilities or []))
    draft = {"role": role, "facilities": chosen}
    picked = _role(role)
    if picked is None:
        problems = {"role": "Choose a store associate or an admin."}
        return _user_page(request, ctx, actor, user, 422, draft, problems)
    if picked is not Role.ASSOCIATE:
        chosen = []
    try:
        changed = users.change_access(ctx, user.email, picked, chosen, actor)
    except Invalid as exc:
        return _user_page(request, ctx, actor, user, 422, draft, _field_problems(exc))
    except Conflict as exc:
        return _user_page(request, ctx, actor, user, 409, draft, {"role": exc.detail})
    except NotFound as exc:
        return _user_page(request, ctx, actor, user, 404, draft, {"facilities": exc.detail})
    where = ", ".join(changed.facilities)
    notify(
        request,
        f"{changed.email} is now {ROLES[Role(changed.role)].lower()}"
        + (f" at {where}." if where else "."),
    )
    return redirect(f"/admin/users/{user_id}")


@router.post("/{user_id}/password")
def reset_password(
    request: Request, ctx: ContextDep, actor: AdminDep, user_id: UserId, password: Password = ""
) -> Response:
    """A new password the admin gives; every session of the user ends, so they sign in anew."""
    user = users.get_user(ctx, user_id, actor)
    try:
        users.set_password(ctx, user.email, password, actor)
    except Invalid as exc:
        return _user_page(request, ctx, actor, user, 422, problems=_field_problems(exc))
    if email_of(actor) == user.email:
        return redirect("/login")  # their own sessions ended too: sign in with the new one
    notify(
        request,
        f"Set a new password for {user.email}.",
        ["Every session of theirs has ended: they sign in again with the new password."],
    )
    return redirect(f"/admin/users/{user_id}")


@router.get("/{user_id}/deactivate")
def confirm_deactivation(
    request: Request, ctx: ContextDep, actor: AdminDep, user_id: UserId
) -> Response:
    """Asks first: a deactivated person is signed out everywhere at once."""
    user = users.get_user(ctx, user_id, actor)
    if email_of(actor) == user.email:
        return _user_page(
            request,
            ctx,
            actor,
            user,
            409,
            problems={"active": "You cannot deactivate yourself. Ask another admin to do it."},
        )
    return _user_page(request, ctx, actor, user, confirming=True)


@router.post("/{user_id}/deactivate")
def deactivate(request: Request, ctx: ContextDep, actor: AdminDep, user_id: UserId) -> Response:
    user = users.get_user(ctx, user_id, actor)
    try:
        users.deactivate_user(ctx, user.email, actor)
    except Conflict as exc:
        return _user_page(request, ctx, actor, user, 409, problems={"active": exc.detail})
    notify(
        request,
        f"Deactivated {user.email}.",
        ["They are signed out everywhere and cannot sign in until reactivated."],
    )
    return redirect("/admin/users")


@router.post("/{user_id}/reactivate")
def reactivate(request: Request, ctx: ContextDep, actor: AdminDep, user_id: UserId) -> Response:
    user = users.get_user(ctx, user_id, actor)
    users.reactivate_user(ctx, user.email, actor)
    notify(request, f"Reactivated {user.email}.", ["They can sign in with their password."])
    return redirect(f"/admin/users/{user_id}")
