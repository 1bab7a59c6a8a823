"""Figures that do not mislead, end to end through signed requests and the simulated Slack, on
SQLite and PostgreSQL: the meeting rate counts a silent pair as not met and says so; a month
with nothing to report posts no digest (and a programme whose last month was quiet still ends);
the first meeting is celebrated as it is logged; no match-check round is opened for nobody."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import select

from bot import clock
from bot.domain.digest import Digest, MilestoneLine, period_of
from bot.i18n import translator
from bot.simulated_slack import signed_requests as sr
from bot.views.recognition import digest_message
from bot.views.report import MEETING_RATE_RULE
from scheduler.pulse import run_match_check
from scheduler.recognition import run_digest
from storage.models import Goal, Milestone, Pair, Program, PulseRound, ShoutOut
from tests.conftest import ADMIN, RunningApp
from tests.flows import command_reply, eventually
from tests.test_journey_e2e import Member, click, run, seed
from tests.test_recognition_e2e import channel_posts, make_world, scheduled

MONDAY = datetime(2027, 1, 4, 8, 0, tzinfo=UTC)  # 09:00 in Berlin: inside working hours
FIRST_MEETING = "You held your first mentoring meeting"


@pytest.fixture
def app_clock(running_app: RunningApp) -> Iterator[clock.ManualClock]:
    manual = clock.ManualClock(MONDAY)
    previous = clock.install(manual)
    running_app.services.use_clock(manual)
    try:
        yield manual
    finally:
        clock.install(previous)


def _two_introduced_pairs(app: RunningApp) -> tuple[int, int]:
    met = (Member("UMENTORA1", "mentor"), Member("UMENTEEA1", "mentee"))
    quiet = (Member("UMENTORB1", "mentor"), Member("UMENTEEB1", "mentee"))
    met_id, quiet_id = seed(app, [met, quiet])
    with app.db.session() as session:  # approved and introduced, as the matching round does
        for pair in session.exec(select(Pair)).all():
            pair.approved_at = pair.introduced_at = MONDAY - timedelta(days=3)
            session.add(pair)
        session.add(Goal(pair_id=met_id, title="Use an AI assistant every week"))
    return met_id, quiet_id


def _log_meeting(app: RunningApp, user_id: str, goal_progress: str = "in_progress") -> None:
    """Yes, we met: the modal filled in as a person would, with the goal's progress."""
    before = len(app.fake.calls("views.open"))
    click(app, user_id, "journey_met")
    view = app.fake.wait_for_count("views.open", before + 1)[-1].response["view"]
    goal_blocks = [b["block_id"] for b in view["blocks"] if b["block_id"].startswith("goal_")]
    assert goal_blocks, "the modal asks for the goal's progress"
    today = app.services.clock.now().date()
    fields: dict[str, Any] = {
        "met_on": sr.datepicker(str(today)),
        "duration": sr.static_select("45"),
        "topics": sr.plain("Prompting"),
        "learned": sr.plain("How execs decide"),
        "taught": sr.plain("ChatGPT basics"),
        "rating": sr.static_select("5"),
        "notes": sr.plain(""),
    }
    fields.update({block: sr.static_select(goal_progress) for block in goal_blocks})
    response = app.slack.view_submission(user_id, view, sr.values_from(fields))
    assert response.status == 200 and response.body in ("", "{}"), response.body


def _dm_texts(app: RunningApp, user_id: str) -> list[str]:
    return [str(m.get("text")) for m in app.fake.posted_messages(app.fake.dm_channel(user_id))]


def test_meeting_rate_counts_a_silent_pair_as_not_met(
    running_app: RunningApp, app_clock: clock.ManualClock
) -> None:
    app = running_app
    _two_introduced_pairs(app)
    report = run(app, "checkin")
    assert report is not None and report.queued == 4
    _log_meeting(app, "UMENTEEA1")
    text = str(command_reply(app, ADMIN, "report"))
    # One pair met, the other never answered: 50 %, not "100 % of the pairs that answered".
    assert "January 2027: 50% met (1 of 2 pairs asked; 1 did not answer)" in text
    assert MEETING_RATE_RULE in text


