"""Order and item ids in paths, as platforms make them (`gid://shopify/Order/123`).

Such an id is sent percent-encoded (`/orders/gid%3A%2F%2Fshopify%2FOrder%2F123`), but ASGI
servers decode the path before routing, and a decoded `/` would split the id into segments
that match no route, or the wrong one. So `RawPath` routes on the path as it was sent: every
escape is decoded except `%2F` (a slash inside a segment) and `%25` (a percent sign), and the
`{name:key}` convertor decodes those two within its own segment.
"""

from __future__ import annotations

import re
from typing import Annotated
from urllib.parse import quote, unquote

from fastapi import Path
from starlette.convertors import Convertor, register_url_convertor
from starlette.types import ASGIApp, Receive, Scope, Send

from reroute.api.schemas.common import PlatformId

_KEPT = re.compile(r"(%2[fF]|%25)")
_ESCAPED = re.compile(r"%2F|%25")


class KeyConvertor(Convertor[str]):
    """One path segment holding an id that may contain `/` (sent as `%2F`)."""

    regex = "[^/]+"

    def convert(self, value: str) -> str:
        return _ESCAPED.sub(lambda m: "/" if m.group() == "%2F" else "%", value)

    def to_string(self, value: str) -> str:
        return quote(value, safe="")


register_url_convertor("key", KeyConvertor())


def routed_path(raw_path: bytes) -> str | None:
    """The path to route on: `raw_path` decoded but for `%2F` and `%25` (upper-cased); None
    when there is nothing to change (no escape), or the raw path is not ASCII as HTTP sends
    it (the server's decoded path is kept)."""
    if b"%" not in raw_path:
        return None
    try:
        raw = raw_path.decode("ascii")
    except UnicodeDecodeError:
        return None
    pieces = _KEPT.split(raw)
    return "".join(p.upper() if i % 2 else unquote(p) for i, p in enumerate(pieces))


class RawPath:
    """ASGI middleware: route on the path as sent (see the module's docstring)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            raw = scope.get("raw_path")
            if isinstance(raw, bytes):
                path = routed_path(raw)
                if path is not None:
                    scope = {**scope, "path": path}
        await self.app(scope, receive, send)


OrderIdPath = Annotated[
    PlatformId, Path(description="The order's id, percent-encoded ('/' as %2F, '#' as %23)")
]
ItemIdPath = Annotated[
    PlatformId, Path(description="The item's id in its order, percent-encoded ('/' as %2F)")
]
