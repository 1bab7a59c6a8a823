"""The pair's journey end to end: the scheduler's jobs queue check-ins and nudges, people
answer through signed requests, admins hear of quiet pairs; on SQLite and PostgreSQL."""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar
from sqlmodel import select

from bot import clock
from bot.i18n import translator
from bot.services import build_services
from bot.views import common
from bot.views.enrollment import partner_unreachable_message
from scheduler import jobs, runner
from storage.db import Database
from storage.models import (
    CheckInRequest,
    Goal,
    OutboxMessage,
    Pair,
    Participant,
    Program,
)
from tests.conftest import ADMIN, RunningApp
from tests.flows import command_reply, eventually, setup_program

BERLIN = "Europe/Berlin"
HANOI = "Asia/Ho_Chi_Minh"
NEW_YORK = "America/New_York"


@dataclass
class Member:
    user_id: str
    role: str
    tz: str = BERLIN
    days: tuple[str, ...] = ()
    time_of_day: str | None = None


@pytest.fixture
def app_clock(running_app: RunningApp) -> Iterator[clock.ManualClock]:
    manual = clock.ManualClock(datetime(2027, 1, 4, 8, 0, tzinfo=UTC))  # a Monday
    previous = clock.install(manual)
    running_app.services.use_clock(manual)
    try:
        yield manual
    finally:
        clock.install(previous)


def seed(app: RunningApp, pairs: list[tuple[Member, Member]]) -> list[int]:
    """An active programme with these active pairs (as approved and introduced)."""
    setup_program(app)
    ids: list[int] = []
    with app.db.session() as session:
        program = session.exec(select(Program)).one()
        people: dict[str, Participant] = {}
        for pair in pairs:
            for member in pair:
                if member.user_id in people:
                    continue
                app.fake.add_user(member.user_id, tz=member.tz)
                row = Participant(
                    program_id=program.id or 0,
                    slack_user_id=member.user_id,
                    role=member.role,
                    status="paired",
                    timezone=member.tz,
                    available_days=list(member.days),
                    time_of_day=member.time_of_day,
                    topics_offered=["ai_tools"] if member.role == "mentor" else [],
                    topics_wanted=["ai_tools"] if member.role == "mentee" else [],
                )
                session.add(row)
                session.flush()
                people[member.user_id] = row
        for mentor, mentee in pairs:
            pair = Pair(
                program_id=program.id or 0,
                mentor_id=people[mentor.user_id].id or 0,
                mentee_id=people[mentee.user_id].id or 0,
                status="active",
            )
            session.add(pair)
            session.flush()
            ids.append(pair.id or 0)
    return ids


def run(app: RunningApp, name: str, **kwargs: Any) -> jobs.JobReport | None:
    report = runner.run_job(app.services, name, app.services.clock.now(), **kwargs)
    if report is not None and not kwargs.get("dry_run"):
        app.services.delivery.deliver_now(report.keys, budget_seconds=20)
    return report


def posts_to(app: RunningApp, user_id: str, action: str | None = None) -> list[Any]:
    return [
        c
        for c in app.fake.calls("chat.postMessage")
        if c.ok and c.went_to(user_id) and (action is None or action in str(c.params))
    ]


def prompt_of(app: RunningApp, user_id: str) -> dict[str, Any]:
    """The latest check-in message in the person's DM."""
    messages = [
        m
        for m in app.fake.posted_messages(app.fake.dm_channel(user_id))
        if "journey_met" in str(m.get("blocks"))
    ]
    assert messages, f"no check-in for {user_id}"
    return messages[-1]


