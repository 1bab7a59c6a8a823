"""`reverse-mentoring` (also `python -m bot`): serve, sandbox, start, demo, db, jobs, export."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NoReturn

from bot.logs import configure_logging
from bot.sandbox import DEFAULT_DATABASE_URL as SANDBOX_DATABASE_URL
from bot.settings import PULSE_SECRET_MISSING, Settings, SettingsError, load_settings

if TYPE_CHECKING:
    from bot.services import Services
    from storage.db import Database

log = logging.getLogger("bot")
# `jobs run` delivers what it queued before it exits, within this many seconds by default.
JOBS_RUN_WAIT_SECONDS = 300


class _Parser(argparse.ArgumentParser):
    """Usage errors are one line too (argparse would print the usage block first)."""

    def error(self, message: str) -> NoReturn:
        print(f"reverse-mentoring: {message} (see --help)", file=sys.stderr)
        raise SystemExit(2)


def _port(value: str) -> int:
    try:
        port = int(value)
    except ValueError:
        port = -1
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{value!r} is not a port number (1-65535)")
    return port


def _positive(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"{value!r} is not a positive whole number")
    return number


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="reverse-mentoring", description="A Slack app for reverse mentoring programmes."
    )
    parser.add_argument("--env-file", default=".env", help="settings file (default: .env)")
    parser.add_argument(
        "--json-logs",
        action="store_true",
        help="JSON log lines on stderr even on a terminal (also LOG_FORMAT=json)",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the app (Socket Mode if SLACK_APP_TOKEN is set)")
    serve.add_argument("--http", action="store_true", help="serve HTTP even with an app token")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=_port, default=3000)
    serve.add_argument("--workers", type=_positive, default=1)
    serve.add_argument("--threads", type=_positive, default=64)
    sandbox = commands.add_parser(
        "sandbox", help="try the app in a browser against a simulated Slack workspace"
    )
    _sandbox_options(sandbox)
    demo = commands.add_parser(
        "demo", help="run a whole programme over simulated months against the simulated Slack"
    )
    demo.add_argument("--people", type=_positive, default=40)
    demo.add_argument("--months", type=_positive, default=3)
    demo.add_argument("--seed", type=int, default=1)
    demo.add_argument("--out", default="demo-output", help="folder for transcripts and files")
    start = commands.add_parser(
        "start", help="serve when Slack credentials are set, otherwise start the sandbox"
    )
    _sandbox_options(start)
    db = commands.add_parser("db", help="database tasks")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    db_commands.add_parser("upgrade", help="apply pending migrations")
    export = commands.add_parser("export", help="export the programme data (JSON or CSV)")
    export.add_argument("--format", choices=("json", "csv"), default="json")
    export.add_argument("--output", default=None, help="file, folder or .zip (default: stdout)")
    export.add_argument(
        "--program", type=_positive, default=None, help="one programme's id (default: all)"
    )
    _sandbox_switch(export)
    _jobs_options(commands)
    programs = commands.add_parser("programs", help="the programmes of this workspace")
    program_commands = programs.add_subparsers(dest="programs_command", required=True)
    listing = program_commands.add_parser(
        "list", help="id, name, status, owners, time zone, language, participants, pairs"
    )
    listing.add_argument("--format", choices=("table", "json"), default="table")
    _sandbox_switch(listing)
    _audit_options(commands)
    _roster_options(commands)
    return parser


def _since(value: str) -> datetime:
    """A day (its start, UTC) or an ISO-8601 time."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not an ISO-8601 date or time") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _roster_options(commands: Any) -> None:
    roster = commands.add_parser("roster", help="the HR roster (departments, managers, …)")
    roster_commands = roster.add_subparsers(dest="roster_command", required=True)
    imports = roster_commands.add_parser(
        "import",
        help="import a roster file (CSV or JSON); shows what changes, then applies it",
        description="Columns: slack_id or email, department, manager (id or email), title, "
        "office, country, hire_date (ISO), level. See README, The roster.",
    )
    imports.add_argument("file", help="the roster: .csv (UTF-8, `,` or `;`) or .json")
    imports.add_argument("--dry-run", action="store_true", help="show the preview; write nothing")
    imports.add_argument(
        "--full",
        action="store_true",
        help="the whole roster: people on the stored roster but not in the file leave",
    )


