"""`hotline jobs ...` and `hotline hold ...` as an operator runs them; the scheduler starts and stops cleanly."""

from __future__ import annotations

import signal
import subprocess
import time

from sqlalchemy import inspect, select

from compliance.models import AuditEvent
from jobs.scheduler import build_scheduler
from service.runtime import Runtime
from service.settings import Settings
from tests.jobs.conftest import seed
from tests.jobs.test_concurrency_and_crashes import env_for
from tests.test_cli import HOTLINE, NO_DOTENV_DIR, assert_one_line_error


def hotline(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**env_for(settings), "HOTLINE_OPERATOR": "officer-ana"}
    return subprocess.run([HOTLINE, *args], env=env, cwd=NO_DOTENV_DIR, capture_output=True, text=True, timeout=120,
                          check=False)  # fmt: skip


def test_jobs_run_and_list(runtime: Runtime, settings: Settings) -> None:
    seed(runtime, calls=2)
    result = hotline(settings, "jobs", "run", "archive", "--as-of", "2099-01-01", "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "would archive chunk" in result.stdout
    assert "archive succeeded (dry run): examined 2, changed 0" in result.stdout
    done = hotline(settings, "jobs", "run", "archive", "--as-of", "2099-01-01")
    assert "examined 2, changed 2, skipped 0, failed 0 (compression" in done.stdout
    listing = hotline(settings, "jobs", "list")
    assert listing.returncode == 0
    for name in ("archive", "retention", "anonymize", "export", "audit-checkpoint"):
        assert name in listing.stdout
    assert "succeeded" in listing.stdout


def test_jobs_run_bad_input(settings: Settings, runtime: Runtime) -> None:
    assert_one_line_error(hotline(settings, "jobs", "run", "vacuum"), 2, "Unknown job 'vacuum'")
    assert_one_line_error(hotline(settings, "jobs", "run", "archive", "--as-of", "next week"), 2, "--as-of")


def test_holds_from_the_cli_are_audited(runtime: Runtime, settings: Settings) -> None:
    seeded = seed(runtime, calls=1)
    with runtime.readers() as session:
        from service.models import Call

        call_sid = session.get(Call, seeded.call_ids[0]).call_sid  # type: ignore[union-attr]
    placed = hotline(settings, "hold", "add", "--call", call_sid, "--reason", "subpoena 42")
    assert placed.returncode == 0, placed.stderr
    assert f"placed on call {seeded.call_ids[0]}" in placed.stdout
    assert "subpoena 42" in hotline(settings, "hold", "list").stdout
    assert_one_line_error(hotline(settings, "hold", "add", "--call", "CAnope", "--reason", "x"), 1, "No call")
    past = hotline(settings, "hold", "add", "--call", call_sid, "--reason", "x", "--until", "2001-01-01")
    assert_one_line_error(past, 1, "in the past")
    kept = hotline(settings, "jobs", "run", "retention", "--as-of", "2099-01-01")
    assert "skipped" in kept.stdout
    released = hotline(settings, "hold", "release", seeded.call_ids[0], "--reason", "case closed")
    assert released.returncode == 0, released.stderr
    assert "subpoena 42" not in hotline(settings, "hold", "list").stdout
    assert "subpoena 42" in hotline(settings, "hold", "list", "--all").stdout
    with runtime.readers() as session:
        events = session.scalars(select(AuditEvent).order_by(AuditEvent.seq)).all()
        assert [(e.action, e.actor) for e in events][:2] == [
            ("hold.place", "officer-ana"),
            ("hold.release", "officer-ana"),
        ]


def test_scheduler_holds_every_job_and_stops_on_sigterm(runtime: Runtime, settings: Settings) -> None:
    scheduler = build_scheduler(settings)
    assert sorted(job.id for job in scheduler.get_jobs()) == sorted(
        ["archive", "retention", "anonymize", "export", "audit-checkpoint"]
    )
    process = subprocess.Popen([HOTLINE, "jobs", "scheduler"], env=env_for(settings), cwd=NO_DOTENV_DIR, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    deadline = time.monotonic() + 30
    while "apscheduler_jobs" not in inspect(runtime.engine).get_table_names() and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(1)
    process.send_signal(signal.SIGTERM)
    _out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert "apscheduler_jobs" in inspect(runtime.engine).get_table_names()
    assert "Traceback" not in err
