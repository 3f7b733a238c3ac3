"""Settings and API tokens: the admin's."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from reroute.api.deps import ActorDep, ContextDep, OneHopRoute
from reroute.api.schemas.admin import SettingsOut, SettingsPatch, TokenCreatedOut, TokenIn, TokenOut
from reroute.domain.access import Role
from reroute.domain.clock import utcnow
from reroute.services import settings, tokens

router = APIRouter(tags=["admin"], route_class=OneHopRoute)


@router.get("/settings", response_model=SettingsOut)
def get_settings(ctx: ContextDep, actor: ActorDep) -> SettingsOut:
    return SettingsOut(**settings.get_settings(ctx, actor).as_dict())


@router.patch("/settings", response_model=SettingsOut)
def patch_settings(body: SettingsPatch, ctx: ContextDep, actor: ActorDep) -> SettingsOut:
    """Change some settings; fields left out keep their value."""
    changes = body.model_dump(exclude_unset=True, exclude_none=True)
    return SettingsOut(**settings.change_settings(ctx, changes, actor).as_dict())


@router.post("/tokens", response_model=TokenCreatedOut, status_code=201)
def create_token(
    body: TokenIn, ctx: ContextDep, actor: ActorDep, response: Response
) -> TokenCreatedOut:
    """A new API token, shown in this answer only (no-store: not cached, nor replayed). With
    `expires_at` or `expires_in_days` it is refused with 401 from then on, like a revoked one."""
    token, token_id = tokens.create_token(
        ctx,
        body.role,
        body.facilities,
        body.label,
        actor,
        expires_at=body.expires_at,
        expires_in_days=body.expires_in_days,
    )
    response.headers["Cache-Control"] = "no-store"
    made = tokens.get_token(ctx, token_id, actor)
    return TokenCreatedOut(
        token_id=token_id,
        token=token,
        role=body.role,
        facilities=body.facilities,
        label=made.label,
        expires_at=made.expires_at,
    )


@router.get("/tokens", response_model=list[TokenOut])
def list_tokens(ctx: ContextDep, actor: ActorDep) -> list[TokenOut]:
    """Every token, oldest first, revoked and expired ones too: who it is for, when it was
    made, last used and expires. Never the token, nor its hash."""
    now = utcnow()
    return [
        TokenOut(
            token_id=t.id,
            role=Role(t.role),
            facilities=t.facilities,
            label=t.label,
            revoked=t.revoked,
            created_at=t.created_at or now,
            last_used_at=t.last_used_at,
            expires_at=t.expires_at,
            expired=t.expired(now),
        )
        for t in tokens.list_tokens(ctx, actor)
    ]


@router.delete("/tokens/{token_id}", status_code=204)
def revoke_token(
    token_id: Annotated[int, Path(ge=1, le=2**62)], ctx: ContextDep, actor: ActorDep
) -> Response:
    """Revoke a token: refused with 401 at its next request, in every process. 404 for an
    unknown or already revoked one."""
    tokens.revoke_token(ctx, token_id, actor)
    return Response(status_code=204)
