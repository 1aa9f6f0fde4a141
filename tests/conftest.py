"""Shared fixtures: databases (SQLite and PostgreSQL), a keyring, settings, a wired runtime, moto's server."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from compliance.audit import GENESIS_HASH, HEAD_ROW_ID
from compliance.keys import Keyring
from service.db import all_metadata, make_engine, normalize_url
from service.runtime import Runtime, build_runtime
from service.settings import Settings

PG_ENV = "HOTLINE_TEST_POSTGRES_URL"
DATA = Path(__file__).parent / "data"


def postgres_admin_url() -> str:
    """The server to test against; skips without one, except in CI, where skipping would hide failures."""
    url = os.environ.get(PG_ENV)
    if url:
        return url
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI must run the PostgreSQL tests: set {PG_ENV} (.ci/run does).")
    pytest.skip(f"PostgreSQL tests need {PG_ENV} (e.g. postgresql://postgres@127.0.0.1:5432/test)")


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, created from the models, dropped at the end.

    When HOTLINE_TEST_POSTGRES_URL is unset the PostgreSQL variants skip; when it is set (as .ci/run sets it)
    an unreachable server is a failure, never a skip.
    """
    admin_url = postgres_admin_url()
    name = f"hotline_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(normalize_url(admin_url), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        pytest.fail(f"{PG_ENV} is set but PostgreSQL is unusable: {exc}")
    url = make_url(normalize_url(admin_url)).set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    all_metadata().create_all(engine)
    engine.dispose()
    try:
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _reset_postgres(url: str) -> None:
    engine = make_engine(url)
    tables = ", ".join(f'"{t.name}"' for t in all_metadata().sorted_tables)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        connection.execute(
            text("INSERT INTO audit_chain_head (id, seq, hash) VALUES (:id, 0, :hash)"),
            {"id": HEAD_ROW_ID, "hash": GENESIS_HASH},
        )
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database with the schema, on each backend in turn."""
    if request.param == "postgresql":
        pg_url: str = request.getfixturevalue("postgres_database")
        _reset_postgres(pg_url)
        return pg_url
    url = f"sqlite:///{tmp_path / 'hotline.db'}"
    engine = make_engine(url)
    all_metadata().create_all(engine)
    engine.dispose()
    return url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with no tables at all (for migrations and the CLI), on each backend in turn."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrated.db'}"
        return
    admin_url = postgres_admin_url()
    name = f"hotline_mig_{uuid.uuid4().hex[:10]}"
    admin = create_engine(normalize_url(admin_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(normalize_url(admin_url)).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def keyring_path(tmp_path: Path) -> Path:
    """A new keyring file."""
    path = tmp_path / "keys" / "keyring.json"
    Keyring.create(path)
    return path


def make_settings(tmp_path: Path, database_url: str, keyring_path: Path, **overrides: Any) -> Settings:
    """Settings for a test, ignoring the .env file; explicit values win over the environment."""
    values: dict[str, Any] = {
        "database_url": database_url,
        "storage_url": f"file://{tmp_path / 'store'}",
        "keyring": keyring_path,
        "export_url": str(tmp_path / "export"),
        **overrides,
    }
    return Settings(_env_file=None, **values)


@pytest.fixture
def settings(tmp_path: Path, database_url: str, keyring_path: Path) -> Settings:
    """Settings over the test's database, a local store and keyring in tmp_path."""
    return make_settings(tmp_path, database_url, keyring_path)


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    """The wired application parts."""
    wired = build_runtime(settings)
    try:
        yield wired
    finally:
        wired.close()


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """moto's S3 and KMS stand-in, reached over real HTTP on loopback."""
    from moto.server import ThreadedMotoServer

    saved = {k: os.environ.get(k) for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")}
    os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1")
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture
def harness(tmp_path: Path, database_url: str, keyring_path: Path) -> Iterator[Any]:
    """Service instances over real HTTP and a Twilio media host, for whole calls (see tests/service/conftest.py)."""
    from service.emulator import MediaServer
    from tests.service.conftest import ACCOUNT_SID, AUTH_TOKEN, Harness

    with MediaServer(ACCOUNT_SID, AUTH_TOKEN) as media:
        h = Harness(media, tmp_path, database_url, keyring_path, [])
        try:
            yield h
        finally:
            for service in h.started:
                service.stop()
