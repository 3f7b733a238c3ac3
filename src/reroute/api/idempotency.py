"""`Idempotency-Key` on API writes: a key takes effect once, for the principal that sent it.

Authentication runs first: a request without valid credentials passes through untouched (the
app answers 401) and never reads or writes a key. The first request with a key claims it, in a
row committed before the work starts; a duplicate sent while it runs waits up to
`CLAIM_WAIT_S` for its answer, else gets 409; a later repeat gets the stored answer, marked
`Idempotent-Replayed: true`. The same key with another method, path, query or body is refused
(422). A refusal (any 4xx) or a failure (5xx, an error) releases the claim: a refusal
writes nothing, the key row included, and the request can be sent again under the same key. An
answer marked `Cache-Control: no-store` holds a secret: it is kept without its
body, and a repeat gets 409. Keys expire after `Security.idempotency_ttl_hours`.

The answer is stored before it is sent, so once a caller has seen it, a repeat replays it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import time
from dataclasses import dataclass, field
from datetime import timedelta

import anyio
from fastapi.security.utils import get_authorization_scheme_param
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from reroute.api.deps import SESSION_PRINCIPAL
from reroute.domain.access import Principal
from reroute.services.context import Context
from reroute.services.tokens import authenticate
from reroute.storage.repositories.access import IdempotencyRecord, IdempotentRequest, KeyState
from reroute.storage.unit_of_work import UnitOfWork, transact, unit_of_work

log = logging.getLogger("reroute.api")

WRITES = {"POST", "PUT", "PATCH", "DELETE"}
MAX_KEY = 200
MAX_PATH = 500  # the stored path is for people reading the table; the request hash binds it
MAX_PRINCIPAL = 400
#: How long a duplicate waits for the first request's answer before it gets 409, and how
#: often it looks again meanwhile.
CLAIM_WAIT_S = 2.0
POLL_S = 0.05
#: Expired keys of every principal are swept this often per process, this many at a time
#: (a principal's own expired keys go each time it claims one).
SWEEP_EVERY_S = 600.0
SWEEP_LIMIT = 1000

IN_PROGRESS = "A request with this Idempotency-Key is in progress; try again shortly."
WITHHELD = "The answer to this request held a secret, shown once; it is not replayed."
MISMATCH = "This Idempotency-Key was used for another request; use a new key."


class _Refused(Exception):
    """The request cannot be taken under its key; answered with this problem."""

    def __init__(self, status: int, title: str, detail: str, retry_after: int = 0) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail = status, title, detail
        self.retry_after = retry_after


class _Gone(Exception):
    """The client went away before its body arrived: nothing to claim, nothing to answer."""


@dataclass
class _Captured:
    """The app's answer, held back until it is stored."""

    start: Message | None = None
    body: bytearray = field(default_factory=bytearray)
    complete: bool = False

    @property
    def status(self) -> int:
        return int(self.start["status"]) if self.start is not None else 500

    def header(self, name: bytes) -> bytes | None:
        headers = self.start.get("headers", []) if self.start is not None else []
        return next((v for k, v in headers if k.lower() == name), None)


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp, context: Context) -> None:
        self.app = app
        self.context = context
        self._next_sweep = 0.0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        raw_key = _header(scope, b"idempotency-key") if _keyed(scope) else None
        if raw_key is None:
            await self.app(scope, receive, send)
            return
        principal = await self._caller(scope)
        if principal is None:  # the app refuses it (401); nobody to keep a key for
            await self.app(scope, receive, send)
            return
        bound_to = _principal_key(principal)
        try:
            key = _parse_key(raw_key)
            body = await _read_body(receive, self.context.security.max_body_bytes)
            request = IdempotentRequest(
                scope["method"], _shown_path(scope["path"]), _request_hash(scope, body)
            )
            claim_id = await self._claim(bound_to, key, request, send)
        except _Refused as refused:
            await _problem(send, scope, refused)
            return
        except _Gone:
            return
        if claim_id is None:
            return  # answered from the stored record
        await self._run(scope, receive, send, body, (bound_to, key, claim_id))
        await self._sweep_now_and_then()

    async def _caller(self, scope: Scope) -> Principal | None:
        """The principal the app will see, found the same way (a bearer token first)."""
        authorization = _header(scope, b"authorization")
        if authorization is not None:
            scheme, token = get_authorization_scheme_param(authorization.decode("latin-1"))
            if scheme.lower() == "bearer" and token:
                return await run_in_threadpool(authenticate, self.context, token)
        session_principal = scope.get(SESSION_PRINCIPAL)
        return session_principal if isinstance(session_principal, Principal) else None

    async def _claim(
        self, principal: str, key: str, request: IdempotentRequest, send: Send
    ) -> str | None:
        """Our claim's id, or None when the earlier request's answer was sent instead."""
        deadline = time.monotonic() + CLAIM_WAIT_S
        for _ in range(int(CLAIM_WAIT_S / POLL_S) + 4):
            claim_id = secrets.token_hex(16)
            claimed, earlier = await run_in_threadpool(
                self._try_claim, principal, key, claim_id, request
            )
            if claimed:
                return claim_id
            if earlier is None:
                continue  # released between our insert and our read: claim it again
            if earlier.request_hash != request.request_hash:
                raise _Refused(422, "Invalid input", MISMATCH)
            if earlier.state is KeyState.WITHHELD:
                raise _Refused(409, "Not replayable", WITHHELD)
            if earlier.state is KeyState.ANSWERED:
                await _replay(send, earlier)
                return None
            if time.monotonic() >= deadline:
                break
            await anyio.sleep(POLL_S)
        raise _Refused(409, "Request in progress", IN_PROGRESS, retry_after=1)

    async def _run(
        self, scope: Scope, receive: Receive, send: Send, body: bytes, claim: tuple[str, str, str]
    ) -> None:
        """Run the request under our claim; store its answer (or release the claim), then send."""
        captured = _Captured()
        body_sent = False

        async def replay_body() -> Message:
            nonlocal body_sent
            if body_sent:
                return await receive()  # after the body, only a disconnect can come
            body_sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                captured.start = message
            elif message["type"] == "http.response.body":
                captured.body.extend(message.get("body", b""))
                captured.complete = not message.get("more_body", False)
            else:
                await send(message)

        try:
            await self.app(scope, replay_body, capture)
        except Exception:
            await self._forget(claim)
            raise
        if not captured.complete or captured.status >= 400:
            await self._forget(claim)
        else:
            no_store = _no_store(captured.header(b"cache-control"))
            content_type = captured.header(b"content-type")
            try:
                await run_in_threadpool(
                    self._answer,
                    claim,
                    captured.status,
                    content_type.decode("latin-1")[:200] if content_type else None,
                    None if no_store else bytes(captured.body),
                )
            except Exception:
                # The work is done, so the claim stays: repeats get 409 until the key expires.
                log.exception("could not keep the answer under Idempotency-Key %r", claim[1])
        if captured.start is not None:
            await send(captured.start)
            await send({"type": "http.response.body", "body": bytes(captured.body)})

    def _try_claim(
        self, principal: str, key: str, claim_id: str, request: IdempotentRequest
    ) -> tuple[bool, IdempotencyRecord | None]:
        ttl = timedelta(hours=self.context.security.idempotency_ttl_hours)

        def work(uow: UnitOfWork) -> tuple[bool, IdempotencyRecord | None]:
            if uow.idempotency.claim(principal, key, claim_id, request, uow.now, uow.now + ttl):
                return True, None
            return False, uow.idempotency.get(principal, key, uow.now)

        return transact(self.context.db, work)

    def _answer(
        self,
        claim: tuple[str, str, str],
        status: int,
        content_type: str | None,
        body: bytes | None,
    ) -> None:
        with unit_of_work(self.context.db) as uow:
            uow.idempotency.answer(*claim, status, content_type, body)

    async def _forget(self, claim: tuple[str, str, str]) -> None:
        def release() -> None:
            with unit_of_work(self.context.db) as uow:
                uow.idempotency.release(*claim)

        try:
            await run_in_threadpool(release)
        except Exception:
            log.exception("could not release Idempotency-Key %r", claim[1])

    async def _sweep_now_and_then(self) -> None:
        if time.monotonic() < self._next_sweep:
            return
        self._next_sweep = time.monotonic() + SWEEP_EVERY_S

        def sweep() -> None:
            with unit_of_work(self.context.db) as uow:
                uow.idempotency.sweep(uow.now, SWEEP_LIMIT)

        try:
            await run_in_threadpool(sweep)
        except Exception:
            log.exception("could not delete expired Idempotency-Keys")


