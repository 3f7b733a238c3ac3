"""Who is signed in: the signed session cookie names a user; this middleware turns it into the
`Principal` that pages and the API's `get_principal` both read, and keeps each session's CSRF
token."""

from __future__ import annotations

import hmac
import secrets
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Receive, Scope, Send

from reroute.api.deps import SESSION_PRINCIPAL
from reroute.services import users
from reroute.services.context import Context
from reroute.storage.repositories.users import UserRecord

COOKIE = "reroute_session"
#: A session lasts a working day, then the person signs in again.
MAX_AGE_S = 12 * 60 * 60
USER_KEY = "uid"
CSRF_KEY = "csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


def csrf_token(session: dict[str, Any]) -> str:
    """The session's CSRF token, made on first use (also before signing in, for the sign-in
    form itself)."""
    token = session.get(CSRF_KEY)
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(32)
        session[CSRF_KEY] = token
    return token


def csrf_matches(session: dict[str, Any], sent: object) -> bool:
    expected = session.get(CSRF_KEY)
    return (
        isinstance(sent, str)
        and isinstance(expected, str)
        and bool(expected)
        and hmac.compare_digest(sent.encode(), expected.encode())
    )


def sign_in(session: dict[str, Any], user: UserRecord) -> None:
    """A fresh session for the user: nothing from before signing in is kept, the token included."""
    session.clear()
    session[USER_KEY] = user.id
    csrf_token(session)


class SessionPrincipal:
    """Puts the signed-in user's principal in the request scope (under SessionMiddleware).

    A deactivated user's session ends at their next request. API writes made with the session
    cookie instead of a token must carry the session's CSRF token in `X-CSRF-Token`.
    """

    def __init__(self, app: ASGIApp, context: Context) -> None:
        self.app = app
        self.context = context

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not scope["path"].startswith("/static/"):
            await self._load(scope)
        await self.app(scope, receive, send)

    async def _load(self, scope: Scope) -> None:
        session = scope.get("session")
        user_id = session.get(USER_KEY) if isinstance(session, dict) else None
        if not isinstance(session, dict) or not isinstance(user_id, int):
            return
        connection = HTTPConnection(scope)
        if "authorization" in connection.headers:
            return  # a token speaks for itself
        user = await run_in_threadpool(users.signed_in, self.context, user_id)
        if user is None:
            session.clear()
            return
        api_write = scope["path"].startswith("/api/") and scope["method"] in UNSAFE
        if api_write and not csrf_matches(session, connection.headers.get(CSRF_HEADER)):
            return
        scope[SESSION_PRINCIPAL] = users.principal_of(user)
