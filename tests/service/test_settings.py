"""Settings: defaults, URL normalisation, and clear refusals."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from service.db import normalize_url, redact_url
from service.settings import Settings


def test_defaults_are_the_embedded_setup(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    settings = Settings(_env_file=None)
    assert settings.database_url == "sqlite:///./var/hotline.db"
    assert settings.storage_url == f"file://{tmp_path}/var/store"
    assert settings.keyring == Path("./var/keyring.json")
    assert settings.public_url == "http://127.0.0.1:8000"
    assert settings.kms_key_id is None
    assert settings.twilio_auth_token is None


def test_environment_and_dotenv(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text(
        "HOTLINE_PUBLIC_URL=https://hotline.example.org/\nHOTLINE_TWILIO_AUTH_TOKEN=synthetic-secret-value\n"
    )
    monkeypatch.setenv("HOTLINE_STORAGE_URL", "s3://bucket/prefix")
    settings = Settings()
    assert settings.public_url == "https://hotline.example.org"
    assert settings.storage_url == "s3://bucket/prefix"
    assert settings.twilio_auth_token is not None
    assert "synthetic-secret-value" not in repr(settings)


@pytest.mark.parametrize("url", ["ftp://x/y", "s3:///no-bucket", "bucket/prefix"])
def test_bad_storage_urls_are_refused(url: str) -> None:
    with pytest.raises(ValidationError, match="HOTLINE_STORAGE_URL"):
        Settings(_env_file=None, storage_url=url)


def test_database_urls_get_their_drivers() -> None:
    assert normalize_url("postgresql://postgres@127.0.0.1/test").startswith("postgresql+psycopg://")
    assert normalize_url("sqlite:///var/x.db") == "sqlite:///var/x.db"
    assert "hunter2" not in redact_url("postgresql://u:hunter2@h/db")


def test_bad_schedule_is_refused() -> None:
    with pytest.raises(ValidationError, match="crontab"):
        Settings(_env_file=None, schedule_archive="every hour")
