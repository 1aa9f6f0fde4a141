"""The scheduler: APScheduler 3 with its job store in the project's database, cron triggers in UTC."""

from __future__ import annotations

import logging
import signal
from types import FrameType

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger

from jobs.registry import JOBS, schedules
from jobs.runner import JobContext, run_job
from service.db import normalize_url, utcnow
from service.runtime import build_runtime
from service.settings import Settings

log = logging.getLogger(__name__)


def run_scheduled(name: str) -> None:
    """What the scheduler calls. Only the job's name is stored with the schedule, never a setting or secret."""
    runtime = build_runtime(Settings())
    try:
        run_job(JOBS[name], JobContext(runtime, name, utcnow()))
    finally:
        runtime.close()


def build_scheduler(settings: Settings) -> BlockingScheduler:
    """A scheduler with every job on its configured schedule."""
    scheduler = BlockingScheduler(
        jobstores={"default": SQLAlchemyJobStore(url=normalize_url(settings.database_url))},
        timezone="UTC",
        # One run of a job at a time per scheduler; a missed run is run once, not once per miss.
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 3600},
    )
    for name, crontab in schedules(settings).items():
        scheduler.add_job(
            run_scheduled, CronTrigger.from_crontab(crontab, timezone="UTC"), args=[name], id=name, name=name,
            replace_existing=True,
        )  # fmt: skip
    return scheduler


def run_scheduler(settings: Settings) -> None:
    """Run in the foreground until SIGTERM or SIGINT; a job under way is let finish."""
    scheduler = build_scheduler(settings)

    def stop(signum: int, _frame: FrameType | None) -> None:
        log.info("stopping the scheduler (signal %d)", signum)
        scheduler.shutdown(wait=True)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info("scheduler started with %d jobs", len(schedules(settings)))
    scheduler.start()
