"""Checking orders: a JSON item is a `POST /api/v1/orders` body; CSV lines are grouped into one.

An order is checked as the API checks it, by the schema and then by the domain's own rules, and
each problem is reported at the line (or item) and field it comes from.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from reroute.api.schemas.orders import CustomerIn, ItemIn, OrderIn, ShipToIn
from reroute.domain.errors import Invalid
from reroute.domain.orders import Order
from reroute.importing.files import Contents, Problems, Record
from reroute.importing.rows import Advance, Locate, once, report_columns, validate


@dataclass(frozen=True)
class OrderEntry:
    order: Order
    body_hash: str
    #: How many records of the file it came from (CSV: one per item).
    rows: int
    locate: Locate


def check_orders(
    contents: Contents, problems: Problems, name: str, advance: Advance
) -> list[OrderEntry]:
    if contents.is_csv:
        return _check_order_rows(contents, problems, name, advance)
    found: list[OrderEntry] = []
    seen: dict[object, str] = {}
    for record in contents.records:
        where = record.where

        def locate(path: str, where: str = where) -> tuple[str, str]:
            return where, path

        entry = _order(record, 1, locate, problems)
        if entry and once(entry.order.id, record, seen, problems, entry.order.id, "order_id"):
            found.append(entry)
        advance(1)
    return found


def _order(record: Record, rows: int, locate: Locate, problems: Problems) -> OrderEntry | None:
    """The order of one body, checked as the API checks it: the schema, then the domain's rules."""
    body = validate(OrderIn, record, problems, locate)
    if body is None:
        return None
    order = body.to_domain()
    try:
        order.validate()
    except Invalid as exc:
        for error in exc.errors:
            where, field = locate(error.path)
            problems.add(where, error.message, field)
        return None
    return OrderEntry(order, body.body_hash(), rows, locate)


# Orders from CSV: one line per item; consecutive lines with the same order_id are one order. ------

#: Lists and objects (tags, attributes) have no CSV column: a JSON file carries them.
_ORDER_COLUMNS = [
    f
    for f in OrderIn.model_fields
    if f not in ("customer", "ship_to", "items", "tags", "attributes")
]
_NESTED: dict[str, type[BaseModel]] = {"customer": CustomerIn, "ship_to": ShipToIn}
_ITEM_COLUMNS = list(ItemIn.model_fields)
_OPTIONAL_ITEM_COLUMNS = ("unit_price", "currency")
_REQUIRED_ORDER_COLUMNS = [
    "order_id",
    "customer_name",
    "customer_email",
    *(c for c in _ITEM_COLUMNS if c not in _OPTIONAL_ITEM_COLUMNS),
]


def _order_level_columns() -> list[str]:
    nested = [f"{prefix}_{f}" for prefix, model in _NESTED.items() for f in model.model_fields]
    return _ORDER_COLUMNS + nested


def _check_order_rows(
    contents: Contents, problems: Problems, name: str, advance: Advance
) -> list[OrderEntry]:
    order_columns = _order_level_columns()
    known = set(order_columns) | set(_ITEM_COLUMNS)
    if not report_columns(contents.columns, known, _REQUIRED_ORDER_COLUMNS, problems, name):
        return []
    found: list[OrderEntry] = []
    seen: dict[object, str] = {}
    for group in _groups(contents.records):
        first = group[0]
        order_id = first.values.get("order_id") or None
        if order_id in seen:
            message = f"order {order_id} already appears at {seen[order_id]}; keep lines together"
            problems.add(first.where, message, "order_id")
            advance(len(group))
            continue
        if order_id is not None:
            seen[order_id] = first.where
        body: dict[str, Any] = {"customer": {}, "ship_to": {}, "items": []}
        for column in order_columns:
            value = _agreed(group, column, problems)
            if value is None:
                if column not in _REQUIRED_ORDER_COLUMNS:
                    continue
                value = ""
            prefix = next((p for p in _NESTED if column.startswith(p + "_")), None)
            if prefix:
                body[prefix][column[len(prefix) + 1 :]] = value
            else:
                body[column] = value
        for record in group:
            item = {c: record.values.get(c, "") for c in _ITEM_COLUMNS}
            for column in _OPTIONAL_ITEM_COLUMNS:
                if not item[column]:
                    del item[column]
            body["items"].append(item)
        wheres = [record.where for record in group]
        entry = _order(Record(first.where, body), len(group), _csv_locator(wheres), problems)
        if entry:
            found.append(entry)
        advance(len(group))
    return found


def _groups(records: list[Record]) -> list[list[Record]]:
    groups: list[list[Record]] = []
    for record in records:
        order_id = record.values.get("order_id") or None
        if groups and order_id is not None and groups[-1][0].values.get("order_id") == order_id:
            groups[-1].append(record)
        else:
            groups.append([record])
    return groups


def _agreed(group: list[Record], column: str, problems: Problems) -> Any:
    """An order-level column's value: the first one given; the order's other lines agree or are
    left empty."""
    value: Any = None
    source = ""
    for record in group:
        given = record.values.get(column)
        if given is None or given == "":
            continue
        if value is None:
            value, source = given, record.where
        elif given != value:
            problems.add(record.where, f"{given!r} differs from {value!r} at {source}", column)
    return value


def _csv_locator(wheres: list[str]) -> Locate:
    def locate(path: str) -> tuple[str, str]:
        parts = path.split(".")
        if parts[0] == "items" and len(parts) > 1 and parts[1].isdigit():
            return wheres[int(parts[1])], ".".join(parts[2:])
        if parts[0] in _NESTED and len(parts) > 1:
            return wheres[0], f"{parts[0]}_{'.'.join(parts[1:])}"
        return wheres[0], path

    return locate
