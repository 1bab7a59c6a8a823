"""The in-process APScheduler: each replica runs its own (job stores are never shared).

Exactly-once across replicas comes from the database, not from APScheduler: the outbox claims
rows atomically, and `run_once` records each periodic run under a unique key in `job_run`,
holding a lease while it runs so a crashed or failed run can be finished by another replica.
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
from sqlmodel import Session, col

from bot.clock import zone
from bot.delivery import Pacer, inbound
from bot.services import Services
from scheduler.jobs import JOBS, SEND_RATE_PER_SECOND, JobReport
from storage import repositories as repo
from storage.models import JobRun, Program, utcnow

log = logging.getLogger(__name__)
OUTBOX_INTERVAL_SECONDS = 30
# How long a run may hold its key before another replica presumes it dead and takes over.
RUN_LEASE = timedelta(minutes=15)
# A run missed while the process was down still happens if it restarts within this window.
JOB_MISFIRE_GRACE = 6 * 3600


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
    return scheduler


def job_trigger(schedule: str, program: Program | None) -> CronTrigger:
    """The job's crontab in the programme's zone: APScheduler >= 3.11.2 handles DST folds,
    and `run_once` keys runs by local day, so a repeated hour never runs a job twice."""
    return CronTrigger.from_crontab(schedule, timezone=program.timezone if program else "UTC")


def run_registered(services: Services, name: str) -> None:
    """A scheduled run: the job acts on the clock's now, once across replicas."""
    report = run_job(services, name, services.clock.now())
    if report is not None:
        log.info("job ran", extra={"job": name, "queued": report.queued})
        # Paced at Slack's rate; what is left is delivered by the outbox run every 30 s.
        services.delivery.deliver_now(
            report.keys,
            budget_seconds=OUTBOX_INTERVAL_SECONDS * 4,
            pacer=Pacer(SEND_RATE_PER_SECOND),
        )


def add_registered_jobs(scheduler: BackgroundScheduler, services: Services) -> None:
    with services.db.session() as session:
        program = repo.active_program(session)
    for spec in JOBS.values():
        scheduler.add_job(
            run_registered,
            job_trigger(spec.schedule(program), program),
            args=[services, spec.name],
            id=f"job_{spec.name}",
            misfire_grace_time=JOB_MISFIRE_GRACE,
            coalesce=True,
            max_instances=1,
        )


def run_key(name: str, program: Program | None, at: datetime) -> str:
    """One run per job, programme and local day (a DST hour repeated runs nothing twice)."""
    tz = program.timezone if program else "UTC"
    day = at.astimezone(zone(tz)).date().isoformat()
    return f"{name}:program={program.id if program else 0}:{day}"


def run_job(
    services: Services, name: str, at: datetime, *, dry_run: bool = False
) -> JobReport | None:
    """Runs a registered job once for its period; None when another run already did it."""
    spec = JOBS[name]
    if dry_run:
        return spec.run(services, at, dry_run=True)
    with services.db.session() as session:
        program = repo.active_program(session)
    found: list[JobReport] = []
    ran = run_once(
        services,
        run_key(name, program, at),
        name,
        lambda: found.append(spec.run(services, at, dry_run=False)),
    )
    return found[0] if ran and found else None
