"""Retention: how long personal data is kept, per programme, and the sweep that enforces it.

Three rules, stored in Program.settings["retention"] and edited in the programme settings:

- `notes_months`: the private check-in notes of a pair are deleted this many months after the
  pair ended (the meeting stays counted);
- `left_days`: a person who left is erased (the erasure of `/mentoring leave`) this many days
  after leaving;
- `anonymise_months`: this many months after a programme ended, its people are erased and
  what they wrote is removed; pairs, check-ins and survey tallies stay as figures, so the
  report's numbers do not change.

The sweep runs daily (scheduler/retention.py); a dry run does the same work in a transaction
that is rolled back. Counts only: nothing here names a person.
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from bot.clock import zone
from bot.domain.erasure import erase_personal_data
from bot.i18n import N_
from storage import repositories as repo
from storage.models import (
    CheckInRequest,
    Pair,
    PairStatus,
    Participant,
    ParticipantStatus,
    Program,
    ProgramStatus,
    ShoutOut,
    SuccessStory,
)

SETTING = "retention"
ANONYMISED_SETTING = "anonymised_at"
# Field -> (default, smallest, largest).
LIMITS: dict[str, tuple[int, int, int]] = {
    "notes_months": (12, 1, 120),
    "left_days": (30, 1, 3650),
    "anonymise_months": (24, 1, 120),
}
PROBLEMS = {
    "notes_months": N_("Keep notes for 1 to 120 months."),
    "left_days": N_("Erase people who left after 1 to 3650 days."),
    "anonymise_months": N_("Anonymise an ended programme after 1 to 120 months."),
}


@dataclass(frozen=True)
class Retention:
    notes_months: int = LIMITS["notes_months"][0]
    left_days: int = LIMITS["left_days"][0]
    anonymise_months: int = LIMITS["anonymise_months"][0]

    def as_setting(self) -> dict[str, int]:
        return {
            "notes_months": self.notes_months,
            "left_days": self.left_days,
            "anonymise_months": self.anonymise_months,
        }


DEFAULT = Retention()


def problems(values: dict[str, int | None]) -> dict[str, str]:
    """Field -> English message for each value out of its range (None: missing)."""
    found: dict[str, str] = {}
    for name, (_default, low, high) in LIMITS.items():
        value = values.get(name)
        if value is None or isinstance(value, bool) or not low <= value <= high:
            found[name] = PROBLEMS[name]
    return found


def of(program: Program | None) -> Retention:
    """The programme's rules; a missing or unusable value is its default."""
    stored = (program.settings or {}).get(SETTING) if program is not None else None
    if not isinstance(stored, dict):
        return DEFAULT
    values: dict[str, int] = {}
    for name, (default, low, high) in LIMITS.items():
        value = stored.get(name)
        ok = isinstance(value, int) and not isinstance(value, bool) and low <= value <= high
        values[name] = value if ok else default  # type: ignore[assignment]
    return Retention(**values)


def months_before(at: datetime, months: int) -> datetime:
    """The same day and time `months` earlier (the month's last day when it is shorter)."""
    index = at.year * 12 + at.month - 1 - months
    year, month = divmod(index, 12)
    day = min(at.day, calendar.monthrange(year, month + 1)[1])
    return at.replace(year=year, month=month + 1, day=day)


@dataclass
class Sweep:
    """What one sweep did (or would do): counts per rule."""

    notes: int = 0  # check-in notes deleted
    notes_pairs: int = 0  # of that many ended pairs
    left_erased: int = 0  # people erased after leaving
    programmes_anonymised: int = 0
    people_anonymised: int = 0

    def as_detail(self) -> dict[str, int]:
        return {
            "notes_deleted": self.notes,
            "notes_pairs": self.notes_pairs,
            "left_erased": self.left_erased,
            "programmes_anonymised": self.programmes_anonymised,
            "people_anonymised": self.people_anonymised,
        }


def ended_at(program: Program) -> datetime:
    """When the programme ended: the end of its last day, else when it last changed."""
    if program.end_date is not None:
        local = datetime.combine(
            program.end_date + timedelta(days=1), time(), zone(program.timezone)
        )
        return local.astimezone(UTC)
    return program.updated_at


