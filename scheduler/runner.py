"""The in-process APScheduler: each replica runs its own (job stores are never shared).

Exactly-once across replicas comes from the database, not from APScheduler: the outbox claims
rows atomically, and `run_once` records each periodic run under a unique key in `job_run`.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from bot.services import Services
from scheduler import outbox
from storage.models import JobRun, utcnow

log = logging.getLogger(__name__)
OUTBOX_INTERVAL_SECONDS = 30


def replica_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def run_once(services: Services, run_key: str, job_name: str, work: Callable[[], Any]) -> bool:
    """Runs `work` only if no replica has claimed `run_key` before; returns whether it ran."""

    def claim(session: Session) -> bool:
        try:
            with session.begin_nested():
                session.add(JobRun(run_key=run_key, job_name=job_name, owner=replica_id()))
                session.flush()
        except IntegrityError:
            return False
        return True

    if not services.db.run(claim):
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
            run = session.exec(select(JobRun).where(JobRun.run_key == run_key)).one()
            run.status = status
            run.finished_at = utcnow()

        services.db.run(finish)
    return True


def deliver_outbox(services: Services) -> int:
    # Leave a margin before the next run; max_instances=1 keeps runs from overlapping anyway.
    budget = OUTBOX_INTERVAL_SECONDS * 0.8
    return outbox.flush(
        services.db,
        services.client,
        owner=replica_id(),
        budget_seconds=budget,
        hooks=services.outbox_hooks,
    )


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
    return scheduler
