"""The `hotline` command line: set-up, keys, the service, audit and reports."""

from __future__ import annotations

import datetime as dt
import getpass
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from alembic import command
from alembic.config import Config
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table
from sqlalchemy.exc import OperationalError, ProgrammingError

from compliance import audit
from compliance.datakeys import count_wrapped_by, rewrap_to_active
from compliance.errors import ComplianceError
from compliance.keys import Keyring, KeyringProvider
from reports.errors import ReportError
from reports.queries import Report
from service.db import DatabaseUnavailableError, check_connection, make_engine, redact_url, transaction
from service.errors import ServiceError
from service.runtime import Runtime, build_runtime
from service.settings import Settings

app = typer.Typer(
    help="hotline-recorder: the encrypted, audited recording store of a crisis line.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
keys_app = typer.Typer(help="Key-encryption keys in the local keyring.", no_args_is_help=True)
audit_app = typer.Typer(help="The access audit log.", no_args_is_help=True)
report_app = typer.Typer(help="Reports for compliance officers.", no_args_is_help=True)
users_app = typer.Typer(help="Management API users and their tokens.", no_args_is_help=True)
jobs_app = typer.Typer(
    help="Scheduled jobs: archive, retention, anonymize, export, audit-checkpoint.", no_args_is_help=True
)
hold_app = typer.Typer(help="Legal holds: nothing of a held call is deleted or anonymized.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
app.add_typer(jobs_app, name="jobs")
app.add_typer(hold_app, name="hold")
app.add_typer(keys_app, name="keys")
app.add_typer(audit_app, name="audit")
app.add_typer(report_app, name="report")

ALEMBIC_DIR = Path(__file__).resolve().parent / "alembic"
# Piped output (CI, files, other tools) is not cut to 80 columns.
out = Console(width=None if sys.stdout.isatty() else 200)


class UserError(Exception):
    """A mistake the user can fix; shown as one line, exit 2."""


def _settings() -> Settings:
    return Settings()


def operator(settings: Settings) -> str:
    """Who is running this command, for the audit log."""
    return settings.operator or getpass.getuser()


@contextmanager
def _runtime(settings: Settings) -> Iterator[Runtime]:
    runtime = build_runtime(settings)
    try:
        check_connection(runtime.engine)
        yield runtime
    finally:
        runtime.close()


def _alembic_config(settings: Settings) -> Config:
    config = Config()
    config.set_main_option("script_location", str(ALEMBIC_DIR))
    config.attributes["database_url"] = settings.database_url
    return config


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument(help="Target revision.")] = "head") -> None:
    """Bring the database schema to the latest revision (or REVISION)."""
    settings = _settings()
    engine = make_engine(settings.database_url)
    try:
        check_connection(engine)
    finally:
        engine.dispose()
    command.upgrade(_alembic_config(settings), revision)
    out.print(f"Database {redact_url(settings.database_url)} is at revision {revision}.")


@keys_app.command("init")
def keys_init(
    if_missing: Annotated[bool, typer.Option("--if-missing", help="Do nothing if a keyring exists.")] = False,
) -> None:
    """Create the keyring (key-encryption key v1, audit signing key, pseudonym pepper), mode 0600."""
    settings = _settings()
    if settings.keyring.exists():
        if if_missing:
            return
        msg = f"A keyring already exists at {settings.keyring}; use `hotline keys rotate` for a new key version."
        raise UserError(msg)
    ring = Keyring.create(settings.keyring)
    out.print(f"Created keyring {ring.kek_id} at {settings.keyring} (mode 0600). Back it up somewhere safe.")


@keys_app.command("list")
def keys_list() -> None:
    """Show key versions and how many data keys each still protects."""
    settings = _settings()
    with _runtime(settings) as runtime, transaction(runtime.sessions) as session:
        provider = KeyringProvider(runtime.keyring)
        table = Table(title=f"Keyring {runtime.keyring.kek_id}")
        for column in ("version", "created", "state", "data keys"):
            table.add_column(column)
        for kek in runtime.keyring.keks:
            state = (
                "retired"
                if kek.retired_at
                else ("active" if kek.version == runtime.keyring.active_version else "readable")
            )
            table.add_row(
                str(kek.version), kek.created_at, state, str(count_wrapped_by(session, provider, kek.version))
            )
        out.print(table)
        if settings.kms_key_id:
            out.print(f"New data keys are wrapped by KMS key {settings.kms_key_id}.")


