"""The `hotline` console script as a user runs it: one clear line and a non-zero exit on every mistake."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from service.db import make_engine

HOTLINE = str(Path(sys.executable).parent / "hotline")
# Run from a folder with no .env, so a developer's .env (e.g. from `make run`) cannot change the outcome.
NO_DOTENV_DIR = Path(__file__).parent


def run(env: dict[str, str], *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
    return subprocess.run(
        [HOTLINE, *args],
        env={**clean, **env},
        cwd=cwd or NO_DOTENV_DIR,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def assert_one_line_error(result: subprocess.CompletedProcess[str], code: int, *fragments: str) -> None:
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


@pytest.fixture
def env(tmp_path: Path, empty_database_url: str) -> dict[str, str]:
    return {
        "HOTLINE_DATABASE_URL": empty_database_url,
        "HOTLINE_STORAGE_URL": f"file://{tmp_path / 'store'}",
        "HOTLINE_KEYRING": str(tmp_path / "var" / "keyring.json"),
        "HOTLINE_OPERATOR": "test-admin",
    }


def test_help_lists_the_commands() -> None:
    result = run({}, "--help")
    assert result.returncode == 0
    for command in ("db", "keys", "serve", "report", "audit"):
        assert command in result.stdout


def test_keys_lifecycle_and_audit_verification(env: dict[str, str], tmp_path: Path) -> None:
    missing = run(env, "keys", "list")
    assert_one_line_error(missing, 1, "Run `hotline keys init`")

    assert run(env, "keys", "init").returncode == 0
    keyring = Path(env["HOTLINE_KEYRING"])
    assert stat.S_IMODE(keyring.stat().st_mode) == 0o600
    assert_one_line_error(run(env, "keys", "init"), 2, "already exists")
    assert run(env, "keys", "init", "--if-missing").returncode == 0

    upgrade = run(env, "db", "upgrade")
    assert upgrade.returncode == 0, upgrade.stderr
    rotated = run(env, "keys", "rotate")
    assert rotated.returncode == 0, rotated.stderr
    assert "Key version 2 is active" in rotated.stdout
    listing = run(env, "keys", "list")
    assert listing.returncode == 0
    assert "active" in listing.stdout
    assert "readable" in listing.stdout
    retired = run(env, "keys", "retire", "1")
    assert retired.returncode == 0, retired.stderr

    assert run(env, "audit", "checkpoint").returncode == 0
    intact = run(env, "report", "verify-audit")
    assert intact.returncode == 0, intact.stderr
    assert intact.stdout.startswith("Audit log intact: 2 events, 1 signed checkpoints")

    engine = make_engine(env["HOTLINE_DATABASE_URL"])
    with engine.begin() as connection:
        actions = [tuple(r) for r in connection.execute(text("SELECT action, actor FROM audit_events ORDER BY seq"))]
        assert actions == [("keys.rotate", "test-admin"), ("keys.retire", "test-admin")]
        connection.execute(text("UPDATE audit_events SET actor = 'mallory' WHERE seq = 1"))
    engine.dispose()
    tampered = run(env, "report", "verify-audit")
    assert_one_line_error(tampered, 1, "event 1", "altered")


def test_unreachable_database_names_the_url_without_password(tmp_path: Path) -> None:
    env = {
        "HOTLINE_DATABASE_URL": "postgresql://postgres:s3cret@127.0.0.1:1/hotline",
        "HOTLINE_KEYRING": str(tmp_path / "keyring.json"),
    }
    assert run(env, "keys", "init").returncode == 0
    result = run(env, "db", "upgrade")
    assert_one_line_error(result, 1, "Cannot reach the database at postgresql+psycopg://postgres:***@127.0.0.1:1")
    assert "s3cret" not in result.stderr


def test_invalid_setting_is_one_line(tmp_path: Path) -> None:
    result = run(
        {"HOTLINE_STORAGE_URL": "ftp://example/x", "HOTLINE_KEYRING": str(tmp_path / "k.json")}, "keys", "list"
    )
    assert_one_line_error(result, 2, "HOTLINE_STORAGE_URL")


def test_defaults_live_under_var_of_the_working_directory(tmp_path: Path) -> None:
    assert run({}, "keys", "init", cwd=tmp_path).returncode == 0
    assert (tmp_path / "var" / "keyring.json").exists()
    upgrade = run({}, "db", "upgrade", cwd=tmp_path)
    assert upgrade.returncode == 0, upgrade.stderr
    for name in ("hotline.db", "keyring.json"):
        assert stat.S_IMODE((tmp_path / "var" / name).stat().st_mode) == 0o600
