"""The composition root: configuration in, a ready FastAPI application out."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI

from reroute import __version__, pages
from reroute.api import openapi, problems
from reroute.api.idempotency import IdempotencyMiddleware
from reroute.api.limits import InputLimits
from reroute.api.paths import RawPath
from reroute.api.routers import (
    admin,
    blocks,
    cancellation,
    catalog,
    inventory,
    notifications,
    orders,
    rejection,
    routing,
    shipments,
)
from reroute.config import Config
from reroute.delivery.worker import DeliveryWorker
from reroute.domain.settings import RuntimeSettings
from reroute.jobs import Scheduler
from reroute.services.context import Context
from reroute.storage.database import Database


def build_context(config: Config) -> Context:
    db = Database(config.database_url, pool_size=config.db_pool_size)
    return Context(
        db=db, defaults=RuntimeSettings(mfg_id=config.mfg_id), security=config.security()
    )


def create_app(
    context: Context, *, worker: DeliveryWorker | None = None, session_secret: str | None = None
) -> FastAPI:
    """The application; with a `worker`, webhook delivery runs beside it while it serves.
    Page sessions are signed with `session_secret` (default: REROUTE_SESSION_SECRET, else a
    random one for this process)."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if worker is not None:
            worker.start()
        try:
            yield
        finally:
            if worker is not None:
                worker.stop()

    app = FastAPI(
        lifespan=lifespan,
        title="Reroute",
        version=__version__,
        description=(
            "Order management for retailers that fulfil online orders from their stores: "
            "store rejections, re-routing and Store Decline notifications."
        ),
        docs_url=None,  # served offline by openapi.install
        redoc_url=None,
    )
    app.state.context = context
    problems.install(app)
    openapi.install(app)
    api = APIRouter(prefix="/api/v1")
    for module in (
        catalog,
        inventory,
        blocks,
        orders,
        shipments,
        rejection,
        cancellation,
        routing,
        notifications,
        admin,
    ):
        api.include_router(module.router)
    app.include_router(api)
    app.add_middleware(IdempotencyMiddleware, context=context)
    app.add_middleware(RawPath)  # ids with "/" in paths (see reroute.api.paths)
    if session_secret is None:
        session_secret = Config().session_secret
    pages.install(app, context, session_secret)
    # Added last, so outermost: oversized bodies and undecodable headers stop here.
    app.add_middleware(InputLimits, max_body_bytes=context.security.max_body_bytes)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


def from_environment() -> FastAPI:
    """Factory for `uvicorn --factory` and multi-process serving: reads `REROUTE_*`.
    Delivers webhooks too unless REROUTE_SERVE_WORKER is false."""
    config = Config()
    context = build_context(config)
    worker = (
        DeliveryWorker(context, config.worker_settings(), Scheduler(context))
        if config.serve_worker
        else None
    )
    if not config.session_secret:
        logging.getLogger("reroute.pages").warning(
            "REROUTE_SESSION_SECRET is not set: each process signs its own sessions, so with "
            "several processes people are signed out at random; set it to one shared secret."
        )
    return create_app(context, worker=worker, session_secret=config.session_secret)
