"""One cursor shape for every list: `limit`, `cursor`, and the answer's `next_cursor`.

A cursor is opaque to the caller: the sort key of the last row of a page (for instance its
update time and id), as URL-safe base64 of JSON, tagged with the list it belongs to so that a
cursor of one list is refused by another. The next page holds the rows whose key comes strictly
after it, so a page never repeats the row before it and a write between two pages moves no row
that was not changed."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel, Field

from reroute.domain.errors import FieldError, Invalid

#: Longest cursor taken: far above any key we make, far below what could cost memory.
MAX_CURSOR = 2000
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Rows per page")]
CursorParam = Annotated[
    str | None,
    Query(
        max_length=MAX_CURSOR,
        description="The `next_cursor` of the page before; omitted for the first page",
    ),
]

Row = TypeVar("Row")


class Page(BaseModel, Generic[Row]):
    """A page of a list. `next_cursor` is null when this page is the last one."""

    items: list[Row]
    next_cursor: str | None = Field(
        default=None, description="Pass as `cursor` for the next page; null on the last page"
    )


def encode(kind: str, key: Sequence[Any]) -> str:
    """The cursor of a row whose sort key is `key` (text, whole numbers and datetimes)."""
    values = [_plain(v) for v in key]
    raw = json.dumps([kind, values], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(kind: str, cursor: str | None, *types: type) -> tuple[Any, ...] | None:
    """The sort key a cursor of list `kind` holds, each part of the given type (str, int or
    datetime); None for no cursor. Anything else is refused as a 422 on `cursor`."""
    if cursor is None or cursor == "":
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        found_kind, values = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
        if found_kind != kind or not isinstance(values, list) or len(values) != len(types):
            raise ValueError(kind)
        return tuple(_typed(v, t) for v, t in zip(values, types, strict=True))
    except (ValueError, TypeError, UnicodeError, binascii.Error, RecursionError):
        raise Invalid(
            "The cursor is not one this list gave.",
            [FieldError("cursor", "Pass back the next_cursor of the page before, unchanged.")],
        ) from None


def page_of(
    kind: str, rows: Sequence[Row], limit: int, key: Callable[[Row], Sequence[Any]]
) -> tuple[list[Row], str | None]:
    """Cut `rows`, read with `limit + 1`, to one page and the cursor of the next (None when
    there is no more)."""
    if len(rows) <= limit:
        return list(rows), None
    kept = list(rows[:limit])
    return kept, encode(kind, key(kept[-1]))


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"t": value.isoformat()}
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise TypeError(f"A cursor key holds text, whole numbers and datetimes, not {value!r}")
    return value


def _typed(value: Any, kind: type) -> Any:
    if kind is datetime:
        if not isinstance(value, dict) or not isinstance(value.get("t"), str):
            raise ValueError("not a time")
        return datetime.fromisoformat(value["t"])
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int) or abs(value) > 2**63:
            raise ValueError("not a whole number")
        return value
    if kind is str:
        if not isinstance(value, str) or "\x00" in value:
            raise ValueError("not text")
        return value
    raise TypeError(f"No cursor part of type {kind}")
