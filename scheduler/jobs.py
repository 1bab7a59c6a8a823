"""The job registry: every periodic job, its schedule and its run function.

A run function has one signature, `run_<name>(services, at, *, dry_run=False) -> JobReport`:
it acts as if the clock said `at`, and runs one unit of work of the delivery layer
(`services.delivery.run`) that queues what it owes under unique keys; each message kind's
quiet-hours rule decides when it may arrive (bot/domain/notices.py). A dry run does the same
work in a transaction it rolls back, and lists what it would have sent. Runs go through
`scheduler.runner.run_job`, which records each run once across replicas (run_once).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from bot.clock import zone
from bot.delivery import Owed
from bot.delivery.sender import refused_for_good
from bot.domain import journey, notices, programs, subjects
from bot.i18n import translator
from bot.services import Services
from bot.usecases import campaigns, directory
from bot.views import journey as views
from scheduler.job_report import JobReport, live_program
from scheduler.pulse import run_match_check, run_pulse
from scheduler.recognition import run_digest, run_milestones
from scheduler.retention import DEFAULT_SCHEDULE as RETENTION_SCHEDULE
from scheduler.retention import DESCRIPTION as RETENTION_DESCRIPTION
from scheduler.retention import run_retention
from storage import repositories as repo
from storage.models import Program

log = logging.getLogger(__name__)


RunFunction = Callable[..., JobReport]


@dataclass(frozen=True)
class JobSpec:
    name: str
    description: str
    run: RunFunction
    # The default crontab (minute hour day month weekday) in the programme's time zone; the
    # programme setting `schedules.<name>` overrides it.
    default_schedule: str

    def schedule(self, program: Program | None) -> tuple[str, str | None]:
        """(crontab, problem): the programme's schedule for this job, or the default when none
        is set or the one set cannot be used (then `problem` says why; logged once)."""
        return programs.read_schedule(program, self.name, self.default_schedule)


def run_checkin(
    services: Services, at: datetime, *, program_id: int | None = None, dry_run: bool = False
) -> JobReport:
    """Opens the cycle `at` falls in, asks every active pair's members (one request per person
    and pair), and flags to the admins the pairs silent for two cycles."""
    default_locale = services.settings.default_locale

    def work(session: Session, owed: Owed) -> None:
        program = live_program(session, program_id)
        if program is None:
            owed.notes.append("the programme is not live")
            return
        if programs.is_over(program, at):
            owed.notes.append("the programme has ended: no more check-ins")
            return
        left = journey.daily_cap(program) - journey.sent_today(session, program, at)
        prompts, paused = journey.ask_for_checkins(session, program, at, limit=max(0, left))
        if paused:
            owed.skipped += paused
            owed.notes.append(f"{paused} paused")
        for prompt in prompts:
            _ = translator(prompt.person.locale, default_locale)
            request_id = prompt.request.id or 0
            pair_id = prompt.request.pair_id
            owed.queue(
                notices.CHECKIN.key(prompt.person.slack_user_id, pair_id, prompt.period),
                recipient=prompt.person.slack_user_id,
                message=views.checkin_message(
                    program, request_id, prompt.partner.slack_user_id, prompt.request.suggestion, _
                ),
                program_id=program.id,
                timezone=prompt.person.timezone,
                subject=subjects.pair_subject(pair_id),
                extra={"pair_id": pair_id, "request_id": request_id},
            )
        if left <= len(prompts):
            owed.notes.append("daily cap reached: the rest are asked on the next run")
        period = journey.period_of(at, program.timezone)
        for silent in journey.silent_pairs(session, program, period):
            pair_id = silent.pair.id or 0
            for admin in services.admins_of(session, program.id):
                profile = services.person(admin)
                _ = translator(profile.locale if profile else None, default_locale)
                owed.queue(
                    notices.ESCALATION.key(admin, pair_id, period),
                    recipient=admin,
                    message=views.escalation_message(
                        pair_id,
                        silent.mentor.slack_user_id,
                        silent.mentee.slack_user_id,
                        silent.periods,
                        _,
                    ),
                    program_id=program.id,
                    timezone=profile.timezone if profile else None,
                    subject=subjects.pair_subject(pair_id),
                    extra={"pair_id": pair_id},
                )

    return JobReport("checkin").add(services.delivery.run(work, at=at, dry_run=dry_run))


def run_nudge(
    services: Services, at: datetime, *, program_id: int | None = None, dry_run: bool = False
) -> JobReport:
    """Reminds the members of pairs with no meeting logged this cycle: at most once a week
    per person (the key names the person's week), on a weekday inside their hours."""
    default_locale = services.settings.default_locale

    def work(session: Session, owed: Owed) -> None:
        program = live_program(session, program_id)
        if program is None:
            owed.notes.append("the programme is not live")
            return
        if programs.is_over(program, at):
            owed.notes.append("the programme has ended: no more reminders")
            return
        left = journey.daily_cap(program) - journey.sent_today(session, program, at)
        for nudge in journey.nudges_due(session, program, at):
            if left <= 0:
                owed.notes.append("daily cap reached")
                break
            _ = translator(nudge.person.locale, default_locale)
            pair_id = nudge.request.pair_id
            queued = owed.queue(
                notices.NUDGE.key(nudge.person.slack_user_id, nudge.week),
                recipient=nudge.person.slack_user_id,
                message=views.nudge_message(
                    program, nudge.request.id or 0, nudge.partner.slack_user_id, _
                ),
                program_id=program.id,
                timezone=nudge.person.timezone,
                subject=subjects.pair_subject(pair_id),
                extra={"pair_id": pair_id, "period": nudge.period},
            )
            left -= int(queued)

    return JobReport("nudge").add(services.delivery.run(work, at=at, dry_run=dry_run))


def run_delivery_report(
    services: Services, at: datetime, *, program_id: int | None = None, dry_run: bool = False
) -> JobReport:
    """Tells the admins, once a day and every day, of the messages Slack refused for good
    since the last report (a deactivated account, a deleted channel): they are never retried.
    Each failure is told once (`reported_at`), however long ago the last report ran, so none
    falls between two runs (a Friday afternoon's is told on Saturday)."""
    default_locale = services.settings.default_locale

    def work(session: Session, owed: Owed) -> None:
        program = live_program(session, program_id)
        if program is None:
            owed.notes.append("the programme is not live")
            return
        # The programme's refusals, and those of no programme (told by whichever runs first).
        failed = [
            m for m in repo.unreported_failures(session) if m.program_id in (program.id, None)
        ]
        if not failed:
            owed.notes.append("nothing refused since the last report")
            return
        day = at.astimezone(zone(program.timezone)).date().isoformat()
        reasons = Counter(m.last_error or "unknown" for m in failed)
        gone = sorted({m.recipient for m in failed if refused_for_good(m.last_error, m.recipient)})
        told = False
        for admin in services.admins_of(session, program.id):
            profile = services.person(admin)
            _ = translator(profile.locale if profile else None, default_locale)
            told |= owed.queue(
                notices.DELIVERY_FAILED.key(program.id, admin, day),
                recipient=admin,
                message=views.delivery_failed_message(sorted(reasons.items()), _, gone),
                program_id=program.id,
                timezone=profile.timezone if profile else None,
            )
        # Not told when an earlier run today had queued the day's report: tomorrow's tells.
        if told:
            repo.mark_reported(session, [m.id for m in failed if m.id is not None], at)

    return JobReport("delivery_report").add(services.delivery.run(work, at=at, dry_run=dry_run))


def run_people_refresh(
    services: Services, at: datetime, *, program_id: int | None = None, dry_run: bool = False
) -> JobReport:
    """Who can take part, checked against Slack's directory once a day for the whole workspace
    (bot.usecases.directory): departures of deactivated accounts and guests, and roster entries
    from mapped profile fields. A workspace job: the people are everyone's (`program_id` is
    ignored)."""
    report = JobReport("people_refresh")
    refresh, dones = directory.refresh_people(services, at, dry_run=dry_run)
    for done in dones:
        report.add(done)
    report.notes.extend(refresh.notes)
    report.notes.append(
        f"{refresh.members} accounts on {refresh.pages} page(s); "
        f"{len(refresh.departed)} left ({refresh.pairs_ended} pair(s) ended)"
    )
    if refresh.profiles:
        counts = ", ".join(f"{k} {v}" for k, v in sorted(refresh.profiles.items()))
        report.notes.append(f"roster entries from Slack profiles: {counts}")
    return report


def run_campaign_reminders(
    services: Services, at: datetime, *, program_id: int | None = None, dry_run: bool = False
) -> JobReport:
    """One reminder to each person a campaign invited who has not answered after its
    `reminder_after_days` (7 by default); never a second one (the key names campaign and
    person), never to people who joined or said "not for me"."""

    def work(session: Session, owed: Owed) -> None:
        program = live_program(session, program_id)
        if program is None:
            owed.notes.append("the programme is not live")
            return
        campaigns.remind(services, session, owed, program, at)

    report = JobReport("campaign_reminders")
    return report.add(services.delivery.run(work, at=at, dry_run=dry_run))


JOBS: dict[str, JobSpec] = {
    spec.name: spec
    for spec in (
        JobSpec(
            "checkin",
            "monthly DM check-ins for every active pair; flags pairs silent for two cycles",
            run_checkin,
            "0 8 * * mon-fri",
        ),
        JobSpec(
            "nudge",
            "a friendly reminder to pairs with no meeting logged this cycle (once a week)",
            run_nudge,
            "0 10 * * mon-fri",
        ),
        JobSpec(
            "pulse",
            "the anonymous pulse survey on the programme's cadence, its reminder and closing",
            run_pulse,
            "0 9 * * mon-fri",
        ),
        JobSpec(
            "match_check",
            "asks each pair member privately whether the match works (30 days, then every 60)",
            run_match_check,
            "0 11 * * mon-fri",
        ),
        JobSpec(
            "milestones",
            "celebrates first and third meetings, goals achieved and completion once each; "
            "certificates",
            run_milestones,
            "30 8 * * mon-fri",
        ),
        JobSpec(
            "delivery_report",
            "tells the admins of messages Slack refused for good since the last report "
            "(every day, weekends too)",
            run_delivery_report,
            "0 9 * * *",
        ),
        JobSpec(
            "digest",
            "the monthly community highlight in the recognition channel (once per month)",
            run_digest,
            "0 10 1-7 * mon",
        ),
        JobSpec(
            "campaign_reminders",
            "one reminder to people a recruiting campaign invited who have not answered "
            "after its reminder delay (7 days)",
            run_campaign_reminders,
            "0 9 * * *",
        ),
    )
}


# Jobs that run once for the whole workspace (not per programme), on a UTC schedule.
WORKSPACE_JOBS: dict[str, JobSpec] = {
    "retention": JobSpec("retention", RETENTION_DESCRIPTION, run_retention, RETENTION_SCHEDULE),
    "people_refresh": JobSpec(
        "people_refresh",
        "checks Slack's directory for participants deactivated or now guests (they leave "
        "kindly) and reads mapped profile fields into the roster (every day)",
        run_people_refresh,
        "30 6 * * *",
    ),
}
ALL_JOBS: dict[str, JobSpec] = {**JOBS, **WORKSPACE_JOBS}


# Slack's chat.postMessage: about one a second per channel plus a workspace-wide cap of a few
# hundred a minute; a fan-out of DMs (one per channel) is held to this.
SEND_RATE_PER_SECOND = 4.0
