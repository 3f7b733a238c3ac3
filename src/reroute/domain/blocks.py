"""Products routing keeps away from a facility for a while.

A *block* is asked for: an admin, or the facility's associate ("don't send me this for 3 days").
A *hold* follows a rejection whose reason carries `hold_hours`: the stock the store said was not
there is not trusted again until the hold ends, whatever a stock feed says, unless the store's
own physical count (a cycle count) lifts it. Either way routing skips the facility for that
product, and the order's history says why."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

#: The longest block an associate or admin may set.
LONGEST_BLOCK = timedelta(days=365)


class BlockKind(StrEnum):
    BLOCK = "block"
    HOLD = "hold"


class CountSource(StrEnum):
    """Where a stock count comes from: a feed (the POS, an import) or the store's own count."""

    FEED = "feed"
    CYCLE_COUNT = "cycle_count"


@dataclass(frozen=True)
class Block:
    facility_id: str
    product_id: str
    kind: BlockKind
    until: datetime
    note: str | None = None
    #: The rejection reason a hold followed.
    reason_id: str | None = None
    created_by: str = "system"
    created_at: datetime | None = None

    def active(self, now: datetime) -> bool:
        return self.until > now

    def why(self, facility_name: str) -> str:
        """The history's words for an item routing did not send here."""
        until = self.until.strftime("%Y-%m-%d %H:%M UTC")
        if self.kind is BlockKind.HOLD:
            return f"not sent to {facility_name}: held after {self.reason_id} until {until}"
        said = f" ({self.note})" if self.note else ""
        return f"not sent to {facility_name}: blocked there until {until}{said}"


def hold_after(
    facility_id: str, product_id: str, reason_id: str, hours: int, now: datetime, by: str
) -> Block:
    return Block(
        facility_id,
        product_id,
        BlockKind.HOLD,
        now + timedelta(hours=hours),
        reason_id=reason_id,
        created_by=by,
        created_at=now,
    )
