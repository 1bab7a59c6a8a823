"""Scheduled pulse surveys and match checks (registered in the job registry by the lead).

Both jobs only queue messages under unique outbox keys: a second run for the same moment
queues nothing twice. `dry_run` does the same work in a transaction that is rolled back.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlmodel import Session

from bot.domain import pulse
from bot.i18n import translator
from bot.services import Services
from bot.views import pulse as views
from scheduler import outbox
from scheduler.job_report import JobReport
from storage import repositories as repo
from storage.models import CycleStatus, PairStatus, Participant, PulseKind

log = logging.getLogger(__name__)
PULSE = "pulse"
PULSE_REMINDER = "pulse_reminder"
MATCH_CHECK = "match_check"


def _run(services: Services, work: Callable[[Session], None], dry_run: bool) -> None:
    if not dry_run:
        services.db.run(work)
        return
    with Session(services.db.engine, expire_on_commit=False) as session:
        try:
            work(session)
        finally:
            session.rollback()


def _queue(
    session: Session,
    report: JobReport,
    person: Participant,
    key: str,
    kind: str,
    message: dict[str, Any],
    at: datetime,
) -> bool:
    """Queued for a good local time of the person's day; False when queued before."""
    queued = outbox.enqueue(
        session,
        key=key,
        kind=kind,
        recipient=person.slack_user_id,
        message=message,
        program_id=person.program_id,
        not_before=pulse.good_local_time(at, person.timezone),
    )
    if queued is None:
        report.skipped += 1
        return False
    report.queued += 1
    report.keys.append(key)
    report.would_send.append(
        (person.slack_user_id, queued.not_before.isoformat(), str(message.get("text") or ""))
    )
    return True


def run_pulse(services: Services, at: datetime, *, dry_run: bool = False) -> JobReport:
    """Closes rounds whose window ended, sends the one reminder, opens the round that is due."""
    report = JobReport(PULSE)
    closed_any: list[int] = []

    def work(session: Session) -> None:
        program = repo.active_program(session)
        if program is None:
            report.notes.append("no active programme")
            return
        closed = pulse.close_due(session, program, at)
        closed_any.extend(r.id or 0 for r in closed)
        report.notes.extend(f"closed round {r.id}" for r in closed)
        people = repo.participants(session, program.id or 0)
        rounds = repo.pulse_rounds(session, program.id or 0, [PulseKind.PULSE, PulseKind.FINAL])
        for open_round in rounds:
            due = open_round.opens_at + pulse.REMINDER_AFTER
            if open_round.status != CycleStatus.OPEN or open_round.reminded_at or at < due:
                continue
            if not repo.mark_reminded(session, open_round, at):
                continue
            answered = repo.respondents(session, open_round.id or 0)
            for person in pulse.eligible(people, open_round.opens_at):
                if person.id in answered:
                    continue
                _ = translator(person.locale, services.settings.default_locale)
                message = views.invitation_message(
                    open_round.kind, open_round.id or 0, _, reminder=True
                )
                key = f"{PULSE_REMINDER}:{open_round.id}:{person.id}"
                _queue(session, report, person, key, PULSE_REMINDER, message, at)
        kind = pulse.due_kind(program, rounds, at)
        if kind is None:
            report.notes.append("no survey due")
            return
        invitees = pulse.eligible(people, at)
        if not invitees:
            report.notes.append("nobody to survey")
            return
        opened = pulse.open_round(session, program, kind, at, invitees)
        report.notes.append(f"opened {kind} round {opened.id} for {len(invitees)} people")
        for person in invitees:
            _ = translator(person.locale, services.settings.default_locale)
            message = views.invitation_message(kind, opened.id or 0, _, reminder=False)
            _queue(session, report, person, f"{PULSE}:{opened.id}:{person.id}", PULSE, message, at)

    _run(services, work, dry_run)
    if closed_any and not dry_run:
        repo.vacuum_pulse_tables(services.db.engine)
    return report


def run_match_check(services: Services, at: datetime, *, dry_run: bool = False) -> JobReport:
    """ "Is your match working?" at day 30 of every active pair, then every 60 days."""
    report = JobReport(MATCH_CHECK)

    def work(session: Session) -> None:
        program = repo.active_program(session)
        if program is None:
            report.notes.append("no active programme")
            return
        pulse.close_due(session, program, at)
        due = []
        for pair in repo.pairs(session, program.id or 0, [PairStatus.ACTIVE]):
            number = pulse.match_check_number(pair.introduced_at, at)
            if number:
                due.append((pair, number))
        if not due:
            return
        period = at.strftime("%Y-%m")
        check = repo.pulse_round_for(session, program.id or 0, PulseKind.MATCH_CHECK, period)
        if check is None:
            population = repo.participants(session, program.id or 0, ["paired"])
            check = pulse.open_round(session, program, PulseKind.MATCH_CHECK, at, [], population)
        invited = check.invited
        people = repo.participants_by_ids(
            session, [i for pair, _n in due for i in (pair.mentor_id, pair.mentee_id)]
        )
        for pair, number in due:
            for member_id in (pair.mentor_id, pair.mentee_id):
                person = people[member_id]
                _ = translator(person.locale, services.settings.default_locale)
                message = views.match_check_message(check.id or 0, pair.id or 0, _)
                key = f"{MATCH_CHECK}:{pair.id}:{person.id}:{number}"
                if _queue(session, report, person, key, MATCH_CHECK, message, at):
                    invited += 1
        repo.set_round_invited(session, check.id or 0, invited)

    _run(services, work, dry_run)
    return report
