"""The web pages for store associates and admins: server-rendered, plain forms, no build step."""

from __future__ import annotations

import secrets
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from reroute.pages import (
    admin,
    analytics,
    auth,
    blocks,
    facilities,
    reasons,
    report,
    rules,
    settings,
    simulation,
    store,
    users,
    webhooks,
)
from reroute.pages.session import HttpsAwareSessions, SessionPrincipal
from reroute.services.context import Context


def install(app: FastAPI, context: Context, session_secret: str = "") -> None:
    """Mount the pages, their static files and the signed session cookie on `app`.

    The cookie carries a token of a session kept in the database. Without a configured
    secret, a random one signs this process's cookies: they are refused by other processes and
    after a restart, so several processes need the same `REROUTE_SESSION_SECRET`.
    """
    # report before store: its paths are longer, and the store's are matched by pattern
    for module in (
        auth,
        report,
        blocks,
        store,
        admin,
        facilities,
        reasons,
        rules,
        analytics,
        simulation,
        webhooks,
        settings,
        users,
    ):
        app.include_router(module.router)
    static = Path(__file__).parent / "static"
    app.mount("/static", StaticFiles(directory=static), name="static")
    app.add_middleware(SessionPrincipal, context=context)
    app.add_middleware(
        HttpsAwareSessions,
        secret_key=session_secret or secrets.token_urlsafe(32),
        trusted_headers=context.security.trusted_proxy_headers,
    )
