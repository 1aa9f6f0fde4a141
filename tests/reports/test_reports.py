"""Every `hotline report` command, on data made by the real call loop and jobs, in every format."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import stat
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from cli import app
from compliance.holds import place_hold
from compliance.models import AuditEvent
from jobs.registry import JOBS
from jobs.runner import JobContext, run_job
from reports.queries import FIELDS
from service.db import transaction
from service.models import Call, RecordingChunk
from service.users import add_user
from tests.service.conftest import Harness, RunningService
from tests.test_cli import assert_one_line_error, run

README = Path(__file__).resolve().parents[2] / "README.md"
NOW = dt.datetime.now(dt.UTC)


@dataclass
class Populated:
    service: RunningService
    env: dict[str, str]
    held_call: str
    deleted_call: str


def job(service: RunningService, name: str, days: float) -> None:
    run_job(JOBS[name], JobContext(service.runtime, name, NOW + dt.timedelta(days=days)))


@pytest.fixture
def populated(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> Populated:
    service = harness.start()
    assert harness.call(service, chunks=2).ok
    assert harness.call(service, chunks=1).ok
    with service.runtime.readers() as session:
        calls = session.scalars(select(Call).order_by(Call.started_at)).all()
        first_chunk = session.scalars(select(RecordingChunk).where(RecordingChunk.call_id == calls[0].id)).first()
    with transaction(service.runtime.sessions) as session:
        token = add_user(session, "dana", "counselor", actor="admin")
        place_hold(session, calls[0].id, "subpoena 7", actor="officer")
    assert first_chunk is not None
    played = httpx.get(f"{service.url}/api/chunks/{first_chunk.id}/audio?purpose=supervision",
                       headers={"Authorization": f"Bearer {token}"})  # fmt: skip
    assert played.status_code == 200
    job(service, "export", 1)
    job(service, "archive", 31)
    job(service, "anonymize", 31)
    job(service, "retention", 91)
    settings = service.runtime.settings
    env = {
        "HOTLINE_DATABASE_URL": settings.database_url, "HOTLINE_STORAGE_URL": settings.storage_url,
        "HOTLINE_KEYRING": str(settings.keyring), "HOTLINE_EXPORT_URL": settings.export_url,
        "HOTLINE_OPERATOR": "officer-ana",
    }  # fmt: skip
    monkeypatch.chdir(harness.tmp_path)
    return Populated(service, env, calls[0].id, calls[1].id)


COMMANDS = {
    "access": ["access"], "retention": ["retention", "--days", "120"], "holds": ["holds"],
    "deletions": ["deletions"], "processing": ["processing"], "storage": ["storage"], "jobs": ["jobs"],
}  # fmt: skip


def invoke(populated: Populated, *args: str) -> str:
    result = CliRunner().invoke(app, ["report", *args], env=populated.env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.mark.parametrize("fmt", ["json", "csv", "table"])
def test_every_report_in_every_format(populated: Populated, fmt: str) -> None:
    for name, args in {**COMMANDS, "call": ["call", populated.held_call, "--purpose", "review"]}.items():
        output = invoke(populated, *args, "--format", fmt)
        if fmt == "json":
            rows = json.loads(output)
            assert rows, name
            assert all(list(row) == FIELDS[name] for row in rows), name
        elif fmt == "csv":
            reader = csv.DictReader(io.StringIO(output))
            assert reader.fieldnames == FIELDS[name], name
            assert list(reader), name
        else:
            assert "rows" in output and "┃" in output, name


def test_access_answers_who_what_why(populated: Populated) -> None:
    rows = json.loads(invoke(populated, "access", "--action", "recording.", "--format", "json"))
    assert [(r["actor"], r["role"], r["purpose"], r["outcome"]) for r in rows] == [
        ("dana", "counselor", "supervision", "success")
    ]
    by_call = json.loads(invoke(populated, "access", "--call", populated.held_call, "--format", "json"))
    assert {r["action"] for r in by_call} >= {"hold.place", "recording.playback"}
    assert json.loads(invoke(populated, "access", "--actor", "nobody", "--format", "json")) == []
    future = json.loads(invoke(populated, "access", "--since", "2999-01-01", "--format", "json"))
    assert future == []


def test_call_report_is_a_chain_of_custody_and_is_audited(populated: Populated) -> None:
    rows = json.loads(invoke(populated, "call", populated.held_call, "--purpose", "court request", "--format", "json"))
    events = [r["event"] for r in rows]
    for expected in ("call started", "recorded", "AI processed", "archived", "legal hold placed", "recording.playback",
                     "retention due"):  # fmt: skip
        assert expected in events, expected
    assert "caller data anonymized" not in events  # the hold stops anonymization too
    deleted = json.loads(invoke(populated, "call", populated.deleted_call, "--purpose", "audit", "--format", "json"))
    assert any(r["event"] == "recording deleted" and "signature valid" in r["detail"] for r in deleted)
    assert "caller data anonymized" in [r["event"] for r in deleted]
    with populated.service.runtime.readers() as session:
        audited = session.scalars(select(AuditEvent).where(AuditEvent.action == "report.call")).all()
        assert [(e.actor, e.purpose) for e in audited] == [("officer-ana", "court request"), ("officer-ana", "audit")]
    missing = CliRunner().invoke(app, ["report", "call", populated.held_call], env=populated.env)
    assert missing.exit_code == 2


def test_retention_holds_deletions_storage(populated: Populated) -> None:
    due = {r["data_class"]: r for r in json.loads(invoke(populated, "retention", "--days", "120", "--format", "json"))}
    assert due["recording"]["held_items"] == 2 and due["recording"]["due_items"] == 0
    holds = json.loads(invoke(populated, "holds", "--format", "json"))
    assert [(h["call_id"], h["status"], h["reason"]) for h in holds] == [(populated.held_call, "active", "subpoena 7")]
    deletions = json.loads(invoke(populated, "deletions", "--format", "json"))
    assert {d["object_type"] for d in deletions} >= {"recording"}
    assert all(d["signature_valid"] is True and d["call_id"] == populated.deleted_call for d in deletions)
    storage = json.loads(invoke(populated, "storage", "--format", "json"))
    assert storage == [{"tier": "archive", "codec": "flac", "objects": 2, "bytes": storage[0]["bytes"]}]


def test_processing_from_database_and_from_export_agree(populated: Populated, tmp_path: Path) -> None:
    from_db = json.loads(invoke(populated, "processing", "--format", "json"))
    exported = json.loads(invoke(populated, "processing", "--from-export", "--format", "json"))
    assert [r["chunks"] for r in from_db] == [3]
    # The export suppresses small cells (two calls < 5), the database does not.
    assert exported and exported[0]["chunks"] is None and exported[0]["day"] == from_db[0]["day"]
    chart = tmp_path / "processing.png"
    invoke(populated, "processing", "--chart", str(chart), "--format", "csv")
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    storage_chart = tmp_path / "storage.png"
    invoke(populated, "storage", "--chart", str(storage_chart))
    assert storage_chart.stat().st_size > 1000


def test_output_file_is_private(populated: Populated, tmp_path: Path) -> None:
    target = tmp_path / "access.csv"
    invoke(populated, "access", "--format", "csv", "--output", str(target))
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert target.read_text().startswith(",".join(FIELDS["access"]))


def test_bad_input_is_one_clear_line(populated: Populated) -> None:
    env = populated.env
    assert_one_line_error(run(env, "report", "access", "--since", "last tuesday"), 2, "--since")
    assert_one_line_error(run(env, "report", "call", "CAnope", "--purpose", "x"), 1, "No call")
    assert_one_line_error(run(env, "report", "jobs", "--format", "xml"), 2, "Unknown format")
    assert_one_line_error(run(env, "report", "deletions", "--since", "2026-02-01", "--until", "2026-01-01"), 2, "empty")


def test_json_fields_are_documented() -> None:
    text = README.read_text()
    lines = {m.group(1): m.group(0) for m in re.finditer(r"^- `report ([a-z-]+).*$", text, re.M)}
    for name, fields in FIELDS.items():
        assert name in lines, f"README documents no `report {name}`"
        documented = lines[name].split(":", 1)[1]
        assert [f for f in fields if f"`{f}`" not in documented] == [], name


def test_processing_sql_figures_match_the_export_rollup(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    service = harness.start(simulated_failure_rate=0.0)
    for _ in range(5):
        assert harness.call(service, chunks=2).ok
    job(service, "export", 1)
    settings = service.runtime.settings
    env = {"HOTLINE_DATABASE_URL": settings.database_url, "HOTLINE_STORAGE_URL": settings.storage_url,
           "HOTLINE_KEYRING": str(settings.keyring), "HOTLINE_EXPORT_URL": settings.export_url}  # fmt: skip
    monkeypatch.chdir(harness.tmp_path)
    populated = Populated(service, env, "", "")
    from_db = json.loads(invoke(populated, "processing", "--format", "json"))
    exported = json.loads(invoke(populated, "processing", "--from-export", "--format", "json"))
    assert len(from_db) == len(exported) == 1
    for name in ("day", "calls", "chunks", "processed_pct", "replies_delivered_pct"):
        assert from_db[0][name] == exported[0][name], name
    assert from_db[0]["calls"] == 5 and from_db[0]["chunks"] == 10
    assert from_db[0]["latency_p50_ms"] == pytest.approx(exported[0]["latency_p50_ms"], abs=1.0)
    assert from_db[0]["latency_p95_ms"] == pytest.approx(exported[0]["latency_p95_ms"], abs=1.0)