def _audit_options(commands: Any) -> None:
    audit = commands.add_parser("audit", help="the audit log of admin actions")
    audit_commands = audit.add_subparsers(dest="audit_command", required=True)
    export = audit_commands.add_parser(
        "export", help="export the audit log (newest first; never survey answers)"
    )
    export.add_argument("--format", choices=("csv", "json"), default="csv")
    export.add_argument("--program", type=_positive, default=None, help="one programme's id")
    export.add_argument(
        "--since", type=_since, default=None, help="entries from this day or time (ISO-8601)"
    )
    export.add_argument("--output", default=None, help="a file (default: stdout)")
    _sandbox_switch(export)


def _export_audit(database: Database, args: argparse.Namespace) -> None:
    """`audit export`: the file, recorded in the log itself as exported from the command line."""
    from pathlib import Path

    from bot.domain.audit import CLI_ACTOR, export_file

    name, data = database.run(
        lambda session: export_file(
            session, args.format, actor=CLI_ACTOR, program_id=args.program, since=args.since
        )
    )
    if args.output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    Path(args.output).write_bytes(data)
    print(f"audit log written to {args.output} ({name})", file=sys.stderr)


def _jobs_options(commands: Any) -> None:
    from scheduler.jobs import ALL_JOBS

    listing = "; ".join(f"{spec.name}: {spec.description}" for spec in ALL_JOBS.values())
    jobs = commands.add_parser(
        "jobs", help="list or run the scheduled jobs", description=f"Jobs: {listing}."
    )
    job_commands = jobs.add_subparsers(dest="jobs_command", required=True)
    _sandbox_switch(job_commands.add_parser("list", help="each job with its schedule and next run"))
    run = job_commands.add_parser(
        "run",
        help="run one job once now (or as if the clock said --at); delivers what it queued",
    )
    run.add_argument("name", choices=sorted(ALL_JOBS), help="the job to run")
    run.add_argument(
        "--program",
        type=_positive,
        default=None,
        help="one programme's id (default: every programme that is live)",
    )
    run.add_argument(
        "--at", type=_instant, default=None, help="ISO-8601 time, e.g. 2027-01-04T09:00+01:00"
    )
    run.add_argument(
        "--dry-run", action="store_true", help="print what it would send; send nothing"
    )
    run.add_argument(
        "--wait",
        type=_positive,
        default=JOBS_RUN_WAIT_SECONDS,
        metavar="SECONDS",
        help="how long to wait out Slack's rate limits while delivering "
        f"(default: {JOBS_RUN_WAIT_SECONDS}); the scheduler sends what is left",
    )
    _sandbox_switch(run)


def _sandbox_switch(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--sandbox",
        action="store_true",
        help=f"use the sandbox's database ({SANDBOX_DATABASE_URL}, in this folder)",
    )


def _instant(value: str) -> datetime:
    from bot.domain.validation import EARLIEST_START, LATEST_START

    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not an ISO-8601 time") from None
    if not EARLIEST_START.year <= parsed.year <= LATEST_START.year:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not between {EARLIEST_START.year} and {LATEST_START.year}"
        )
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _jobs(args: argparse.Namespace, settings: Settings) -> int:
    from bot.clock import ShiftedClock, SystemClock
    from bot.services import build_services

    at: datetime | None = getattr(args, "at", None)
    # --at: that moment, passing at real speed, so waiting out Retry-After moves it too.
    clock = ShiftedClock(at) if at is not None else SystemClock()
    services = build_services(settings, clock=clock)
    try:
        if args.jobs_command == "list":
            _list_jobs(services)
            return 0
        return _run_job(services, args, at)
    finally:
        services.db.dispose()


