"""`hotline simulate-call` and `hotline users add` as a user runs them."""

from __future__ import annotations

import hashlib
from pathlib import Path

from sqlalchemy import select

from service.models import ApiToken
from tests.service.conftest import ACCOUNT_SID, AUTH_TOKEN, Harness, free_port
from tests.test_cli import assert_one_line_error, run


def emulator_env(tmp_path: Path) -> dict[str, str]:
    return {
        "HOTLINE_TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "HOTLINE_TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "HOTLINE_KEYRING": str(tmp_path / "unused-keyring.json"),
    }


def test_simulate_call_drives_the_loop(harness: Harness, tmp_path: Path) -> None:
    port = free_port()
    service = harness.start(twilio_media_hosts=f"127.0.0.1:{port}")
    result = run(
        emulator_env(tmp_path), "simulate-call", "--url", service.url, "--chunks", "3", "--silent-chunk", "2",
        "--media-port", str(port), "--pause-scale", "0",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "Recording Chunk 1... Complete" in lines
    assert "Playing AI response..." in lines
    assert lines[-1] == "Call Summary: 2 chunks, all processed (1 silent)"


def test_simulate_call_reports_a_service_that_refuses(harness: Harness, tmp_path: Path) -> None:
    service = harness.start()
    env = {**emulator_env(tmp_path), "HOTLINE_TWILIO_AUTH_TOKEN": "another-token"}
    result = run(env, "simulate-call", "--url", service.url, "--media-port", str(free_port()))
    assert result.returncode == 1
    assert "HTTP 403" in result.stderr


def test_simulate_call_bad_input_is_one_line(tmp_path: Path) -> None:
    missing = run(emulator_env(tmp_path), "simulate-call", "--audio", str(tmp_path / "nope.wav"))
    assert_one_line_error(missing, 2, "No audio file")
    no_creds = run({"HOTLINE_KEYRING": str(tmp_path / "k.json")}, "simulate-call", cwd=tmp_path)
    assert_one_line_error(no_creds, 2, "HOTLINE_TWILIO_AUTH_TOKEN")


def test_users_add_prints_the_token_once(tmp_path: Path, empty_database_url: str) -> None:
    env = {"HOTLINE_DATABASE_URL": empty_database_url, "HOTLINE_KEYRING": str(tmp_path / "keyring.json")}
    assert run(env, "keys", "init").returncode == 0
    assert run(env, "db", "upgrade").returncode == 0
    created = run(env, "users", "add", "alice", "--role", "counselor")
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip()
    assert token.startswith("hl_")
    assert "shown only this once" in created.stderr
    assert_one_line_error(run(env, "users", "add", "alice", "--role", "counselor"), 1, "exists already")
    assert_one_line_error(run(env, "users", "add", "bob", "--role", "root"), 1, "Unknown role")
    from service.db import make_engine

    engine = make_engine(empty_database_url)
    with engine.connect() as connection:
        stored = connection.execute(select(ApiToken.token_hash)).scalars().all()
    engine.dispose()
    assert stored == [hashlib.sha256(token.encode()).hexdigest()]
