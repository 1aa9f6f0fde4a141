"""How do the batch jobs compare with their floors, and how much memory do they take?

Seeds N real-speech 30-second chunks (default 10,000), encrypted in the local store through the vault, and
times, each side by side with its floor in the same run:
  archive   vs  raw FLAC encoding of the same audio (soundfile), N times
  retention vs  bare unlink of as many files of the same size
  export    vs  a direct pyarrow write of the same rows (default 1,000,000 chunk rows in one day)
Each job runs as `hotline jobs run` in its own process; its peak RSS is read from the kernel (wait4).
Targets: archive within 2x of raw FLAC encode; export of 1,000,000 rows under 20 s; peak RSS under 300 MB.

    python bench/jobs.py [--chunks 10000] [--export-rows 1000000]
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, this file's folder comes first on sys.path and its name would hide the `jobs` package:
# put the repository root there instead (which also makes `bench.seed` importable).
_HERE = Path(__file__).resolve().parent
sys.path[:] = [str(_HERE.parent) if Path(p or ".").resolve() == _HERE else p for p in sys.path]

import argparse
import datetime as dt
import io
import os
import sqlite3
import subprocess
import tempfile
import time
import uuid

import pyarrow as pa
import pyarrow.parquet as pq
import soundfile

from bench.seed import HOTLINE, clean_env, prepare, seed_rows
from compliance.crypto import ObjectIdentity
from jobs.export import CHUNK_SCHEMA
from service.db import transaction
from service.models import Call, RecordingChunk, new_id
from service.runtime import build_runtime
from service.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
SPEECH = (ROOT / "tests" / "data" / "caller_full_30s.wav").read_bytes()
PAST = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def run_job(workdir: Path, *args: str) -> tuple[float, float, str]:
    """Wall seconds, peak RSS (MB) and output of one `hotline jobs run` process."""
    env = clean_env()
    env["HOTLINE_JOB_BATCH_SIZE"] = "500"
    began = time.perf_counter()
    process = subprocess.Popen([HOTLINE, "jobs", "run", *args], cwd=workdir, env=env, stdout=subprocess.PIPE, text=True)
    _pid, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - began
    output = process.stdout.read() if process.stdout else ""
    if status != 0:
        raise SystemExit(f"hotline jobs run {' '.join(args)} failed: {output}")
    return elapsed, usage.ru_maxrss / 1024, output.strip().splitlines()[-1]


def seed_chunks(workdir: Path, count: int) -> None:
    """N chunks through the vault (one call per 30 chunks), recorded long ago."""
    settings = Settings(_env_file=None, keyring=workdir / "var" / "keyring.json",
                        database_url=f"sqlite:///{workdir / 'var' / 'hotline.db'}",
                        storage_url=f"file://{workdir / 'var' / 'store'}")  # fmt: skip
    runtime = build_runtime(settings)
    try:
        for start in range(0, count, 30):
            with transaction(runtime.sessions) as session:
                call = Call(id=new_id(), call_sid="CA" + uuid.uuid4().hex, status="completed", started_at=PAST)
                session.add(call)
                for n in range(1, min(30, count - start) + 1):
                    chunk = RecordingChunk(
                        id=new_id(), call_id=call.id, chunk_number=n, recording_sid="RE" + uuid.uuid4().hex,
                        recording_url="https://api.twilio.com/x", recorded_at=PAST, storage_state="stored",
                        duration_s=30,
                    )  # fmt: skip
                    session.add(chunk)
                    session.flush()
                    stored = runtime.vault.put(
                        session, ObjectIdentity("recording", call.id, n), f"calls/{call.id}/{chunk.id}.wav.enc", SPEECH
                    )
                    chunk.storage_key, chunk.data_key_id = stored.storage_key, stored.data_key_id
                    chunk.plaintext_sha256, chunk.size_bytes = stored.plaintext_sha256, stored.size_bytes
    finally:
        runtime.close()


def load_rows(db: Path) -> list[tuple[object, ...]]:
    """The same rows, read back for the floor (after the job ran: a forked child would count them in its RSS)."""
    with sqlite3.connect(db) as connection:
        return connection.execute(
            "SELECT id, call_id, chunk_number, recording_sid, recording_url, duration_s, processed, response_played,"
            " recorded_at, processed_at, response_ready_at, responder, codec, tier, size_bytes FROM recording_chunks"
            " WHERE recorded_at >= '2026-02-01' AND recorded_at < '2026-02-02'"
        ).fetchall()


def flac_floor(count: int) -> float:
    data, rate = soundfile.read(io.BytesIO(SPEECH), dtype="int16")
    began = time.perf_counter()
    for _ in range(count):
        out = io.BytesIO()
        soundfile.write(out, data, rate, format="FLAC", subtype="PCM_16")
    return time.perf_counter() - began


def unlink_floor(count: int, size: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        paths = [Path(tmp) / f"{i}.bin" for i in range(count)]
        for path in paths:
            path.write_bytes(b"\0" * size)
        began = time.perf_counter()
        for path in paths:
            path.unlink()
        return time.perf_counter() - began


def pyarrow_floor(rows: list[tuple[object, ...]]) -> float:
    began = time.perf_counter()
    columns = {
        "call_pseudonym": [r[1] for r in rows], "chunk_number": [r[2] for r in rows],
        "recorded_at": [dt.datetime.fromisoformat(str(r[8])).replace(tzinfo=dt.UTC) for r in rows],
        "duration_s": [r[5] for r in rows], "processed": [bool(r[6]) for r in rows],
        "processing_latency_ms": [2200.0] * len(rows), "responder": [r[11] for r in rows],
        "error_class": [None] * len(rows), "response_played": [bool(r[7]) for r in rows],
        "tier": [r[13] for r in rows], "codec": [r[12] for r in rows], "bytes": [r[14] for r in rows],
    }  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        pq.write_table(pa.Table.from_pydict(columns, schema=CHUNK_SCHEMA), Path(tmp) / "floor.parquet")
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chunks", type=int, default=10_000)
    parser.add_argument("--export-rows", type=int, default=1_000_000)
    parser.add_argument("--seed-rows-into", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.seed_rows_into:
        seed_rows(args.seed_rows_into, args.export_rows, dt.date(2026, 2, 1))
        return
    with tempfile.TemporaryDirectory(prefix="hotline-jobs-bench-") as tmp:
        work = Path(tmp)
        prepare(work)
        began = time.perf_counter()
        seed_chunks(work, args.chunks)
        print(f"seeded {args.chunks} encrypted 30 s chunks in {time.perf_counter() - began:.0f} s")

        archive_s, archive_rss, archive_line = run_job(work, "archive", "--as-of", "2026-06-01")
        flac_s = flac_floor(args.chunks)
        print(f"archive   {archive_s:8.1f} s   floor (raw FLAC encode) {flac_s:8.1f} s   ratio "
              f"{archive_s / flac_s:5.2f}   (target <= 2)   peak RSS {archive_rss:5.0f} MB"
              f"   | {archive_line}")  # fmt: skip

        retention_s, retention_rss, retention_line = run_job(work, "retention", "--as-of", "2026-12-01")
        unlink_s = unlink_floor(args.chunks, 300_000)
        print(f"retention {retention_s:8.1f} s   floor (bare unlink)      {unlink_s:8.2f} s   ratio "
              f"{retention_s / unlink_s:5.0f}   peak RSS {retention_rss:5.0f} MB   | {retention_line}")  # fmt: skip

        # Seeded in a child process: this one stays small, so the job's forked process does not inherit (and
        # count in its peak RSS) a million rows of someone else's memory.
        subprocess.run(
            [sys.executable, __file__, "--seed-rows-into", str(work / "var" / "hotline.db"), "--export-rows",
             str(args.export_rows)],
            check=True,
        )  # fmt: skip
        export_s, export_rss, export_line = run_job(work, "export", "--as-of", "2026-02-02")
        floor_s = pyarrow_floor(load_rows(work / "var" / "hotline.db"))
        print(f"export    {export_s:8.1f} s   floor (pyarrow write)    {floor_s:8.1f} s   ratio "
              f"{export_s / floor_s:5.2f}   ({args.export_rows} rows; target < 20 s)   peak RSS {export_rss:5.0f} MB"
              f"   | {export_line}")  # fmt: skip
        peak = max(archive_rss, retention_rss, export_rss)
        print(f"peak RSS {peak:.0f} MB; target < 300 MB for every job: {'met' if peak < 300 else 'NOT met'}")


if __name__ == "__main__":
    main()
