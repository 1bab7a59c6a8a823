"""The in-process APScheduler: each replica runs its own (job stores are never shared).

Exactly-once across replicas comes from the database, not from APScheduler: the outbox claims
rows atomically, and `run_once` records each periodic run under a unique key in `job_run`,
holding a lease while it runs so a crashed or failed run can be finished by another replica.

APScheduler only plans the next fire, so a fire missed while no process ran, or a run that
failed or died, would be lost: `catch_up` (at start and every 15 minutes) runs each job whose
latest fire has no successful run in the ledger, as it would have run at that fire.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot.clock import SystemClock, zone
from bot.delivery import Pacer, inbound
from bot.services import Services
from scheduler.job_report import live_program
from scheduler.jobs import JOBS, SEND_RATE_PER_SECOND, WORKSPACE_JOBS, JobReport
from storage import repositories as repo
from storage.models import JobRun, Program, utcnow

log = logging.getLogger(__name__)
OUTBOX_INTERVAL_SECONDS = 30
# How soon a programme that starts or ends gets or loses its scheduled jobs.
PROGRAMME_SYNC = timedelta(minutes=5)
# How long a run may hold its key before another replica presumes it dead and takes over.
RUN_LEASE = timedelta(minutes=15)
# A fire APScheduler could not start on time (its threads busy) still runs within this window.
JOB_MISFIRE_GRACE = 6 * 3600
# Catch-up: how often the ledger is checked for missed or failed runs, how old a missed fire
# may be and still run (the monthly digest is caught up within its month, a year-old fire is
# not), and how long a failed run waits before the next try (doubling, up to RETRY_MAX).
CATCH_UP_EVERY = timedelta(minutes=15)
CATCH_UP_LOOK_BACK = timedelta(days=31)
RETRY_AFTER = timedelta(minutes=15)
RETRY_MAX = timedelta(hours=4)


def replica_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def run_once(
    services: Services,
    run_key: str,
    job_name: str,
    work: Callable[[], Any],
    *,
    lease: timedelta = RUN_LEASE,
) -> bool:
    """Runs `work` unless another replica finished `run_key` or holds a live lease on it.

    The first caller inserts the ledger row with a lease; a run that failed, or whose lease
    expired (its replica died), may be taken over by one other caller (a conditional update);
    a run marked done is never run again. Returns whether `work` ran here. Work should be
    idempotent (queue under unique outbox keys): a run slower than its lease may be taken over.
    """
    owner = f"{replica_id()}:{uuid.uuid4().hex[:8]}"
    if not services.db.run(lambda session: _claim_run(session, run_key, job_name, owner, lease)):
        return False
    status = "done"
    try:
        work()
    except Exception:
        status = "failed"
        log.exception("scheduled job failed", extra={"job": job_name, "run_key": run_key})
        raise
    finally:

        def finish(session: Session) -> None:
            session.execute(
                update(JobRun)
                .where(col(JobRun.run_key) == run_key, col(JobRun.owner) == owner)
                .values(status=status, finished_at=utcnow(), lease_until=None)
                .execution_options(synchronize_session=False)
            )

        services.db.run(finish)
    return True


def _claim_run(session: Session, run_key: str, job_name: str, owner: str, lease: timedelta) -> bool:
    now = utcnow()
    try:
        with session.begin_nested():
            session.add(
                JobRun(run_key=run_key, job_name=job_name, owner=owner, lease_until=now + lease)
            )
            session.flush()
        return True
    except IntegrityError:
        pass
    # Someone had the key: take it over only if that run failed or its lease ran out. The
    # WHERE clause is re-checked under the row lock, so one of several callers wins.
    taken = session.execute(
        update(JobRun)
        .where(
            col(JobRun.run_key) == run_key,
            col(JobRun.status) != "done",
            or_(
                col(JobRun.status) == "failed",
                col(JobRun.lease_until).is_(None),
                col(JobRun.lease_until) < now,
            ),
        )
        .values(
            owner=owner,
            status="running",
            lease_until=now + lease,
            finished_at=None,
            attempts=JobRun.attempts + 1,
        )
        .execution_options(synchronize_session=False)
    )
    return bool(taken.rowcount)  # type: ignore[attr-defined]


def deliver_outbox(services: Services) -> int:
    # Leave a margin before the next run; max_instances=1 keeps runs from overlapping anyway.
    budget = OUTBOX_INTERVAL_SECONDS * 0.8
    return services.delivery.flush(owner=replica_id(), budget_seconds=budget)


def build_scheduler(services: Services) -> BackgroundScheduler:
    scheduler = BackgroundScheduler(
        timezone="UTC",
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 300},
    )
    scheduler.add_job(
        deliver_outbox,
        "interval",
        seconds=OUTBOX_INTERVAL_SECONDS,
        args=[services],
        id="deliver_outbox",
        jitter=5,
    )
    scheduler.add_job(
        inbound.prune_processed_events,
        "interval",
        hours=1,
        args=[services.db],
        id="prune_processed_events",
        jitter=60,
    )
    add_registered_jobs(scheduler, services)
    for spec in WORKSPACE_JOBS.values():
        scheduler.add_job(
            run_workspace_job,
            job_trigger(spec.default_schedule, None),
            args=[services, spec.name],
            id=f"workspace_{spec.name}",
            misfire_grace_time=JOB_MISFIRE_GRACE,
            coalesce=True,
            max_instances=1,
        )
    scheduler.add_job(
        add_registered_jobs,
        "interval",
        seconds=PROGRAMME_SYNC.total_seconds(),
        args=[scheduler, services],
        id="sync_programmes",
        jitter=10,
    )
    scheduler.add_job(
        catch_up,
        "interval",
        seconds=CATCH_UP_EVERY.total_seconds(),
        args=[services],
        id="catch_up",
        # At start too. APScheduler keeps real time, whatever clock the app reads.
        next_run_time=SystemClock().now(),
        jitter=60,
    )
    return scheduler


def job_trigger(schedule: str, program: Program | None) -> CronTrigger:
    """The job's crontab in the programme's zone: APScheduler >= 3.11.2 handles DST folds,
    and `run_once` keys runs by local day, so a repeated hour never runs a job twice."""
    return CronTrigger.from_crontab(schedule, timezone=zone(program.timezone if program else None))


def run_registered(services: Services, name: str, program_id: int) -> None:
    """A scheduled run: the job acts for its programme on the clock's now, once across
    replicas."""
    _run_and_deliver(services, name, services.clock.now(), program_id)


def _run_and_deliver(
    services: Services, name: str, at: datetime, program_id: int
) -> JobReport | None:
    report = run_job(services, name, at, program_id=program_id)
    if report is not None:
        log.info("job ran", extra={"job": name, "program": program_id, "queued": report.queued})
        # Paced at Slack's rate; what is left is delivered by the outbox run every 30 s.
        services.delivery.deliver_now(
            report.keys,
            budget_seconds=OUTBOX_INTERVAL_SECONDS * 4,
            pacer=Pacer(SEND_RATE_PER_SECOND),
        )
    return report


def job_id(name: str, program_id: int) -> str:
    return f"job_{name}_program_{program_id}"


def add_registered_jobs(scheduler: BackgroundScheduler, services: Services) -> None:
    """One cron job per registered job and live programme, in that programme's zone; a bad
    stored schedule falls back to the job's default (JobSpec.schedule), so it never stops the
    app from starting. Called again every few minutes (`sync_programmes`): a programme that
    starts gets its jobs, one that ends loses them."""
    with services.db.session() as session:
        programs = list(repo.live_programs(session))
    wanted: set[str] = set()
    for program in programs:
        for spec in JOBS.values():
            schedule, _problem = spec.schedule(program)
            ident = job_id(spec.name, program.id or 0)
            wanted.add(ident)
            scheduler.add_job(
                run_registered,
                job_trigger(schedule, program),
                args=[services, spec.name, program.id],
                id=ident,
                replace_existing=True,
                misfire_grace_time=JOB_MISFIRE_GRACE,
                coalesce=True,
                max_instances=1,
            )
    for job in scheduler.get_jobs():
        if job.id.startswith("job_") and job.id not in wanted:
            job.remove()


def run_key(name: str, program: Program | None, at: datetime) -> str:
    """One run per job, programme and local day (a DST hour repeated runs nothing twice)."""
    tz = program.timezone if program else "UTC"
    day = at.astimezone(zone(tz)).date().isoformat()
    return f"{name}:program={program.id if program else 0}:{day}"


def run_workspace_job(services: Services, name: str) -> None:
    """A scheduled run of a workspace job (WORKSPACE_JOBS) on the clock's now."""
    report = run_job(services, name, services.clock.now())
    if report is not None:
        log.info("job ran", extra={"job": name, "queued": report.queued})


