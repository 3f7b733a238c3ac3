"""Every error answer is `application/problem+json` (RFC 9457) that a person can act on."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from reroute.domain.errors import Conflict, DomainError, Forbidden, Invalid, NotFound

log = logging.getLogger("reroute.api")

PROBLEM = "application/problem+json"
_STATUS = {NotFound: 404, Conflict: 409, Forbidden: 403, Invalid: 422}


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


def install(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def domain_error(request: Request, exc: DomainError) -> JSONResponse:
        status = next((s for kind, s in _STATUS.items() if isinstance(exc, kind)), 400)
        if status == 403:
            log.warning("refused %s %s: %s", request.method, request.url.path, exc.detail)
        extra: dict[str, Any] = {}
        if isinstance(exc, Invalid):
            extra["errors"] = [{"path": e.path, "message": e.message} for e in exc.errors]
        return problem(status, exc.title, exc.detail, request.url.path, **extra)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"path": _path(e.get("loc", ())), "message": str(e.get("msg", "invalid"))}
            for e in exc.errors()
        ]
        summary = "; ".join(f"{e['path']}: {e['message']}" for e in errors[:5])
        return problem(422, "Invalid input", summary, request.url.path, errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code in (401, 403):
            log.warning("refused %s %s: %s", request.method, request.url.path, exc.detail)
        titles = {
            401: "Not signed in",
            403: "Forbidden",
            404: "Not found",
            405: "Method not allowed",
        }
        response = problem(
            exc.status_code,
            titles.get(exc.status_code, "Request refused"),
            str(exc.detail),
            request.url.path,
        )
        for name, value in (exc.headers or {}).items():
            response.headers[name] = value
        return response

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
