"""The job-run ledger: one row per run of a batch job."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base, BigId, UTCDateTime, utcnow


class JobRun(Base):
    """When a job ran, how it ended and what it counted."""

    __tablename__ = "job_runs"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    job_name: Mapped[str] = mapped_column(String(64), index=True)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    outcome: Mapped[str] = mapped_column(String(16), default="running")
    dry_run: Mapped[bool] = mapped_column(Boolean, default=False)
    as_of: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    examined: Mapped[int] = mapped_column(Integer, default=0)
    changed: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    details: Mapped[str] = mapped_column(Text, default="{}")
    host: Mapped[str | None] = mapped_column(String(128))
    # host:pid:nonce of the process running it; a run whose process is gone is marked crashed.
    owner: Mapped[str | None] = mapped_column(String(160))