def click(app: RunningApp, user_id: str, action: str) -> None:
    message = prompt_of(app, user_id)
    request_id = next(
        e["value"]
        for b in message["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == action
    )
    response = app.slack.block_action(user_id, action, value=request_id, message=message)
    assert response.status == 200


def log_meeting(app: RunningApp, user_id: str, rating: str = "5", notes: str = "<b>ok</b>") -> None:
    from bot.simulated_slack import signed_requests as sr

    before = len(app.fake.calls("views.open"))
    click(app, user_id, "journey_met")
    call = app.fake.wait_for_count("views.open", before + 1)[-1]
    view = call.response["view"]
    today = app.services.clock.now().date()
    values = sr.values_from(
        {
            "met_on": sr.datepicker(str(today - timedelta(days=1))),
            "duration": sr.static_select("45"),
            "topics": sr.plain("Prompting"),
            "learned": sr.plain("How execs decide"),
            "taught": sr.plain("ChatGPT basics"),
            "rating": sr.static_select(rating),
            "notes": sr.plain(notes),
        }
    )
    response = app.slack.view_submission(user_id, view, values)
    assert response.status == 200 and response.body in ("", "{}"), response.body


def requests(app: RunningApp) -> list[CheckInRequest]:
    with app.db.session() as session:
        return list(session.exec(select(CheckInRequest).order_by(CheckInRequest.id)).all())


def test_a_pairs_first_three_months(running_app: RunningApp, app_clock: clock.ManualClock) -> None:
    app = running_app
    met = (Member("UMENTORA1", "mentor"), Member("UMENTEEA1", "mentee"))
    quiet = (Member("UMENTORB1", "mentor"), Member("UMENTEEB1", "mentee"))
    met_id, quiet_id = seed(app, [met, quiet])

    report = run(app, "checkin")
    assert report is not None and report.queued == 4
    for member in (*met, *quiet):
        [post] = posts_to(app, member.user_id, "journey_met")
        assert "Did you meet" in post.params["text"]
        assert "Idea for next time" in str(post.params["blocks"])
    # Either member's answer logs the meeting for the pair; answering twice updates.
    log_meeting(app, "UMENTEEA1", rating="4")
    log_meeting(app, "UMENTEEA1", rating="5")
    rows = [r for r in requests(app) if r.status == "met"]
    assert len(rows) == 1 and rows[0].rating == 5 and rows[0].pair_id == met_id
    assert rows[0].notes == "<b>ok</b>"  # stored as typed, escaped when shown
    eventually(lambda: "logged" in prompt_of(app, "UMENTEEA1")["text"])

    # A week later only the pair that did not meet is nudged, once a week.
    app_clock.set(datetime(2027, 1, 12, 9, 0, tzinfo=UTC))
    assert run(app, "nudge") is not None
    nudged = {m.user_id for m in (*met, *quiet) if posts_to(app, m.user_id, "friendly reminder")}
    assert nudged == {"UMENTORB1", "UMENTEEB1"}
    assert run(app, "nudge") is None  # the same day's run is done
    app_clock.set(datetime(2027, 1, 13, 9, 0, tzinfo=UTC))
    report = run(app, "nudge")
    assert report is not None and report.queued == 0 and report.skipped == 2

    # February: everyone is asked again, nobody answers; no escalation yet.
    app_clock.set(datetime(2027, 2, 1, 8, 0, tzinfo=UTC))
    report = run(app, "checkin")
    assert report is not None and report.queued == 4
    assert not posts_to(app, ADMIN, "journey_end_pair")

    # March: the pair silent in January and February is flagged to the admins only.
    app_clock.set(datetime(2027, 3, 1, 8, 0, tzinfo=UTC))
    report = run(app, "checkin")
    assert report is not None and report.queued == 5
    [flag] = posts_to(app, ADMIN, "journey_end_pair")
    assert (
        "<@UMENTORB1>" in flag.params["text"]
        and "January 2027 and February 2027" in flag.params["text"]
    )
    for member in (*met, *quiet):
        assert not [c for c in posts_to(app, member.user_id) if "quiet" in str(c.params)]
    # The admin ends the pair through the guarded end: both are told kindly, once.
    message = next(
        m for m in app.fake.posted_messages(app.fake.dm_channel(ADMIN)) if "journey_end" in str(m)
    )
    # A forwarded flag clicked by the mentee ends nothing and says why.
    app.slack.block_action("UMENTEEB1", "journey_end_pair", value=str(quiet_id), message=message)
    refusal = common.admins_only(app.services.translator_for("UMENTEEB1"))["text"]
    eventually(
        lambda: any(refusal in str(m.get("text")) for m in app.fake.ephemeral_messages("UMENTEEB1"))
    )
    with app.db.session() as session:
        assert session.get(Pair, quiet_id).status == "active"  # type: ignore[union-attr]
    app.slack.block_action(ADMIN, "journey_end_pair", value=str(quiet_id), message=message)
    eventually(lambda: posts_to(app, "UMENTEEB1", "come to an end"))
    with app.db.session() as session:
        assert session.get(Pair, quiet_id).status == "ended"  # type: ignore[union-attr]
    app.slack.block_action(ADMIN, "journey_end_pair", value=str(quiet_id), message=message)
    eventually(
        lambda: "no longer active" in str(app.fake.posted_messages(app.fake.dm_channel(ADMIN)))
    )
    assert len(posts_to(app, "UMENTEEB1", "come to an end")) == 1


def test_hanoi_and_berlin_slots_and_dst(
    running_app: RunningApp, app_clock: clock.ManualClock
) -> None:
    app = running_app
    mentor = Member("UHANOI0001", "mentor", HANOI, days=("mon", "tue", "fri"))
    mentee = Member(
        "UBERLIN001", "mentee", BERLIN, days=("mon", "tue", "fri"), time_of_day="morning"
    )
    seed(app, [(mentor, mentee)])
    # Sunday before the change to summer time in Berlin (28 March 2027), 06:00 UTC.
    app_clock.set(datetime(2027, 3, 28, 6, 0, tzinfo=UTC))
    report = runner.run_job(app.services, "checkin", app_clock.now())
    assert report is not None and report.queued == 2
    with app.db.session() as session:
        due = {m.recipient: m.not_before for m in session.exec(select(OutboxMessage)).all()}
    # Monday 09:00 local for each: in CEST (UTC+2) for Berlin, UTC+7 for Hanoi.
    assert due["UBERLIN001"] == datetime(2027, 3, 29, 7, 0, tzinfo=UTC)
    assert due["UHANOI0001"] == datetime(2027, 3, 29, 2, 0, tzinfo=UTC)
    assert not app.services.delivery.deliver_now(report.keys, budget_seconds=2)  # not yet due

    app_clock.set(datetime(2027, 3, 29, 7, 30, tzinfo=UTC))
    app.services.delivery.deliver_now(report.keys, budget_seconds=20)
    click(app, "UBERLIN001", "journey_not_yet")
    files = eventually(lambda: app.fake.uploaded_files())
    assert len(files) == 3
    starts = []
    for upload in files:
        calendar = Calendar.from_ical(upload["bytes"])
        [event] = calendar.walk("VEVENT")
        start = event.decoded("dtstart")
        end = event.decoded("dtend")
        starts.append(start)
        for tz, first, last, days in ((HANOI, 9, 17, mentor.days), (BERLIN, 9, 12, mentee.days)):
            local_start, local_end = start.astimezone(ZoneInfo(tz)), end.astimezone(ZoneInfo(tz))
            assert local_start.hour >= first and (local_end.hour, local_end.minute) <= (last, 0)
            assert local_start.strftime("%a").lower() in days
    assert len({s.date() for s in starts}) == 3
    text = eventually(
        lambda: (
            "Three times" in prompt_of_any(app, "UBERLIN001") and prompt_of_any(app, "UBERLIN001")
        )
    )
    assert "for you" in text


def prompt_of_any(app: RunningApp, user_id: str) -> str:
    return str(app.fake.posted_messages(app.fake.dm_channel(user_id)))


def test_not_yet_without_a_shared_hour_says_why_and_offers_the_nearest_times(
    running_app: RunningApp, app_clock: clock.ManualClock
) -> None:
    """A pair made before the matcher knew about hours (New York and Hanoi never overlap)."""
    app = running_app
    mentor = Member("UNEWYORK01", "mentor", NEW_YORK)
    mentee = Member("UHANOI0002", "mentee", HANOI)
    seed(app, [(mentor, mentee)])
    app_clock.set(datetime(2027, 1, 4, 1, 0, tzinfo=UTC))  # Monday 08:00 in Hanoi
    report = runner.run_job(app.services, "checkin", app_clock.now())
    assert report is not None
    app_clock.set(datetime(2027, 1, 4, 3, 0, tzinfo=UTC))
    app.services.delivery.deliver_now(report.keys, budget_seconds=20)
    click(app, mentee.user_id, "journey_not_yet")
    text = eventually(
        lambda: (
            "do not overlap" in prompt_of_any(app, mentee.user_id)
            and prompt_of_any(app, mentee.user_id)
        )
    )
    assert "do not overlap on any weekday" in text
    # Hanoi's 09:00 is New York's 21:00 the evening before, and the other way round: either
    # way a 45-minute meeting reaches 4 h 45 min past the other's working day.
    mine = text.count("inside your working hours, 4 h 45 min outside <@UNEWYORK01>'s")
    theirs = text.count("inside <@UNEWYORK01>'s working hours, 4 h 45 min outside yours")
    assert (mine + theirs, mine > 0, theirs > 0) == (3, True, True)
    assert "meet asynchronously" in text
    files = eventually(lambda: app.fake.uploaded_files())
    assert len(files) == 3
    for upload in files:
        [event] = Calendar.from_ical(upload["bytes"]).walk("VEVENT")
        start = event.decoded("dtstart")
        local = [start.astimezone(ZoneInfo(zone)) for zone in (HANOI, NEW_YORK)]
        assert any((t.hour, t.minute) == (9, 0) and t.weekday() < 5 for t in local)


def test_mentor_with_two_mentees_answers_for_each_pair(
    running_app: RunningApp, app_clock: clock.ManualClock
) -> None:
    app = running_app
    mentor = Member("UMENTOR2X", "mentor")
    first, second = Member("UMENTEE2A", "mentee"), Member("UMENTEE2B", "mentee")
    first_id, second_id = seed(app, [(mentor, first), (mentor, second)])
    report = run(app, "checkin")
    assert report is not None and report.queued == 4
    prompts = posts_to(app, mentor.user_id, "journey_met")
    assert len(prompts) == 2
    assert {"<@UMENTEE2A>" in p.params["text"] for p in prompts} == {True, False}
    # The mentor answers for the first pair only (the prompt naming that mentee).
    message = next(
        m
        for m in app.fake.posted_messages(app.fake.dm_channel(mentor.user_id))
        if "UMENTEE2A" in m["text"]
    )
    request_id = next(
        e["value"] for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]
    )
    app.slack.block_action(mentor.user_id, "journey_snooze", value="0", message=message)
    app.slack.block_action(mentor.user_id, "journey_not_yet", value=request_id, message=message)
    with app.db.session() as session:
        rows = session.exec(select(CheckInRequest)).all()
        by_pair = Counter((r.pair_id, r.status) for r in rows)
    eventually(lambda: any(r.status == "not_yet" for r in requests(app)))
    assert by_pair[(second_id, "asked")] == 2
    mine = [r for r in requests(app) if r.status == "not_yet"]
    assert len(mine) == 1 and mine[0].pair_id == first_id