def _list_jobs(services: Services) -> None:
    """One row per job, columns aligned; then what a bad programme setting changed."""
    from bot.domain.programs import settings_of, settings_problems
    from scheduler.jobs import JOBS, WORKSPACE_JOBS
    from scheduler.runner import job_trigger
    from storage import repositories as repo

    with services.db.session() as session:
        programs = list(repo.live_programs(session))
    now = services.clock.now()
    rows = [("programme", "job", "schedule", "set by", "next run", "what")]
    notes = []
    for program in programs or [None]:
        where = f"{program.id} {program.name}" if program is not None else "-"
        for spec in JOBS.values():
            schedule, problem = spec.schedule(program)
            upcoming = job_trigger(schedule, program).get_next_fire_time(None, now)
            if problem is not None:
                source = "default*"
                notes.append(f"* {where} {spec.name}: its schedule is refused ({problem})")
            else:
                source = "default" if schedule == spec.default_schedule else "programme"
            rows.append(
                (
                    where,
                    spec.name,
                    schedule,
                    source,
                    upcoming.isoformat() if upcoming else "-",
                    spec.description,
                )
            )
        shown = {f"schedules.{name}" for name in JOBS} | {"schedules"}
        for setting, problem in settings_problems(settings_of(program), JOBS).items():
            if setting not in shown:
                notes.append(f"{where}: {setting} refused ({problem}); the default applies")
    for spec in WORKSPACE_JOBS.values():  # once for every programme, in UTC
        upcoming = job_trigger(spec.default_schedule, None).get_next_fire_time(None, now)
        rows.append(
            (
                "(workspace)",
                spec.name,
                spec.default_schedule,
                "default",
                upcoming.isoformat() if upcoming else "-",
                spec.description,
            )
        )
    widths = [max(len(row[column]) for row in rows) for column in range(5)]
    for *cells, what in rows:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True)),
            what,
            sep="  ",
        )
    for note in notes:
        print(note)


def _list_programmes(database: Database, fmt: str) -> None:
    """`programs list`: every programme with its owners and figures."""
    from bot.domain.programs import programme_rows

    with database.session() as session:
        rows = programme_rows(session)
    if fmt == "json":
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    columns = [
        "id",
        "name",
        "status",
        "owners",
        "timezone",
        "language",
        "participants",
        "pairs",
    ]
    table = [columns] + [
        [
            ", ".join(row[c])
            if isinstance(row[c], list)
            else str(row[c] if row[c] is not None else "-")
            for c in columns
        ]
        for row in rows
    ]
    widths = [max(len(line[i]) for line in table) for i in range(len(columns))]
    for line in table:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        )


def _run_job(services: Services, args: argparse.Namespace, at: datetime | None) -> int:
    from scheduler.jobs import WORKSPACE_JOBS
    from storage import repositories as repo

    when = at or services.clock.now()
    if args.name in WORKSPACE_JOBS:
        return _run_workspace_job(services, args, when)
    with services.db.session() as session:
        live = [p.id or 0 for p in repo.live_programs(session)]
    targets = [args.program] if args.program is not None else live
    if not targets:
        print(f"{args.name}: no programme is live; nothing to do")
        return 0
    for program_id in targets:
        code = _run_job_for(services, args, at, when, program_id)
        if code:
            return code
    return 0


def _run_workspace_job(services: Services, args: argparse.Namespace, when: datetime) -> int:
    """A workspace job (retention, people_refresh): one run for every programme; a dry run
    says what it would do, in counts, and changes nothing; what a real run owes people is
    delivered before the command exits."""
    from scheduler.runner import run_job

    report = run_job(services, args.name, when, program_id=args.program, dry_run=args.dry_run)
    if report is None:
        print(f"{args.name}: already ran for {when.date().isoformat()}; nothing to do")
        return 0
    suffix = " (dry run)" if args.dry_run else ""
    for note in report.notes:
        print(f"{args.name}{suffix}: {note}")
    if args.dry_run:
        owed = f"{report.queued} would be queued, " if report.queued else ""
        print(f"{args.name}{suffix}: {owed}nothing changed, nothing sent")
        return 0
    sent = services.delivery.deliver_now(report.keys, budget_seconds=float(args.wait))
    owed = f"{report.queued} queued, {sent} delivered now; " if report.queued else ""
    print(f"{args.name}: {owed}done")
    return 0


