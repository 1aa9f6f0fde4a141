"""The named jobs and their default schedules."""

from __future__ import annotations

from compliance import audit
from jobs.anonymize import anonymize
from jobs.archive import archive
from jobs.export import export
from jobs.retention import retention
from jobs.runner import JobContext, JobFunction
from service.db import transaction
from service.settings import Settings


def audit_checkpoint(ctx: JobContext) -> None:
    """Sign the audit chain's head (so a cut or rewritten tail is detectable)."""
    ctx.count("examined")
    if ctx.dry_run:
        ctx.say("would sign an audit checkpoint")
        return
    with transaction(ctx.runtime.sessions) as session:
        checkpoint = audit.write_checkpoint(session, ctx.runtime.signer)
    ctx.details["checkpoint_event_seq"] = checkpoint.event_seq
    ctx.count("changed")


JOBS: dict[str, JobFunction] = {
    "archive": archive,
    "retention": retention,
    "anonymize": anonymize,
    "export": export,
    "audit-checkpoint": audit_checkpoint,
}


def schedules(settings: Settings) -> dict[str, str]:
    """Each job's crontab line (UTC)."""
    return {
        "archive": settings.schedule_archive,
        "retention": settings.schedule_retention,
        "anonymize": settings.schedule_anonymize,
        "export": settings.schedule_export,
        "audit-checkpoint": settings.schedule_audit_checkpoint,
    }
