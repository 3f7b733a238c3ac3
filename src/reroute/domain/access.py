"""Who may do what: roles, the facilities an associate is bound to, and refusals logged.

An associate's reach ends at their facilities. What lies beyond answers as if it did not exist
(`OutOfScope` is a `NotFound`), so that nobody learns what another store holds; a refused
role or facility is a 403. Every refusal is logged on "reroute.access" with who and what.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from reroute.domain.errors import Forbidden, NotFound

log = logging.getLogger("reroute.access")


class Role(StrEnum):
    ADMIN = "admin"
    INTEGRATION = "integration"
    ASSOCIATE = "associate"


#: Store actions (start, pack, fulfill, reject, customer care): the facility's people, and admins.
STORE_ROLES = (Role.ADMIN, Role.ASSOCIATE)
#: Loading data (facilities, products, stock counts, orders, cancellations): never associates.
LOADERS = (Role.ADMIN, Role.INTEGRATION)


class OutOfScope(NotFound):
    """Something outside the caller's facilities: answered exactly as an absent one."""


def log_refusal(who: str, action: str, target: str, detail: str) -> None:
    """One line per refusal: who (token or user), the use case and its target, and why."""
    what = f"{action or 'request'} ({target})" if target else action or "request"
    log.warning("refused %s: %s: %s", who, what, detail)


@dataclass(frozen=True)
class Principal:
    """The caller of a use case: a token or a signed-in person."""

    id: str
    role: Role
    facilities: frozenset[str] = field(default_factory=frozenset)

    @property
    def is_associate(self) -> bool:
        return self.role is Role.ASSOCIATE

    def require_role(self, *roles: Role, action: str = "", target: str = "") -> None:
        if self.role not in roles:
            allowed = " or ".join(str(r) for r in roles)
            detail = f"This needs the {allowed} role; you are {self.role}."
            log_refusal(self.id, action, target, detail)
            raise Forbidden(detail)

    def can_see_facility(self, facility_id: str | None) -> bool:
        return not self.is_associate or (facility_id is not None and facility_id in self.facilities)

    def require_facility(self, facility_id: str, action: str = "") -> None:
        """A path that names a facility: an associate of another one is refused (403), and so
        is one asking for a facility that does not exist, so the answer tells nothing."""
        if not self.can_see_facility(facility_id):
            detail = f"You are not an associate of facility {facility_id}."
            log_refusal(self.id, action, f"facility {facility_id}", detail)
            raise Forbidden(detail)

    def require_in_scope(
        self, facility_ids: Iterable[str | None], what: str, target: str, action: str = ""
    ) -> None:
        """Something held at `facility_ids` (a shipment at one, an order at its shipments'):
        outside the caller's facilities it answers 404 with the words an absent one gets."""
        if not self.is_associate or any(self.can_see_facility(f) for f in facility_ids):
            return
        raise self.out_of_scope(what, target, action)

    def out_of_scope(self, what: str, target: str, action: str = "") -> OutOfScope:
        """The refusal of `require_in_scope`, logged, for callers that raise it themselves."""
        log_refusal(self.id, action, f"{what} {target}", "outside the caller's facilities")
        return OutOfScope(absent(what, target))


def absent(what: str, target: str) -> str:
    """How an unknown shipment or order is answered; one outside one's facilities the same."""
    return f"No {what} {target}."


SYSTEM = Principal("system", Role.ADMIN)
