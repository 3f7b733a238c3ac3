"""The line where each value of a JSON text starts, by its dotted path (`routings.0.name`), so
a validation error can point at the line the admin has to change."""

from __future__ import annotations

import contextlib
import json
import re

_SPACE = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()


def value_lines(text: str) -> dict[str, int]:
    """Path to 1-based line number, for a text that is valid JSON (else what was read so far;
    a text nested too deeply for this reader gives the lines read before it gave up)."""
    lines: dict[str, int] = {}
    with contextlib.suppress(ValueError, IndexError, RecursionError):
        _value(text, _skip(text, 0), "", lines)
    return lines


def line_of(lines: dict[str, int], path: str) -> int | None:
    """The line of `path`, or of its nearest parent that the text has."""
    while True:
        if path in lines:
            return lines[path]
        if not path:
            return None
        path = path.rpartition(".")[0]


def _skip(text: str, at: int) -> int:
    match = _SPACE.match(text, at)
    return match.end() if match else at


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _value(text: str, at: int, path: str, lines: dict[str, int]) -> int:
    lines[path] = text.count("\n", 0, at) + 1
    first = text[at]
    if first == "{":
        return _members(text, at + 1, path, lines)
    if first == "[":
        return _elements(text, at + 1, path, lines)
    return _scalar(text, at)[1]


def _scalar(text: str, at: int) -> tuple[object, int]:
    """A string, number, true, false or null at `at`, and where it ends."""
    value, end = _DECODER.raw_decode(text, at)
    return value, int(end)


def _members(text: str, at: int, path: str, lines: dict[str, int]) -> int:
    at = _skip(text, at)
    if text[at] == "}":
        return at + 1
    while True:
        if text[at] != '"':
            raise ValueError(f"no key at {at}")
        key, at = _scalar(text, at)
        at = _skip(text, at)
        if text[at] != ":":
            raise ValueError(f"no colon at {at}")
        at = _skip(text, _value(text, _skip(text, at + 1), _join(path, str(key)), lines))
        if text[at] == "}":
            return at + 1
        if text[at] != ",":
            raise ValueError(f"no comma at {at}")
        at = _skip(text, at + 1)


def _elements(text: str, at: int, path: str, lines: dict[str, int]) -> int:
    at = _skip(text, at)
    if text[at] == "]":
        return at + 1
    index = 0
    while True:
        at = _skip(text, _value(text, at, _join(path, str(index)), lines))
        if text[at] == "]":
            return at + 1
        if text[at] != ",":
            raise ValueError(f"no comma at {at}")
        at = _skip(text, at + 1)
        index += 1