@keys_app.command("rotate")
def keys_rotate() -> None:
    """Add a key version, make it active, and re-wrap every data key under it (no blob is rewritten)."""
    settings = _settings()
    with _runtime(settings) as runtime:
        if settings.kms_key_id:
            msg = "Data keys are wrapped by KMS; rotate the KMS key in AWS (automatic key rotation)."
            raise UserError(msg)
        kek = runtime.keyring.add_version()
        provider = KeyringProvider(runtime.keyring)
        total = 0
        while True:
            with transaction(runtime.sessions) as session:
                done = rewrap_to_active(session, provider)
            total += done
            if done == 0:
                break
        with transaction(runtime.sessions) as session:
            audit.append(
                session,
                audit.AuditEntry(
                    actor=operator(settings),
                    role="admin",
                    action="keys.rotate",
                    object_type="keyring",
                    object_id=runtime.keyring.kek_id,
                    details={"new_version": kek.version, "rewrapped": total},
                ),
            )
        out.print(f"Key version {kek.version} is active; {total} data keys re-wrapped.")


@keys_app.command("retire")
def keys_retire(version: int) -> None:
    """Retire an old key version once no data key needs it."""
    settings = _settings()
    with _runtime(settings) as runtime, transaction(runtime.sessions) as session:
        remaining = count_wrapped_by(session, KeyringProvider(runtime.keyring), version)
        if remaining:
            msg = f"Key version {version} still protects {remaining} data keys; run `hotline keys rotate` first."
            raise UserError(msg)
        runtime.keyring.retire(version)
        audit.append(
            session,
            audit.AuditEntry(
                actor=operator(settings),
                role="admin",
                action="keys.retire",
                object_type="keyring",
                object_id=runtime.keyring.kek_id,
                details={"version": version},
            ),
        )
    out.print(f"Key version {version} is retired.")


@audit_app.command("checkpoint")
def audit_checkpoint() -> None:
    """Write a signed checkpoint of the audit chain's head."""
    settings = _settings()
    with _runtime(settings) as runtime, transaction(runtime.sessions) as session:
        checkpoint = audit.write_checkpoint(session, runtime.signer)
    out.print(f"Checkpoint {checkpoint.id} signed at event {checkpoint.event_seq}.")


FormatOption = Annotated[
    str | None, typer.Option("--format", help="table (default on a terminal), csv (default otherwise) or json.")
]
OutputOption = Annotated[Path | None, typer.Option("--output", help="Write to FILE (mode 0600) instead of stdout.")]
SinceOption = Annotated[str | None, typer.Option(help="From this date or time (UTC), inclusive.")]
UntilOption = Annotated[str | None, typer.Option(help="Until this date or time (UTC), exclusive.")]


def _period(
    since: str | None, until: str | None, default_days: int | None = None
) -> tuple[dt.datetime | None, dt.datetime | None]:
    start = parse_moment(since, "--since") if since else None
    end = parse_moment(until, "--until") if until else None
    if start is None and default_days is not None:
        start = (end or dt.datetime.now(dt.UTC)) - dt.timedelta(days=default_days)
    if start and end and start >= end:
        msg = f"The period is empty: --since {start:%Y-%m-%d %H:%M} is not before --until {end:%Y-%m-%d %H:%M}."
        raise UserError(msg)
    return start, end


def _emit(report: object, fmt: str | None, output: Path | None, chart: Path | None = None) -> None:
    from reports.render import FORMATS, write
    from reports.render import chart as draw

    assert isinstance(report, Report)
    chosen = fmt or ("table" if sys.stdout.isatty() and output is None else "csv")
    if chosen not in FORMATS:
        msg = f"Unknown format {chosen!r}; choose table, csv or json."
        raise UserError(msg)
    if chart is not None:
        rows = list(report.rows)
        report.rows = rows
        draw(report.name, rows, chart)
    count = write(report, chosen, output, out)
    if count == 0 and chosen == "table":
        typer.echo("No rows in this report for the period and filters given.", err=True)


