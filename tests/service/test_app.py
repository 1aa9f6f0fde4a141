"""The service's health endpoint reports the database and the store."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from litestar.testing import TestClient

from service.app import create_app
from service.runtime import Runtime


def test_healthz_ready(runtime: Runtime) -> None:
    with TestClient(create_app(runtime=runtime)) as client:
        reply = client.get("/healthz")
    assert reply.status_code == 200
    assert reply.json() == {"status": "ok", "database": "ok", "store": "ok", "spooled": 0}


def test_healthz_reports_an_unwritable_store(runtime: Runtime, tmp_path: Path) -> None:
    store_root = tmp_path / "store"
    store_root.parent.mkdir(parents=True, exist_ok=True)
    store_root.write_text("not a directory")
    with TestClient(create_app(runtime=runtime)) as client:
        reply = client.get("/healthz")
    assert reply.status_code == 503
    assert reply.json()["store"].startswith("unavailable")
    assert reply.json()["database"] == "ok"


def test_missing_twilio_credentials_are_logged(runtime: Runtime, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        create_app(runtime=runtime)
    assert any("webhooks will be refused" in r.getMessage() for r in caplog.records)
