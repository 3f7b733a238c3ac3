"""Shared field types for identifiers and the like, and the base of every request body."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)

Identifier = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:\-]+$"),
]
#: The largest row id (delivery, token, cursor) a path or query takes: within 64 bits on every
#: database, with room to spare.
MAX_ROW_ID = 2**62
#: For query parameters, which no model checks: free text may hold anything but NUL.
NO_NUL = r"^[^\x00]*$"
NUL_MESSAGE = "Text must not contain the NUL character (\\u0000)."
Text = Annotated[str, StringConstraints(max_length=300, strip_whitespace=True)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]


def nul_at(value: Any) -> str | None:
    """Where in `value` (a text, or lists and objects of them) a NUL character is: "" for the
    value itself, "2" or "a.0" inside it; None when there is none. Walks without recursion, so
    any depth JSON can hold is fine."""
    pending: list[tuple[str, Any]] = [("", value)]
    while pending:
        where, current = pending.pop()
        if isinstance(current, str):
            if "\x00" in current:
                return where
        elif isinstance(current, list | tuple | set | frozenset):
            pending.extend((_join(where, i), item) for i, item in enumerate(current))
        elif isinstance(current, dict):
            for key, item in current.items():
                if isinstance(key, str) and "\x00" in key:
                    return where
                pending.append((_join(where, key), item))
    return None


def _join(where: str, key: object) -> str:
    return f"{where}.{key}" if where else str(key)


class Strict(BaseModel):
    """Request bodies refuse unknown fields (a typo should not pass silently) and NUL in any
    text, which PostgreSQL cannot store: one check here covers every field of every body."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        # Nested bodies are Strict too and check their own fields, with their own paths.
        if isinstance(value, BaseModel):
            return value
        where = nul_at(value)
        if where is None:
            return value
        if len(where) > 100:
            where = where[:99] + "…"
        raise ValueError(f"{NUL_MESSAGE} (at item {where})" if where else NUL_MESSAGE)


def _printable(value: str) -> str:
    if not value.isprintable() or any(c.isspace() for c in value):
        raise ValueError(
            "An id holds visible characters only: no spaces, tabs, line breaks or control "
            "characters."
        )
    return value


#: Order and item ids as commerce platforms send them (`#1001`, `gid://shopify/Order/123`):
#: 1 to 255 visible characters (any script, no whitespace); in a path, percent-encoded.
PlatformId = Annotated[
    str,
    StringConstraints(min_length=1, max_length=255),
    AfterValidator(_printable),
    Field(
        description="1 to 255 printable characters without whitespace, e.g. '#1001' or "
        "'gid://shopify/Order/123'; percent-encoded in a path",
        examples=["gid://shopify/Order/123"],
    ),
]
