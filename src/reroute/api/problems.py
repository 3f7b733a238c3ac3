"""Every error answer is `application/problem+json` (RFC 9457) that a person can act on."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from reroute.api.schemas.common import NUL_MESSAGE
from reroute.domain.errors import (
    Busy,
    Conflict,
    DomainError,
    Forbidden,
    Invalid,
    NotFound,
    PreconditionFailed,
    Unauthenticated,
)

log = logging.getLogger("reroute.api")

PROBLEM = "application/problem+json"
#: The HTTP status of each kind of refusal, for the API and the pages alike (SPEC 7); any
#: other refusal is a 400.
STATUS_OF_ERROR: dict[type[DomainError], int] = {
    NotFound: 404,
    Conflict: 409,
    Forbidden: 403,
    Invalid: 422,
    Busy: 503,
    Unauthenticated: 401,
    PreconditionFailed: 412,
}


def status_of(exc: DomainError) -> int:
    return next((s for kind, s in STATUS_OF_ERROR.items() if isinstance(exc, kind)), 400)


def problem(status: int, title: str, detail: str, instance: str, **extra: Any) -> JSONResponse:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    body["instance"] = instance
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM)


def _path(location: tuple[Any, ...] | list[Any]) -> str:
    # FastAPI locates body errors as ("body", "items", 2, "quantity"): keep what follows "body".
    parts = list(location)
    if parts and parts[0] in ("body", "query", "path", "header"):
        parts = parts[1:] if parts[0] == "body" else parts
    return ".".join(str(p) for p in parts) or "body"


def unreadable_body(exc: BaseException) -> str | None:
    """Why a JSON body could not be read, when that is the sender's doing (FastAPI answers such
    bodies with a bare 400 and the cause attached)."""
    cause = exc.__cause__
    if isinstance(cause, RecursionError):
        return "The JSON nests too deeply to read."
    if isinstance(cause, UnicodeDecodeError):
        return "The body is not UTF-8 JSON."
    return None


def is_nul_refusal(exc: BaseException) -> bool:
    """The database driver refused a NUL character (only PostgreSQL does): a last line behind
    the validation that should have refused it first."""
    return isinstance(exc, DataError) and "NUL" in str(exc.orig)


def install(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def domain_error(request: Request, exc: DomainError) -> JSONResponse:
        status = status_of(exc)
        if status in (401, 403):
            log.warning("refused %s %s: %s", request.method, request.url.path, exc.detail)
        extra: dict[str, Any] = {}
        if isinstance(exc, Invalid):
            extra["errors"] = [{"path": e.path, "message": e.message} for e in exc.errors]
        response = problem(status, exc.title, exc.detail, request.url.path, **extra)
        if isinstance(exc, Busy):
            response.headers["Retry-After"] = str(exc.retry_after_s)
        if isinstance(exc, Unauthenticated):
            response.headers["WWW-Authenticate"] = "Bearer"
        return response

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"path": _path(e.get("loc", ())), "message": str(e.get("msg", "invalid"))}
            for e in exc.errors()
        ]
        summary = "; ".join(f"{e['path']}: {e['message']}" for e in errors[:5])
        return problem(422, Invalid.title, summary, request.url.path, errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        unreadable = unreadable_body(exc) if exc.status_code == 400 else None
        if unreadable is not None:
            errors = [{"path": "body", "message": unreadable}]
            return problem(422, Invalid.title, unreadable, request.url.path, errors=errors)
        if exc.status_code in (401, 403):
            log.warning("refused %s %s: %s", request.method, request.url.path, exc.detail)
        titles = {
            401: "Not signed in",
            403: Forbidden.title,
            404: NotFound.title,
            405: "Method not allowed",
            413: "Content too large",
            429: "Too many requests",
        }
        response = problem(
            exc.status_code,
            titles.get(exc.status_code, DomainError.title),
            str(exc.detail),
            request.url.path,
        )
        for name, value in (exc.headers or {}).items():
            response.headers[name] = value
        return response

    @app.exception_handler(DataError)
    async def data_error(request: Request, exc: DataError) -> JSONResponse:
        if not is_nul_refusal(exc):
            return await unexpected(request, exc)
        log.warning("NUL reached the database on %s %s", request.method, request.url.path)
        errors = [{"path": "body", "message": NUL_MESSAGE}]
        return problem(422, Invalid.title, NUL_MESSAGE, request.url.path, errors=errors)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return problem(
            500,
            "Internal error",
            "Something went wrong on our side and nothing was changed. "
            "Try again, and report it if it persists.",
            request.url.path,
        )
