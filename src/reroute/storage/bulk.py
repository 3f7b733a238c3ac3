"""Many rows in one statement, without SQLAlchemy's work for each row.

`Connection.execute(statement, rows)` coerces and processes every parameter of every row in
Python before the driver sees it: for the ten thousand rows of a cascade or the hundred thousand
of a batch that costs more than the database itself. A `Bulk` statement is compiled once per
dialect; its rows become tuples or dicts with each column's own bind processor applied (a
datetime to SQLite's text form, say), and go to the driver's `executemany` as they are. Events
on the connection still see the statement (it is counted like any other).

Only for statements of plain bound values: no expanding IN lists, no RETURNING.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, bindparam
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.expression import Executable

Processor = Callable[[Any], Any] | None


@dataclass(frozen=True)
class _Compiled:
    sql: str
    #: Parameter names in the order the driver expects them (positional paramstyles), or the
    #: names of the dict keys it reads (named ones).
    names: tuple[str, ...]
    processors: tuple[Processor, ...]
    positional: bool


def values_of(*names: str) -> dict[str, Any]:
    """`.values(...)` binding each named column to a parameter of the same name."""
    return {name: bindparam(name) for name in names}


class Bulk:
    """One INSERT or UPDATE run for many rows of bound values (see the module docstring)."""

    def __init__(self, statement: Executable) -> None:
        self.statement = statement
        self._by_dialect: dict[str, _Compiled] = {}
        self._lock = threading.Lock()

    def run(self, conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        if not rows:
            return
        compiled = self._compiled(conn.dialect)
        names, processors = compiled.names, compiled.processors
        pairs = tuple(zip(names, processors, strict=True))
        params: list[Any]
        if compiled.positional:
            params = [
                tuple(p(row[n]) if p is not None else row[n] for n, p in pairs) for row in rows
            ]
        else:
            params = [
                {n: (p(row[n]) if p is not None else row[n]) for n, p in pairs} for row in rows
            ]
        conn.exec_driver_sql(compiled.sql, params)

    def _compiled(self, dialect: Dialect) -> _Compiled:
        found = self._by_dialect.get(dialect.name)
        if found is not None:
            return found
        with self._lock:
            compiled = self.statement.compile(dialect=dialect)  # type: ignore[attr-defined]
            positional = bool(compiled.positional)
            names = tuple(compiled.positiontup) if positional else tuple(compiled.binds)
            processors = tuple(
                compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect)
                for name in names
            )
            found = _Compiled(compiled.string, names, processors, positional)
            self._by_dialect[dialect.name] = found
        return found
