"""The job registry: every periodic job, its schedule and its run function.

A run function has one signature, `run_<name>(services, at, *, dry_run=False) -> JobReport`:
it acts as if the clock said `at`, queues what it owes in the outbox under unique keys (kind,
recipient, pair, cycle) with `not_before` at the recipient's next good local time, and returns
a report. A dry run does the same work in a transaction it rolls back, and lists what it would
have sent. Runs go through `scheduler.runner.run_job`, which records each run once across
replicas (run_once).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from bot.domain import journey
from bot.i18n import translator
from bot.services import Services
from bot.views import journey as views
from scheduler import outbox
from scheduler.job_report import JobReport
from scheduler.pulse import run_match_check, run_pulse
from scheduler.recognition import run_digest, run_milestones
from storage import repositories as repo
from storage.models import OutboxMessage, OutboxStatus, Program

log = logging.getLogger(__name__)


RunFunction = Callable[..., JobReport]


@dataclass(frozen=True)
class JobSpec:
    name: str
    description: str
    run: RunFunction
    # Programme setting that overrides the default crontab (minute hour day month weekday),
    # interpreted in the programme's time zone.
    setting: str
    default_schedule: str

    def schedule(self, program: Program | None) -> str:
        if program is not None:
            custom = (program.settings.get("schedules") or {}).get(self.name)
            if isinstance(custom, str) and custom.strip():
                return custom.strip()
        return self.default_schedule


def _in_transaction(
    services: Services, dry_run: bool, work: Callable[[Session, JobReport], None], name: str
) -> JobReport:
    """Runs `work` in one transaction (rolled back in a dry run); a retry starts a fresh report."""

    def attempt(session: Session) -> JobReport:
        report = JobReport(name)
        work(session, report)
        return report

    if not dry_run:
        return services.db.run(attempt)
    with Session(services.db.engine, expire_on_commit=False) as session:
        try:
            return attempt(session)
        finally:
            session.rollback()


def _queue(
    session: Session,
    report: JobReport,
    *,
    dry_run: bool,
    kind: str,
    key: str,
    recipient: str,
    message: dict[str, Any],
    program: Program,
    not_before: datetime,
    extra: dict[str, Any] | None = None,
) -> bool:
    row = outbox.enqueue(
        session,
        key=key,
        kind=kind,
        recipient=recipient,
        message=message,
        program_id=program.id,
        not_before=not_before,
        extra=extra,
    )
    if row is None:  # queued by an earlier run: sent (or sending) once already
        report.skipped += 1
        return False
    report.queued += 1
    report.keys.append(key)
    if dry_run:
        report.would_send.append((recipient, not_before.isoformat(), str(message.get("text"))))
    return True


def run_checkin(services: Services, at: datetime, *, dry_run: bool = False) -> JobReport:
    """Opens the cycle `at` falls in, asks every active pair's members (one request per person
    and pair), and flags to the admins the pairs silent for two cycles."""
    default_locale = services.settings.default_locale
    admins = services.admin_ids()

    def work(session: Session, report: JobReport) -> None:
        program = repo.active_program(session)
        if program is None:
            report.notes.append("no active programme")
            return
        left = journey.daily_cap(program) - journey.sent_today(session, program, at)
        prompts, paused = journey.ask_for_checkins(session, program, at, limit=max(0, left))
        report.skipped += paused
        if paused:
            report.notes.append(f"{paused} paused")
        for prompt in prompts:
            _ = translator(prompt.person.locale, default_locale)
            request_id = prompt.request.id or 0
            _queue(
                session,
                report,
                dry_run=dry_run,
                kind=journey.CHECKIN,
                key=f"{journey.CHECKIN}:{prompt.person.slack_user_id}:"
                f"{prompt.request.pair_id}:{prompt.period}",
                recipient=prompt.person.slack_user_id,
                message=views.checkin_message(
                    program, request_id, prompt.partner.slack_user_id, prompt.request.suggestion, _
                ),
                program=program,
                not_before=prompt.not_before,
                extra={"pair_id": prompt.request.pair_id, "request_id": request_id},
            )
        if left <= len(prompts):
            report.notes.append("daily cap reached: the rest are asked on the next run")
        period = journey.period_of(at, program.timezone)
        hours = journey.working_hours(program)
        for silent in journey.silent_pairs(session, program, period):
            for admin in admins:
                profile = services.person(admin)
                _ = translator(profile.locale if profile else None, default_locale)
                tz = (profile.timezone if profile else None) or program.timezone
                when = journey.next_good_time(at, tz, hours)
                _queue(
                    session,
                    report,
                    dry_run=dry_run,
                    kind=journey.ESCALATION,
                    key=f"{journey.ESCALATION}:{admin}:{silent.pair.id}:{period}",
                    recipient=admin,
                    message=views.escalation_message(
                        silent.pair.id or 0,
                        silent.mentor.slack_user_id,
                        silent.mentee.slack_user_id,
                        silent.periods,
                        _,
                    ),
                    program=program,
                    not_before=when,
                    extra={"pair_id": silent.pair.id},
                )

    return _in_transaction(services, dry_run, work, "checkin")


def run_nudge(services: Services, at: datetime, *, dry_run: bool = False) -> JobReport:
    """Reminds the members of pairs with no meeting logged this cycle: at most once a week
    per person (the key names the person's week), on a weekday inside their hours."""
    default_locale = services.settings.default_locale

    def work(session: Session, report: JobReport) -> None:
        program = repo.active_program(session)
        if program is None:
            report.notes.append("no active programme")
            return
        left = journey.daily_cap(program) - journey.sent_today(session, program, at)
        for nudge in journey.nudges_due(session, program, at):
            if left <= 0:
                report.notes.append("daily cap reached")
                break
            _ = translator(nudge.person.locale, default_locale)
            queued = _queue(
                session,
                report,
                dry_run=dry_run,
                kind=journey.NUDGE,
                key=f"{journey.NUDGE}:{nudge.person.slack_user_id}:{nudge.week}",
                recipient=nudge.person.slack_user_id,
                message=views.nudge_message(
                    program, nudge.request.id or 0, nudge.partner.slack_user_id, _
                ),
                program=program,
                not_before=nudge.not_before,
                extra={"pair_id": nudge.request.pair_id, "period": nudge.period},
            )
            left -= int(queued)

        _report_failures(services, session, report, program, at, dry_run)

    return _in_transaction(services, dry_run, work, "nudge")


def _report_failures(
    services: Services,
    session: Session,
    report: JobReport,
    program: Program,
    at: datetime,
    dry_run: bool,
) -> None:
    """Tells the admins, once a day, of messages Slack refused for good the day before
    (a deactivated account, a deleted channel): they are never retried."""
    since = at - timedelta(days=1)
    failed = [
        m
        for m in repo.failed_messages(session, program.id)
        if m.failed_at is not None and since <= m.failed_at < at
    ]
    if not failed:
        return
    reasons = Counter(m.last_error or "unknown" for m in failed)
    for admin in services.admin_ids():
        profile = services.person(admin)
        _ = translator(profile.locale if profile else None, services.settings.default_locale)
        tz = (profile.timezone if profile else None) or program.timezone
        _queue(
            session,
            report,
            dry_run=dry_run,
            kind=journey.DELIVERY_FAILED,
            key=f"{journey.DELIVERY_FAILED}:{admin}:{at.date().isoformat()}",
            recipient=admin,
            message=views.delivery_failed_message(sorted(reasons.items()), _),
            program=program,
            not_before=journey.next_good_time(at, tz, journey.working_hours(program)),
        )


JOBS: dict[str, JobSpec] = {
    spec.name: spec
    for spec in (
        JobSpec(
            "checkin",
            "monthly DM check-ins for every active pair; flags pairs silent for two cycles",
            run_checkin,
            "schedules.checkin",
            "0 8 * * mon-fri",
        ),
        JobSpec(
            "nudge",
            "a friendly reminder to pairs with no meeting logged this cycle (once a week)",
            run_nudge,
            "schedules.nudge",
            "0 10 * * mon-fri",
        ),
        JobSpec(
            "pulse",
            "the anonymous pulse survey on the programme's cadence, its reminder and closing",
            run_pulse,
            "schedules.pulse",
            "0 9 * * mon-fri",
        ),
        JobSpec(
            "match_check",
            "asks each pair member privately whether the match works (30 days, then every 60)",
            run_match_check,
            "schedules.match_check",
            "0 11 * * mon-fri",
        ),
        JobSpec(
            "milestones",
            "celebrates first and third meetings, goals achieved and completion once each; "
            "certificates",
            run_milestones,
            "schedules.milestones",
            "30 8 * * mon-fri",
        ),
        JobSpec(
            "digest",
            "the monthly community highlight in the recognition channel (once per month)",
            run_digest,
            "schedules.digest",
            "0 10 1-7 * mon",
        ),
    )
}


# Slack's chat.postMessage: about one a second per channel plus a workspace-wide cap of a few
# hundred a minute; a fan-out of DMs (one per channel) is held to this.
SEND_RATE_PER_SECOND = 4.0


class Pacer:
    """Spaces sends to at most `per_second` (shared by a process's sending threads), so a
    fan-out runs at Slack's workspace limit instead of into it."""

    def __init__(self, per_second: float) -> None:
        self.interval = 1.0 / per_second if per_second > 0 else 0.0
        self._next = time.monotonic()
        self._lock = threading.Lock()

    def __call__(self) -> None:
        if not self.interval:
            return
        with self._lock:
            now = time.monotonic()
            wait = self._next - now
            self._next = max(now, self._next) + self.interval
        if wait > 0:
            time.sleep(wait)


def deliver_now(
    services: Services,
    keys: list[str],
    *,
    budget_seconds: float = 600.0,
    pacer: Pacer | None = None,
) -> int:
    """Delivers the due messages among `keys` (rate limits waited out within the budget);
    messages whose `not_before` lies ahead stay queued for the scheduler."""
    deadline = time.monotonic() + budget_seconds
    sent = 0
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        while time.monotonic() < deadline:
            sent_now = outbox.flush(
                services.db,
                services.client,
                keys=chunk,
                budget_seconds=max(0.0, deadline - time.monotonic()),
                hooks=services.outbox_hooks,
                pacer=pacer,
            )
            sent += sent_now
            if not _due(services, chunk):
                break
            if sent_now == 0:
                time.sleep(0.2)
    return sent


def _due(services: Services, keys: list[str]) -> int:
    with services.db.session() as session:
        rows = session.exec(
            select(OutboxMessage.id).where(
                col(OutboxMessage.dedupe_key).in_(keys),
                OutboxMessage.status == OutboxStatus.PENDING,
                col(OutboxMessage.not_before) <= services.clock.now(),
                col(OutboxMessage.program_id).not_in(
                    select(Program.id).where(col(Program.messages_held).is_(True))
                ),
            )
        ).all()
    return len(rows)