@report_app.command("access")
def report_access(
    since: SinceOption = None, until: UntilOption = None,
    actor: Annotated[str | None, typer.Option(help="Only this actor.")] = None,
    call: Annotated[str | None, typer.Option(help="Only this call (id or CallSid).")] = None,
    action: Annotated[str | None, typer.Option(help="Only this action; 'recording.' matches a family.")] = None,
    fmt: FormatOption = None, output: OutputOption = None,
) -> None:  # fmt: skip
    """Who accessed which recordings or caller data, when, why, with what outcome."""
    from reports.queries import access

    start, end = _period(since, until)
    settings = _settings()
    with _runtime(settings) as runtime, runtime.readers() as session:
        _emit(access(session, since=start, until=end, actor=actor, call=call, action=action), fmt, output)


@report_app.command("call")
def report_call(
    call_id: Annotated[str, typer.Argument(metavar="CALL_ID", help="The call's id or its Twilio CallSid.")],
    purpose: Annotated[str, typer.Option(help="Why you look at this call's data (recorded in the audit log).")],
    fmt: FormatOption = None, output: OutputOption = None,
) -> None:  # fmt: skip
    """The chain of custody of one call: chunks, processing, storage, accesses, holds, retention, deletions."""
    from reports.queries import call_custody

    if not purpose.strip():
        msg = "--purpose must say why this call's data is looked at."
        raise UserError(msg)
    settings = _settings()
    with _runtime(settings) as runtime:
        with runtime.readers() as session:
            report = call_custody(session, call_id, recording_days=settings.retention_recording_days,
                                  verifier=runtime.signer.verifier())  # fmt: skip
            rows = list(report.rows)
            report.rows = rows
            resolved = rows[0]["object"] if rows else call_id
        with transaction(runtime.sessions) as session:
            audit.append(session, audit.AuditEntry(
                actor=operator(settings), role="compliance", action="report.call", object_type="call",
                object_id=resolved, call_id=resolved, purpose=purpose.strip(),
            ))  # fmt: skip
        _emit(report, fmt, output)


@report_app.command("retention")
def report_retention(
    days: Annotated[int, typer.Option(min=0, help="Look this many days ahead.")] = 30,
    fmt: FormatOption = None, output: OutputOption = None,
) -> None:  # fmt: skip
    """What falls due for deletion or anonymization in the next N days, by policy, and what holds block."""
    from compliance.holds import held_call_ids
    from reports.queries import retention_due

    settings = _settings()
    now = dt.datetime.now(dt.UTC)
    policy_days = {"recording": settings.retention_recording_days, "reply": settings.retention_reply_days,
                   "transcript": settings.retention_transcript_days}  # fmt: skip
    with _runtime(settings) as runtime, runtime.readers() as session:
        held = held_call_ids(session, now)
        report = retention_due(session, days_ahead=days, as_of=now, policy_days=policy_days,
                               anonymize_days=settings.anonymize_after_days, held=held)  # fmt: skip
        _emit(report, fmt, output)


@report_app.command("holds")
def report_holds(fmt: FormatOption = None, output: OutputOption = None) -> None:
    """Active, expired and released legal holds."""
    from reports.queries import holds

    settings = _settings()
    with _runtime(settings) as runtime, runtime.readers() as session:
        _emit(holds(session, as_of=dt.datetime.now(dt.UTC)), fmt, output)


@report_app.command("deletions")
def report_deletions(
    since: SinceOption = None, until: UntilOption = None, fmt: FormatOption = None, output: OutputOption = None
) -> None:
    """Deletion records in a period (evidence that retention ran), with their policies and signatures."""
    from reports.queries import deletions

    start, end = _period(since, until)
    settings = _settings()
    with _runtime(settings) as runtime, runtime.readers() as session:
        _emit(deletions(session, since=start, until=end, verifier=runtime.signer.verifier()), fmt, output)


@report_app.command("processing")
def report_processing(
    since: SinceOption = None, until: UntilOption = None,
    from_export: Annotated[bool, typer.Option("--from-export", help="Read the Parquet exports instead.")] = False,
    chart: Annotated[Path | None, typer.Option(help="Also draw a PNG chart to FILE.")] = None,
    fmt: FormatOption = None, output: OutputOption = None,
) -> None:  # fmt: skip
    """Per-day rates: calls, chunks, processed %, AI failures by class, latency p50/p95, replies delivered %."""
    from reports.processing import from_database
    from reports.processing import from_export as read_exports

    start, end = _period(since, until, default_days=30)
    assert start is not None
    end = end or dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    settings = _settings()
    if from_export:
        _emit(read_exports(settings.export_url, since=start, until=end), fmt, output, chart)
        return
    with _runtime(settings) as runtime, runtime.readers() as session:
        _emit(from_database(session, since=start, until=end), fmt, output, chart)


