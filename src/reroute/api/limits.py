"""The first thing every request meets: refusals of input nothing behind it should have to read.

- A body larger than `max_body_bytes` gets 413 before it is read when its Content-Length says
  so, and is cut off at the limit while it streams in when it has none (chunked).
- Header values that are not UTF-8 text, or that hold NUL, get 400: the layers behind may
  decode them as UTF-8 and store them.
- A path holding NUL gets 404 outside the API (no page, file or document has such a name);
  API paths are left to their typed path parameters, which answer 422 at the parameter.

API paths are answered with problem+json, others with a short page.
"""

from __future__ import annotations

import html
import json

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

API_PREFIX = "/api/"


class BodyTooLarge(HTTPException):
    """Raised from `receive` should a body outgrow its limit after all: the routes' own error
    handling answers an HTTPException, and this middleware answers it if it reaches here."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"The request body is larger than {limit} bytes.")


class _ClientGone(Exception):
    """The client went away before its body was whole: there is nobody to answer."""


class InputLimits:
    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refusal = _header_refusal(scope) or _path_refusal(scope)
        if refusal is not None:
            await _refuse(scope, send, *refusal)
            return
        limit = self.max_body_bytes
        length = _content_length(scope)
        if length == -1:
            await _refuse(scope, send, 400, "Bad request", "Content-Length is not a number.")
            return
        if length is not None and length > limit:
            await _refuse(scope, send, 413, "Content too large", _too_large(limit))
            return
        if length is None:
            try:
                body = await _read_at_most(receive, limit)
            except _ClientGone:
                return
            if body is None:
                await _refuse(scope, send, 413, "Content too large", _too_large(limit))
                return
            receive = _replay(body, receive)
        await self._bounded(scope, receive, send, limit)

    async def _bounded(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        """Pass the request on, counting what is read (a server that frames by Content-Length
        never delivers more; this holds if one does)."""
        received = 0
        started = False

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except BodyTooLarge:
            if started:
                raise
            await _refuse(scope, send, 413, "Content too large", _too_large(limit))


def _too_large(limit: int) -> str:
    return f"The request body is larger than {limit} bytes: send less at a time."


def _content_length(scope: Scope) -> int | None:
    """The declared length, None without one, -1 when it is not a number."""
    for name, value in scope["headers"]:
        if name.lower() == b"content-length":
            return int(value) if value.isdigit() else -1
    return None


def _header_refusal(scope: Scope) -> tuple[int, str, str] | None:
    for name, value in scope["headers"]:
        try:
            text = value.decode("utf-8")
        except UnicodeDecodeError:
            text = "\x00"
        if "\x00" in text:
            shown = name.decode("latin-1")[:64]
            return 400, "Bad request", f"The {shown} header is not UTF-8 text without NUL."
    return None


def _path_refusal(scope: Scope) -> tuple[int, str, str] | None:
    path = scope.get("path", "")
    if "\x00" in path and not path.startswith(API_PREFIX):
        return 404, "Not found", "No page has a name with a NUL character in it."
    return None


async def _read_at_most(receive: Receive, limit: int) -> bytes | None:
    """The whole body when it fits in `limit` bytes; None as soon as it does not."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            raise _ClientGone()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A `receive` that hands out `body` once, then listens to the client (for disconnects)."""
    pending = True

    async def replayed() -> Message:
        nonlocal pending
        if pending:
            pending = False
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed


async def _refuse(scope: Scope, send: Send, status: int, title: str, detail: str) -> None:
    path = scope.get("path", "")
    if path.startswith(API_PREFIX):
        media = b"application/problem+json"
        problem = {"type": "about:blank", "title": title, "status": status, "detail": detail}
        problem["instance"] = path.replace("\x00", "")
        body = json.dumps(problem).encode()
    else:
        media = b"text/html; charset=utf-8"
        page = f"<!doctype html><title>{title}</title><h1>{title}</h1><p>{html.escape(detail)}</p>"
        body = page.encode()
    headers = [
        (b"content-type", media),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
        (b"cache-control", b"no-store"),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
