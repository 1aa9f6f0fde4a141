"""export: Parquet analytics on processing rates, Hive-partitioned by day, with no direct identifiers.

`chunks/dt=YYYY-MM-DD/part-0.parquet`: one row per chunk. `daily/dt=YYYY-MM-DD/part-0.parquet`: the day's
rollup, with cells under HOTLINE_EXPORT_MIN_CELL suppressed. Each file is written whole under a temporary
name and swapped in (a single PUT on S3), so a re-export of a day replaces it exactly. Rows are streamed in
batches: memory stays flat however many chunks a day has. The schema only ever gains columns.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import tempfile
from array import array
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import select

from jobs.runner import JobContext
from service.models import RecordingChunk
from service.storage.s3 import make_s3_client

CHUNK_SCHEMA = pa.schema([
    ("call_pseudonym", pa.string()),
    ("chunk_number", pa.int32()),
    ("recorded_at", pa.timestamp("us", tz="UTC")),
    ("duration_s", pa.int32()),
    ("processed", pa.bool_()),
    ("processing_latency_ms", pa.float64()),
    ("responder", pa.string()),
    ("error_class", pa.string()),
    ("response_played", pa.bool_()),
    ("tier", pa.string()),
    ("codec", pa.string()),
    ("bytes", pa.int64()),
])  # fmt: skip
DAILY_SCHEMA = pa.schema([
    ("day", pa.date32()),
    ("calls", pa.int64()),
    ("chunks", pa.int64()),
    ("processed_pct", pa.float64()),
    ("failures_by_class", pa.map_(pa.string(), pa.int64())),
    ("latency_p50_ms", pa.float64()),
    ("latency_p95_ms", pa.float64()),
    ("replies_delivered_pct", pa.float64()),
    ("suppressed", pa.bool_()),
])  # fmt: skip
ROWS_PER_BATCH = 20_000


def export(ctx: JobContext) -> None:
    """Export the day before `as_of` (UTC)."""
    day = (ctx.as_of.astimezone(dt.UTC) - dt.timedelta(days=1)).date()
    export_days(ctx, [day])


def export_days(ctx: JobContext, days: list[dt.date]) -> None:
    """Export each day, replacing what an earlier export wrote for it."""
    sink = Sink(ctx)
    for day in days:
        if ctx.dry_run:
            ctx.say(f"would export {day.isoformat()}")
            continue
        stats = DayStats()
        with tempfile.TemporaryDirectory(prefix="hotline-export-") as tmp:
            chunk_file = Path(tmp) / "chunks.parquet"
            with pq.ParquetWriter(chunk_file, CHUNK_SCHEMA) as writer:
                for table in _chunk_tables(ctx, day, stats):
                    writer.write_table(table)
            sink.publish(f"chunks/dt={day.isoformat()}/part-0.parquet", chunk_file)
            daily_file = Path(tmp) / "daily.parquet"
            pq.write_table(stats.rollup(day, ctx.runtime.settings.export_min_cell), daily_file)
            sink.publish(f"daily/dt={day.isoformat()}/part-0.parquet", daily_file)
        ctx.count("examined", stats.chunks)
        ctx.count("changed", stats.chunks)
        ctx.details.setdefault("days", []).append(day.isoformat())


class DayStats:
    """The rollup of one day, accumulated while its rows stream past."""

    def __init__(self) -> None:
        self.calls: set[str] = set()
        self.chunks = 0
        self.processed = 0
        self.with_reply = 0
        self.played = 0
        self.failures: Counter[str] = Counter()
        self.latencies = array("d")

    def add(self, row: Any, latency: float | None) -> None:
        """Count one chunk."""
        self.calls.add(row.call_id)
        self.chunks += 1
        self.processed += bool(row.processed)
        if row.response_audio_key is not None or row.reply_deleted_at is not None:
            self.with_reply += 1
            self.played += bool(row.response_played)
        if row.error_class:
            self.failures[row.error_class] += 1
        if latency is not None:
            self.latencies.append(latency)

    def rollup(self, day: dt.date, min_cell: int) -> pa.Table:
        """One row; counts under `min_cell` are suppressed (null), a whole small day is flagged."""
        small = len(self.calls) < min_cell
        latencies = np.frombuffer(self.latencies, dtype=np.float64) if self.latencies else None

        def pct(part: int, whole: int) -> float | None:
            return None if small or whole == 0 else round(100.0 * part / whole, 2)

        row = {
            "day": day,
            "calls": None if small else len(self.calls),
            "chunks": None if small else self.chunks,
            "processed_pct": pct(self.processed, self.chunks),
            "failures_by_class": None if small else [(k, v) for k, v in sorted(self.failures.items()) if v >= min_cell],
            "latency_p50_ms": None if small or latencies is None else float(np.percentile(latencies, 50)),
            "latency_p95_ms": None if small or latencies is None else float(np.percentile(latencies, 95)),
            "replies_delivered_pct": pct(self.played, self.with_reply),
            "suppressed": small,
        }
        return pa.Table.from_pylist([row], schema=DAILY_SCHEMA)


def _chunk_tables(ctx: JobContext, day: dt.date, stats: DayStats) -> Iterator[pa.Table]:
    start = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
    query = (
        select(
            RecordingChunk.call_id, RecordingChunk.chunk_number, RecordingChunk.recorded_at, RecordingChunk.duration_s,
            RecordingChunk.processed, RecordingChunk.response_ready_at, RecordingChunk.processed_at,
            RecordingChunk.responder, RecordingChunk.error_class, RecordingChunk.response_played, RecordingChunk.tier,
            RecordingChunk.codec, RecordingChunk.size_bytes, RecordingChunk.response_audio_key,
            RecordingChunk.reply_deleted_at,
        )
        .where(RecordingChunk.recorded_at >= start, RecordingChunk.recorded_at < start + dt.timedelta(days=1))
        .order_by(RecordingChunk.recorded_at)
        .execution_options(yield_per=ROWS_PER_BATCH)
    )  # fmt: skip
    pseudonym = _Pseudonyms(ctx)
    columns: dict[str, list[Any]] = {name: [] for name in CHUNK_SCHEMA.names}
    with ctx.runtime.readers() as session:
        for row in session.execute(query):
            ready = row.response_ready_at or (row.processed_at if row.processed else None)
            latency = (ready - row.recorded_at).total_seconds() * 1000 if ready else None
            stats.add(row, latency)
            values = (
                pseudonym(row.call_id), row.chunk_number, row.recorded_at, row.duration_s, row.processed, latency,
                row.responder, row.error_class, row.response_played, row.tier, row.codec, row.size_bytes,
            )  # fmt: skip
            for name, value in zip(CHUNK_SCHEMA.names, values, strict=True):
                columns[name].append(value)
            if len(columns["chunk_number"]) >= ROWS_PER_BATCH:
                yield pa.Table.from_pydict(columns, schema=CHUNK_SCHEMA)
                columns = {name: [] for name in CHUNK_SCHEMA.names}
    if columns["chunk_number"] or stats.chunks == 0:
        yield pa.Table.from_pydict(columns, schema=CHUNK_SCHEMA)


class _Pseudonyms:
    """The analytics pseudonym of each call id, computed once per call."""

    def __init__(self, ctx: JobContext) -> None:
        self.pseudonyms = ctx.runtime.pseudonyms
        self.cache: dict[str, str] = {}

    def __call__(self, call_id: str) -> str:
        if call_id not in self.cache:
            if len(self.cache) > 100_000:
                self.cache.clear()
            self.cache[call_id] = self.pseudonyms.analytics(call_id)
        return self.cache[call_id]


class Sink:
    """A local directory or an S3 prefix (HOTLINE_EXPORT_URL)."""

    def __init__(self, ctx: JobContext) -> None:
        settings = ctx.runtime.settings
        parts = urlsplit(settings.export_url)
        self.s3 = make_s3_client(settings) if parts.scheme == "s3" else None
        self.bucket, self.prefix = parts.netloc, parts.path.strip("/")
        self.root = Path(settings.export_url.removeprefix("file://")).resolve() if self.s3 is None else None

    def publish(self, relative: str, file: Path) -> None:
        """Swap `file` in at `relative`, whole or not at all."""
        if self.s3 is not None:
            key = f"{self.prefix}/{relative}" if self.prefix else relative
            with file.open("rb") as body:
                self.s3.put_object(Bucket=self.bucket, Key=key, Body=body)
            return
        assert self.root is not None
        target = self.root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        shutil.copyfile(file, staging)
        staging.replace(target)