def _keyed(scope: Scope) -> bool:
    return (
        scope["type"] == "http"
        and scope["method"] in WRITES
        and str(scope["path"]).startswith("/api/")
    )


def _header(scope: Scope, name: bytes) -> bytes | None:
    """The first value of a header, as sent: bytes, since they need not be UTF-8."""
    return next((v for k, v in scope["headers"] if k.lower() == name), None)


def _parse_key(raw: bytes) -> str:
    try:
        key = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise _Refused(422, "Invalid input", "Idempotency-Key must be UTF-8 text.") from None
    if not key:
        raise _Refused(422, "Invalid input", "Idempotency-Key is empty; send a unique key.")
    if len(key) > MAX_KEY:
        detail = f"Idempotency-Key is longer than {MAX_KEY} characters."
        raise _Refused(422, "Invalid input", detail)
    if any(ord(c) < 32 or ord(c) == 127 for c in key):
        detail = "Idempotency-Key holds control characters; use letters, digits and dashes."
        raise _Refused(422, "Invalid input", detail)
    return key


def _principal_key(principal: Principal) -> str:
    """What a key is bound to: the principal's id ("token:7", "user:…"), its kind included."""
    if len(principal.id) <= MAX_PRINCIPAL:
        return principal.id
    return "sha256:" + hashlib.sha256(principal.id.encode()).hexdigest()