@report_app.command("storage")
def report_storage(
    chart: Annotated[Path | None, typer.Option(help="Also draw a PNG chart to FILE.")] = None,
    fmt: FormatOption = None, output: OutputOption = None,
) -> None:  # fmt: skip
    """Bytes and object counts by tier and codec: hot versus archive."""
    from reports.queries import storage

    settings = _settings()
    with _runtime(settings) as runtime, runtime.readers() as session:
        _emit(storage(session), fmt, output, chart)


@report_app.command("jobs")
def report_jobs(since: SinceOption = None, fmt: FormatOption = None, output: OutputOption = None) -> None:
    """Job runs and their outcomes."""
    from reports.queries import jobs

    start, _ = _period(since, None)
    settings = _settings()
    with _runtime(settings) as runtime, runtime.readers() as session:
        _emit(jobs(session, since=start), fmt, output)


@report_app.command("verify-audit")
def report_verify_audit() -> None:
    """Recompute the audit chain and its signed checkpoints; exit 1 naming the first bad event."""
    settings = _settings()
    with _runtime(settings) as runtime, transaction(runtime.sessions) as session:
        report = audit.verify(session, runtime.signer.verifier())
    if not report.ok:
        typer.echo(f"Audit log FAILED verification at event {report.first_bad_seq}: {report.problem}", err=True)
        raise typer.Exit(1)
    typer.echo(
        f"Audit log intact: {report.events} events, {report.checkpoints} signed checkpoints, "
        f"head {report.last_hash[:16]}."
    )


@users_app.command("add")
def users_add(
    name: str,
    role: Annotated[str, typer.Option(help="counselor, compliance, analyst or admin.")],
) -> None:
    """Create an API user; prints its bearer token once (only its hash is stored)."""
    from service.users import add_user

    settings = _settings()
    with _runtime(settings) as runtime, transaction(runtime.sessions) as session:
        token = add_user(session, name, role, actor=operator(settings))
    typer.echo(token)
    typer.echo(f"Created {role} {name!r}. The token above is shown only this once.", err=True)


@app.command("simulate-call")
def simulate_call(
    url: Annotated[str | None, typer.Option(help="The service's public URL (default HOTLINE_PUBLIC_URL).")] = None,
    chunks: Annotated[int, typer.Option(min=1, help="How many chunks the caller speaks.")] = 3,
    audio: Annotated[list[Path] | None, typer.Option(help="WAV files the caller says, in turn.")] = None,
    silent_chunk: Annotated[list[int] | None, typer.Option(help="Chunk numbers the caller stays silent.")] = None,
    hangup_after: Annotated[int | None, typer.Option(help="Hang up in the middle of chunk N.")] = None,
    press_zero_at: Annotated[int | None, typer.Option(help="Press 0 (ask for a human) in chunk N.")] = None,
    media_delay: Annotated[float, typer.Option(help="Seconds the media answers 404 before it is ready.")] = 0.0,
    media_port: Annotated[int, typer.Option(help="Port of the emulated media host.")] = 8790,
    pause_scale: Annotated[float, typer.Option(help="Scale <Pause> lengths (0 skips them).")] = 1.0,
) -> None:
    """Act as Twilio: place a call against a running service and follow its TwiML."""
    from importlib import resources

    from service.emulator import CallEmulator, CallScript, MediaServer, load_audio, summary_line

    settings = _settings()
    if not settings.twilio_enabled or settings.twilio_auth_token is None or settings.twilio_account_sid is None:
        msg = "Set HOTLINE_TWILIO_ACCOUNT_SID and HOTLINE_TWILIO_AUTH_TOKEN (the service's), e.g. in .env."
        raise UserError(msg)
    for path in audio or []:
        if not path.is_file():
            msg = f"No audio file {path}."
            raise UserError(msg)
    sounds = (
        load_audio(audio) if audio else [resources.files("service").joinpath("data/caller_sample.wav").read_bytes()]
    )
    script = CallScript(
        audio=sounds,
        chunks=chunks,
        silent_chunks=frozenset(silent_chunk or []),
        hangup_after=hangup_after,
        press_zero_at=press_zero_at,
        media_ready_after_s=media_delay,
        pause_scale=pause_scale,
    )
    token = settings.twilio_auth_token.get_secret_value()
    try:
        media = MediaServer(settings.twilio_account_sid, token, port=media_port)
    except OSError as exc:
        msg = f"Cannot serve emulated media on 127.0.0.1:{media_port}: {exc.strerror}; try --media-port."
        raise UserError(msg) from exc
    with media:
        emulator = CallEmulator(url or settings.public_url, settings.twilio_account_sid, token, media, say=typer.echo)
        report = emulator.run(script)
    for failure in report.failed_webhooks:
        typer.echo(f"  failed webhook: {failure}", err=True)
    typer.echo(summary_line(report))
    if not report.ok:
        raise typer.Exit(1)


