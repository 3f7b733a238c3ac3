"""Settings and API tokens."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from reroute.api.schemas.common import Identifier, Strict
from reroute.domain.access import Role


class SettingsOut(BaseModel):
    mfg_id: str
    partial_rejection: bool
    route_on_create: bool


class SettingsPatch(Strict):
    mfg_id: Identifier | None = None
    partial_rejection: bool | None = None
    route_on_create: bool | None = None


class TokenIn(Strict):
    role: Role
    facilities: Annotated[list[Identifier], Field(max_length=100)] = Field(default_factory=list)
    label: Annotated[str, StringConstraints(max_length=200, strip_whitespace=True)] = ""


class TokenCreatedOut(BaseModel):
    token_id: int
    token: str = Field(description="Shown once; only its hash is kept.")
    role: Role
    facilities: list[str]


class TokenOut(BaseModel):
    token_id: int
    role: Role
    facilities: list[str]
    label: str
    revoked: bool
