"""Configuration from `REROUTE_*` environment variables or a `.env` file."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


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
    session_secret: str = Field(
        default="", description="Signs session cookies; a random one per start if empty"
    )
