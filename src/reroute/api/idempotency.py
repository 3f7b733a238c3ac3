"""`Idempotency-Key` on writes: a repeated request gets the first answer, without a second effect.

The key is scoped to the caller (its token or session) and bound to the request it first came
with: the same key with another method, path or body is refused (422). Answers of 5xx are not
kept, so a request that failed on our side can be sent again under the same key; nor are answers
of 401, since a caller without a valid token is nobody to keep anything for.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from reroute.services.context import Context
from reroute.storage.repositories.access import IdempotentAnswer
from reroute.storage.unit_of_work import unit_of_work

WRITES = {"POST", "PUT", "PATCH", "DELETE"}
MAX_KEY = 200
MAX_PATH = 500  # the stored path is for people reading the table; the request hash binds it


@dataclass
class _Captured:
    status: int = 500
    body: bytearray = field(default_factory=bytearray)


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp, context: Context) -> None:
        self.app = app
        self.context = context

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in WRITES:
            await self.app(scope, receive, send)
            return
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        key = headers.get("idempotency-key")
        if not key or not scope["path"].startswith("/api/"):
            await self.app(scope, receive, send)
            return
        if len(key) > MAX_KEY:
            await _problem(send, 422, f"Idempotency-Key is longer than {MAX_KEY} characters.")
            return
        body = await _read_body(receive)
        caller = headers.get("authorization") or headers.get("cookie") or "anonymous"
        principal = hashlib.sha256(caller.encode()).hexdigest()[:64]
        request_hash = hashlib.sha256(
            scope["method"].encode() + b" " + scope["path"].encode() + b"\n" + body
        ).hexdigest()
        earlier = await run_in_threadpool(self._lookup, principal, key)
        if earlier is not None:
            if earlier.request_hash != request_hash:
                await _problem(
                    send,
                    422,
                    "This Idempotency-Key was used for another request; use a new key.",
                )
                return
            await _send(send, earlier.status_code, earlier.body, replayed=True)
            return

        captured = _Captured()

        async def replay_body() -> Message:
            return {"type": "http.request", "body": body, "more_body": False}

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                captured.status = int(message["status"])
            elif message["type"] == "http.response.body":
                captured.body.extend(message.get("body", b""))
            await send(message)

        await self.app(scope, replay_body, capture)
        status = captured.status
        if status < 500 and status != 401:
            answer = IdempotentAnswer(
                scope["method"],
                scope["path"].replace("\x00", "")[:MAX_PATH],
                request_hash,
                status,
                bytes(captured.body),
            )
            await run_in_threadpool(self._store, principal, key, answer)

    def _lookup(self, principal: str, key: str) -> IdempotentAnswer | None:
        with unit_of_work(self.context.db, write=False) as uow:
            return uow.idempotency.get(principal, key)

    def _store(self, principal: str, key: str, answer: IdempotentAnswer) -> None:
        with unit_of_work(self.context.db) as uow:
            if uow.idempotency.get(principal, key) is None:
                uow.idempotency.put(principal, key, answer, uow.now)


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


async def _send(send: Send, status: int, body: bytes, *, replayed: bool = False) -> None:
    media = b"application/problem+json" if status >= 400 else b"application/json"
    headers = [(b"content-type", media), (b"content-length", str(len(body)).encode())]
    if replayed:
        headers.append((b"idempotent-replayed", b"true"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _problem(send: Send, status: int, detail: str) -> None:
    body = {"type": "about:blank", "title": "Invalid input", "status": status, "detail": detail}
    await _send(send, status, json.dumps(body).encode())
