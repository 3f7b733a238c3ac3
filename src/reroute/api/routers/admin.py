"""Settings and API tokens: the admin's."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from reroute.api.deps import ActorDep, ContextDep, OneHopRoute
from reroute.api.schemas.admin import SettingsOut, SettingsPatch, TokenCreatedOut, TokenIn, TokenOut
from reroute.domain.access import Role
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
    """A new API token, shown in this answer only (no-store: not cached, nor replayed)."""
    token, token_id = tokens.create_token(ctx, body.role, body.facilities, body.label, actor)
    response.headers["Cache-Control"] = "no-store"
    return TokenCreatedOut(
        token_id=token_id, token=token, role=body.role, facilities=body.facilities
    )


@router.get("/tokens", response_model=list[TokenOut])
def list_tokens(ctx: ContextDep, actor: ActorDep) -> list[TokenOut]:
    return [
        TokenOut(
            token_id=t.id,
            role=Role(t.role),
            facilities=t.facilities,
            label=t.label,
            revoked=t.revoked,
        )
        for t in tokens.list_tokens(ctx, actor)
    ]


@router.delete("/tokens/{token_id}", status_code=204)
def revoke_token(
    token_id: Annotated[int, Path(ge=1, le=2**62)], ctx: ContextDep, actor: ActorDep
) -> Response:
    tokens.revoke_token(ctx, token_id, actor)
    return Response(status_code=204)
