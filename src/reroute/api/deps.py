"""Dependencies every router shares, as `Annotated` aliases."""

from __future__ import annotations

import re
import uuid
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from reroute.domain.access import Principal, log_refusal
from reroute.services.context import Context
from reroute.services.tokens import authenticate, who_sent

_bearer = HTTPBearer(auto_error=False, description="An API token from `reroute token create`.")

#: Where a signed-in page session keeps its principal (the pages set it; see reroute.pages).
SESSION_PRINCIPAL = "reroute.principal"


def get_context(request: Request) -> Context:
    context: Context = request.app.state.context
    return context


ContextDep = Annotated[Context, Depends(get_context)]


def get_principal(
    request: Request,
    ctx: ContextDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    what = f"{request.method} {request.url.path}"
    if credentials is not None:
        principal = authenticate(ctx, credentials.credentials)
        if principal is None:
            detail = "That API token is unknown or revoked."
            log_refusal(who_sent(ctx, credentials.credentials), what, "", detail)
            raise HTTPException(401, detail, {"WWW-Authenticate": "Bearer"})
        return principal
    session_principal = request.scope.get(SESSION_PRINCIPAL)
    if isinstance(session_principal, Principal):
        return session_principal
    detail = (
        "Send an API token as 'Authorization: Bearer <token>' "
        "(create one with 'reroute token create')."
    )
    log_refusal("anonymous", what, "", detail)
    raise HTTPException(401, detail, {"WWW-Authenticate": "Bearer"})


ActorDep = Annotated[Principal, Depends(get_principal)]


_REQUEST_ID = re.compile(r"[\x21-\x7e]{1,64}")


def request_id(request: Request) -> str:
    """The caller's X-Request-ID when it is up to 64 visible ASCII characters, else a new one."""
    given = request.headers.get("x-request-id", "")
    return given if _REQUEST_ID.fullmatch(given) else uuid.uuid4().hex


RequestIdDep = Annotated[str, Depends(request_id)]