def test_pause_and_kill_switch(running_app: RunningApp, app_clock: clock.ManualClock) -> None:
    app = running_app
    mentor, mentee = Member("UPAUSEMR1", "mentor"), Member("UPAUSEME1", "mentee")
    seed(app, [(mentor, mentee)])
    reply = command_reply(app, mentee.user_id, "pause 2027-02-01")
    assert "Paused until Feb 1, 2027" in reply["text"]
    report = run(app, "checkin")
    assert report is not None and report.queued == 1 and report.skipped == 1
    assert not posts_to(app, mentee.user_id, "journey_met")

    assert "on hold" in command_reply(app, ADMIN, "hold on")["text"]
    assert "Only programme admins" in command_reply(app, mentor.user_id, "hold off")["text"]
    app_clock.set(datetime(2027, 2, 1, 8, 0, tzinfo=UTC))  # the pause is over
    before = len(app.fake.calls("chat.postMessage"))
    report = run(app, "checkin")
    assert report is not None and report.queued == 2
    assert len(app.fake.calls("chat.postMessage")) == before  # held: nothing went out
    assert "flowing again" in command_reply(app, ADMIN, "hold off")["text"]
    app.services.delivery.deliver_now(report.keys, budget_seconds=20)
    assert len(posts_to(app, mentee.user_id, "journey_met")) == 1
    assert len(posts_to(app, mentor.user_id, "journey_met")) == 2