def _run_job_for(
    services: Services,
    args: argparse.Namespace,
    at: datetime | None,
    when: datetime,
    program_id: int,
) -> int:
    from bot.clock import SystemClock
    from bot.delivery import Pacer
    from scheduler.jobs import SEND_RATE_PER_SECOND
    from scheduler.runner import run_job

    name = f"{args.name} (programme {program_id})"
    report = run_job(services, args.name, when, program_id=program_id, dry_run=args.dry_run)
    if report is None:
        print(f"{name}: already ran for {when.date().isoformat()}; nothing to do")
        return 0
    if args.dry_run:
        for recipient, not_before, text in report.would_send:
            print(f"would send to {recipient} at {not_before}: {text}")
    for note in report.notes:
        print(f"{name}: {note}")
    if args.dry_run:
        print(f"{name} (dry run): {report.queued} would be queued, nothing sent")
        return 0
    sent = services.delivery.deliver_now(
        report.keys, budget_seconds=float(args.wait), pacer=Pacer(SEND_RATE_PER_SECOND)
    )
    if at is not None:
        # What is left waits in real time: the scheduler would hold a row stamped with the
        # simulated date until that date.
        services.delivery.to_real_time(
            report.keys, simulated_now=services.clock.now(), real_now=SystemClock().now()
        )
    later = report.queued - sent
    print(
        f"{name}: {report.queued} queued, {report.skipped} skipped, {sent} delivered now"
        + (
            f", {later} left for the scheduler (the recipient's working hours or Slack's "
            "rate limit)"
            if later > 0
            else ""
        )
    )
    return 0


def _roster(args: argparse.Namespace, settings: Settings) -> int:
    """`roster import FILE [--dry-run] [--full]`: the preview, then (unless a dry run or a
    problem stops it) the import in one transaction. Exit 1 when a problem stopped it."""
    from pathlib import Path

    from bot.domain.roster import MAX_BYTES
    from bot.i18n import translator
    from bot.services import build_services
    from bot.usecases.roster import (
        RosterSlackError,
        SlackDirectory,
        apply_roster,
        preview_roster,
        too_big,
    )
    from bot.views.roster import applied_text, cli_report

    path = Path(args.file)
    try:
        size = path.stat().st_size
    except OSError as error:
        return _fail(f"cannot read {args.file} ({error.strerror})")
    if not settings.slack_bot_token:
        return _fail("SLACK_BOT_TOKEN is missing: the roster's emails are looked up in Slack")
    services = build_services(settings)
    try:
        if size > MAX_BYTES:
            preview = too_big(size)
            preview.name = path.name
        else:
            preview = preview_roster(
                services.db,
                SlackDirectory(services.client),
                path.read_bytes(),
                name=path.name,
                full=args.full,
            )
        for line in cli_report(preview):
            print(line)
        if preview.plan.blocking:
            print("Nothing was imported.")
            return 1
        if args.dry_run:
            print("Dry run: nothing was written.")
            return 0
        applied = apply_roster(
            services.delivery,
            preview,
            actor=None,
            source=f"cli: {path.name}",
            default_locale=settings.default_locale,
        )
        print(applied_text(applied, translator("en")))
        return 0
    except RosterSlackError as error:
        return _fail(f"{error}; nothing was imported")
    finally:
        services.db.dispose()


def _sandbox_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=_port, default=3000)
    parser.add_argument("--people", type=_positive, default=12, help="simulated members")
    parser.add_argument("--seed", type=int, default=1, help="makes the workspace reproducible")
    parser.add_argument(
        "--database-url", default=None, help="default: sqlite:///sandbox.db in this folder"
    )
    parser.add_argument(
        "--example",
        action="store_true",
        help="start with two regional programmes a month in (refused on a database holding "
        "other data)",
    )
    parser.add_argument(
        "--fresh", action="store_true", help="delete what the database holds and start over"
    )


def _sandbox(args: argparse.Namespace) -> int:
    from bot.sandbox.run import run_sandbox
    from bot.server import port_problem

    problem = port_problem(args.host, args.port)
    if problem:
        return _fail(problem)
    return run_sandbox(
        host=args.host,
        port=args.port,
        people=args.people,
        seed=args.seed,
        database_url=args.database_url,
        example=args.example,
        fresh=args.fresh,
    )


def _fail(message: str) -> int:
    print(f"reverse-mentoring: {message}", file=sys.stderr)
    return 2


def _check_slack(settings: Settings) -> str | None:
    """Fail fast with one clear line when the token or API URL is wrong."""
    from slack_sdk.errors import SlackApiError

    from bot.slack_api import make_web_client

    assert settings.slack_bot_token is not None
    try:
        make_web_client(settings.slack_bot_token, settings.slack_api_url, timeout=10).auth_test()
    except SlackApiError as error:
        return f"SLACK_BOT_TOKEN was refused by Slack ({error.response.get('error')})"
    except Exception as error:  # noqa: BLE001 - any network failure gets one line
        return f"cannot reach SLACK_API_URL {settings.slack_api_url} ({type(error).__name__})"
    return None


