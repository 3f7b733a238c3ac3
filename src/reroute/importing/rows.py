"""Checking records against the API's own schemas, so that a file row meets the API's rules.

Each kind's row model is the API's request body plus the ids the API takes from the path. Nothing
here touches the database: references to facilities and products are checked when writing.
Orders, whose CSV form spreads one body over several lines, are in `orders`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from reroute.api.schemas.catalog import FacilityIn, ProductIn
from reroute.api.schemas.common import Identifier
from reroute.api.schemas.inventory import StockCountIn
from reroute.domain.facilities import Facility, Product
from reroute.importing.files import Contents, Problems, Record

Advance = Callable[[int], None]
#: Maps a field's path in a body (`items.2.quantity`) to where it is in the file and its name.
Locate = Callable[[str], tuple[str, str]]
M = TypeVar("M", bound=BaseModel)


class ProductRow(ProductIn):
    product_id: Identifier


class FacilityRow(FacilityIn):
    facility_id: Identifier


class StockRow(StockCountIn):
    facility_id: Identifier
    product_id: Identifier


def dotted(location: Iterable[int | str]) -> str:
    return ".".join(str(part) for part in location)


def validate(
    model: type[M], record: Record, problems: Problems, locate: Locate | None = None
) -> M | None:
    try:
        return model.model_validate(record.values)
    except ValidationError as exc:
        for error in exc.errors():
            path = dotted(error["loc"])
            where, field = locate(path) if locate else (record.where, path)
            problems.add(where, error["msg"], field)
        return None


def _from_csv(model: type[BaseModel], record: Record) -> Record:
    """An empty cell leaves a field out, so that its default applies; a field that must be given
    gets the empty value, and the schema says what is wrong with it."""
    required = {f for f, info in model.model_fields.items() if info.is_required()}
    values = {c: v for c, v in record.values.items() if v != "" or c in required}
    return Record(record.where, values)


def _check_columns(
    model: type[BaseModel], contents: Contents, problems: Problems, name: str
) -> bool:
    """A CSV header names every required field and nothing unknown."""
    known = set(model.model_fields)
    required = [f for f, info in model.model_fields.items() if info.is_required()]
    return report_columns(contents.columns, known, required, problems, name)


def report_columns(
    columns: Sequence[str], known: set[str], required: list[str], problems: Problems, name: str
) -> bool:
    missing = [c for c in required if c not in columns]
    unknown = [c for c in columns if c and c not in known]
    if missing:
        problems.add(f"{name}:1", f"the header lacks column(s) {', '.join(missing)}")
    if unknown:
        problems.add(
            f"{name}:1",
            f"unknown column(s) {', '.join(unknown)}; expected some of {', '.join(sorted(known))}",
        )
    return not missing and not unknown


def once(
    key: object, record: Record, seen: dict[object, str], problems: Problems, what: str, field: str
) -> bool:
    """A file names each thing once: two rows for one product would leave the winner to chance."""
    if key in seen:
        problems.add(record.where, f"{what} already appears at {seen[key]}", field)
        return False
    seen[key] = record.where
    return True


def check_products(
    contents: Contents, problems: Problems, name: str, advance: Advance
) -> list[Product]:
    if contents.is_csv and not _check_columns(ProductRow, contents, problems, name):
        return []
    found: list[Product] = []
    seen: dict[object, str] = {}
    for record in contents.records:
        if contents.is_csv:
            record = _from_csv(ProductRow, record)
        row = validate(ProductRow, record, problems)
        if row and once(row.product_id, record, seen, problems, row.product_id, "product_id"):
            found.append(row.to_domain(row.product_id))
        advance(1)
    return found


_CAPABILITY_SEPARATORS = re.compile(r"[|\s]+")


def check_facilities(
    contents: Contents, problems: Problems, name: str, advance: Advance
) -> list[Facility]:
    if contents.is_csv and not _check_columns(FacilityRow, contents, problems, name):
        return []
    found: list[Facility] = []
    seen: dict[object, str] = {}
    for record in contents.records:
        if contents.is_csv:
            record = _from_csv(FacilityRow, record)
        if contents.is_csv and "capabilities" in record.values:
            listed = _CAPABILITY_SEPARATORS.split(record.values["capabilities"])
            record = Record(
                record.where, {**record.values, "capabilities": [c for c in listed if c]}
            )
        row = validate(FacilityRow, record, problems)
        if row and once(row.facility_id, record, seen, problems, row.facility_id, "facility_id"):
            found.append(row.to_domain(row.facility_id))
        advance(1)
    return found


def check_stock(
    contents: Contents, problems: Problems, name: str, advance: Advance
) -> list[tuple[str, StockRow]]:
    """Stock counts with where each came from (to report unknown facilities and products)."""
    if contents.is_csv and not _check_columns(StockRow, contents, problems, name):
        return []
    found: list[tuple[str, StockRow]] = []
    seen: dict[object, str] = {}
    for record in contents.records:
        if contents.is_csv:
            record = _from_csv(StockRow, record)
        row = validate(StockRow, record, problems)
        if row:
            key = (row.facility_id, row.product_id)
            what = f"a count of {row.product_id} at {row.facility_id}"
            if once(key, record, seen, problems, what, "product_id"):
                found.append((record.where, row))
        advance(1)
    return found
