"""Scheduled pulse surveys and match checks (registered in the job registry by the lead).

Both jobs only queue messages under unique outbox keys: a second run for the same moment
queues nothing twice; each invitation names its round, so one that is due after the round
closed is cancelled instead of sent. `dry_run` does the same work in a transaction that is
rolled back.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlmodel import Session

from bot.delivery import MessageKey, Owed, outbox
from bot.domain import notices, programs, pulse, subjects
from bot.i18n import translator
from bot.services import Services
from bot.views import pulse as views
from scheduler import lifecycle
from scheduler.job_report import JobReport, live_program
from storage import repositories as repo
from storage.models import CycleStatus, PairStatus, Participant, PulseKind

log = logging.getLogger(__name__)


def _queue(
    owed: Owed,
    key: MessageKey,
    person: Participant,
    message: dict[str, Any],
    round_id: int,
    **extra: Any,
) -> bool:
    """Queued for the person's working day; False when queued before."""
    return owed.queue(
        key,
        recipient=person.slack_user_id,
        message=message,
        program_id=person.program_id,
        timezone=person.timezone,
        subject=subjects.round_subject(round_id),
        extra={"round_id": round_id, **extra},
    )


def run_pulse(
    services: Services, at: datetime, *, program_id: int | None = None, dry_run: bool = False
) -> JobReport:
    """Closes rounds whose window ended, sends the one reminder, opens the round that is due."""

    secret = services.settings.pulse_key()

    def work(session: Session, owed: Owed) -> bool:
        program = live_program(session, program_id)
        if program is None:
            owed.notes.append("the programme is not live")
            return False
        closed = pulse.close_due(session, program, at, secret=secret)
        owed.notes.extend(f"closed round {r.id}" for r in closed)
        people = repo.participants(session, program.id or 0)
        rounds = repo.pulse_rounds(session, program.id or 0, [PulseKind.PULSE, PulseKind.FINAL])
        for open_round in rounds:
            due = open_round.opens_at + pulse.REMINDER_AFTER
            if open_round.status != CycleStatus.OPEN or open_round.reminded_at or at < due:
                continue
            if not repo.mark_reminded(session, open_round, at):
                continue
            for person in pulse.not_answered(session, open_round, people, secret=secret):
                _ = translator(person.locale, services.settings.default_locale)
                message = views.invitation_message(
                    open_round.kind, open_round.id or 0, _, reminder=True
                )
                round_id = open_round.id or 0
                key = notices.PULSE_REMINDER.key(round_id, person.id)
                _queue(owed, key, person, message, round_id)
        kind = pulse.due_kind(program, rounds, at)
        if kind is None:
            owed.notes.append("no survey due")
            channel = services.settings.recognition_channel
            if lifecycle.finish_if_over(session, program, at, channel):
                owed.notes.append("the programme has ended")
            return bool(closed)
        invitees = pulse.eligible(people, at)
        if not invitees:
            owed.notes.append("nobody to survey")
            return bool(closed)
        opened = pulse.open_round(session, program, kind, at, invitees, secret=secret)
        owed.notes.append(f"opened {kind} round {opened.id} for {len(invitees)} people")
        for person in invitees:
            _ = translator(person.locale, services.settings.default_locale)
            message = views.invitation_message(kind, opened.id or 0, _, reminder=False)
            round_id = opened.id or 0
            _queue(owed, notices.PULSE.key(round_id, person.id), person, message, round_id)
        return bool(closed)

    done = services.delivery.run(work, at=at, dry_run=dry_run)
    if done.result and not dry_run:
        repo.vacuum_pulse_tables(services.db.engine)
    return JobReport("pulse").add(done)


def run_match_check(
    services: Services, at: datetime, *, program_id: int | None = None, dry_run: bool = False
) -> JobReport:
    """ "Is your match working?" at day 30 of every active pair, then every 60 days."""

    secret = services.settings.pulse_key()

    def work(session: Session, owed: Owed) -> None:
        program = live_program(session, program_id)
        if program is None:
            owed.notes.append("the programme is not live")
            return
        pulse.close_due(session, program, at, secret=secret)
        if programs.is_over(program, at):
            owed.notes.append("the programme has ended: no more match checks")
            return
        due = []
        for pair in repo.pairs(session, program.id or 0, [PairStatus.ACTIVE]):
            number = pulse.match_check_number(pair.introduced_at, at)
            # Already asked this check (both partners are queued together): not due again.
            asked = number and outbox.is_queued(
                session, notices.MATCH_CHECK.key(pair.id, pair.mentor_id, number).value
            )
            if number and not asked:
                due.append((pair, number))
        if not due:
            # No round is opened for nobody: a round of "0 of 0" says nothing.
            owed.notes.append("no match check due")
            return
        period = at.strftime("%Y-%m")
        check = repo.pulse_round_for(session, program.id or 0, PulseKind.MATCH_CHECK, period)
        if check is None:
            population = repo.participants(session, program.id or 0, ["paired"])
            check = pulse.open_round(
                session, program, PulseKind.MATCH_CHECK, at, [], population, secret=secret
            )
        invited = check.invited
        people = repo.participants_by_ids(
            session, [i for pair, _n in due for i in (pair.mentor_id, pair.mentee_id)]
        )
        for pair, number in due:
            for member_id in (pair.mentor_id, pair.mentee_id):
                person = people[member_id]
                pulse.invite(session, check, person, pair.id or 0, secret=secret)
                _ = translator(person.locale, services.settings.default_locale)
                round_id = check.id or 0
                message = views.match_check_message(round_id, pair.id or 0, _)
                key = notices.MATCH_CHECK.key(pair.id, person.id, number)
                if _queue(owed, key, person, message, round_id, pair_id=pair.id):
                    invited += 1
        repo.set_round_invited(session, check.id or 0, invited)

    return JobReport("match_check").add(services.delivery.run(work, at=at, dry_run=dry_run))