async def _read_body(receive: Receive, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _Gone
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            detail = f"The request body is larger than {limit} bytes."
            raise _Refused(413, "Content too large", detail)
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


def _request_hash(scope: Scope, body: bytes) -> str:
    path = str(scope["path"]).encode("utf-8", "surrogatepass")
    query = bytes(scope.get("query_string", b""))
    head = scope["method"].encode() + b" " + path + b"?" + query + b"\n"
    return hashlib.sha256(head + body).hexdigest()


def _shown_path(path: str) -> str:
    readable = path.encode("utf-8", "replace").decode("utf-8").replace("\x00", "")
    return readable[:MAX_PATH]


def _no_store(cache_control: bytes | None) -> bool:
    if cache_control is None:
        return False
    return b"no-store" in [d.strip() for d in cache_control.lower().split(b",")]


async def _replay(send: Send, earlier: IdempotencyRecord) -> None:
    body = earlier.body or b""
    headers = [(b"content-length", str(len(body)).encode()), (b"idempotent-replayed", b"true")]
    if earlier.content_type:
        headers.insert(0, (b"content-type", earlier.content_type.encode("latin-1")))
    status = earlier.status_code or 200
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _problem(send: Send, scope: Scope, refused: _Refused) -> None:
    problem = {
        "type": "about:blank",
        "title": refused.title,
        "status": refused.status,
        "detail": refused.detail,
        "instance": _shown_path(scope["path"]),
    }
    body = json.dumps(problem).encode()
    headers = [
        (b"content-type", b"application/problem+json"),
        (b"content-length", str(len(body)).encode()),
    ]
    if refused.retry_after:
        headers.append((b"retry-after", str(refused.retry_after).encode()))
    await send({"type": "http.response.start", "status": refused.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
