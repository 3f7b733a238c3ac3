"""Entity tags (RFC 9110): `ETag` on what an integrator reads and saves again, `If-None-Match`
to skip an unchanged read (304), `If-Match` to save only over the version one read (412).

A tag is strong: a hash of the JSON representation itself, so it changes exactly when what a
client would see changes, whichever process or path made the change, and no version column is
needed. `If-None-Match` compares weakly (a `W/` tag from a cache matches its strong twin),
`If-Match` strongly, as the RFC has it.
"""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Any

from fastapi import Header, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel

#: The longest header value looked at; a longer one matches nothing.
MOST_HEADER = 8192

IfNoneMatch = Annotated[
    str | None,
    Header(
        description=(
            "The `ETag` of the copy you hold: answered 304 with no body while it is current."
        ),
    ),
]
IfMatch = Annotated[
    str | None,
    Header(
        description=(
            "The `ETag` of the version you read: the change is saved only if it is still the "
            "current one, else 412 and nothing is written. Leave it out to save regardless."
        ),
    ),
]

_ETAG_HEADER = {
    "ETag": {"description": "The representation's entity tag", "schema": {"type": "string"}}
}
#: `responses=` of a read that takes `If-None-Match`.
NOT_MODIFIED: dict[int | str, dict[str, Any]] = {
    304: {
        "description": "Not modified: the `If-None-Match` tag is current",
        "headers": _ETAG_HEADER,
    }
}


def tag_of(body: bytes) -> str:
    """The strong entity tag of these bytes, quoted as the header carries it."""
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def tag_of_value(value: Any) -> str:
    """The tag of a JSON value, whatever the order of its keys."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return tag_of(text.encode())


def tag_of_model(model: BaseModel) -> str:
    """The tag of a model as the API sends it."""
    return tag_of_value(model.model_dump(mode="json"))


def _tags(header: str) -> list[str]:
    if len(header) > MOST_HEADER:
        return []
    return [t.strip() for t in header.split(",") if t.strip()]


def none_match(header: str | None, tag: str) -> bool:
    """Whether `If-None-Match` holds this tag (or `*`): the client's copy is current."""
    if header is None:
        return False
    weak = tag.removeprefix("W/")
    return any(t == "*" or t.removeprefix("W/") == weak for t in _tags(header))


def match(header: str | None, tag: str) -> bool:
    """Whether `If-Match` allows a change over the representation of `tag` (no header: yes;
    `*`: any current representation)."""
    if header is None:
        return True
    return any(t == "*" or (t == tag and not t.startswith("W/")) for t in _tags(header))


def answer(model: BaseModel, if_none_match: str | None = None, status_code: int = 200) -> Response:
    """The model as JSON with its `ETag` (`tag_of_model`), or 304 with no body when the
    client's copy is current."""
    value = model.model_dump(mode="json")
    tag = tag_of_value(value)
    if none_match(if_none_match, tag):
        return Response(status_code=304, headers={"ETag": tag})
    return JSONResponse(value, status_code=status_code, headers={"ETag": tag})