def test_repeated_and_dry_runs_send_nothing_twice(
    running_app: RunningApp, app_clock: clock.ManualClock
) -> None:
    app = running_app
    seed(app, [(Member("UDRYMR001", "mentor"), Member("UDRYME001", "mentee"))])
    dry = run(app, "checkin", dry_run=True)
    assert dry is not None and dry.queued == 2 and len(dry.would_send) == 2
    assert not requests(app)
    with app.db.session() as session:
        assert not session.exec(select(OutboxMessage)).all()
    assert not app.fake.calls("chat.postMessage")
    assert run(app, "checkin") is not None
    assert run(app, "checkin") is None
    app_clock.set(datetime(2027, 1, 5, 8, 0, tzinfo=UTC))
    again = run(app, "checkin")
    assert again is not None and again.queued == 0
    assert len(app.fake.calls("chat.postMessage")) == 2


def test_status_and_goals_commands(running_app: RunningApp, app_clock: clock.ManualClock) -> None:
    app = running_app
    [pair_id] = seed(app, [(Member("USTATMR01", "mentor"), Member("USTATME01", "mentee"))])
    with app.db.session() as session:
        session.add(Goal(pair_id=pair_id, title="Ship <one> bot", progress=50))
    reply = command_reply(app, "USTATME01", "status")
    text = str(reply["blocks"])
    assert "<@USTATMR01>" in text and "Ship &lt;one&gt; bot" in text and "In progress" in text
    assert "Next check-in: February 2027" in text
    before = len(app.fake.calls("views.open"))
    app.slack.command("USTATME01", "goals")
    view = app.fake.wait_for_count("views.open", before + 1)[-1].response["view"]
    assert view["callback_id"] == "pair_goals"
    # The stored goal is shown (as typed: plain text inputs are not mrkdwn).
    assert view["blocks"][1]["element"]["initial_value"] == "Ship <one> bot"
    from bot.simulated_slack import signed_requests as sr

    def submit(target: str) -> Any:
        values = {"goal_1": sr.plain("Post weekly on LinkedIn"), "measure_1": sr.plain("4 posts")}
        values["target_1"] = sr.datepicker(target)
        return app.slack.view_submission("USTATME01", view, sr.values_from(values))

    past = submit("2026-12-01")
    assert past.json()["errors"] == {"target_1": "Pick a day in the future."}
    assert submit("2027-03-31").status == 200
    with app.db.session() as session:
        [goal] = session.exec(select(Goal).where(Goal.pair_id == pair_id)).all()
    assert goal.title == "Post weekly on LinkedIn" and str(goal.target_date) == "2027-03-31"
    assert "(Mar 31, 2027): Not started" in str(command_reply(app, "USTATMR01", "status")["blocks"])
    opened = len(app.fake.calls("views.open"))
    app.slack.command("USTATMR01", "goals")
    shown = app.fake.wait_for_count("views.open", opened + 1)[-1].response["view"]
    element = {b["block_id"]: b["element"] for b in shown["blocks"] if b["type"] == "input"}
    assert element["goal_1"]["initial_value"] == "Post weekly on LinkedIn"
    assert element["measure_1"]["initial_value"] == "4 posts"
    assert element["target_1"]["initial_date"] == "2027-03-31"
    assert "initial_value" not in element["goal_2"]
    app.slack.event({"type": "app_home_opened", "user": "USTATMR01", "tab": "home"})
    home = eventually(lambda: app.fake.home_of("USTATMR01"))
    text = str(home["blocks"])
    assert (
        "Post weekly on LinkedIn (Mar 31, 2027)" in text and "Next check-in: February 2027" in text
    )


