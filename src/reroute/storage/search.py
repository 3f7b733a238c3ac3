"""What a person types in a search box is matched literally, case-insensitively, anywhere in a
field: `%` and `_` are not wildcards, on SQLite and PostgreSQL alike. Several words match in
any order ("Brown Carlos" finds "Carlos Brown")."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_

ESCAPE = "\\"


def contains_pattern(typed: str) -> str:
    """The LIKE pattern of `typed` (trimmed, lower-cased) anywhere in a field: the escape
    character first, so the escapes added for `%` and `_` stay escapes."""
    literal = typed.strip().lower()
    for special in (ESCAPE, "%", "_"):
        literal = literal.replace(special, ESCAPE + special)
    return f"%{literal}%"


def words_of(typed: str) -> list[str]:
    """The words of `typed`, each once, in the order typed (all of it when it has none)."""
    return list(dict.fromkeys(typed.lower().split())) or [typed]


def any_contains(typed: str, *columns: ColumnElement[Any]) -> ColumnElement[bool]:
    """True where one of `columns` holds every word of `typed`, in any order, compared in
    lower case. Each word must be in the same field: a short word such as "0" would otherwise
    find every row whose id holds a 0 beside a name holding the other words."""
    patterns = [contains_pattern(word) for word in words_of(typed)]
    return or_(*(and_(*(func.lower(c).like(p, escape=ESCAPE) for p in patterns)) for c in columns))
