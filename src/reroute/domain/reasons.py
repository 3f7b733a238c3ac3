"""Rejection reasons: what each says about stock, and how it corrects the rejecting facility's
counters (SPEC section 4). Reasons are data an admin edits; CASCADE and AVOID_SPLIT are the two
the system gives on its own."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from reroute.domain.inventory import InventoryLevel, LedgerEntry
from reroute.domain.notifications import DEFAULT_DECLINE


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
    #: Hours routing keeps the product away from the rejecting facility afterwards (None: not).
    hold_hours: int | None = None

    @property
    def decline(self) -> tuple[str, str]:
        return self.decline_code, self.decline_description


CASCADE = "CASCADE"
AVOID_SPLIT = "AVOID_SPLIT"
#: An item left waiting at a facility past the idle limit, taken back by the idle sweep.
IDLE_TIMEOUT = "IDLE_TIMEOUT"
#: Reasons the system gives on its own; a person never picks them.
SYSTEM_REASONS = frozenset({CASCADE, AVOID_SPLIT, IDLE_TIMEOUT})
#: What a rejection without a reason stands for: the default decline, no inventory effect.
NO_REASON = Reason("", "No reason given", InventoryEffect.NONE, False, *DEFAULT_DECLINE)


def system_reason(reason_id: str, found: Reason | None) -> Reason:
    """A system reason as stored, or its stand-in when an admin removed it."""
    return found or Reason(reason_id, reason_id, InventoryEffect.NONE, False, *DEFAULT_DECLINE)


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
