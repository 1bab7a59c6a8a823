"""Pulse rules: suppression, schedule, local time, eligibility, reminders, the final survey."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import select

from bot import clock
from bot.domain import notices, pulse
from bot.domain.working_hours import next_good_time
from bot.services import Services, build_services
from bot.simulated_slack import FakeSlack
from scheduler.pulse import run_pulse
from storage.db import Database
from storage.models import OutboxMessage, Participant, Program, PulseKind, PulseRound, PulseTally
from tests.conftest import make_settings

AT = datetime(2027, 3, 2, 14, 0, tzinfo=UTC)  # a Tuesday


def test_complementary_suppression() -> None:
    assert pulse.suppressed({"a": 6, "b": 7}, 5) == set()
    assert pulse.suppressed({"a": 6, "b": 2}, 5) == {"a", "b"}
    # One small cell: the next smallest goes too, so the small one cannot be derived.
    assert pulse.suppressed({"a": 6, "b": 9, "c": 1}, 5) == {"a", "c"}
    # Two small cells that together stay under the threshold pull in another.
    assert pulse.suppressed({"a": 8, "b": 9, "c": 1, "d": 1}, 5) == {"a", "c", "d"}


def _program(**fields: object) -> Program:
    values: dict[str, object] = {"name": "P", "pulse_cadence": "monthly", "created_at": AT}
    values.update(fields)
    return Program(**values)


def test_schedule_cadence_and_final_survey() -> None:
    program = _program(start_date=date(2027, 1, 1), end_date=date(2027, 6, 30))
    assert pulse.due_kind(program, [], datetime(2027, 1, 20, tzinfo=UTC)) is None
    assert pulse.due_kind(program, [], datetime(2027, 1, 30, tzinfo=UTC)) == PulseKind.PULSE
    last = PulseRound(program_id=1, period="x", opens_at=datetime(2027, 5, 20, tzinfo=UTC))
    assert pulse.due_kind(program, [last], datetime(2027, 6, 10, tzinfo=UTC)) is None
    # Within two weeks of the end the final survey replaces the pulse, once.
    near_end = datetime(2027, 6, 20, tzinfo=UTC)
    assert pulse.due_kind(program, [last], near_end) == PulseKind.FINAL
    final = PulseRound(program_id=1, period="y", kind=PulseKind.FINAL, opens_at=near_end)
    assert pulse.due_kind(program, [last, final], near_end + timedelta(days=5)) is None
    assert pulse.due_kind(_program(pulse_cadence="off"), [], AT) is None
    # An unknown cadence means the default: every six weeks.
    six = _program(pulse_cadence="six_weeks", start_date=date(2027, 1, 1))
    assert pulse.due_kind(six, [], datetime(2027, 2, 11, tzinfo=UTC)) is None
    assert pulse.due_kind(six, [], datetime(2027, 2, 12, 1, tzinfo=UTC)) == PulseKind.PULSE


def test_invitations_wait_for_the_working_day_like_every_scheduled_message() -> None:
    """One quiet-hours rule (bot/domain/working_hours.py) for pulse and journey alike."""
    hours = (9, 17)
    assert next_good_time(AT, "Europe/Berlin", hours) == AT  # 15:00 on a Tuesday
    vietnam = next_good_time(AT, "Asia/Ho_Chi_Minh", hours)  # 21:00 there
    assert vietnam == datetime(2027, 3, 3, 2, 0, tzinfo=UTC)  # 09:00 the next morning
    saturday = datetime(2027, 3, 6, 12, 0, tzinfo=UTC)
    assert next_good_time(saturday, "UTC", hours) == datetime(2027, 3, 8, 9, 0, tzinfo=UTC)
    assert notices.PULSE.quiet_hours is notices.CHECKIN.quiet_hours is not None


def test_match_check_schedule() -> None:
    intro = datetime(2027, 1, 1, tzinfo=UTC)
    assert pulse.match_check_number(intro, intro + timedelta(days=29)) == 0
    assert pulse.match_check_number(intro, intro + timedelta(days=30)) == 1
    assert pulse.match_check_number(intro, intro + timedelta(days=89)) == 1
    assert pulse.match_check_number(intro, intro + timedelta(days=90)) == 2
    assert pulse.match_check_number(None, intro) == 0


@pytest.fixture
def services(fake_slack: FakeSlack, database: Database) -> Iterator[Services]:
    previous = clock.current()
    yield build_services(make_settings(fake_slack, database.url), db=database)
    clock.install(previous)


def _people(services: Services) -> None:
    with services.db.session() as session:
        program = _program(start_date=date(2027, 1, 1), end_date=date(2027, 12, 31))
        session.add(program)
        session.flush()
        for index in range(6):
            session.add(
                Participant(
                    program_id=program.id or 0,
                    slack_user_id=f"URULE{index}",
                    role="mentor" if index % 2 else "mentee",
                    status="left" if index == 5 else "paired",
                    # the fifth joined a week ago: too new to be surveyed
                    enrolled_at=AT - timedelta(days=7 if index == 4 else 40),
                    timezone="Europe/Berlin",
                )
            )


def test_pulse_job_dry_run_reminder_once_and_closing(services: Services) -> None:
    _people(services)
    dry = run_pulse(services, AT, dry_run=True)
    assert dry.queued == 4  # not the newcomer, not the one who left
    with services.db.session() as session:
        assert session.exec(select(OutboxMessage)).all() == []
        assert session.exec(select(PulseRound)).all() == []
    assert run_pulse(services, AT).queued == 4
    assert run_pulse(services, AT + timedelta(days=1)).queued == 0  # nothing is due yet
    reminders = run_pulse(services, AT + timedelta(days=3))
    assert reminders.queued == 4
    assert run_pulse(services, AT + timedelta(days=4)).queued == 0  # at most one reminder
    closing = run_pulse(services, AT + timedelta(days=7))
    assert any("closed round" in note for note in closing.notes)
    with services.db.session() as session:
        closed = session.exec(select(PulseRound)).one()
        assert closed.status == "closed" and closed.invited == 4
        # Groups under the threshold get no breakdown cell at all (only "all").
        dims = {t.dimension for t in session.exec(select(PulseTally)).all()}
        assert dims == {"all"}
        program = session.exec(select(Program)).one()
        (result,) = pulse.results(session, program, [PulseKind.PULSE])
    assert not result.visible  # nobody answered: below the threshold
