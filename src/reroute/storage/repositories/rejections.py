"""Rejection reasons, rejection records, the open items a rejection may take along, and what a
rejection writes in bulk (exclusions, the shipments it left)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, bindparam, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from reroute.domain.clock import as_utc
from reroute.domain.orders import REJECTABLE, ItemState, Shipment
from reroute.domain.reasons import InventoryEffect, Reason
from reroute.domain.rejection import Exclusion, RejectionRecord, Reservation
from reroute.storage.bulk import Bulk, values_of
from reroute.storage.tables import (
    item_exclusions,
    order_items,
    rejection_reasons,
    rejections,
    shipments,
)

__all__ = ["RejectionRecord", "RejectionRepository"]

# Statements of the hot paths, built once: a statement object used again keeps its cache key,
# so each call only binds its values.

_REASONS = select(rejection_reasons).order_by(rejection_reasons.c.sequence, rejection_reasons.c.id)
_REASON = select(rejection_reasons).where(rejection_reasons.c.id == bindparam("id"))
_REASON_LOCKED = _REASON.with_for_update()
_RESERVATIONS = (
    select(
        order_items.c.order_id,
        order_items.c.item_id,
        order_items.c.product_id,
        order_items.c.quantity,
        order_items.c.reserved_at,
        order_items.c.updated_at,
    )
    .where(
        order_items.c.facility_id == bindparam("facility_id"),
        order_items.c.product_id.in_(bindparam("product_ids", expanding=True)),
        order_items.c.state.in_([str(s) for s in REJECTABLE]),
    )
    .order_by(order_items.c.order_id, order_items.c.item_id)
)
_PACKED_QUANTITY = select(func.coalesce(func.sum(order_items.c.quantity), 0)).where(
    order_items.c.facility_id == bindparam("facility_id"),
    order_items.c.product_id == bindparam("product_id"),
    order_items.c.state == str(ItemState.PACKED),
)
_NEW_RECORDS = Bulk(
    insert(rejections).values(
        values_of(
            "order_id",
            "item_id",
            "shipment_id",
            "facility_id",
            "product_id",
            "quantity",
            "reason_id",
            "comment",
            "cascaded",
            "actor",
            "request_id",
            "created_at",
        )
    )
)
_EXCLUSION = values_of("order_id", "item_id", "facility_id", "created_at")
_NEW_EXCLUSIONS = {
    True: Bulk(postgresql.insert(item_exclusions).values(_EXCLUSION).on_conflict_do_nothing()),
    False: Bulk(sqlite.insert(item_exclusions).values(_EXCLUSION).on_conflict_do_nothing()),
}
_SHIPMENT_STATES = Bulk(
    update(shipments)
    .where(shipments.c.id == bindparam("b_id"))
    .values(state=bindparam("state"), updated_at=bindparam("updated_at"))
)


def _reason(row: Row[Any]) -> Reason:
    return Reason(
        id=row.id,
        label=row.label,
        inventory_effect=InventoryEffect(row.inventory_effect),
        cascade=row.cascade,
        decline_code=row.decline_code,
        decline_description=row.decline_description,
        sequence=row.sequence,
        active=row.active,
        hold_hours=row.hold_hours,
    )


class RejectionRepository:
    def __init__(self, conn: Connection, *, postgres: bool) -> None:
        self.conn = conn
        self.postgres = postgres

    # Reasons ------------------------------------------------------------------------------

    def reasons(self) -> list[Reason]:
        return [_reason(r) for r in self.conn.execute(_REASONS)]

    def reason(self, reason_id: str, *, lock: bool = False) -> Reason | None:
        """With `lock`, the row stays locked until the transaction ends (PostgreSQL; SQLite
        write transactions hold the whole database)."""
        row = self.conn.execute(_REASON_LOCKED if lock else _REASON, {"id": reason_id}).first()
        return _reason(row) if row else None

    def save_reason(self, reason: Reason, now: datetime) -> bool:
        """Insert or replace; answers whether the reason is new."""
        t = rejection_reasons
        values = {
            "label": reason.label,
            "inventory_effect": str(reason.inventory_effect),
            "cascade": reason.cascade,
            "decline_code": reason.decline_code,
            "decline_description": reason.decline_description,
            "sequence": reason.sequence,
            "active": reason.active,
            "hold_hours": reason.hold_hours,
            "updated_at": now,
        }
        result = self.conn.execute(update(t).where(t.c.id == reason.id).values(**values))
        if result.rowcount:
            return False
        self.conn.execute(insert(t).values(id=reason.id, **values))
        return True

    # Open items ---------------------------------------------------------------------------

    def reservations(
        self, facility_id: str, product_ids: Iterable[str]
    ) -> dict[str, list[Reservation]]:
        """The items of each product holding stock at the facility that a store may still
        reject, read without locks: a rejection locks their orders and decides on what those
        show."""
        wanted = sorted(set(product_ids))
        found: dict[str, list[Reservation]] = {p: [] for p in wanted}
        if not wanted:
            return found
        rows = self.conn.execute(_RESERVATIONS, {"facility_id": facility_id, "product_ids": wanted})
        for r in rows:
            found[r.product_id].append(
                Reservation(
                    r.order_id, r.item_id, r.quantity, as_utc(r.reserved_at or r.updated_at)
                )
            )
        return found

    def packed_quantity(self, facility_id: str, product_id: str) -> int:
        total = self.conn.execute(
            _PACKED_QUANTITY, {"facility_id": facility_id, "product_id": product_id}
        ).scalar_one()
        return int(total)

    # Records ------------------------------------------------------------------------------

    def record(self, records: Sequence[RejectionRecord], now: datetime) -> None:
        if records:
            _NEW_RECORDS.run(
                self.conn,
                [
                    {
                        "order_id": r.order_id,
                        "item_id": r.item_id,
                        "shipment_id": int(r.shipment_id),
                        "facility_id": r.facility_id,
                        "product_id": r.product_id,
                        "quantity": r.quantity,
                        "reason_id": r.reason_id,
                        "comment": r.comment,
                        "cascaded": r.cascaded,
                        "actor": r.actor,
                        "request_id": r.request_id,
                        "created_at": now,
                    }
                    for r in records
                ],
            )

    def exclude_many(self, exclusions: Sequence[Exclusion], now: datetime) -> None:
        """Routing never sends these items back to these facilities (repeats are harmless)."""
        if not exclusions:
            return
        _NEW_EXCLUSIONS[self.postgres].run(
            self.conn,
            [
                {
                    "order_id": e.order_id,
                    "item_id": e.item_id,
                    "facility_id": e.facility_id,
                    "created_at": now,
                }
                for e in exclusions
            ],
        )

    def save_shipment_states(self, left: Sequence[Shipment], now: datetime) -> None:
        """The shipments a rejection took items from, in the states it left them, at once."""
        if not left:
            return
        _SHIPMENT_STATES.run(
            self.conn,
            [{"b_id": int(s.id), "state": str(s.state), "updated_at": now} for s in left],
        )

    def reason_mix(self, since: datetime, until: datetime) -> dict[str, dict[str, int]]:
        """How often each facility's associates gave each reason (cascades aside), by facility
        and reason id ("" for none)."""
        t = rejections
        query = (
            select(t.c.facility_id, t.c.reason_id, func.count())
            .where(t.c.created_at >= since, t.c.created_at < until, t.c.cascaded.is_(False))
            .group_by(t.c.facility_id, t.c.reason_id)
        )
        mix: dict[str, dict[str, int]] = {}
        for facility_id, reason_id, n in self.conn.execute(query):
            mix.setdefault(facility_id, {})[reason_id or ""] = int(n)
        return mix

    def search(
        self,
        *,
        facility_id: str | None = None,
        reason_id: str | None = None,
        product_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 100,
        before_id: int | None = None,
    ) -> list[dict[str, Any]]:
        t = rejections
        query = select(t).order_by(t.c.id.desc()).limit(limit)
        for column, value in (
            (t.c.facility_id, facility_id),
            (t.c.reason_id, reason_id),
            (t.c.product_id, product_id),
        ):
            if value is not None:
                query = query.where(column == value)
        if since is not None:
            query = query.where(t.c.created_at >= since)
        if until is not None:
            query = query.where(t.c.created_at < until)
        if before_id is not None:
            query = query.where(t.c.id < before_id)
        rows = []
        for row in self.conn.execute(query):
            entry = dict(row._mapping)
            entry["created_at"] = as_utc(entry["created_at"])
            entry["shipment_id"] = str(entry["shipment_id"])
            rows.append(entry)
        return rows

    def counts(
        self, since: datetime, *, facility_id: str | None = None
    ) -> dict[str, dict[str, int]]:
        """Rejected items since `since`, counted by facility, by reason and by product."""
        t = rejections
        found: dict[str, dict[str, int]] = {}
        for name, column in (
            ("facility", t.c.facility_id),
            ("reason", t.c.reason_id),
            ("product", t.c.product_id),
        ):
            query = (
                select(column, func.count())
                .where(t.c.created_at >= since)
                .group_by(column)
                .order_by(func.count().desc())
            )
            if facility_id is not None:
                query = query.where(t.c.facility_id == facility_id)
            found[name] = {str(key or ""): int(n) for key, n in self.conn.execute(query)}
        return found