def _run_workspace_job(
    services: Services, name: str, at: datetime, program_id: int | None, dry_run: bool
) -> JobReport | None:
    """Once a UTC day (per programme when narrowed to one by `jobs run --program`)."""
    spec = WORKSPACE_JOBS[name]
    if dry_run:
        return spec.run(services, at, program_id=program_id, dry_run=True)
    with services.db.session() as session:
        program = repo.program(session, program_id) if program_id is not None else None
    key = run_key(name, None, at) if program is None else run_key(name, program, at)
    found: list[JobReport] = []
    ran = run_once(
        services,
        key,
        name,
        lambda: found.append(spec.run(services, at, program_id=program_id, dry_run=False)),
    )
    return found[0] if ran and found else None


def run_job(
    services: Services,
    name: str,
    at: datetime,
    *,
    program_id: int | None = None,
    dry_run: bool = False,
) -> JobReport | None:
    """Runs a registered job for a programme (None: the workspace's one live programme) once
    for its period; None when another run already did it. A workspace job runs for every
    programme (`program_id` narrows it to one)."""
    if name in WORKSPACE_JOBS:
        return _run_workspace_job(services, name, at, program_id, dry_run)
    spec = JOBS[name]
    with services.db.session() as session:
        program = live_program(session, program_id) if program_id is None else None
        program = program or repo.program(session, program_id)
    program_id = program.id if program is not None else program_id
    if dry_run:
        return spec.run(services, at, program_id=program_id, dry_run=True)
    found: list[JobReport] = []
    ran = run_once(
        services,
        run_key(name, program, at),
        name,
        lambda: found.append(spec.run(services, at, program_id=program_id, dry_run=False)),
    )
    return found[0] if ran and found else None


