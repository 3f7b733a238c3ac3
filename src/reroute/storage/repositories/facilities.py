"""Facilities and products."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, bindparam, func, insert, select, update

from reroute.domain.facilities import Capability, Facility, FacilityKind, Product
from reroute.storage.locks import waiting_briefly
from reroute.storage.tables import facilities, products

_FACILITY_FIELDS = (
    "name",
    "kind",
    "external_location_id",
    "fulfiller_id",
    "latitude",
    "longitude",
    "capabilities",
    "daily_capacity",
    "safety_stock",
    "sequence",
    "active",
    "idle_reject_after_minutes",
)
_PRODUCT_FIELDS = ("sku", "upc", "part_number", "name", "image_url")

# Statements of the hot paths, built once: a statement object used again keeps its cache key,
# so each call only binds its values.

_FACILITY = select(facilities).where(facilities.c.id == bindparam("id"))
_ALL_FACILITIES = select(facilities).order_by(facilities.c.id)
_FACILITIES = _ALL_FACILITIES.where(facilities.c.id.in_(bindparam("ids", expanding=True)))
_LOCK_FACILITIES = (
    select(facilities.c.id)
    .where(facilities.c.id.in_(bindparam("ids", expanding=True)))
    .order_by(facilities.c.id)
    .with_for_update(key_share=True)
)
_FINGERPRINT = select(func.count(), func.max(facilities.c.updated_at))
_PRODUCT = select(products).where(products.c.id == bindparam("id"))
_PRODUCTS = select(products).where(products.c.id.in_(bindparam("ids", expanding=True)))
_PRODUCT_IDS = select(products.c.id).where(products.c.id.in_(bindparam("ids", expanding=True)))


def _facility(row: Row[Any]) -> Facility:
    return Facility(
        id=row.id,
        name=row.name,
        kind=FacilityKind(row.kind),
        external_location_id=row.external_location_id,
        fulfiller_id=row.fulfiller_id,
        latitude=row.latitude,
        longitude=row.longitude,
        capabilities=[Capability(c) for c in row.capabilities],
        daily_capacity=row.daily_capacity,
        safety_stock=row.safety_stock,
        sequence=row.sequence,
        active=row.active,
        idle_reject_after_minutes=row.idle_reject_after_minutes,
    )


def _product(row: Row[Any]) -> Product:
    return Product(row.id, row.sku, row.upc, row.part_number, row.name, row.image_url)


class FacilityRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def get(self, facility_id: str) -> Facility | None:
        row = self.conn.execute(_FACILITY, {"id": facility_id}).first()
        return _facility(row) if row else None

    def page(self, ids: Iterable[str] | None, after: str | None, limit: int) -> list[Facility]:
        """Up to `limit` facilities by id after `after` (among `ids`, when given)."""
        query = _ALL_FACILITIES.limit(limit)
        if ids is not None:
            query = query.where(facilities.c.id.in_(sorted(ids)))
        if after is not None:
            query = query.where(facilities.c.id > after)
        return [_facility(r) for r in self.conn.execute(query)]

    def list(self, ids: Iterable[str] | None = None) -> list[Facility]:
        if ids is None:
            rows = self.conn.execute(_ALL_FACILITIES)
        else:
            rows = self.conn.execute(_FACILITIES, {"ids": list(ids)})
        return [_facility(r) for r in rows]

    def lock(self, facility_ids: Iterable[str], *, nowait: bool = False) -> None:
        """Hold these facilities' rows (PostgreSQL), in id order: routing takes a facility's
        daily capacity only while holding its row, so two orders cannot both take the last
        slot. With `nowait`, a busy row is waited for only briefly (see `storage.locks`)."""
        ids = sorted(set(facility_ids))
        if not ids or self.conn.dialect.name != "postgresql":
            return
        with waiting_briefly(self.conn, enabled=nowait):
            self.conn.execute(_LOCK_FACILITIES, {"ids": ids}).all()

    def fingerprint(self) -> tuple[int, str]:
        """Changes whenever a facility is added or changed: lets callers cache the list."""
        count, latest = self.conn.execute(_FINGERPRINT).one()
        return int(count), str(latest)

    def save(self, facility: Facility, now: datetime) -> bool:
        """Insert or replace; answers whether the facility is new."""
        values = {f: getattr(facility, f) for f in _FACILITY_FIELDS}
        values["capabilities"] = [str(c) for c in facility.capabilities]
        values["kind"] = str(facility.kind)
        exists = self.conn.execute(
            select(facilities.c.id).where(facilities.c.id == facility.id)
        ).first()
        if exists:
            self.conn.execute(
                update(facilities)
                .where(facilities.c.id == facility.id)
                .values(**values, updated_at=now)
            )
            return False
        self.conn.execute(
            insert(facilities).values(id=facility.id, **values, created_at=now, updated_at=now)
        )
        return True


class ProductRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def get(self, product_id: str) -> Product | None:
        row = self.conn.execute(_PRODUCT, {"id": product_id}).first()
        return _product(row) if row else None

    def get_many(self, ids: Sequence[str]) -> dict[str, Product]:
        if not ids:
            return {}
        rows = self.conn.execute(_PRODUCTS, {"ids": list(set(ids))})
        return {r.id: _product(r) for r in rows}

    def page(self, after: str | None, limit: int) -> list[Product]:
        """Up to `limit` products by id after `after`."""
        query = select(products).order_by(products.c.id).limit(limit)
        if after is not None:
            query = query.where(products.c.id > after)
        return [_product(r) for r in self.conn.execute(query)]

    def existing_ids(self, ids: Sequence[str]) -> set[str]:
        if not ids:
            return set()
        rows = self.conn.execute(_PRODUCT_IDS, {"ids": list(set(ids))})
        return {r.id for r in rows}

    def save(self, product: Product, now: datetime) -> bool:
        values = {f: getattr(product, f) for f in _PRODUCT_FIELDS}
        exists = self.conn.execute(select(products.c.id).where(products.c.id == product.id)).first()
        if exists:
            self.conn.execute(
                update(products).where(products.c.id == product.id).values(**values, updated_at=now)
            )
            return False
        self.conn.execute(
            insert(products).values(id=product.id, **values, created_at=now, updated_at=now)
        )
        return True
