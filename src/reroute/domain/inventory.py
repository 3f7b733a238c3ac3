"""Inventory levels and the ledger that moves them.

QOH and ATP (and the reserved quantity) are counters; every change to them is one
`LedgerEntry`, so the counters always equal the sums of the ledger. Each method here moves
the counters and returns the entry that explains the move; storage appends it.
"""

from __future__ import annotations

from dataclasses import dataclass

from reroute.domain.errors import Conflict, Invalid


@dataclass(frozen=True)
class LedgerEntry:
    facility_id: str
    product_id: str
    qoh_diff: int
    atp_diff: int
    reserved_diff: int
    cause: str
    reference: str


@dataclass
class InventoryLevel:
    facility_id: str
    product_id: str
    quantity_on_hand: int = 0
    available_to_promise: int = 0
    reserved: int = 0

    def _move(self, qoh: int, atp: int, reserved: int, cause: str, reference: str) -> LedgerEntry:
        self.quantity_on_hand += qoh
        self.available_to_promise += atp
        self.reserved += reserved
        return LedgerEntry(self.facility_id, self.product_id, qoh, atp, reserved, cause, reference)

    def count(self, quantity_on_hand: int, reference: str = "") -> LedgerEntry:
        """A stock count: QOH becomes what was counted and ATP moves by the same difference.

        A count below what is reserved can leave ATP below 0: the reservations stand until a
        person or a rejection deals with them, and routing gives this facility nothing more.
        """
        if quantity_on_hand < 0:
            raise Invalid("A stock count cannot be negative.")
        diff = quantity_on_hand - self.quantity_on_hand
        return self._move(diff, diff, 0, "stock_count", reference)

    def can_reserve(self, quantity: int, safety_stock: int = 0) -> bool:
        return self.available_to_promise - safety_stock >= quantity

    def reserve(self, quantity: int, reference: str, safety_stock: int = 0) -> LedgerEntry:
        """Promise `quantity` units to an item; refused when that would oversell."""
        _positive(quantity)
        if not self.can_reserve(quantity, safety_stock):
            raise Conflict(
                f"Only {self.available_to_promise - safety_stock} of product {self.product_id} "
                f"can be promised at facility {self.facility_id}; {quantity} asked."
            )
        return self._move(0, -quantity, quantity, "reserve", reference)

    def release(self, quantity: int, reference: str) -> LedgerEntry:
        """Give back a reservation (rejection, cancellation): ATP rises again."""
        _positive(quantity)
        if quantity > self.reserved:
            raise Conflict(f"Cannot release {quantity}: only {self.reserved} reserved.")
        return self._move(0, quantity, -quantity, "release", reference)

    def ship(self, quantity: int, reference: str) -> LedgerEntry:
        """Reserved units leave: QOH falls; ATP already fell when they were reserved."""
        _positive(quantity)
        if quantity > self.reserved:
            raise Conflict(f"Cannot ship {quantity}: only {self.reserved} reserved.")
        return self._move(-quantity, 0, -quantity, "ship", reference)

    def adjust(self, qoh_diff: int, atp_diff: int, cause: str, reference: str) -> LedgerEntry:
        """A correction that is neither a count nor a reservation (e.g. a rejection's effect)."""
        return self._move(qoh_diff, atp_diff, 0, cause, reference)


def _positive(quantity: int) -> None:
    if quantity <= 0:
        raise Invalid(f"Quantity must be positive, got {quantity}.")
