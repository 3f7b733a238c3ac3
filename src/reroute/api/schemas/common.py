"""Shared field types for identifiers and the like."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints

Identifier = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:\-]+$"),
]
Text = Annotated[str, StringConstraints(max_length=300, strip_whitespace=True)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]


class Strict(BaseModel):
    """Request bodies refuse unknown fields: a typo should not pass silently."""

    model_config = ConfigDict(extra="forbid")