def test_429_storm_and_a_permanent_error(
    running_app: RunningApp, app_clock: clock.ManualClock
) -> None:
    app = running_app
    pairs = [
        (Member(f"USTORMR{i:02d}", "mentor"), Member(f"USTORME{i:02d}", "mentee")) for i in range(6)
    ]
    seed(app, pairs)
    report = runner.run_job(app.services, "checkin", app_clock.now())
    assert report is not None and report.queued == 12
    app.fake.fail_next("chat.postMessage", status=200, error="account_inactive")
    app.fake.random_rate_limits(0.4, seed=3, methods=["chat.postMessage"])
    for _round in range(60):
        app.services.delivery.deliver_now(report.keys, budget_seconds=0.5)
        if not pending(app):
            break
        app_clock.advance(timedelta(seconds=5))  # Retry-After passes on the app's clock
    app.fake.random_rate_limits(0)
    assert any(c.status == 429 for c in app.fake.calls("chat.postMessage"))
    checkins = [c for c in app.fake.calls("chat.postMessage") if "journey_met" in str(c.params)]
    delivered = Counter(c.params["channel"] for c in checkins if c.ok)
    # One refused for good; its pair ended, so the partner's check-in is no longer sent.
    assert len(delivered) == 10 and set(delivered.values()) == {1}
    with app.db.session() as session:
        failed = session.exec(select(OutboxMessage).where(OutboxMessage.status == "failed")).all()
        cancelled = session.exec(
            select(OutboxMessage).where(OutboxMessage.status == "cancelled")
        ).all()
    assert [m.last_error for m in failed] == ["account_inactive"]
    assert failed[0].recipient not in delivered  # final: never retried
    assert [m.kind for m in cancelled] == ["checkin"]
    assert cancelled[0].recipient not in delivered
    # The next day the admins hear of it, once.
    app_clock.set(datetime(2027, 1, 5, 8, 0, tzinfo=UTC))
    report = run(app, "delivery_report")
    assert report is not None and report.queued == 1
    [notice] = posts_to(app, ADMIN)
    assert "`account_inactive`: 1" in str(notice.params["blocks"])


