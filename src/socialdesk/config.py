"""Settings, read from the environment (prefix SOCIALDESK_) or a `.env` file; nothing at import time.

`Settings()` is built by the entry points and handed down; no module reads the environment itself.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Literal, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from socialdesk.domain.errors import InvalidInput
from socialdesk.domain.spikes import SpikeSettings

DEFAULT_DATABASE_URL = "sqlite:///var/socialdesk.db"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="SOCIALDESK_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    database_url: str = Field(
        DEFAULT_DATABASE_URL,
        description="SQLAlchemy URL: sqlite:///path/file.db (default) or postgresql://user@host/db",
    )
    read_database_url: str | None = Field(
        None,
        description="a PostgreSQL streaming replica for the inbox lists, search and analytics "
        "(postgresql://user@replica/db); unset: everything reads the primary",
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
        True, description="run background jobs (triage, snooze wake-ups) inside the web process"
    )
    model_dir: Path = Field(
        Path("var/models"), description="where `triage train-intents` keeps the custom intent model"
    )
    priority_weights: dict[str, float] = Field(
        default_factory=dict,
        description='most points per priority factor, JSON, e.g. {"reach": 20, "waiting": 10}',
    )
    pii_patterns: dict[str, str] = Field(
        default_factory=dict,
        description='extra PII patterns by kind, JSON, e.g. {"order_number": "\\bAM-\\d{6}\\b"}',
    )
    pii_region: str = Field("US", description="default country for phone numbers without +code")
    triage_languages: list[str] = Field(
        default_factory=list, description="languages to tell apart (ISO 639-1); empty: a wide set"
    )
    triage_threads: int = Field(2, ge=1, le=64, description="CPU threads for the triage encoder")
    worker_interval_seconds: float = Field(5.0, gt=0)
    secret_key: str | None = Field(
        None,
        description="Fernet key that encrypts channel credentials at rest (every process of a "
        "desk needs the same one); unset: a key file is made on first use",
    )
    public_url: str = Field(
        "http://127.0.0.1:8000",
        description="the desk's address as people reach it (links in escalations)",
    )
    notify_signing_secret: str | None = Field(
        None,
        description="signs escalation webhooks (X-Socialdesk-Signature) so receivers can check them",
    )
    smtp_url: str | None = Field(
        None,
        description="SMTP server for escalation e-mails: smtp://user:pass@host:25, "
        "smtp+starttls://…:587 or smtps://…:465",
    )
    mail_from: str = Field("socialdesk@localhost", description="sender of escalation e-mails")
    timezone: str = Field(
        "UTC",
        description="the desk's time zone (IANA name, e.g. Europe/Berlin): local hours of the "
        "week for spike baselines, local days in counts",
    )
    alert_webhook_url: str | None = Field(
        None, description="spike alerts are POSTed here as signed JSON (like escalations)"
    )
    alert_email: str | None = Field(
        None, description="spike alerts are e-mailed here (several addresses: comma-separated)"
    )
    spike_check_minutes: float = Field(
        5, ge=1, le=60, description="how often the spike job measures the current hour"
    )
    spike_min_volume: int = Field(
        10, ge=1, description="fewer posts in an hour than this is never a volume spike"
    )
    spike_z_threshold: float = Field(
        4.0, ge=1, le=20, description="how unusual an hour must be to alert (robust z-score)"
    )
    spike_min_ratio: float = Field(
        2.0, ge=1, description="a volume spike is at least this many times the expected count"
    )
    spike_min_negative: int = Field(
        5, ge=1, description="fewer negative posts in an hour is never a negative-share spike"
    )
    spike_share_margin: float = Field(
        0.15,
        ge=0,
        lt=1,
        description="how far the hour's negative share must exceed the usual one (0.15: 15 points)",
    )
    spike_release_z: float | None = Field(
        None,
        gt=0,
        description="an open spike is calm while its z stays below this; unset: 2, or the z "
        "threshold when that is lower",
    )
    spike_recovery_hours: int = Field(
        2, ge=1, le=168, description="complete calm hours in a row before an alert closes"
    )
    spike_cooldown_minutes: float = Field(
        0,
        ge=0,
        le=43200,
        description="least time between two alerts about one subject (0: none; 30 days at most)",
    )
    spike_weeks: int = Field(8, ge=1, le=52, description="weeks of history a baseline reads")
    spike_min_weeks: int = Field(
        3, ge=1, description="with fewer same-hour samples than this, the neighbouring hours join"
    )
    secret_key_file: Path = Field(
        Path("var/secret.key"), description="where the credential key is kept when not given"
    )
    api_requests_per_minute: int = Field(
        6000,
        ge=1,
        le=1_000_000,
        description="requests one API token may make per minute (per web process); more get 429",
    )
    api_auth_failures_per_minute: int = Field(
        30,
        ge=1,
        le=100_000,
        description="failed API token checks one address may make per minute before it gets 429",
    )
    login_failure_delay_seconds: float = Field(
        1.0, ge=0, le=10, description="how long a failed web sign-in waits before answering"
    )
    staffing_handle_minutes: float = Field(
        6,
        gt=0,
        le=480,
        description="handle time for staffing plans while fewer than 50 replies can be "
        "measured (docs/staffing.md)",
    )
    log_level: str = "INFO"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        """A wrong zone is refused at start, not found by the first job that counts local hours."""
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(
                f"unknown time zone {value!r}; use an IANA name such as Europe/Berlin or UTC"
            ) from exc
        return value

    def spike_settings(self) -> SpikeSettings:
        """The spike detector's thresholds (domain/spikes.py) from the SPIKE_* settings."""
        release_z = self.spike_release_z
        if release_z is None:  # the domain's default, lowered with a threshold below it
            release_z = min(SpikeSettings().release_z, self.spike_z_threshold)
        return SpikeSettings(
            z_threshold=self.spike_z_threshold,
            min_volume=self.spike_min_volume,
            min_ratio=self.spike_min_ratio,
            share_margin=self.spike_share_margin,
            min_negative=self.spike_min_negative,
            release_z=release_z,
            recovery_hours=self.spike_recovery_hours,
            cooldown=timedelta(minutes=self.spike_cooldown_minutes),
            weeks=self.spike_weeks,
            min_weeks=self.spike_min_weeks,
        )

    @model_validator(mode="after")
    def _replica_of_postgresql(self) -> Self:
        """A replica only makes sense beside a PostgreSQL primary (SQLite has none)."""
        if self.read_database_url and not (
            self.database_url.startswith("postgres")
            and self.read_database_url.startswith("postgres")
        ):
            raise ValueError(
                "SOCIALDESK_READ_DATABASE_URL is a PostgreSQL streaming replica of a PostgreSQL "
                "SOCIALDESK_DATABASE_URL; unset it with SQLite"
            )
        return self

    @model_validator(mode="after")
    def _spike_settings_fit(self) -> Self:
        """Each SPIKE_* field checks its own range; how they must fit together (the release
        below the threshold) is the domain's rule, checked here so a desk refuses to start
        rather than its spike job failing on every pass."""
        try:
            self.spike_settings()
        except InvalidInput as exc:
            raise ValueError(
                f"the SOCIALDESK_SPIKE_* settings do not fit together: {exc.message}"
            ) from None
        return self
