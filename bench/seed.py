"""Bulk rows for the benchmarks, written straight into SQLite (metadata only; no audio is read)."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path

HOTLINE = str(Path(sys.executable).parent / "hotline")


def clean_env() -> dict[str, str]:
    """This environment without HOTLINE_ settings: the benchmark's processes use the embedded defaults."""
    return {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}


def prepare(workdir: Path) -> None:
    """A keyring and a migrated SQLite database under `workdir/var`, as `make run` makes them."""
    for step in (["keys", "init"], ["db", "upgrade"]):
        subprocess.run([HOTLINE, *step], cwd=workdir, env=clean_env(), check=True, capture_output=True)


def seed_rows(db: Path, rows: int, day: dt.date) -> None:
    """Chunk rows for the export (metadata only: the export reads no audio)."""
    start = dt.datetime.combine(day, dt.time())
    data = []
    calls = []
    call_id = ""
    for i in range(rows):
        if i % 30 == 0:
            call_id = str(uuid.uuid4())
            calls.append((call_id, "CA" + uuid.uuid4().hex, "completed", start.isoformat(" "), start.isoformat(" ")))
        # SQLAlchemy's own SQLite format (always with microseconds), so range filters compare like real rows.
        at = (start + dt.timedelta(seconds=i * 86_000 / rows)).isoformat(" ", timespec="microseconds")
        ready = (start + dt.timedelta(seconds=i * 86_000 / rows + 2.2)).isoformat(" ", timespec="microseconds")
        data.append((str(uuid.uuid4()), call_id, i % 30 + 1, "RE" + uuid.uuid4().hex, "https://api.twilio.com/x", 30,
                     1, 1, at, ready, ready, "simulated", "wav", "hot", 480044, "stored", 0))  # fmt: skip
    with sqlite3.connect(db) as connection:
        connection.executemany(
            "INSERT INTO calls (id, call_sid, status, started_at, created_at) VALUES (?, ?, ?, ?, ?)", calls
        )
        connection.executemany(
            "INSERT INTO recording_chunks (id, call_id, chunk_number, recording_sid, recording_url, duration_s,"
            " processed, response_played, recorded_at, processed_at, response_ready_at, responder, codec, tier,"
            " size_bytes, storage_state, fetch_attempts) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            data,
        )


def seed_audit_events(db: Path, count: int, day: dt.date) -> None:
    """Audit events spread over one day (not a valid chain: the reports only read them)."""
    start = dt.datetime.combine(day, dt.time())
    actors = [f"counselor-{i}" for i in range(40)]
    actions = ["recording.playback", "reply.playback", "call.view", "chunk.reprocess"]
    rows = []
    for seq in range(1, count + 1):
        at = (start + dt.timedelta(seconds=seq * 86_000 / count)).isoformat(" ", timespec="microseconds")
        digest = hashlib.sha256(str(seq).encode()).hexdigest()
        rows.append((seq, at, actors[seq % 40], "counselor", actions[seq % 4], "chunk", str(uuid.uuid4()),
                     str(uuid.uuid4()), "supervision review", "10.0.0.7", "success", "{}", digest, digest))  # fmt: skip
    with sqlite3.connect(db) as connection:
        connection.executemany(
            "INSERT INTO audit_events (seq, occurred_at, actor, role, action, object_type, object_id, call_id,"
            " purpose, client_addr, outcome, details, prev_hash, hash) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            rows,
        )