def test_a_person_slack_refuses_for_good_leaves_kindly_and_admins_hear_it_once(
    running_app: RunningApp, app_clock: clock.ManualClock
) -> None:
    app = running_app
    gone, partner = Member("UGONEME01", "mentee"), Member("UPARTNER1", "mentor")
    others = (Member("UOTHERMR1", "mentor"), Member("UOTHERME1", "mentee"))
    gone_pair, _other_pair = seed(app, [(partner, gone), others])
    with app.db.session() as session:  # the partner reads Slack in German
        row = session.exec(select(Participant).where(Participant.slack_user_id == "UPARTNER1"))
        person = row.one()
        person.locale = "de"
        session.add(person)
    app.fake.refuse_messages_to("UGONEME01")  # their account was deactivated
    # Friday afternoon, after the weekday jobs' morning runs: January's check-ins go out.
    app_clock.set(datetime(2027, 1, 8, 14, 0, tzinfo=UTC))
    report = run(app, "checkin")
    assert report is not None and report.queued == 4
    assert [c.error for c in app.fake.calls("chat.postMessage") if c.went_to("UGONEME01")] == [
        "account_inactive"
    ]
    # The partner is told kindly, in their language, once; both leave the pair.
    kind_words = partner_unreachable_message(translator("de"))["text"]
    assert app.fake.dm_texts("UPARTNER1").count(kind_words) == 1
    with app.db.session() as session:
        people = {p.slack_user_id: p for p in session.exec(select(Participant)).all()}
        pair = session.get(Pair, gone_pair)
    assert (people["UGONEME01"].status, people["UGONEME01"].left_reason) == (
        "left",
        "unreachable",
    )
    assert people["UPARTNER1"].status == "waiting"  # back in the matching pool
    assert pair is not None and (pair.status, pair.end_reason) == ("ended", "unreachable")
    assert people["UOTHERME1"].status == "paired"  # nobody else is touched

    # Saturday morning the admins hear of it (the weekday jobs do not run at weekends) ...
    app_clock.set(datetime(2027, 1, 9, 8, 0, tzinfo=UTC))
    assert run(app, "nudge") is not None  # (a nudge run says nothing of refusals)
    assert not posts_to(app, ADMIN)
    report = run(app, "delivery_report")
    assert report is not None and report.queued == 1
    [notice] = posts_to(app, ADMIN)
    told = str(notice.params["blocks"])
    assert "`account_inactive`: 1" in told and "<@UGONEME01>" in told
    # ... once: Sunday's and Monday's reports have nothing new to say.
    for day in (10, 11):
        app_clock.set(datetime(2027, 1, day, 8, 0, tzinfo=UTC))
        report = run(app, "delivery_report")
        assert report is not None and report.queued == 0
    assert len(posts_to(app, ADMIN)) == 1

    # February: the person is not asked again; the pair still together is.
    app_clock.set(datetime(2027, 2, 1, 8, 0, tzinfo=UTC))
    report = run(app, "checkin")
    assert report is not None and report.queued == 2
    assert len([c for c in app.fake.calls("chat.postMessage") if c.went_to("UGONEME01")]) == 1
    assert len(posts_to(app, "UOTHERME1", "journey_met")) == 2
    assert app.fake.dm_texts("UPARTNER1").count(kind_words) == 1
    app_clock.set(datetime(2027, 2, 2, 8, 0, tzinfo=UTC))
    report = run(app, "delivery_report")
    assert report is not None and report.queued == 0


