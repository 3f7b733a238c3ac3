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
from reroute.domain.rejection import (
    Exclusion,
    InventoryEffect,
    Reason,
    RejectionRecord,
    Reservation,
)
from reroute.storage.tables import (
    item_exclusions,
    order_items,
    rejection_reasons,
    rejections,
    shipments,
)

__all__ = ["RejectionRecord", "RejectionRepository"]


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
    )


class RejectionRepository:
    def __init__(self, conn: Connection, *, postgres: bool) -> None:
        self.conn = conn
        self.postgres = postgres

    # Reasons ------------------------------------------------------------------------------

    def reasons(self) -> list[Reason]:
        t = rejection_reasons
        return [_reason(r) for r in self.conn.execute(select(t).order_by(t.c.sequence, t.c.id))]

    def reason(self, reason_id: str) -> Reason | None:
        t = rejection_reasons
        row = self.conn.execute(select(t).where(t.c.id == reason_id)).first()
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
        t = order_items
        query = (
            select(
                t.c.order_id,
                t.c.item_id,
                t.c.product_id,
                t.c.quantity,
                t.c.reserved_at,
                t.c.updated_at,
            )
            .where(
                t.c.facility_id == facility_id,
                t.c.product_id.in_(wanted),
                t.c.state.in_([str(s) for s in REJECTABLE]),
            )
            .order_by(t.c.order_id, t.c.item_id)
        )
        for r in self.conn.execute(query):
            found[r.product_id].append(
                Reservation(
                    r.order_id, r.item_id, r.quantity, as_utc(r.reserved_at or r.updated_at)
                )
            )
        return found

    def packed_quantity(self, facility_id: str, product_id: str) -> int:
        t = order_items
        total = self.conn.execute(
            select(func.coalesce(func.sum(t.c.quantity), 0)).where(
                t.c.facility_id == facility_id,
                t.c.product_id == product_id,
                t.c.state == str(ItemState.PACKED),
            )
        ).scalar_one()
        return int(total)

    # Records ------------------------------------------------------------------------------

    def record(self, records: Sequence[RejectionRecord], now: datetime) -> None:
        if records:
            self.conn.execute(
                insert(rejections),
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
        dialect_insert = postgresql.insert if self.postgres else sqlite.insert
        self.conn.execute(
            dialect_insert(item_exclusions).on_conflict_do_nothing(),
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
        t = shipments
        self.conn.execute(
            update(t)
            .where(t.c.id == bindparam("b_id"))
            .values(state=bindparam("state"), updated_at=bindparam("updated_at")),
            [{"b_id": int(s.id), "state": str(s.state), "updated_at": now} for s in left],
        )

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