def _log_format(args: argparse.Namespace, settings: Settings) -> str:
    """JSON lines for machines (a pipe, a file, a service manager, or when asked for);
    short lines of warnings and errors for a person at a terminal."""
    if args.json_logs or settings.log_format == "json":
        return "json"
    if settings.log_format == "text":
        return "text"
    return "text" if sys.stderr.isatty() else "json"


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings(args.env_file)
    except SettingsError as error:
        return _fail(str(error))
    configure_logging(
        settings.log_level,
        secrets=(
            settings.slack_bot_token or "",
            settings.slack_signing_secret or "",
            settings.slack_app_token or "",
            settings.pulse_secret or "",
        ),
        log_format=_log_format(args, settings),
    )
    if getattr(args, "sandbox", False):
        if args.command == "jobs" and args.jobs_command == "run" and not args.dry_run:
            return _fail(
                "the sandbox's jobs run from its page (Time → Run job now), where the simulated "
                "Slack receives what they send; add --dry-run to see what a run would send"
            )
        from bot.sandbox.driver import SANDBOX_PULSE_SECRET

        # The sandbox's database with the sandbox's (public) pulse secret, as its page uses.
        settings = settings.model_copy(
            update={"database_url": SANDBOX_DATABASE_URL, "pulse_secret": SANDBOX_PULSE_SECRET}
        )
    if args.command == "start":
        if settings.missing_slack_credentials():
            return _sandbox(args)
        args.command, args.http, args.workers, args.threads = "serve", False, 1, 64
    if args.command == "sandbox":
        return _sandbox(args)
    if args.command == "demo":
        from pathlib import Path

        from bot.demo import run_demo

        logging.getLogger().setLevel(logging.WARNING)  # the progress bar and summary speak
        run_demo(people=args.people, months=args.months, seed=args.seed, out=Path(args.out))
        return 0
    http = args.command == "serve" and (args.http or not settings.socket_mode)
    if args.command == "serve":
        missing = settings.missing_slack_credentials()
        if missing:
            return _fail(
                f"{missing[0]} is missing: set it in the environment or in .env "
                "(to try the app without Slack, run `reverse-mentoring sandbox` "
                "or `reverse-mentoring demo`)"
            )
        if settings.pulse_secret is None:
            return _fail(PULSE_SECRET_MISSING)
        if http:
            from bot.server import port_problem

            problem = port_problem(args.host, args.port)
            if problem:
                return _fail(problem)
    surveys = args.command == "jobs" and getattr(args, "name", None) in ("pulse", "match_check")
    if surveys and settings.pulse_secret is None:
        return _fail(PULSE_SECRET_MISSING)
    from sqlalchemy.exc import SQLAlchemyError

    from storage.db import Database

    database = Database(settings.database_url)
    try:
        database.migrate()
    except SQLAlchemyError as error:
        cause = getattr(error, "orig", None) or error
        return _fail(f"cannot open DATABASE_URL ({type(cause).__name__})")
    finally:
        database.dispose()
    if args.command == "db":
        log.info("database is up to date")
        return 0
    if args.command == "export":
        from bot.domain.export import write_export

        database = Database(settings.database_url)
        try:
            write_export(database, args.format, args.output, program_id=args.program, actor="cli")
        finally:
            database.dispose()
        return 0
    if args.command == "audit":
        database = Database(settings.database_url)
        try:
            _export_audit(database, args)
        finally:
            database.dispose()
        return 0
    if args.command == "programs":
        database = Database(settings.database_url)
        try:
            _list_programmes(database, args.format)
        finally:
            database.dispose()
        return 0
    if args.command == "jobs":
        return _jobs(args, settings)

    if args.command == "roster":
        return _roster(args, settings)

    problem = _check_slack(settings)
    if problem:
        return _fail(problem)
    from bot.server import serve_http, serve_socket_mode

    if http:
        serve_http(settings, args.host, args.port, args.workers, args.threads)
    else:
        serve_socket_mode(settings)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