def parse_moment(text: str, option: str) -> dt.datetime:
    """A date (YYYY-MM-DD, midnight UTC) or an ISO 8601 time; naive times are UTC."""
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        msg = f"{option} {text!r} is not a date: use YYYY-MM-DD or an ISO 8601 time."
        raise UserError(msg) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


@jobs_app.command("run")
def jobs_run(
    name: Annotated[str, typer.Argument(help="archive, retention, anonymize, export or audit-checkpoint.")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="List what would change; change nothing.")] = False,
    limit: Annotated[int | None, typer.Option(min=1, help="Examine at most N items.")] = None,
    as_of: Annotated[str | None, typer.Option(help="Evaluate ages as if today were DATE.")] = None,
) -> None:
    """Run one job now, recorded in the job-run ledger."""
    from jobs.registry import JOBS
    from jobs.runner import JobContext, run_job

    if name not in JOBS:
        msg = f"Unknown job {name!r}; choose one of {', '.join(JOBS)}."
        raise UserError(msg)
    moment = parse_moment(as_of, "--as-of") if as_of else dt.datetime.now(dt.UTC)
    settings = _settings()
    with _runtime(settings) as runtime, _progress(name) as (advance, set_total):
        ctx = JobContext(
            runtime, name, moment, dry_run=dry_run, limit=limit, say=typer.echo, advance=advance, set_total=set_total
        )
        run = run_job(JOBS[name], ctx)
    extra = f" (compression {ctx.details['compression_ratio']}x)" if "compression_ratio" in ctx.details else ""
    typer.echo(
        f"{name} {run.outcome}{' (dry run)' if dry_run else ''}: examined {run.examined}, changed {run.changed}, "
        f"skipped {run.skipped}, failed {run.failed}{extra}"
    )
    if run.outcome == "failed":
        typer.echo(f"hotline: {name} failed: {run.error}", err=True)
        raise typer.Exit(1)


@contextmanager
def _progress(name: str) -> Iterator[tuple[Callable[[int], None], Callable[[int], None]]]:
    """A rich progress bar on a terminal; plain lines (every 1,000 items) otherwise."""
    if sys.stdout.isatty():
        from rich.progress import Progress

        with Progress(console=out, transient=True) as progress:
            task = progress.add_task(name, total=None)
            yield (lambda n: progress.advance(task, n)), (lambda total: progress.update(task, total=total))
        return
    done = [0]

    def advance(n: int) -> None:
        before, done[0] = done[0], done[0] + n
        if before // 1000 != done[0] // 1000:
            typer.echo(f"{name}: {done[0]} items examined")

    yield advance, (lambda _total: None)


@jobs_app.command("list")
def jobs_list() -> None:
    """Schedules, last runs and outcomes."""
    from sqlalchemy import select

    from jobs.models import JobRun
    from jobs.registry import schedules

    settings = _settings()
    with _runtime(settings) as runtime, runtime.readers() as session:
        table = Table(title="Jobs (UTC)")
        for column in ("job", "schedule", "last run", "outcome", "examined", "changed", "failed"):
            table.add_column(column)
        for name, crontab in schedules(settings).items():
            last = session.scalars(
                select(JobRun).where(JobRun.job_name == name).order_by(JobRun.started_at.desc()).limit(1)
            ).first()
            if last is None:
                table.add_row(name, crontab, "never", "", "", "", "")
            else:
                outcome = last.outcome + (" (dry run)" if last.dry_run else "")
                table.add_row(
                    name, crontab, f"{last.started_at:%Y-%m-%d %H:%M}", outcome,
                    str(last.examined), str(last.changed), str(last.failed),
                )  # fmt: skip
        out.print(table)


