"""The processing report: per-day rates from the database, or from the Parquet exports."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow.dataset as ds
from sqlalchemy import select
from sqlalchemy.orm import Session

from jobs.export import DayStats
from reports.errors import ReportError
from reports.queries import BATCH, Report, failures_text
from service.models import RecordingChunk


def _as_row(rollup: dict[str, Any]) -> dict[str, Any]:
    return {
        "day": rollup["day"], "calls": rollup["calls"], "chunks": rollup["chunks"],
        "processed_pct": rollup["processed_pct"], "failures_by_class": failures_text(rollup["failures_by_class"]),
        "latency_p50_ms": rollup["latency_p50_ms"], "latency_p95_ms": rollup["latency_p95_ms"],
        "replies_delivered_pct": rollup["replies_delivered_pct"],
    }  # fmt: skip


def from_database(session: Session, *, since: dt.datetime, until: dt.datetime) -> Report:
    """Exact per-day figures, computed from the chunks (no cell suppression: officers see the operational data)."""
    query = (
        select(
            RecordingChunk.call_id, RecordingChunk.recorded_at, RecordingChunk.processed, RecordingChunk.processed_at,
            RecordingChunk.response_ready_at, RecordingChunk.response_audio_key, RecordingChunk.reply_deleted_at,
            RecordingChunk.response_played, RecordingChunk.error_class,
        )
        .where(RecordingChunk.recorded_at >= since, RecordingChunk.recorded_at < until)
        .order_by(RecordingChunk.recorded_at)
        .execution_options(yield_per=BATCH)
    )  # fmt: skip

    def rows() -> Iterator[dict[str, Any]]:
        day: dt.date | None = None
        stats = DayStats()
        for row in session.execute(query):
            current = row.recorded_at.astimezone(dt.UTC).date()
            if day is not None and current != day:
                yield _as_row(stats.rollup(day, 1).to_pylist()[0])
                stats = DayStats()
            day = current
            ready = row.response_ready_at or (row.processed_at if row.processed else None)
            stats.add(row, (ready - row.recorded_at).total_seconds() * 1000 if ready else None)
        if day is not None:
            yield _as_row(stats.rollup(day, 1).to_pylist()[0])

    return Report("processing", f"Processing {since:%Y-%m-%d} to {until:%Y-%m-%d}", rows())


def from_export(export_url: str, *, since: dt.datetime, until: dt.datetime) -> Report:
    """The daily rollups the export job wrote (small cells there are suppressed)."""
    root = Path(export_url.removeprefix("file://")) / "daily"
    if export_url.startswith("s3://"):
        msg = "--from-export reads a local export folder; download the S3 export first (aws s3 sync)."
        raise ReportError(msg)
    if not root.is_dir():
        msg = f"No exports at {root}; run `hotline jobs run export` first."
        raise ReportError(msg)
    table = ds.dataset(root, format="parquet", partitioning="hive").to_table()
    rows = sorted((r for r in table.to_pylist() if since.date() <= r["day"] < until.date()), key=lambda r: r["day"])
    return Report("processing", f"Processing {since:%Y-%m-%d} to {until:%Y-%m-%d} (from exports)",
                  [_as_row(r) for r in rows])  # fmt: skip