def _delete_notes(session: Session, program: Program, rules: Retention, at: datetime) -> Sweep:
    cutoff = months_before(at, rules.notes_months)
    pairs = select(Pair.id).where(
        Pair.program_id == program.id,
        Pair.status == PairStatus.ENDED,
        col(Pair.ended_at).is_not(None),
        col(Pair.ended_at) <= cutoff,
    )
    with_notes = (col(CheckInRequest.pair_id).in_(pairs), col(CheckInRequest.notes).is_not(None))
    rows = session.exec(select(CheckInRequest.pair_id).where(*with_notes)).all()
    if rows:
        session.execute(
            update(CheckInRequest)
            .where(*with_notes)
            .values(notes=None)
            .execution_options(synchronize_session=False)
        )
    return Sweep(notes=len(rows), notes_pairs=len(set(rows)))


def _still_taking_part(session: Session, participant: Participant) -> bool:
    """Whether the person is in another programme still: their erasure is then this row's."""
    return any(
        other.id != participant.id
        and other.status in (ParticipantStatus.WAITING, ParticipantStatus.PAIRED)
        for other in repo.participations_of_user(session, participant.slack_user_id)
    )


def _erase(session: Session, participant: Participant) -> None:
    erase_personal_data(
        session, participant, everywhere=not _still_taking_part(session, participant)
    )
    repo.save(session, participant)


def _erase_left(session: Session, program: Program, rules: Retention, at: datetime) -> int:
    cutoff = at - timedelta(days=rules.left_days)
    gone = session.exec(
        select(Participant).where(
            Participant.program_id == program.id,
            Participant.status == ParticipantStatus.LEFT,
            col(Participant.erased_at).is_(None),
            col(Participant.left_at).is_not(None),
            col(Participant.left_at) <= cutoff,
        )
    ).all()
    for participant in gone:
        _erase(session, participant)
    return len(gone)


def _anonymise(session: Session, program: Program, rules: Retention, at: datetime) -> int | None:
    """None when the programme is not due; else how many people were erased."""
    if program.status not in (ProgramStatus.ENDED, ProgramStatus.ARCHIVED):
        return None
    if (program.settings or {}).get(ANONYMISED_SETTING):
        return None
    if ended_at(program) > months_before(at, rules.anonymise_months):
        return None
    people = session.exec(
        select(Participant).where(
            Participant.program_id == program.id, col(Participant.erased_at).is_(None)
        )
    ).all()
    for participant in people:
        _erase(session, participant)
    # What people wrote goes; the rows stay counted.
    for story in session.exec(select(SuccessStory).where(SuccessStory.program_id == program.id)):
        story.text = ""
        session.add(story)
    for shoutout in session.exec(select(ShoutOut).where(ShoutOut.program_id == program.id)):
        shoutout.message = ""
        shoutout.recipient_slack_ids = []
        shoutout.author_slack_id = "erased"
        session.add(shoutout)
    pairs = session.exec(select(Pair).where(Pair.program_id == program.id)).all()
    for pair in pairs:
        pair.conversation_id = None
        session.add(pair)
    for goal in repo.goals_of_pairs(session, [pair.id or 0 for pair in pairs]):
        goal.title = ""
        goal.measure = None
        session.add(goal)
    settings: dict[str, Any] = dict(program.settings or {})
    settings[ANONYMISED_SETTING] = at.isoformat()
    program.settings = settings
    session.add(program)
    return len(people)


def sweep(session: Session, programs: Sequence[Program], at: datetime) -> Sweep:
    """Applies every programme's rules as of `at` in the caller's transaction."""
    total = Sweep()
    for program in programs:
        rules = of(program)
        notes = _delete_notes(session, program, rules, at)
        total.notes += notes.notes
        total.notes_pairs += notes.notes_pairs
        total.left_erased += _erase_left(session, program, rules, at)
        anonymised = _anonymise(session, program, rules, at)
        if anonymised is not None:
            total.programmes_anonymised += 1
            total.people_anonymised += anonymised
    session.flush()
    return total
