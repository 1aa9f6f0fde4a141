"""Running a job: the ledger row, counts, leases on the items it works on, progress, dry runs.

Items are claimed with a lease (owner, until) in the database: PostgreSQL picks candidates with
`FOR UPDATE SKIP LOCKED`; on SQLite the claim runs under the database's single write lock. A lease whose
owner process is gone (kill -9) is taken over at once by the next run on the same host, and by any run once
it expires, so work is never done twice and never left half-done for long.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import socket
import traceback
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Select, select, update

from jobs.models import JobRun
from service.db import transaction, utcnow
from service.models import RecordingChunk
from service.runtime import Runtime

log = logging.getLogger(__name__)
LEASE = dt.timedelta(minutes=10)


def new_owner() -> str:
    """This process's identity for leases and the ledger."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def owner_is_dead(owner: str) -> bool:
    """True when `owner` was a process on this host that no longer exists."""
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


@dataclass
class JobContext:
    """What a job needs: the runtime, the moment it evaluates ages at, and where it reports."""

    runtime: Runtime
    name: str
    as_of: dt.datetime
    dry_run: bool = False
    limit: int | None = None
    owner: str = field(default_factory=new_owner)
    say: Callable[[str], None] = lambda _line: None
    advance: Callable[[int], None] = lambda _n: None
    set_total: Callable[[int], None] = lambda _n: None
    counts: dict[str, int] = field(default_factory=lambda: {"examined": 0, "changed": 0, "skipped": 0, "failed": 0})
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def batch_size(self) -> int:
        """Items per claim."""
        size = self.runtime.settings.job_batch_size
        return min(size, self.remaining) if self.limit is not None else size

    @property
    def remaining(self) -> int:
        """How many more items the --limit allows."""
        if self.limit is None:
            return 1 << 62
        return max(0, self.limit - self.counts["examined"])

    def count(self, outcome: str, n: int = 1) -> None:
        """Add to a count and to the progress bar."""
        self.counts[outcome] += n
        if outcome == "examined":
            self.advance(n)

    def lease_free(self) -> ColumnElement[bool]:
        """SQL: the chunk is not leased by a live process."""
        now = utcnow()
        with self.runtime.readers() as session:
            holders = session.scalars(
                select(RecordingChunk.lease_owner).where(RecordingChunk.lease_until > now).distinct()
            ).all()
        dead = [owner for owner in holders if owner and owner_is_dead(owner)]
        free = RecordingChunk.lease_until.is_(None) | (RecordingChunk.lease_until < now)
        return free | RecordingChunk.lease_owner.in_(dead) if dead else free

    def claim_chunks(self, candidates: Select[tuple[str]]) -> list[str]:
        """Lease the next batch of candidate chunk ids to this run (none in a dry run: those are only listed)."""
        if self.remaining <= 0:
            return []
        query = candidates.where(self.lease_free()).limit(self.batch_size)
        if self.dry_run:
            with self.runtime.readers() as session:
                return list(session.scalars(query))
        with transaction(self.runtime.sessions) as session:
            if session.get_bind().dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            ids = list(session.scalars(query))
            if ids:
                session.execute(
                    update(RecordingChunk)
                    .where(RecordingChunk.id.in_(ids))
                    .values(lease_owner=self.owner, lease_until=utcnow() + LEASE)
                    .execution_options(synchronize_session=False)
                )
        return ids

    def batches(self, candidates: Select[tuple[str]]) -> Iterator[list[str]]:
        """Claimed batches until no candidate is left (or --limit is reached); memory stays one batch."""
        seen: set[str] = set()
        while True:
            ids = [i for i in self.claim_chunks(candidates) if i not in seen]
            if not ids:
                return
            if self.dry_run:
                # A dry run changes nothing, so the same rows would come back: page past them instead.
                seen.update(ids)
            yield ids

    def release(self, chunk_ids: list[str]) -> None:
        """Give back leases of items this run did not finish (e.g. after a failure)."""
        if self.dry_run or not chunk_ids:
            return
        with transaction(self.runtime.sessions) as session:
            session.execute(
                update(RecordingChunk)
                .where(RecordingChunk.id.in_(chunk_ids), RecordingChunk.lease_owner == self.owner)
                .values(lease_owner=None, lease_until=None)
                .execution_options(synchronize_session=False)
            )


JobFunction = Callable[[JobContext], None]


def mark_crashed_runs(runtime: Runtime) -> None:
    """Ledger rows still 'running' whose process is gone are marked 'crashed'."""
    with transaction(runtime.sessions) as session:
        for run in session.scalars(select(JobRun).where(JobRun.outcome == "running")):
            if run.owner and owner_is_dead(run.owner):
                run.outcome, run.ended_at = "crashed", run.ended_at or utcnow()
                run.error = "The process running this job ended without finishing (killed or crashed)."


def run_job(job: JobFunction, ctx: JobContext) -> JobRun:
    """Run `job` with a ledger row: start, end, outcome, counts, error text."""
    mark_crashed_runs(ctx.runtime)
    with transaction(ctx.runtime.sessions) as session:
        run = JobRun(
            job_name=ctx.name, started_at=utcnow(), outcome="running", dry_run=ctx.dry_run, as_of=ctx.as_of,
            host=socket.gethostname(), owner=ctx.owner,
        )  # fmt: skip
        session.add(run)
    log.info("job started", extra={"job": ctx.name})
    outcome, error = "succeeded", None
    try:
        job(ctx)
        if ctx.counts["failed"]:
            outcome = "partial"
    except Exception as exc:
        outcome, error = "failed", "".join(traceback.format_exception_only(exc)).strip()
        log.exception("job failed", extra={"job": ctx.name})
    with transaction(ctx.runtime.sessions) as session:
        row = session.get(JobRun, run.id)
        assert row is not None
        row.ended_at, row.outcome, row.error = utcnow(), outcome, error
        row.examined, row.changed = ctx.counts["examined"], ctx.counts["changed"]
        row.skipped, row.failed = ctx.counts["skipped"], ctx.counts["failed"]
        row.details = json.dumps(ctx.details, sort_keys=True, default=str)
        run = row
    log.info("job ended", extra={"job": ctx.name, "outcome": outcome})
    return run
