"""The one typed settings object, read from the environment (and `.env`) once at start-up.

Everything else receives a `Settings` instance; nothing below this module reads `os.environ`.
"""

from __future__ import annotations

from pathlib import Path
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
    operator: str | None = None
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

    @field_validator("public_url")
    @classmethod
    def _public_url_has_no_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @property
    def var_dir(self) -> Path:
        """Directory for embedded state next to the keyring (spool, dev files)."""
        return self.keyring.parent
