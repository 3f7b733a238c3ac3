"""What a person types in a search box is matched literally, case-insensitively, anywhere in a
field: `%` and `_` are not wildcards, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, func, or_

ESCAPE = "\\"


def contains_pattern(typed: str) -> str:
    """The LIKE pattern of `typed` (trimmed, lower-cased) anywhere in a field: the escape
    character first, so the escapes added for `%` and `_` stay escapes."""
    literal = typed.strip().lower()
    for special in (ESCAPE, "%", "_"):
        literal = literal.replace(special, ESCAPE + special)
    return f"%{literal}%"


def any_contains(typed: str, *columns: ColumnElement[Any]) -> ColumnElement[bool]:
    """True where one of `columns` holds `typed`, compared in lower case."""
    pattern = contains_pattern(typed)
    return or_(*(func.lower(c).like(pattern, escape=ESCAPE) for c in columns))
