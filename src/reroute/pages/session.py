"""Who is signed in: the signed session cookie carries a session token that the server looks up
on every request (so signing out, deactivation and a new password end it everywhere); this
module turns it into the `Principal` that pages and the API's `get_principal` both read, keeps
each session's CSRF token, and marks the cookie `Secure` when the request came over https."""

from __future__ import annotations

import hmac
import secrets
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Receive, Scope, Send

from reroute.api.deps import SESSION_PRINCIPAL
from reroute.services import users
from reroute.services.context import Context

COOKIE = "reroute_session"
MAX_AGE_S = int(users.SESSION_FOR.total_seconds())
TOKEN_KEY = "sid"
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


def session_token(session: dict[str, Any]) -> str | None:
    token = session.get(TOKEN_KEY)
    return token if isinstance(token, str) and token else None


def sign_in(session: dict[str, Any], token: str) -> None:
    """A fresh cookie for a new server session: nothing from before signing in is kept, the
    CSRF token included."""
    session.clear()
    session[TOKEN_KEY] = token
    csrf_token(session)


def came_over_https(scope: Scope, trusted_headers: tuple[str, ...]) -> bool:
    """The request reached us over https, or a proxy header we were told to trust says the
    client used https. Headers not named in `trusted_headers` are ignored: anyone can send
    them."""
    if scope.get("scheme") in ("https", "wss"):
        return True
    if not trusted_headers:
        return False
    for raw_name, raw_value in scope.get("headers", []):
        name = raw_name.decode("latin-1").lower()
        if name not in trusted_headers:
            continue
        value = raw_value.decode("latin-1").split(",")[0].strip().lower()
        if name == "forwarded":  # RFC 7239: for=…;proto=https
            params = (p.strip().partition("=") for p in value.split(";"))
            if any(k.strip() == "proto" and v.strip().strip('"') == "https" for k, _, v in params):
                return True
        elif value in ("https", "on"):
            return True
    return False


class HttpsAwareSessions:
    """Starlette's signed-cookie sessions, with the cookie `Secure` exactly when the request
    came over https (Starlette fixes that flag for the whole app): two of its middlewares on
    one secret, and each request goes through the one that fits. Both set `HttpOnly` and
    `SameSite=Lax`."""

    def __init__(
        self, app: ASGIApp, secret_key: str, trusted_headers: tuple[str, ...] = ()
    ) -> None:
        options: dict[str, Any] = {
            "secret_key": secret_key,
            "session_cookie": COOKIE,
            "max_age": MAX_AGE_S,
            "same_site": "lax",
        }
        self.plain = SessionMiddleware(app, https_only=False, **options)
        self.secure = SessionMiddleware(app, https_only=True, **options)
        self.trusted_headers = tuple(h.lower() for h in trusted_headers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        https = came_over_https(scope, self.trusted_headers)
        await (self.secure if https else self.plain)(scope, receive, send)


class SessionPrincipal:
    """Puts the signed-in user's principal in the request scope (under the sessions).

    The session is looked up on every request: once it has ended (signed out, the user
    deactivated or given a new password) or expired, the cookie is no session. API writes made
    with the session cookie instead of a token must carry the session's CSRF token in
    `X-CSRF-Token`.
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
        token = session_token(session) if isinstance(session, dict) else None
        if not isinstance(session, dict) or token is None:
            return
        connection = HTTPConnection(scope)
        if "authorization" in connection.headers:
            return  # a token speaks for itself
        user = await run_in_threadpool(users.session_user, self.context, token)
        if user is None:
            session.clear()
            return
        api_write = scope["path"].startswith("/api/") and scope["method"] in UNSAFE
        if api_write and not csrf_matches(session, connection.headers.get(CSRF_HEADER)):
            return
        scope[SESSION_PRINCIPAL] = users.principal_of(user)
