"""Shared field types for identifiers and the like."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints

Identifier = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:\-]+$"),
]
#: Free text may hold anything but NUL, which PostgreSQL cannot store.
NO_NUL = r"^[^\x00]*$"
Text = Annotated[str, StringConstraints(max_length=300, strip_whitespace=True, pattern=NO_NUL)]
Name = Annotated[
    str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True, pattern=NO_NUL)
]


class Strict(BaseModel):
    """Request bodies refuse unknown fields: a typo should not pass silently."""

    model_config = ConfigDict(extra="forbid")
