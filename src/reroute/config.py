"""Configuration from `REROUTE_*` environment variables or a `.env` file."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from reroute.delivery.policy import parse_schedule
from reroute.delivery.worker import WorkerSettings
from reroute.services.context import Security


class Config(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="REROUTE_", env_file=".env", extra="ignore")

    database_url: str = Field(
        default="sqlite:///reroute.db",
        description="sqlite:///path.db (embedded) or postgresql+psycopg://user@host/db",
    )
    mfg_id: str = Field(default="0", description="Tenant id sent as scope.mfgID")
    db_pool_size: int = Field(default=10, ge=1, le=200)
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    log_level: str = "info"
    webhook_retry_schedule: str = Field(
        default="0,5,300,1800,7200,18000,36000,36000",
        description="Seconds before each delivery attempt, comma-separated (SPEC 6.3)",
    )
    webhook_lease_seconds: float = Field(default=60.0, gt=0, le=3600)
    webhook_concurrency: int = Field(default=16, ge=1, le=256)
    serve_worker: bool = Field(default=True, description="Deliver webhooks inside `serve`")
    worker_poll_seconds: float = Field(default=0.5, gt=0, le=60)
    session_secret: str = Field(
        default="", description="Signs session cookies; a random one per start if empty"
    )

    webhook_allow_private_targets: bool = Field(
        default=False,
        description="Allow webhook URLs on loopback, private, link-local or metadata addresses",
    )
    max_body_bytes: int = Field(default=1_048_576, ge=1024, description="Largest request body")
    idempotency_ttl_hours: float = Field(default=24.0, gt=0, le=24 * 30)
    trusted_proxy_headers: str = Field(
        default="",
        description="Comma-separated proxy headers trusted to tell https, e.g. x-forwarded-proto",
    )
    max_parallel_hashes: int = Field(default=4, ge=1, le=64)

    def security(self) -> Security:
        return Security(
            allow_private_webhook_targets=self.webhook_allow_private_targets,
            max_body_bytes=self.max_body_bytes,
            idempotency_ttl_hours=self.idempotency_ttl_hours,
            trusted_proxy_headers=tuple(
                h.strip().lower() for h in self.trusted_proxy_headers.split(",") if h.strip()
            ),
            max_parallel_hashes=self.max_parallel_hashes,
        )

    def worker_settings(self) -> WorkerSettings:
        return WorkerSettings(
            schedule=parse_schedule(self.webhook_retry_schedule),
            lease_seconds=self.webhook_lease_seconds,
            concurrency=self.webhook_concurrency,
            poll_seconds=self.worker_poll_seconds,
        )