def run_for_live_programmes(
    services: Services, name: str, at: datetime, *, dry_run: bool = False
) -> list[tuple[Program, JobReport | None]]:
    """A job for every live programme (the CLI's and the sandbox's "run now")."""
    with services.db.session() as session:
        programs = list(repo.live_programs(session))
    return [
        (program, run_job(services, name, at, program_id=program.id or 0, dry_run=dry_run))
        for program in programs
    ]


# Catch-up ---------------------------------------------------------------------------------


def last_fire(
    trigger: CronTrigger, now: datetime, look_back: timedelta = CATCH_UP_LOOK_BACK
) -> datetime | None:
    """The trigger's latest fire at or before `now`, if it lies within `look_back`.

    CronTrigger only looks forward, so this walks forward from a start point; the window
    widens step by step so that a frequent schedule takes few steps.
    """
    for window in (timedelta(hours=1), timedelta(days=1), timedelta(days=8), look_back):
        window = min(window, look_back)
        latest = None
        fire = trigger.get_next_fire_time(None, now - window)
        while fire is not None and fire <= now:
            latest = fire
            fire = trigger.get_next_fire_time(fire, fire + timedelta(seconds=1))
        if latest is not None:
            return latest
    return None


def _needs_run(entry: JobRun | None, now: datetime) -> bool:
    """Whether a fire whose ledger entry is `entry` should run now."""
    if entry is None:
        return True  # missed: no replica ran it
    if entry.status == "done":
        return False
    if entry.status == "failed":
        wait = min(RETRY_AFTER * 2 ** min(max(entry.attempts - 1, 0), 8), RETRY_MAX)
        return entry.finished_at is None or entry.finished_at + wait <= now
    return entry.lease_until is None or entry.lease_until < now  # running, or its replica died


def _ledger_entry(session: Session, key: str) -> JobRun | None:
    return session.exec(select(JobRun).where(JobRun.run_key == key)).first()


def catch_up(services: Services) -> list[str]:
    """Runs each registered job, for each live programme, whose latest fire (within
    CATCH_UP_LOOK_BACK, and since the programme was created) has no successful run in the
    ledger: missed while no process ran, failed (retried with backoff) or died.

    The job acts as it would have at that fire (`at` is the fire time: the digest of the right
    month, the right check-in cycle); quiet hours still count from now. `run_once` makes it
    happen once across replicas. Returns the names of the jobs that ran here.
    """
    now = services.clock.now()
    with services.db.session() as session:
        programs = list(repo.live_programs(session))
    ran: list[str] = []
    for program in programs:
        for spec in JOBS.values():
            schedule, _problem = spec.schedule(program)
            fire = last_fire(job_trigger(schedule, program), now)
            if fire is None or fire < program.created_at:
                continue  # no fire lately, or none since the programme began: nothing missed
            key = run_key(spec.name, program, fire)
            with services.db.session() as session:
                due = _needs_run(_ledger_entry(session, key), now)
            if not due:
                continue
            log.info("catching up a scheduled run", extra={"job": spec.name, "run_key": key})
            try:
                report = _run_and_deliver(
                    services, spec.name, fire.astimezone(now.tzinfo), program.id or 0
                )
            except Exception:  # noqa: BLE001 - logged and marked failed by run_once; retried
                continue
            if report is not None:
                ran.append(spec.name)
    return ran