def test_the_first_meeting_and_an_achieved_goal_are_celebrated_as_they_are_logged(
    running_app: RunningApp, app_clock: clock.ManualClock
) -> None:
    app = running_app
    met_id, _quiet_id = _two_introduced_pairs(app)
    assert run(app, "checkin") is not None
    _log_meeting(app, "UMENTEEA1", goal_progress="achieved")
    # Both partners hear of it at once (09:00 in Berlin), without waiting for the job.
    for user_id in ("UMENTORA1", "UMENTEEA1"):
        eventually(lambda u=user_id: any(FIRST_MEETING in t for t in _dm_texts(app, u)))
        eventually(
            lambda u=user_id: any(
                "You achieved a goal: Use an AI assistant every week" in t
                for t in _dm_texts(app, u)
            )
        )
    assert not any(FIRST_MEETING in t for t in _dm_texts(app, "UMENTORB1"))
    with app.db.session() as session:
        kinds = sorted(m.kind.split(":")[0] for m in session.exec(select(Milestone)).all())
        assert kinds == ["first_meeting", "goal_achieved"]
        assert {m.pair_id for m in session.exec(select(Milestone)).all()} == {met_id}
    # The job stays as a safety net and celebrates nothing twice.
    later = run(app, "milestones")
    assert later is not None and later.queued == 0
    for user_id in ("UMENTORA1", "UMENTEEA1"):
        assert sum(FIRST_MEETING in t for t in _dm_texts(app, user_id)) == 1


def test_a_month_with_nothing_to_report_posts_no_digest(running_app: RunningApp) -> None:
    app = running_app
    make_world(app)
    quiet = scheduled(app, run_digest, datetime(2027, 2, 1, 9, tzinfo=UTC))
    assert quiet.queued == 0
    assert "nothing to report for 2027-01: no digest posted" in quiet.notes
    assert channel_posts(app.fake) == []
    # A shout-out in February is worth a post in March.
    command_reply(app, ADMIN, "shoutout <@UMENTOR1> For the AI workshop")
    with app.db.session() as session:  # stored in February (the command ran "now")
        for row in session.exec(select(ShoutOut)).all():
            row.created_at = datetime(2027, 2, 10, tzinfo=UTC)
            session.add(row)
    posted_before = len(channel_posts(app.fake))
    march = scheduled(app, run_digest, datetime(2027, 3, 1, 9, tzinfo=UTC))
    assert march.queued == 1
    eventually(lambda: len(channel_posts(app.fake)) > posted_before)


def test_a_programme_whose_last_month_was_quiet_ends_without_a_digest(
    running_app: RunningApp,
) -> None:
    app = running_app
    world = make_world(app)
    with app.db.session() as session:
        program = session.get(Program, world.program_id)
        assert program is not None
        program.end_date = date(2027, 3, 31)
        session.add(program)
    report = scheduled(app, run_digest, datetime(2027, 4, 5, 9, tzinfo=UTC))
    assert report.queued == 0 and "the programme has ended" in report.notes
    with app.db.session() as session:
        assert session.get(Program, world.program_id).status == "ended"  # type: ignore[union-attr]
    assert channel_posts(app.fake) == []


def test_no_match_check_round_is_opened_for_nobody(
    running_app: RunningApp, app_clock: clock.ManualClock
) -> None:
    app = running_app
    _two_introduced_pairs(app)
    # Day 30 of the pairs: a round, four people asked.
    app_clock.set(MONDAY + timedelta(days=28))
    first = run_match_check(app.services, app_clock.now())
    assert first.queued == 4
    # A month later the pairs were asked already (the next check is at day 90): no new round.
    app_clock.set(MONDAY + timedelta(days=59))
    again = run_match_check(app.services, app_clock.now())
    assert again.queued == 0 and "no match check due" in again.notes
    with app.db.session() as session:
        rounds = session.exec(select(PulseRound)).all()
        assert [(r.period, r.invited) for r in rounds] == [("2027-02", 4)]
    assert "0 of 0" not in str(command_reply(app, ADMIN, "report"))


@pytest.mark.parametrize(("locale", "more"), [("en", "… and {n} more"), ("de", None), ("vi", None)])
def test_a_digest_list_cut_short_says_how_many_more(locale: str, more: str | None) -> None:
    _ = translator(locale)
    digest = Digest(
        Program(name="Digital Leaders 2027"),
        period_of(date(2027, 2, 1), "Europe/Berlin"),
        meetings=17,
        milestones=17,
        shared_milestones=[
            MilestoneLine("first_meeting", (f"UMENTOR{i:02d}", f"UMENTEE{i:02d}"))
            for i in range(17)
        ],
        shoutouts=[
            ShoutOut(program_id=1, author_slack_id=ADMIN, recipient_slack_ids=[f"U{i:03d}"],
                     message=f"Thanks number {i}")
            for i in range(12)
        ],
    )  # fmt: skip
    text = json.dumps(digest_message(digest, _)["blocks"], ensure_ascii=False)
    assert _("… and {n} more", n=2) in text  # 17 milestones, 15 shown; 12 shout-outs, 10 shown
    assert text.count(_("… and {n} more", n=2)) == 2
    assert "UMENTEE14" in text and "UMENTEE15" not in text
    assert "Thanks number 9" in text and "Thanks number 10" not in text
    if more is not None:
        assert more.format(n=2) in text
    else:
        assert "… and 2 more" not in text  # translated
