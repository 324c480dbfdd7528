"""Settings, read from the environment (prefix SOCIALDESK_) or a `.env` file; nothing at import time.

`Settings()` is built by the entry points and handed down; no module reads the environment itself.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite:///var/socialdesk.db"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="SOCIALDESK_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    database_url: str = Field(
        DEFAULT_DATABASE_URL,
        description="SQLAlchemy URL: sqlite:///path/file.db (default) or postgresql://user@host/db",
    )
    sqlite_synchronous: Literal["FULL", "NORMAL", "EXTRA"] = Field(
        "FULL", description="SQLite fsync level; FULL keeps an acknowledged message on power loss"
    )
    db_pool_size: int = Field(10, ge=1, le=200)
    reopen_quiet_period_hours: float = Field(
        168,
        ge=0,
        description="a customer writing to a conversation closed longer ago than this starts a new one",
    )
    first_response_minutes: int = Field(60, ge=1, description="first response target")
    next_response_minutes: int = Field(60, ge=1, description="next response target")
    max_batch_items: int = Field(1000, ge=1, le=10000)
    max_body_bytes: int = Field(
        32 * 1024 * 1024, ge=1024, description="largest request body accepted, in bytes"
    )
    embedded_worker: bool = Field(
        True, description="run background jobs (snooze wake-ups) inside the web process"
    )
    worker_interval_seconds: float = Field(5.0, gt=0)
    log_level: str = "INFO"