def pending(app: RunningApp) -> int:
    with app.db.session() as session:
        return len(
            session.exec(select(OutboxMessage).where(OutboxMessage.status == "pending")).all()
        )


def test_two_replicas_deliver_each_check_in_once(
    running_app: RunningApp, app_clock: clock.ManualClock
) -> None:
    app = running_app
    seed(
        app,
        [
            (Member(f"UREPMR{i:03d}", "mentor"), Member(f"UREPME{i:03d}", "mentee"))
            for i in range(10)
        ],
    )
    replicas = [
        build_services(app.settings, db=Database(app.db.url), clock=app_clock) for _ in range(2)
    ]
    reports: list[jobs.JobReport | None] = []

    def replica(services: Any) -> None:
        reports.append(runner.run_job(services, "checkin", app_clock.now()))
        services.delivery.deliver_now(_all_keys(app), budget_seconds=20)

    threads = [threading.Thread(target=replica, args=(s,)) for s in replicas]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for services in replicas:
        services.db.dispose()
    assert sorted(r is None for r in reports) == [False, True]  # one replica ran the job
    delivered = Counter(c.params["channel"] for c in app.fake.calls("chat.postMessage") if c.ok)
    assert len(delivered) == 20 and set(delivered.values()) == {1}


def _all_keys(app: RunningApp) -> list[str]:
    eventually(lambda: _keys(app), timeout=10)
    return _keys(app)


def _keys(app: RunningApp) -> list[str]:
    with app.db.session() as session:
        return list(session.exec(select(OutboxMessage.dedupe_key)).all())