@jobs_app.command("scheduler")
def jobs_scheduler() -> None:
    """Run the scheduler in the foreground (stops cleanly on SIGTERM)."""
    from jobs.scheduler import run_scheduler
    from service.logs import configure_logging

    settings = _settings()
    configure_logging(settings)
    with _runtime(settings):
        pass  # fail fast, with one clear line, if the keyring or the database is missing
    run_scheduler(settings)


@hold_app.command("add")
def hold_add(
    call: Annotated[str, typer.Option(help="The call's id or its Twilio CallSid.")],
    reason: Annotated[str, typer.Option(help="Why (case, request); recorded in the audit log.")],
    until: Annotated[str | None, typer.Option(help="End date (YYYY-MM-DD); open-ended without.")] = None,
) -> None:
    """Place a legal hold on a call."""
    from compliance.holds import place_hold

    end = parse_moment(until, "--until") if until else None
    settings = _settings()
    with _runtime(settings) as runtime, transaction(runtime.sessions) as session:
        hold = place_hold(session, call, reason, actor=operator(settings), until=end)
    typer.echo(f"Legal hold {hold.id} placed on call {hold.call_id}.")


@hold_app.command("release")
def hold_release(
    ref: Annotated[str, typer.Argument(metavar="ID", help="The hold's number, or a call's id or CallSid.")],
    reason: Annotated[str, typer.Option(help="Why the hold ends; recorded in the audit log.")],
) -> None:
    """Release a legal hold."""
    from compliance.holds import release_holds

    settings = _settings()
    with _runtime(settings) as runtime, transaction(runtime.sessions) as session:
        holds = release_holds(session, ref, reason, actor=operator(settings))
    typer.echo(f"Released legal hold {', '.join(str(h.id) for h in holds)}.")


@hold_app.command("list")
def hold_list(
    include_released: Annotated[bool, typer.Option("--all", help="Also released holds.")] = False,
) -> None:
    """Active (or all) legal holds."""
    from sqlalchemy import select

    from compliance.models import LegalHold

    settings = _settings()
    with _runtime(settings) as runtime, runtime.readers() as session:
        query = select(LegalHold).order_by(LegalHold.placed_at)
        if not include_released:
            query = query.where(LegalHold.released_at.is_(None))
        table = Table(title="Legal holds")
        for column in ("id", "call", "placed", "by", "until", "released", "reason"):
            table.add_column(column)
        for hold in session.scalars(query):
            until = f"{hold.until:%Y-%m-%d}" if hold.until else ""
            released = f"{hold.released_at:%Y-%m-%d}" if hold.released_at else ""
            table.add_row(
                str(hold.id), hold.call_id, f"{hold.placed_at:%Y-%m-%d}", hold.placed_by, until, released, hold.reason
            )
        out.print(table)


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
) -> None:
    """Run the web service (Twilio webhooks, management API, health)."""
    import uvicorn

    from service.app import create_app
    from service.logs import configure_logging

    settings = _settings()
    configure_logging(settings)
    runtime = build_runtime(settings)
    check_connection(runtime.engine)
    # No access log: reply URLs carry a signature, and request lines are not needed to audit anything.
    uvicorn.run(create_app(settings, runtime), host=host, port=port, log_config=None, access_log=False)


def main() -> None:
    """Entry point: user mistakes and unavailable dependencies are one line on stderr, never a traceback."""
    try:
        app()
    except (UserError, ComplianceError, ServiceError, DatabaseUnavailableError, ReportError) as exc:
        typer.echo(f"hotline: {exc}", err=True)
        sys.exit(2 if isinstance(exc, UserError) else 1)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "settings"
        typer.echo(f"hotline: invalid setting HOTLINE_{where.upper()}: {first['msg']}", err=True)
        sys.exit(2)
    except (OperationalError, ProgrammingError) as exc:
        typer.echo(f"hotline: database error: {str(exc.orig).splitlines()[0]}", err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
