"""Orders with their items, shipments, and the order history."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Row, bindparam, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql import Insert

from reroute.domain.clock import as_utc
from reroute.domain.orders import (
    Address,
    HistoryEntry,
    ItemState,
    Order,
    OrderItem,
    Shipment,
    ShipmentState,
    ShippingMethod,
)
from reroute.storage.bulk import Bulk, values_of
from reroute.storage.search import any_contains
from reroute.storage.tables import (
    order_history,
    order_items,
    orders,
    products,
    shipments,
)

# Statements of the hot paths, built once: a statement object used again keeps its cache key,
# so each call only binds its values. Locking variants are PostgreSQL's only.

_BODY_HASH = select(orders.c.body_hash).where(orders.c.id == bindparam("id"))
_ORDER = select(orders).where(orders.c.id == bindparam("id"))
_ORDER_LOCKED = _ORDER.with_for_update(key_share=True)
_ITEMS = (
    select(order_items)
    .where(order_items.c.order_id == bindparam("id"))
    .order_by(order_items.c.line)
)
_SHIPMENT_AND_ORDER = (
    select(
        shipments.c.id.label("s_id"),
        shipments.c.facility_id.label("s_facility_id"),
        shipments.c.state.label("s_state"),
        shipments.c.created_at.label("s_created_at"),
        orders,
    )
    .join(orders, orders.c.id == shipments.c.order_id)
    .where(shipments.c.id == bindparam("id"))
)
_SHIPMENT_AND_ORDER_LOCKED = _SHIPMENT_AND_ORDER.with_for_update(
    key_share=True, of=[shipments, orders]
)
_ORDERS = select(orders).where(orders.c.id.in_(bindparam("ids", expanding=True)))
_ORDERS_LOCKED = _ORDERS.order_by(orders.c.id).with_for_update(key_share=True)
_ORDERS_LOCKED_SKIPPING = _ORDERS.order_by(orders.c.id).with_for_update(
    skip_locked=True, key_share=True
)
_ITEMS_OF_ORDERS = (
    select(order_items)
    .where(order_items.c.order_id.in_(bindparam("ids", expanding=True)))
    .order_by(order_items.c.order_id, order_items.c.line)
)


# psycopg reports no row count for this insert; the returned row says it happened.
_NEW_ORDER: dict[bool, Insert] = {
    True: postgresql.insert(orders).on_conflict_do_nothing().returning(orders.c.id),
    False: sqlite.insert(orders).on_conflict_do_nothing().returning(orders.c.id),
}
_NEW_ITEMS = insert(order_items)
_SAVE_ITEMS = Bulk(
    update(order_items)
    .where(
        order_items.c.order_id == bindparam("b_order_id"),
        order_items.c.item_id == bindparam("b_item_id"),
    )
    .values(
        state=bindparam("state"),
        facility_id=bindparam("facility_id"),
        shipment_id=bindparam("shipment_id"),
        reserved_at=bindparam("reserved_at"),
        updated_at=bindparam("updated_at"),
    )
)
_NEW_SHIPMENT = insert(shipments).returning(shipments.c.id)
_NEW_SHIPMENTS = insert(shipments).returning(shipments.c.id, sort_by_parameter_order=True)
_SHIPMENT = select(shipments).where(shipments.c.id == bindparam("id"))
_SHIPMENT_LOCKED = _SHIPMENT.with_for_update(key_share=True)
_SHIPMENTS_OF = (
    select(shipments).where(shipments.c.order_id == bindparam("id")).order_by(shipments.c.id)
)
_SHIPMENT_STATE = (
    update(shipments)
    .where(shipments.c.id == bindparam("b_id"))
    .values(state=bindparam("state"), updated_at=bindparam("updated_at"))
)
_SHIPMENT_FULFILLED = _SHIPMENT_STATE.values(
    carrier=bindparam("carrier"),
    tracking_number=bindparam("tracking_number"),
    tracking_url=bindparam("tracking_url"),
)
_ITEMS_OF_SHIPMENTS = (
    select(order_items)
    .where(order_items.c.shipment_id.in_(bindparam("ids", expanding=True)))
    .order_by(order_items.c.order_id, order_items.c.line)
)
_NEW_HISTORY = Bulk(
    insert(order_history).values(
        values_of(
            "order_id",
            "event",
            "item_id",
            "shipment_id",
            "from_state",
            "to_state",
            "facility_id",
            "reason_id",
            "actor",
            "request_id",
            "note",
            "created_at",
        )
    )
)
_HISTORY = (
    select(order_history)
    .where(order_history.c.order_id == bindparam("id"))
    .order_by(order_history.c.id)
)


def _item(row: Row[Any]) -> OrderItem:
    return OrderItem(
        item_id=row.item_id,
        product_id=row.product_id,
        quantity=row.quantity,
        state=ItemState(row.state),
        facility_id=row.facility_id,
        shipment_id=str(row.shipment_id) if row.shipment_id is not None else None,
        reserved_at=as_utc(row.reserved_at) if row.reserved_at is not None else None,
        unit_price=_price(row.unit_price),
        currency=row.currency,
    )


def _price(value: Any) -> Decimal | None:
    """A stored price without the column's trailing zeros ("19.9000" reads as 19.9)."""
    if value is None:
        return None
    return Decimal(format(Decimal(str(value)).normalize(), "f"))