def test_jobs_cli_lists_runs_and_dry_runs(
    database: Database,
    fake_slack: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: Any,
    tmp_path: Any,
) -> None:
    from bot.cli import main
    from tests.conftest import BOT_TOKEN, PULSE_SECRET, SIGNING_SECRET

    env = {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "PULSE_SECRET": PULSE_SECRET,
        "SLACK_API_URL": fake_slack.api_url,
        "DATABASE_URL": database.url,
        "ADMIN_USER_IDS": ADMIN,
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with database.session() as session:
        program = Program(name="CLI", timezone=BERLIN)
        session.add(program)
        session.flush()
        people = []
        for user, role in (("UCLIMR001", "mentor"), ("UCLIME001", "mentee")):
            fake_slack.add_user(user, tz=BERLIN)
            person = Participant(
                program_id=program.id or 0,
                slack_user_id=user,
                role=role,
                status="paired",
                timezone=BERLIN,
            )
            session.add(person)
            session.flush()
            people.append(person)
        session.add(
            Pair(
                program_id=program.id or 0,
                mentor_id=people[0].id or 0,
                mentee_id=people[1].id or 0,
                status="active",
            )
        )
    previous = clock.current()
    empty = tmp_path / "empty.env"
    empty.write_text("")
    base = ["--env-file", str(empty), "jobs"]
    at = ["--at", "2027-01-04T09:30+01:00"]
    try:
        assert main([*base, "list"]) == 0
        listing = capsys.readouterr().out
        # One row per job of each live programme: its id and name first, then the job.
        assert re.search(r"^\d+ \S.* checkin +0 8 \* \* mon-fri +default +20", listing, re.M)
        for name in ("nudge", "pulse", "match_check", "milestones", "digest"):
            assert re.search(rf"^\d+ \S.* {name} ", listing, re.M), name
        assert main([*base, "run", "checkin", *at, "--dry-run"]) == 0
        out = capsys.readouterr().out
        assert out.count("would send to UCLIM") == 2 and "nothing sent" in out
        assert not fake_slack.calls("chat.postMessage")
        with database.session() as session:
            assert not session.exec(select(OutboxMessage)).all()
        assert main([*base, "run", "checkin", *at]) == 0
        assert "2 queued, 0 skipped, 2 delivered now" in capsys.readouterr().out
        assert len(fake_slack.calls("chat.postMessage")) == 2
        assert main([*base, "run", "checkin", *at]) == 0
        assert "already ran" in capsys.readouterr().out
        assert len(fake_slack.calls("chat.postMessage")) == 2
    finally:
        clock.install(previous)


def test_jobs_are_scheduled_in_the_programme_zone_across_dst(running_app: RunningApp) -> None:
    setup_program(running_app)
    with running_app.db.session() as session:
        program = session.exec(select(Program)).one()
        program.timezone = BERLIN
        program.settings = {"schedules": {"nudge": "30 9 * * tue"}}
        session.add(program)
    scheduler = runner.build_scheduler(running_app.services)
    jobs_by_id = {job.id: job for job in scheduler.get_jobs()}
    names = ("checkin", "nudge", "pulse", "match_check", "milestones", "digest")
    assert {runner.job_id(name, program.id or 0) for name in names} <= set(jobs_by_id)
    checkin = jobs_by_id[runner.job_id("checkin", program.id or 0)].trigger
    before = datetime(2027, 3, 26, 12, 0, tzinfo=UTC)  # Friday, winter time
    first = checkin.get_next_fire_time(None, before)
    second = checkin.get_next_fire_time(first, first + timedelta(seconds=1))
    assert first.astimezone(UTC) == datetime(2027, 3, 29, 6, 0, tzinfo=UTC)  # 08:00 CEST
    assert second.astimezone(UTC) == datetime(2027, 3, 30, 6, 0, tzinfo=UTC)
    nudge = jobs_by_id[runner.job_id("nudge", program.id or 0)].trigger
    assert nudge.get_next_fire_time(None, before).astimezone(UTC) == datetime(
        2027, 3, 30, 7, 30, tzinfo=UTC
    )
    assert (
        jobs_by_id[runner.job_id("checkin", program.id or 0)].misfire_grace_time
        == runner.JOB_MISFIRE_GRACE
    )
