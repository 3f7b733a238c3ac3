"""Dependencies every router shares, as `Annotated` aliases."""

from __future__ import annotations

import functools
import inspect
import re
import uuid
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from reroute.api import rate_limit
from reroute.domain.access import Principal, log_refusal
from reroute.services.context import Context
from reroute.services.tokens import REFUSED, authenticate, remembered, who_sent
from reroute.storage.unit_of_work import transaction_checks

_bearer = HTTPBearer(auto_error=False, description="An API token from `reroute token create`.")

#: Where a signed-in page session keeps its principal (the pages set it; see reroute.pages).
SESSION_PRINCIPAL = "reroute.principal"


# Dependencies that do no blocking work are `async def`: FastAPI runs a plain `def` one in the
# thread pool, a hop per dependency per request.


async def get_context(request: Request) -> Context:
    context: Context = request.app.state.context
    return context


ContextDep = Annotated[Context, Depends(get_context)]


async def get_principal(
    request: Request,
    ctx: ContextDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """A token seen valid before costs no database read here: each transaction of the request
    checks it first (`tokens.remembered`). Another is read in the thread pool. A caller past
    its request limit is refused with 429 (`rate_limit`), which reads nothing either."""
    what = f"{request.method} {request.url.path}"
    if credentials is not None:
        token = credentials.credentials
        found = remembered(ctx, token)
        if found is not None:
            principal, check = found
            rate_limit.check(ctx, principal)
            transaction_checks.set((*transaction_checks.get(), check))
            return principal
        authenticated = await run_in_threadpool(authenticate, ctx, token)
        if authenticated is None:
            sender = await run_in_threadpool(who_sent, ctx, token)
            log_refusal(sender, what, "", REFUSED)
            raise HTTPException(401, REFUSED, {"WWW-Authenticate": "Bearer"})
        rate_limit.check(ctx, authenticated)
        # Now remembered: its check runs in this request's transactions too, and notes its use.
        found = remembered(ctx, token)
        if found is not None:
            transaction_checks.set((*transaction_checks.get(), found[1]))
        return authenticated
    session_principal = request.scope.get(SESSION_PRINCIPAL)
    if isinstance(session_principal, Principal):
        rate_limit.check(ctx, session_principal)
        return session_principal
    detail = (
        "Send an API token as 'Authorization: Bearer <token>' "
        "(create one with 'reroute token create')."
    )
    log_refusal("anonymous", what, "", detail)
    raise HTTPException(401, detail, {"WWW-Authenticate": "Bearer"})


ActorDep = Annotated[Principal, Depends(get_principal)]


_REQUEST_ID = re.compile(r"[\x21-\x7e]{1,64}")


async def request_id(request: Request) -> str:
    """The caller's X-Request-ID when it is up to 64 visible ASCII characters, else a new one."""
    given = request.headers.get("x-request-id", "")
    return given if _REQUEST_ID.fullmatch(given) else uuid.uuid4().hex


RequestIdDep = Annotated[str, Depends(request_id)]


class OneHopRoute(APIRoute):
    """A route whose plain `def` endpoint goes to the thread pool once (`APIRouter(route_class=
    OneHopRoute)`): FastAPI runs such an endpoint there and then hops again to validate its
    answer, but validates an `async def` endpoint's answer in place. So the endpoint is wrapped
    in an `async def` that awaits it in the pool; `functools.wraps` keeps its signature, name
    and docstring, so parameters and OpenAPI are unchanged."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, _in_one_hop(endpoint), **kwargs)


def _in_one_hop(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    if inspect.iscoroutinefunction(endpoint):
        return endpoint

    @functools.wraps(endpoint)
    async def in_thread_pool(*args: Any, **kwargs: Any) -> Any:
        return await run_in_threadpool(endpoint, *args, **kwargs)

    return in_thread_pool
