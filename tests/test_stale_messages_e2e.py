"""Months later, still right: a queued message whose reason no longer holds is cancelled with
that reason, never sent; old prompts are answered kindly and store nothing; a programme past its
end stops its journey and ends; pause dates must make sense. SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import update
from sqlmodel import select

from bot import clock
from bot.domain import journey
from bot.i18n import translator
from bot.simulated_slack import signed_requests as sr
from storage.models import CheckInRequest, OutboxMessage, Pair, Program
from tests.conftest import ADMIN, RunningApp
from tests.flows import command_reply, eventually, open_modal
from tests.test_journey_e2e import Member, click, posts_to, prompt_of, run, seed

SUNDAY = datetime(2027, 1, 3, 10, 0, tzinfo=UTC)
MONDAY_LATE = datetime(2027, 1, 4, 12, 0, tzinfo=UTC)  # after 09:00 in Berlin


@pytest.fixture
def app_clock(running_app: RunningApp) -> Iterator[clock.ManualClock]:
    manual = clock.ManualClock(SUNDAY)
    previous = clock.install(manual)
    running_app.services.use_clock(manual)
    try:
        yield manual
    finally:
        clock.install(previous)


def _rows(app: RunningApp, kind: str) -> list[OutboxMessage]:
    with app.db.session() as session:
        return list(session.exec(select(OutboxMessage).where(OutboxMessage.kind == kind)).all())


def _deliver_everything(app: RunningApp) -> None:
    app.services.delivery.flush(owner="test", budget_seconds=10)


def test_a_check_in_queued_for_monday_is_cancelled_when_the_pair_ends_on_sunday(
    running_app: RunningApp, app_clock: clock.ManualClock
) -> None:
    app = running_app
    mentor, mentee = Member("USTALEMR1", "mentor"), Member("USTALEME1", "mentee")
    [pair_id] = seed(app, [(mentor, mentee)])
    report = run(app, "checkin")  # on Sunday: both wait for Monday 09:00 in Berlin
    assert report is not None and report.queued == 2
    assert not posts_to(app, mentee.user_id, "journey_met")

    # The mentee leaves on Sunday (a request, as Slack sends it): the pair ends.
    view = open_modal(app, mentee.user_id, "leave")
    app.slack.view_submission(mentee.user_id, view, sr.values_from({}))
    eventually(lambda: app.fake.dm_texts(mentor.user_id))  # the partner is told kindly

    app_clock.set(MONDAY_LATE)
    _deliver_everything(app)
    assert not posts_to(app, mentee.user_id, "journey_met")
    assert not posts_to(app, mentor.user_id, "journey_met")
    reasons = {row.recipient: (row.status, row.cancelled_because) for row in _rows(app, "checkin")}
    assert reasons == {
        mentee.user_id: ("cancelled", "the person left the programme"),
        mentor.user_id: ("cancelled", "the pair has ended"),
    }
    with app.db.session() as session:
        assert session.get(Pair, pair_id).status == "ended"  # type: ignore[union-attr]


def test_a_message_is_checked_again_as_it_leaves(
    running_app: RunningApp, app_clock: clock.ManualClock
) -> None:
    """Even when nothing cancelled it (a replica of an older release ended the pair), the
    check-in is not sent: its kind's check runs as it is claimed."""
    app = running_app
    mentor, mentee = Member("USTALEMR2", "mentor"), Member("USTALEME2", "mentee")
    [pair_id] = seed(app, [(mentor, mentee)])
    assert run(app, "checkin").queued == 2  # type: ignore[union-attr]
    with app.db.session() as session:
        session.execute(update(Pair).where(Pair.id == pair_id).values(status="ended"))
    app_clock.set(MONDAY_LATE)
    _deliver_everything(app)
    assert not posts_to(app, mentor.user_id, "journey_met")
    assert not posts_to(app, mentee.user_id, "journey_met")
    rows = _rows(app, "checkin")
    assert {(r.status, r.cancelled_because) for r in rows} == {("cancelled", "the pair has ended")}
    assert all(r.attempts == 0 and r.failed_at is None for r in rows)  # not a failure


def test_an_old_check_in_is_answered_kindly_after_the_pair_ended(
    running_app: RunningApp, app_clock: clock.ManualClock
) -> None:
    app = running_app
    mentor, mentee = Member("USTALEMR3", "mentor"), Member("USTALEME3", "mentee")
    [pair_id] = seed(app, [(mentor, mentee)])
    app_clock.set(MONDAY_LATE)
    run(app, "checkin")
    prompt_of(app, mentor.user_id)  # delivered on Monday

    # The modal is opened while the pair is active ...
    before = len(app.fake.calls("views.open"))
    click(app, mentor.user_id, "journey_met")
    view = app.fake.wait_for_count("views.open", before + 1)[-1].response["view"]  # type: ignore[index]
    # ... and the pair ends before it is submitted.
    with app.db.session() as session:
        session.execute(update(Pair).where(Pair.id == pair_id).values(status="ended"))
    values = sr.values_from(
        {
            "met_on": sr.datepicker("2027-01-03"),
            "duration": sr.static_select("45"),
            "rating": sr.static_select("5"),
        }
    )
    answer = app.slack.view_submission(mentor.user_id, view, values).json()
    closed = translator("en")(journey.PROMPT_PAIR_ENDED)
    assert answer["response_action"] == "update" and closed in json.dumps(answer["view"])

    # Clicking the old prompt again opens nothing and says why, in place of its buttons.
    opened = len(app.fake.calls("views.open"))
    for action in ("journey_met", "journey_not_yet", "journey_snooze"):
        click(app, mentor.user_id, action)
    eventually(lambda: len(app.fake.calls("chat.update")) >= 3)
    updates = [c.params.get("text") for c in app.fake.calls("chat.update")]
    assert updates == [closed] * 3
    assert len(app.fake.calls("views.open")) == opened
    with app.db.session() as session:
        assert {r.status for r in session.exec(select(CheckInRequest)).all()} == {"asked"}
        pair = session.get(Pair, pair_id)
        assert pair is not None and pair.last_met_at is None


