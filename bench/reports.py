"""How long do the big reports take, and how much memory?

`hotline report access` over 1,000,000 audit events and `hotline report processing` over 1,000,000 chunks, each
as its own process (CSV to a file; peak RSS from the kernel), beside a floor measured in the same run: a bare
`SELECT` of the same rows with sqlite3. Targets: under 5 s and under 500 MB each.

    python bench/reports.py [--rows 1000000]
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, this file's folder comes first on sys.path and would hide the `reports` package:
# put the repository root there instead (which also makes `bench.seed` importable).
_HERE = Path(__file__).resolve().parent
sys.path[:] = [str(_HERE.parent) if Path(p or ".").resolve() == _HERE else p for p in sys.path]

import argparse
import datetime as dt
import os
import sqlite3
import subprocess
import tempfile
import time

from bench.seed import HOTLINE, clean_env, prepare

DAY = dt.date(2026, 2, 1)


def timed(workdir: Path, *args: str) -> tuple[float, float]:
    env = clean_env()
    began = time.perf_counter()
    process = subprocess.Popen([HOTLINE, *args], cwd=workdir, env=env, stdout=subprocess.DEVNULL)
    _pid, status, usage = os.wait4(process.pid, 0)
    if status != 0:
        raise SystemExit(f"hotline {' '.join(args)} failed")
    return time.perf_counter() - began, usage.ru_maxrss / 1024


def floor(db: Path, sql: str) -> float:
    began = time.perf_counter()
    with sqlite3.connect(db) as connection:
        for _row in connection.execute(sql):
            pass
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed-into", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.seed_into:
        from bench.seed import seed_audit_events, seed_rows

        seed_rows(args.seed_into, args.rows, DAY)
        seed_audit_events(args.seed_into, args.rows, DAY)
        return
    with tempfile.TemporaryDirectory(prefix="hotline-reports-bench-") as tmp:
        work = Path(tmp)
        prepare(work)
        db = work / "var" / "hotline.db"
        # Seeded by a child process, so the report processes forked from this one inherit no seeding memory.
        subprocess.run([sys.executable, __file__, "--seed-into", str(db), "--rows", str(args.rows)], check=True)
        access_s, access_rss = timed(work, "report", "access", "--format", "csv", "--output", str(work / "a.csv"))
        access_floor = floor(db, "SELECT * FROM audit_events ORDER BY seq")
        processing_s, processing_rss = timed(
            work, "report", "processing", "--since", "2026-02-01", "--until", "2026-02-02", "--format", "csv",
            "--output", str(work / "p.csv"),
        )  # fmt: skip
        processing_floor = floor(db, "SELECT * FROM recording_chunks ORDER BY recorded_at")
    print(f"{args.rows:,} rows each")
    print(f"report access      {access_s:6.1f} s  (floor: bare SELECT {access_floor:5.1f} s, ratio "
          f"{access_s / access_floor:4.1f})  peak RSS {access_rss:4.0f} MB   target < 5 s, < 500 MB")  # fmt: skip
    print(f"report processing  {processing_s:6.1f} s  (floor: bare SELECT {processing_floor:5.1f} s, ratio "
          f"{processing_s / processing_floor:4.1f})  peak RSS {processing_rss:4.0f} MB"
          "   target < 5 s, < 500 MB")  # fmt: skip


if __name__ == "__main__":
    main()
