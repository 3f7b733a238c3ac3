"""Reading an import file into records, and gathering what is wrong with it.

A record is one CSV line (after the header) or one object of a JSON list, with the place a person
looks for it: `products.csv:7` (the file's line number, the header is line 1) or
`products.json: item 3` (the index in the list, the first is item 0).
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class ImportFailed(Exception):
    """The file was refused as a whole; `problems` says why, one line each."""

    def __init__(self, problems: list[str]) -> None:
        count = len(problems)
        super().__init__(f"{count} problem{'s' if count != 1 else ''}; nothing was imported.")
        self.problems = problems


class Problems:
    """Every problem of a file, so that a person can fix them all in one pass."""

    def __init__(self) -> None:
        self._found: list[tuple[int, str]] = []

    def add(self, where: str, message: str, field: str = "") -> None:
        # Problems are found kind by kind (the schema, then the database); shown in file order.
        position = _POSITION.search(where)
        self._found.append(
            (
                int(position.group(1)) if position else -1,
                f"{where}: {field}: {message}" if field else f"{where}: {message}",
            )
        )

    @property
    def messages(self) -> list[str]:
        return [message for _, message in sorted(self._found, key=lambda found: found[0])]

    def __bool__(self) -> bool:
        return bool(self._found)

    def raise_if_any(self) -> None:
        if self._found:
            raise ImportFailed(self.messages)


#: The line number or list index at the end of a place: `orders.csv:4`, `orders.json: item 2`.
_POSITION = re.compile(r"[: ](\d+)$")


@dataclass(frozen=True)
class Record:
    #: Where a person finds it: `orders.csv:4` or `orders.json: item 2`.
    where: str
    #: Column (or key) to value; every CSV value is a string, perhaps empty.
    values: dict[str, Any]


@dataclass(frozen=True)
class Contents:
    records: list[Record]
    is_csv: bool
    #: The CSV header's column names (empty for JSON).
    columns: list[str]


def read(path: Path, problems: Problems) -> Contents:
    """The records of a `.csv` or `.json` file; problems of the file as a whole go to `problems`."""
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".json"):
        problems.add(path.name, "expected a .csv or .json file (the extension sets the format)")
        return Contents([], False, [])
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        problems.add(path.name, f"is not UTF-8 text ({exc.reason} at byte {exc.start})")
        return Contents([], suffix == ".csv", [])
    except OSError as exc:
        problems.add(path.name, f"cannot be read: {exc.strerror or exc}")
        return Contents([], suffix == ".csv", [])
    if suffix == ".csv":
        return _read_csv(path.name, text, problems)
    return Contents(_read_json(path.name, text, problems), False, [])


def _read_csv(name: str, text: str, problems: Problems) -> Contents:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
    except csv.Error as exc:
        problems.add(f"{name}:1", f"cannot be read as CSV: {exc}")
        return Contents([], True, [])
    if header is None:
        problems.add(name, "is empty; expected a header line with the column names")
        return Contents([], True, [])
    columns = [c.strip() for c in header]
    seen: set[str] = set()
    for column in columns:
        if not column:
            problems.add(f"{name}:1", "a column has no name")
        elif column in seen:
            problems.add(f"{name}:1", f"column {column} appears twice")
        seen.add(column)
    records: list[Record] = []
    last_line = reader.line_num
    try:
        for cells in reader:
            line, last_line = last_line + 1, reader.line_num
            if not any(cell.strip() for cell in cells):
                continue  # a blank line
            if len(cells) > len(columns):
                problems.add(
                    f"{name}:{line}", f"has {len(cells)} cells; the header has {len(columns)}"
                )
                continue
            values = dict(zip(columns, cells, strict=False))
            records.append(Record(f"{name}:{line}", values))
    except csv.Error as exc:
        problems.add(f"{name}:{reader.line_num}", f"cannot be read as CSV: {exc}")
    return Contents(records, True, columns)


def _read_json(name: str, text: str, problems: Problems) -> list[Record]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        problems.add(f"{name}:{exc.lineno}", f"is not valid JSON: {exc.msg}")
        return []
    if not isinstance(data, list):
        problems.add(name, f"expected a JSON list of objects, found {_kind(data)}")
        return []
    records: list[Record] = []
    for index, item in enumerate(data):
        where = f"{name}: item {index}"
        if isinstance(item, dict):
            records.append(Record(where, item))
        else:
            problems.add(where, f"expected an object, found {_kind(item)}")
    return records


def _kind(value: object) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "true or false"}
    if value is None:
        return "null"
    return names.get(type(value), "a number")
