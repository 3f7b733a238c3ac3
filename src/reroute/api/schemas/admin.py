"""Settings and API tokens."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    StringConstraints,
    model_validator,
)

from reroute.api.schemas.common import Identifier, Strict
from reroute.domain.access import Role
from reroute.domain.settings import MOST_AMOUNT, MOST_MINUTES, MOST_REQUESTS_PER_MINUTE

_PER_MINUTE = (
    "Requests each API token (and each signed-in user) may send per minute, counted in each "
    "API process; past it, 429 with `Retry-After`. 0: no limit."
)


_IDLE_REJECT = (
    "Minutes an item may stay ready at a facility without being started before it is taken "
    "back (reason IDLE_TIMEOUT) and routed elsewhere; 0: off. A facility's own "
    "`idle_reject_after_minutes` overrides it."
)
_IDLE_PACK = (
    "Minutes an item may stay in progress without being packed before it is taken back; 0: off."
)
_INTERVAL = "Minutes between scheduled routing runs over queued and backordered items; 0: off."
_PER_SHIPMENT = "What the `cost` sort key and the simulation count per shipment."
_PER_KM = "What the `cost` sort key and the simulation count per km from facility to customer."
_REROUTE = (
    "What the `cost` sort key counts per expected re-route: an item's chance of being rejected "
    "at the facility times this."
)


Minutes = Annotated[StrictInt, Field(ge=0, le=MOST_MINUTES)]
#: A cost parameter: a finite amount, at most a million.
Amount = Annotated[float, Field(ge=0, le=MOST_AMOUNT, allow_inf_nan=False)]


class SettingsOut(BaseModel):
    mfg_id: str
    partial_rejection: bool
    route_on_create: bool
    requests_per_minute_per_token: int = Field(description=_PER_MINUTE)
    idle_reject_after_minutes: int = Field(description=_IDLE_REJECT)
    idle_pack_after_minutes: int = Field(description=_IDLE_PACK)
    routing_interval_minutes: int = Field(description=_INTERVAL)
    routing_cost_per_shipment: float = Field(description=_PER_SHIPMENT)
    routing_cost_per_km: float = Field(description=_PER_KM)
    routing_reroute_penalty: float = Field(description=_REROUTE)


class SettingsPatch(Strict):
    mfg_id: Identifier | None = None
    partial_rejection: bool | None = None
    route_on_create: bool | None = None
    requests_per_minute_per_token: (
        Annotated[StrictInt, Field(ge=0, le=MOST_REQUESTS_PER_MINUTE, description=_PER_MINUTE)]
        | None
    ) = None
    idle_reject_after_minutes: Minutes | None = Field(default=None, description=_IDLE_REJECT)
    idle_pack_after_minutes: Minutes | None = Field(default=None, description=_IDLE_PACK)
    routing_interval_minutes: Minutes | None = Field(default=None, description=_INTERVAL)
    routing_cost_per_shipment: Amount | None = Field(default=None, description=_PER_SHIPMENT)
    routing_cost_per_km: Amount | None = Field(default=None, description=_PER_KM)
    routing_reroute_penalty: Amount | None = Field(default=None, description=_REROUTE)

    model_config = ConfigDict(json_schema_extra={"examples": [{"partial_rejection": True}]})


#: The longest life a token may be given at creation, in days (about ten years).
MAX_TOKEN_DAYS = 3650


class TokenIn(Strict):
    role: Role
    facilities: Annotated[list[Identifier], Field(max_length=100)] = Field(default_factory=list)
    label: Annotated[str, StringConstraints(max_length=200, strip_whitespace=True)] = ""
    expires_at: AwareDatetime | None = Field(
        default=None,
        description="When the token stops working (with a time zone; in the future). "
        "Give this or `expires_in_days`, or neither for a token that does not expire.",
    )
    expires_in_days: Annotated[int, Field(ge=1, le=MAX_TOKEN_DAYS)] | None = Field(
        default=None, description="The token stops working this many days from now."
    )

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"role": "integration", "facilities": [], "label": "storefront sync"},
                {"role": "integration", "label": "migration script", "expires_in_days": 30},
            ]
        }
    )

    @model_validator(mode="after")
    def _one_expiry(self) -> TokenIn:
        if self.expires_at is not None and self.expires_in_days is not None:
            raise ValueError("Give expires_at or expires_in_days, not both.")
        return self


class TokenCreatedOut(BaseModel):
    token_id: int
    token: str = Field(description="Shown once; only its hash is kept.")
    role: Role
    facilities: list[str]
    label: str = ""
    expires_at: datetime | None = Field(default=None, description="Null: it does not expire.")


class TokenOut(BaseModel):
    """A token as an admin sees it: never the token, nor its hash."""

    token_id: int
    role: Role
    facilities: list[str]
    label: str
    revoked: bool
    created_at: datetime
    last_used_at: datetime | None = Field(
        description="When it last authenticated a request (to the minute: recorded at most "
        "once a minute per process); null if never."
    )
    expires_at: datetime | None = Field(description="Null: it does not expire.")
    expired: bool = Field(description="Past `expires_at`: refused with 401, like a revoked one.")