def _order(row: Row[Any], items: list[OrderItem]) -> Order:
    return Order(
        id=row.id,
        catalog_id=row.catalog_id,
        customer_name=row.customer_name,
        customer_email=row.customer_email,
        shipping_method=ShippingMethod(row.shipping_method),
        ship_to=Address(**row.ship_to),
        items=items,
        pickup_facility_id=row.pickup_facility_id,
        ship_complete=row.ship_complete,
        inventory_based=row.inventory_based,
        priority=row.priority,
        created_at=as_utc(row.created_at),
        external_id=row.external_id,
        channel=row.channel,
        notes=row.notes,
        tags=list(row.tags or []),
        attributes=dict(row.attributes or {}),
    )


def _shipment(row: Row[Any]) -> Shipment:
    return Shipment(
        id=str(row.id),
        order_id=row.order_id,
        facility_id=row.facility_id,
        state=ShipmentState(row.state),
        created_at=as_utc(row.created_at),
        carrier=row.carrier,
        tracking_number=row.tracking_number,
        tracking_url=row.tracking_url,
    )


class OrderRepository:
    def __init__(self, conn: Connection, *, postgres: bool) -> None:
        self.conn = conn
        self.postgres = postgres
        #: History rows kept until `flush` (the end of the transaction): one statement for all.
        self._history: list[dict[str, Any]] = []

    # Orders -------------------------------------------------------------------------------

    def body_hash(self, order_id: str) -> str | None:
        row = self.conn.execute(_BODY_HASH, {"id": order_id}).first()
        return row.body_hash if row else None

    def get(self, order_id: str, *, lock: bool = False) -> Order | None:
        query = _ORDER_LOCKED if lock and self.postgres else _ORDER
        row = self.conn.execute(query, {"id": order_id}).first()
        if row is None:
            return None
        items = self.conn.execute(_ITEMS, {"id": order_id})
        return _order(row, [_item(i) for i in items])

    def shipment_and_order(
        self, shipment_id: str, *, lock: bool = False
    ) -> tuple[Shipment, Order] | None:
        """A shipment and its order, both rows locked by one statement (PostgreSQL); the
        items are read after the lock, so they are what this transaction may change."""
        number = _int_or_none(shipment_id)
        if number is None:
            return None
        query = _SHIPMENT_AND_ORDER_LOCKED if lock and self.postgres else _SHIPMENT_AND_ORDER
        row = self.conn.execute(query, {"id": number}).first()
        if row is None:
            return None
        shipment = Shipment(
            id=str(row.s_id),
            order_id=row.id,
            facility_id=row.s_facility_id,
            state=ShipmentState(row.s_state),
            created_at=as_utc(row.s_created_at),
        )
        items = self.conn.execute(_ITEMS, {"id": row.id})
        return shipment, _order(row, [_item(i) for i in items])

    def created_between(self, since: datetime, until: datetime, limit: int) -> list[str]:
        """Ids of up to `limit` orders created at or after `since` and before `until`, in the
        order they were created."""
        query = (
            select(orders.c.id)
            .where(orders.c.created_at >= since, orders.c.created_at < until)
            .order_by(orders.c.created_at, orders.c.id)
            .limit(limit)
        )
        return [r.id for r in self.conn.execute(query)]

    def get_many(
        self, order_ids: Sequence[str], *, lock: bool = False, skip_locked: bool = False
    ) -> dict[str, Order]:
        """Orders with their items. With `lock` (PostgreSQL), the order rows are locked first,
        in id order, and the items read after: every writer of an order's items holds its row,
        so what is read is what this transaction may change. With `skip_locked`, orders another
        transaction holds are left out (that transaction is deciding about them)."""
        ids = sorted(set(order_ids))
        if not ids:
            return {}
        query = _ORDERS
        if lock and self.postgres:
            query = _ORDERS_LOCKED_SKIPPING if skip_locked else _ORDERS_LOCKED
        rows = {r.id: r for r in self.conn.execute(query, {"ids": ids})}
        ids = list(rows)
        if not ids:
            return {}
        by_order: dict[str, list[OrderItem]] = {i: [] for i in rows}
        item_rows = self.conn.execute(_ITEMS_OF_ORDERS, {"ids": ids})
        for item in item_rows:
            by_order[item.order_id].append(_item(item))
        return {i: _order(r, by_order[i]) for i, r in rows.items()}

    def insert(self, order: Order, body_hash: str, now: datetime) -> bool:
        """Write a new order; answers False (and writes nothing) when its id is taken."""
        address = order.ship_to
        result = self.conn.execute(
            _NEW_ORDER[self.postgres],
            {
                "id": order.id,
                "catalog_id": order.catalog_id,
                "customer_name": order.customer_name,
                "customer_email": order.customer_email,
                "shipping_method": str(order.shipping_method),
                "pickup_facility_id": order.pickup_facility_id,
                "ship_complete": order.ship_complete,
                "inventory_based": order.inventory_based,
                "priority": order.priority,
                "ship_to": address.__dict__,
                "ship_to_latitude": address.latitude,
                "ship_to_longitude": address.longitude,
                "body_hash": body_hash,
                "external_id": order.external_id,
                "channel": order.channel,
                "notes": order.notes,
                "tags": order.tags,
                "attributes": order.attributes,
                "created_at": now,
                "updated_at": now,
            },
        )
        if result.first() is None:
            return False
        self.conn.execute(
            _NEW_ITEMS,
            [
                {
                    "order_id": order.id,
                    "item_id": item.item_id,
                    "line": line,
                    "product_id": item.product_id,
                    "quantity": item.quantity,
                    "unit_price": item.unit_price,
                    "currency": item.currency,
                    "state": str(item.state),
                    "facility_id": item.facility_id,
                    "shipment_id": _int_or_none(item.shipment_id),
                    "updated_at": now,
                }
                for line, item in enumerate(order.items)
            ],
        )
        return True

    def save_items(self, order_id: str, items: Iterable[OrderItem], now: datetime) -> None:
        """Write where each item stands now."""
        self.save_items_of_many([(order_id, item) for item in items], now)

    def save_items_of_many(self, pairs: Iterable[tuple[str, OrderItem]], now: datetime) -> None:
        """The same for items of many orders, as (order id, item), in one statement."""
        rows = [
            {
                "b_order_id": order_id,
                "b_item_id": item.item_id,
                "state": str(item.state),
                "facility_id": item.facility_id,
                "shipment_id": _int_or_none(item.shipment_id),
                "reserved_at": item.reserved_at,
                "updated_at": now,
            }
            for order_id, item in pairs
        ]
        _SAVE_ITEMS.run(self.conn, rows)

    # Shipments ----------------------------------------------------------------------------

    def add_shipment(self, order_id: str, facility_id: str, now: datetime) -> Shipment:
        result = self.conn.execute(
            _NEW_SHIPMENT,
            {
                "order_id": order_id,
                "facility_id": facility_id,
                "state": str(ShipmentState.READY),
                "created_at": now,
                "updated_at": now,
            },
        )
        return Shipment(str(result.scalar_one()), order_id, facility_id, ShipmentState.READY, now)

    def add_shipments(self, pairs: list[tuple[str, str]], now: datetime) -> list[str]:
        """New ready shipments for (order id, facility id) pairs; answers their ids in order."""
        if not pairs:
            return []
        rows = [
            {
                "order_id": order_id,
                "facility_id": facility_id,
                "state": str(ShipmentState.READY),
                "created_at": now,
                "updated_at": now,
            }
            for order_id, facility_id in pairs
        ]
        result = self.conn.execute(_NEW_SHIPMENTS, rows)
        return [str(r.id) for r in result]

    def shipment(self, shipment_id: str, *, lock: bool = False) -> Shipment | None:
        number = _int_or_none(shipment_id)
        if number is None:
            return None
        query = _SHIPMENT_LOCKED if lock and self.postgres else _SHIPMENT
        row = self.conn.execute(query, {"id": number}).first()
        return _shipment(row) if row else None

    def shipments_of(self, order_id: str) -> list[Shipment]:
        rows = self.conn.execute(_SHIPMENTS_OF, {"id": order_id})
        return [_shipment(r) for r in rows]

    def set_shipment_state(self, shipment_id: str, state: ShipmentState, now: datetime) -> None:
        self.conn.execute(
            _SHIPMENT_STATE, {"b_id": int(shipment_id), "state": str(state), "updated_at": now}
        )

    def fulfil_shipment(self, shipment: Shipment, now: datetime) -> None:
        """The fulfilled state and its tracking, in the one statement a state change takes."""
        self.conn.execute(
            _SHIPMENT_FULFILLED,
            {
                "b_id": int(shipment.id),
                "state": str(shipment.state),
                "updated_at": now,
                "carrier": shipment.carrier,
                "tracking_number": shipment.tracking_number,
                "tracking_url": shipment.tracking_url,
            },
        )

    def facility_shipments(
        self,
        facility_id: str,
        states: Sequence[ShipmentState],
        *,
        text: str | None = None,
        limit: int = 50,
        offset: int = 0,
        since: datetime | None = None,
        below: int | None = None,
    ) -> tuple[list[Shipment], int]:
        """A store's list: its shipments in `states`, newest first, optionally searched.

        The search matches order id, customer name, SKU, UPC or product name, case-insensitively.
        `below` keeps shipments with a lower id (the API's cursor); the total counts them all.
        Answers the page and the total count.
        """
        condition = [
            shipments.c.facility_id == facility_id,
            shipments.c.state.in_([str(s) for s in states]),
        ]
        if since is not None:
            condition.append(shipments.c.updated_at >= since)
        base = select(shipments.c.id).where(*condition)
        if text:
            matching_items = (
                select(order_items.c.shipment_id)
                .join(products, products.c.id == order_items.c.product_id)
                .where(any_contains(text, products.c.sku, products.c.upc, products.c.name))
            )
            matching_orders = select(orders.c.id).where(
                any_contains(text, orders.c.id, orders.c.customer_name)
            )
            base = base.where(
                or_(
                    shipments.c.id.in_(matching_items),
                    shipments.c.order_id.in_(matching_orders),
                )
            )
        total = self.conn.execute(select(func.count()).select_from(base.subquery())).scalar_one()
        if below is not None:
            base = base.where(shipments.c.id < below)
        ids = base.order_by(shipments.c.id.desc()).limit(limit).offset(offset)
        rows = self.conn.execute(
            select(shipments).where(shipments.c.id.in_(ids)).order_by(shipments.c.id.desc())
        )
        return [_shipment(r) for r in rows], int(total)

    def items_of_shipments(
        self, shipment_ids: Sequence[str]
    ) -> dict[str, list[tuple[str, OrderItem]]]:
        """Items in each shipment, as (order id, item)."""
        numbers = [int(s) for s in shipment_ids]
        found: dict[str, list[tuple[str, OrderItem]]] = {s: [] for s in shipment_ids}
        if not numbers:
            return found
        rows = self.conn.execute(_ITEMS_OF_SHIPMENTS, {"ids": numbers})
        for row in rows:
            found.setdefault(str(row.shipment_id), []).append((row.order_id, _item(row)))
        return found

    # History ------------------------------------------------------------------------------

    def record(self, entries: Iterable[HistoryEntry], now: datetime) -> None:
        rows = [
            {
                "order_id": e.order_id,
                "event": str(e.event),
                "item_id": e.item_id,
                "shipment_id": _int_or_none(e.shipment_id),
                "from_state": e.from_state,
                "to_state": e.to_state,
                "facility_id": e.facility_id,
                "reason_id": e.reason_id,
                "actor": e.actor,
                "request_id": e.request_id,
                "note": e.note,
                "created_at": now,
            }
            for e in entries
        ]
        self._history.extend(rows)

    def flush(self) -> None:
        """Append the history rows kept so far. History is only appended to and only read here
        (which flushes first), so a transaction writes it once, at its end."""
        rows, self._history = self._history, []
        _NEW_HISTORY.run(self.conn, rows)

    def history(self, order_id: str) -> list[dict[str, Any]]:
        self.flush()
        rows = self.conn.execute(_HISTORY, {"id": order_id})
        result = []
        for row in rows:
            entry = dict(row._mapping)
            entry["created_at"] = as_utc(entry["created_at"])
            if entry["shipment_id"] is not None:
                entry["shipment_id"] = str(entry["shipment_id"])
            result.append(entry)
        return result


def _int_or_none(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        number = int(value)
    except ValueError:
        return None
    return number if 0 < number < 2**63 else None
