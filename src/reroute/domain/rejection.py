"""Rejection: reasons, what each does to inventory, and which other items it takes along
(SPEC section 4). Pure decisions; the rejection service loads, applies and saves."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from reroute.domain.inventory import InventoryLevel, LedgerEntry


class InventoryEffect(StrEnum):
    ZERO = "zero"  # the store has none: QOH and ATP to 0 (packed units still there stay)
    DECREASE_QOH_AND_ATP = "decrease_qoh_and_atp"  # the units are not what they should be
    DECREASE_ATP = "decrease_atp"  # still on hand, but not sellable
    NONE = "none"  # says nothing about stock


@dataclass(frozen=True)
class Reason:
    id: str
    label: str
    inventory_effect: InventoryEffect
    #: Take back every other open item of the product at the facility (else only a shortage).
    cascade: bool
    decline_code: str
    decline_description: str
    sequence: int = 0
    active: bool = True


CASCADE = "CASCADE"
AVOID_SPLIT = "AVOID_SPLIT"
#: What a rejection without a reason stands for: the default decline, no inventory effect.
NO_REASON = Reason(
    "", "No reason given", InventoryEffect.NONE, False, "101", "Don't have enough quantity."
)


def apply_effect(
    level: InventoryLevel, effect: InventoryEffect, quantity: int, reference: str
) -> LedgerEntry | None:
    """Correct the rejecting facility's counters by the reason's rule, after the rejected
    reservations were released. Answers the ledger entry, or None when nothing moves.

    QOH never goes below 0 (a count will say what is really there). ATP may (a damaged unit
    still on hand), and a shortage cascade then takes back the newest reservations.
    """
    cause = f"reject:{effect}"
    if effect is InventoryEffect.ZERO:
        # What stays on hand is what is still promised (packed items waiting to leave).
        qoh_diff = level.reserved - level.quantity_on_hand
        atp_diff = -level.available_to_promise
    elif effect is InventoryEffect.DECREASE_QOH_AND_ATP:
        # Units that are not there cannot be taken away twice: both fall by what QOH holds.
        qoh_diff = atp_diff = -min(quantity, max(level.quantity_on_hand, 0))
    elif effect is InventoryEffect.DECREASE_ATP:
        qoh_diff, atp_diff = 0, -quantity
    else:
        return None
    if qoh_diff == 0 and atp_diff == 0:
        return None
    return level.adjust(qoh_diff, atp_diff, cause, reference)


@dataclass(frozen=True)
class Reservation:
    """An open item holding stock at the rejecting facility."""

    order_id: str
    item_id: str
    quantity: int
    reserved_at: datetime


def shortage_victims(reservations: Sequence[Reservation], shortfall: int) -> list[Reservation]:
    """The newest reservations whose release brings ATP back to 0 or more."""
    taken: list[Reservation] = []
    freed = 0
    for reservation in sorted(
        reservations, key=lambda r: (r.reserved_at, r.order_id, r.item_id), reverse=True
    ):
        if freed >= shortfall:
            break
        taken.append(reservation)
        freed += reservation.quantity
    return taken
