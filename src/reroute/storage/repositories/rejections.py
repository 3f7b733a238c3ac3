"""Rejection reasons, rejection records, and the open items a rejection may take along."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, func, insert, select, update

from reroute.domain.clock import as_utc
from reroute.domain.orders import REJECTABLE, ItemState
from reroute.domain.rejection import InventoryEffect, Reason
from reroute.storage.tables import order_items, rejection_reasons, rejections


@dataclass(frozen=True)
class OpenItem:
    order_id: str
    item_id: str
    product_id: str
    quantity: int
    state: ItemState
    shipment_id: str
    reserved_at: datetime


@dataclass(frozen=True)
class RejectionRecord:
    order_id: str
    item_id: str
    shipment_id: str
    facility_id: str
    product_id: str
    quantity: int
    reason_id: str | None
    comment: str | None
    cascaded: bool
    actor: str
    request_id: str | None


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

    def open_items(self, facility_id: str, product_id: str, *, lock: bool = True) -> list[OpenItem]:
        """Items of the product holding stock at the facility that a store may still reject,
        locked (PostgreSQL) in one fixed order unless only read (`lock=False`)."""
        t = order_items
        query = (
            select(t)
            .where(
                t.c.facility_id == facility_id,
                t.c.product_id == product_id,
                t.c.state.in_([str(s) for s in REJECTABLE]),
            )
            .order_by(t.c.order_id, t.c.item_id)
        )
        if lock and self.postgres:
            query = query.with_for_update(key_share=True)
        return [
            OpenItem(
                r.order_id,
                r.item_id,
                r.product_id,
                r.quantity,
                ItemState(r.state),
                str(r.shipment_id),
                as_utc(r.reserved_at or r.updated_at),
            )
            for r in self.conn.execute(query)
        ]

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