def test_after_its_end_a_programme_stops_its_journey_and_ends(
    running_app: RunningApp, app_clock: clock.ManualClock
) -> None:
    app = running_app
    mentor, mentee = Member("USTALEMR4", "mentor"), Member("USTALEME4", "mentee")
    seed(app, [(mentor, mentee)])
    with app.db.session() as session:
        session.execute(update(Program).values(end_date=date(2027, 1, 29), pulse_cadence="off"))
    app_clock.set(datetime(2027, 1, 29, 8, 0, tzinfo=UTC))  # its last day, a Friday
    assert run(app, "checkin").queued == 2  # type: ignore[union-attr]
    app_clock.set(datetime(2027, 2, 1, 8, 0, tzinfo=UTC))  # Monday after the end
    checkin = run(app, "checkin")
    assert checkin is not None and checkin.queued == 0
    assert any("ended" in note for note in checkin.notes)
    nudge = run(app, "nudge")
    assert nudge is not None and nudge.queued == 0
    # The final survey closes and the last digest goes out: then the programme has ended.
    app_clock.set(datetime(2027, 2, 1, 10, 0, tzinfo=UTC))
    run(app, "pulse")
    run(app, "digest")
    with app.db.session() as session:
        assert session.exec(select(Program)).one().status == "ended"
    with app.db.session() as session:  # what was still pending of its journey is cancelled
        pending = session.exec(select(OutboxMessage).where(OutboxMessage.status == "pending"))
        assert [row.kind for row in pending.all() if row.kind == "checkin"] == []


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("2027-01-01", "Pick a day after today"),  # the past
        ("2027-01-04", "Pick a day after today"),  # today where the person is (Berlin)
        ("2031-01-01", "The programme ends on Jun 30, 2027"),
        ("soon", "Say until when"),
        ("2027-02-01", "Paused until Feb 1, 2027"),
    ],
)
def test_pause_dates_must_make_sense(
    running_app: RunningApp, app_clock: clock.ManualClock, typed: str, expected: str
) -> None:
    app = running_app
    mentor, mentee = Member("USTALEMR5", "mentor"), Member("USTALEME5", "mentee")
    seed(app, [(mentor, mentee)])
    app_clock.set(datetime(2027, 1, 4, 6, 0, tzinfo=UTC))  # 07:00 on the 4th in Berlin
    reply = command_reply(app, mentee.user_id, f"pause {typed}")
    assert expected in reply["text"]
    stored = _paused_until(app, mentee.user_id)
    assert stored == (date(2027, 2, 1) if typed == "2027-02-01" else None)


def _paused_until(app: RunningApp, user_id: str) -> date | None:
    from storage.models import Participant

    with app.db.session() as session:
        person = session.exec(select(Participant).where(Participant.slack_user_id == user_id)).one()
        return person.paused_until


def test_admins_hear_of_nothing_twice_and_the_admin_can_still_act(
    running_app: RunningApp, app_clock: clock.ManualClock
) -> None:
    """Cancelled messages are not failures: the admins' refusal report stays quiet."""
    app = running_app
    mentor, mentee = Member("USTALEMR6", "mentor"), Member("USTALEME6", "mentee")
    [pair_id] = seed(app, [(mentor, mentee)])
    run(app, "checkin")
    with app.db.session() as session:
        session.execute(update(Pair).where(Pair.id == pair_id).values(status="ended"))
    app_clock.set(MONDAY_LATE)
    _deliver_everything(app)
    app_clock.set(MONDAY_LATE + timedelta(days=1))
    run(app, "nudge")
    assert not posts_to(app, ADMIN, "delivery")


def test_invitations_to_a_round_that_closed_during_a_hold_are_never_delivered(
    running_app: RunningApp, app_clock: clock.ManualClock
) -> None:
    app = running_app
    mentor, mentee = Member("USTALEMR7", "mentor"), Member("USTALEME7", "mentee")
    seed(app, [(mentor, mentee)])
    with app.db.session() as session:
        session.execute(update(Program).values(pulse_cadence="monthly"))
    assert "on hold" in command_reply(app, ADMIN, "hold on")["text"]
    app_clock.set(datetime(2027, 2, 15, 9, 0, tzinfo=UTC))  # a Monday, 10:00 in Berlin
    opened = run(app, "pulse")
    assert opened is not None and opened.queued == 2  # held: nothing goes out
    app_clock.set(datetime(2027, 2, 23, 9, 0, tzinfo=UTC))  # the week's window has ended
    closed = run(app, "pulse")
    assert closed is not None and any("closed round" in note for note in closed.notes)
    # Closing the round cancelled them at once, while still held.
    assert {r.status for r in _rows(app, "pulse")} == {"cancelled"}
    assert "flowing again" in command_reply(app, ADMIN, "hold off")["text"]
    _deliver_everything(app)
    assert not [c for c in app.fake.calls("chat.postMessage") if "pulse_open" in str(c.params)]
    rows = _rows(app, "pulse")
    assert {(r.status, r.cancelled_because) for r in rows} == {
        ("cancelled", "the survey has closed")
    }
