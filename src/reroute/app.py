"""The composition root: configuration in, a ready FastAPI application out."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from reroute import __version__
from reroute.api import problems
from reroute.api.idempotency import IdempotencyMiddleware
from reroute.api.routers import (
    admin,
    catalog,
    inventory,
    orders,
    rejection,
    routing,
    shipments,
)
from reroute.config import Config
from reroute.domain.settings import RuntimeSettings
from reroute.services.context import Context
from reroute.storage.database import Database


def build_context(config: Config) -> Context:
    db = Database(config.database_url, pool_size=config.db_pool_size)
    return Context(db=db, defaults=RuntimeSettings(mfg_id=config.mfg_id))


def create_app(context: Context) -> FastAPI:
    app = FastAPI(
        title="Reroute",
        version=__version__,
        description=(
            "Order management for retailers that fulfil online orders from their stores: "
            "store rejections, re-routing and Store Decline notifications."
        ),
    )
    app.state.context = context
    problems.install(app)
    api = APIRouter(prefix="/api/v1")
    for module in (catalog, inventory, orders, shipments, rejection, routing, admin):
        api.include_router(module.router)
    app.include_router(api)
    app.add_middleware(IdempotencyMiddleware, context=context)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


def from_environment() -> FastAPI:
    """Factory for `uvicorn --factory` and multi-process serving: reads `REROUTE_*`."""
    return create_app(build_context(Config()))
