"""Who may do what: roles and the facilities an associate is bound to."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from reroute.domain.errors import Forbidden


class Role(StrEnum):
    ADMIN = "admin"
    INTEGRATION = "integration"
    ASSOCIATE = "associate"


@dataclass(frozen=True)
class Principal:
    """The caller of a use case: a token or a signed-in person."""

    id: str
    role: Role
    facilities: frozenset[str] = field(default_factory=frozenset)

    @property
    def is_associate(self) -> bool:
        return self.role is Role.ASSOCIATE

    def require_role(self, *roles: Role) -> None:
        if self.role not in roles:
            allowed = " or ".join(str(r) for r in roles)
            raise Forbidden(f"This needs the {allowed} role; you are {self.role}.")

    def can_see_facility(self, facility_id: str) -> bool:
        return not self.is_associate or facility_id in self.facilities

    def require_facility(self, facility_id: str) -> None:
        if not self.can_see_facility(facility_id):
            raise Forbidden(f"You are not an associate of facility {facility_id}.")


SYSTEM = Principal("system", Role.ADMIN)
