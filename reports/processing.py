"""The processing report: per-day rates from the database, or from the Parquet exports."""

from __future__ import annotations

import datetime as dt
from array import array
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.dataset as ds
from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.orm import Session

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


def _day(session: Session) -> ColumnElement[Any]:
    """The UTC calendar day of a chunk, in SQL."""
    if session.get_bind().dialect.name == "postgresql":
        return func.date(func.timezone("UTC", RecordingChunk.recorded_at))
    return func.date(RecordingChunk.recorded_at)  # SQLite keeps UTC times as text


def _latency_ms(session: Session) -> ColumnElement[Any]:
    """Recording to reply ready (or to processing done), in milliseconds, in SQL."""
    ready = func.coalesce(
        RecordingChunk.response_ready_at, case((RecordingChunk.processed, RecordingChunk.processed_at), else_=None)
    )
    if session.get_bind().dialect.name == "postgresql":
        return func.extract("epoch", ready - RecordingChunk.recorded_at) * 1000
    return (func.julianday(ready) - func.julianday(RecordingChunk.recorded_at)) * 86_400_000


def from_database(session: Session, *, since: dt.datetime, until: dt.datetime) -> Report:
    """Exact per-day figures (no cell suppression: officers see the operational data), aggregated in SQL."""
    day = _day(session)
    in_range = (RecordingChunk.recorded_at >= since, RecordingChunk.recorded_at < until)
    has_reply = (RecordingChunk.response_audio_key.is_not(None)) | (RecordingChunk.reply_deleted_at.is_not(None))
    totals = session.execute(
        select(
            day, func.count(func.distinct(RecordingChunk.call_id)), func.count(),
            func.sum(case((RecordingChunk.processed, 1), else_=0)), func.sum(case((has_reply, 1), else_=0)),
            func.sum(case((has_reply & RecordingChunk.response_played, 1), else_=0)),
        ).where(*in_range).group_by(day).order_by(day)
    ).all()  # fmt: skip
    failures: dict[str, dict[str, int]] = {}
    for key, error_class, count in session.execute(
        select(day, RecordingChunk.error_class, func.count())
        .where(*in_range, RecordingChunk.error_class.is_not(None))
        .group_by(day, RecordingChunk.error_class)
    ):
        failures.setdefault(str(key), {})[error_class] = int(count)
    latencies: dict[str, array[float]] = {}
    latency = _latency_ms(session)
    for key, value in session.execute(
        select(day, latency).where(*in_range, latency.is_not(None)).execution_options(yield_per=BATCH)
    ):
        latencies.setdefault(str(key), array("d")).append(float(value))

    def pct(part: int, whole: int) -> float | None:
        return None if whole == 0 else round(100.0 * part / whole, 2)

    rows = []
    for key, calls, chunks, processed, with_reply, played in totals:
        values = np.frombuffer(latencies[str(key)], dtype=np.float64) if str(key) in latencies else None
        rows.append({
            "day": dt.date.fromisoformat(str(key)), "calls": int(calls), "chunks": int(chunks),
            "processed_pct": pct(int(processed or 0), int(chunks)),
            "failures_by_class": failures_text(failures.get(str(key), {})),
            "latency_p50_ms": None if values is None else float(np.percentile(values, 50)),
            "latency_p95_ms": None if values is None else float(np.percentile(values, 95)),
            "replies_delivered_pct": pct(int(played or 0), int(with_reply or 0)),
        })  # fmt: skip
    return Report("processing", f"Processing {since:%Y-%m-%d} to {until:%Y-%m-%d}", rows)


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
