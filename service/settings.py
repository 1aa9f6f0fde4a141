"""The one typed settings object, read from the environment (and `.env`) once at start-up.

Everything else receives a `Settings` instance; nothing below this module reads `os.environ`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Configuration of every hotline process (service, CLI, jobs)."""

    model_config = SettingsConfigDict(
        env_prefix="HOTLINE_", env_file=".env", env_file_encoding="utf-8", extra="ignore", frozen=True
    )

    database_url: str = "sqlite:///./var/hotline.db"
    storage_url: str = "file://./var/store"
    s3_endpoint_url: str | None = None
    s3_archive_storage_class: str = "GLACIER_IR"
    keyring: Path = Path("./var/keyring.json")
    kms_key_id: str | None = None
    kms_endpoint_url: str | None = None
    aws_region: str = "us-east-1"
    public_url: str = "http://127.0.0.1:8000"
    twilio_account_sid: str | None = None
    twilio_auth_token: SecretStr | None = None
    twilio_media_hosts: str = "api.twilio.com"
    twilio_api_base_url: str = "https://api.twilio.com"
    delete_from_twilio: bool = False
    escalation_number: str | None = None
    escalation_after_failures: int = Field(default=3, ge=1)
    responder: Literal["simulated", "sarvam"] = "simulated"
    simulated_delay_s: float = Field(default=2.0, ge=0)
    simulated_failure_rate: float = Field(default=0.0, ge=0, le=1)
    sarvam_api_key: SecretStr | None = None
    sarvam_base_url: str = "https://api.sarvam.ai"
    sarvam_timeout_s: float = Field(default=20.0, gt=0)
    # A webhook answers within this budget (Twilio gives up after ~15 s); a slower reply is waited for
    # across <Pause>/<Redirect> round trips, up to turn_give_up_s, after which recording simply resumes.
    turn_budget_s: float = Field(default=8.0, gt=0, le=12)
    turn_give_up_s: float = Field(default=45.0, gt=0)
    media_fetch_budget_s: float = Field(default=6.0, gt=0)
    record_timeout_s: int = Field(default=5, ge=1)
    reply_url_ttl_s: int = Field(default=600, ge=30)
    console_session_s: int = Field(default=1800, ge=1)
    spool_dir: Path | None = None
    spool_retry_s: float = Field(default=10.0, gt=0)
    operator: str | None = None
    # Jobs: ages in days, schedules as crontab lines (UTC).
    archive_after_days: int = Field(default=30, ge=0)
    anonymize_after_days: int = Field(default=30, ge=0)
    retention_recording_days: int = Field(default=90, ge=1)
    retention_reply_days: int = Field(default=90, ge=1)
    retention_transcript_days: int = Field(default=90, ge=1)
    retention_call_metadata_days: int = Field(default=2190, ge=1)
    # HIPAA keeps compliance documentation six years; shorter is refused.
    retention_audit_days: int = Field(default=2190, ge=2190)
    retention_job_runs_days: int = Field(default=730, ge=30)
    export_url: str = "./var/export"
    export_min_cell: int = Field(default=5, ge=1)
    job_batch_size: int = Field(default=200, ge=1, le=5000)
    schedule_archive: str = "7 * * * *"
    schedule_retention: str = "30 2 * * *"
    schedule_anonymize: str = "0 3 * * *"
    schedule_export: str = "15 0 * * *"
    schedule_audit_checkpoint: str = "55 * * * *"
    log_json: bool = False
    log_level: str = Field(default="INFO")

    @field_validator("storage_url")
    @classmethod
    def _storage_url_absolute(cls, value: str) -> str:
        """Resolve `file://./relative` to an absolute `file:///...` URL once, so every process agrees."""
        parts = urlsplit(value)
        if parts.scheme == "file":
            raw = value[len("file://") :]
            return "file://" + str(Path(raw).expanduser().resolve())
        if parts.scheme == "s3":
            if not parts.netloc:
                msg = f"HOTLINE_STORAGE_URL {value!r} names no bucket: use s3://bucket/prefix."
                raise ValueError(msg)
            return value
        msg = f"HOTLINE_STORAGE_URL {value!r} is neither file:///path nor s3://bucket/prefix."
        raise ValueError(msg)

    @field_validator(
        "schedule_archive", "schedule_retention", "schedule_anonymize", "schedule_export", "schedule_audit_checkpoint"
    )
    @classmethod
    def _crontab(cls, value: str) -> str:
        """A schedule is a five-field crontab line, checked once at start."""
        from apscheduler.triggers.cron import CronTrigger

        try:
            CronTrigger.from_crontab(value, timezone="UTC")
        except ValueError as exc:
            msg = f"{value!r} is not a crontab line (minute hour day month weekday): {exc}"
            raise ValueError(msg) from exc
        return value

    @field_validator("public_url")
    @classmethod
    def _public_url_has_no_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @property
    def var_dir(self) -> Path:
        """Directory for embedded state next to the keyring (spool, dev files)."""
        return self.keyring.parent

    @property
    def spool_path(self) -> Path:
        """Where encrypted chunks wait when the store is unavailable."""
        return self.spool_dir or self.var_dir / "spool"

    @property
    def media_hosts(self) -> frozenset[str]:
        """The `host` or `host:port` entries recording media may be fetched from."""
        return frozenset(h.strip().lower() for h in self.twilio_media_hosts.split(",") if h.strip())

    @property
    def twilio_enabled(self) -> bool:
        """Whether webhooks can be authenticated at all."""
        return bool(self.twilio_account_sid and self.twilio_auth_token)
