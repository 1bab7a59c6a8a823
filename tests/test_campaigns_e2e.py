"""Recruiting campaigns end to end: an owner's segment modal with its preview, invitations
through the outbox at each person's good local time, Join and "Not for me", one reminder,
the relevance check at send time and the funnel in the report; signed requests against the
simulated Slack, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from bot import clock
from bot.simulated_slack import signed_requests as sr
from scheduler.runner import run_job
from storage.models import (
    AuditEvent,
    Campaign,
    CampaignInvite,
    OutboxMessage,
    Pair,
    Participant,
    Program,
    RosterEntry,
)
from tests.conftest import ADMIN, RunningApp
from tests.flows import (
    Person,
    command_reply,
    enroll,
    enrollment_values,
    eventually,
    open_modal,
    setup_program,
)

# Monday 14:00 UTC: 15:00 in Berlin, 09:00 in New York, 21:00 in Ho Chi Minh City.
SENT_AT = datetime(2027, 1, 4, 14, 0, tzinfo=UTC)
VIETNAM_MORNING = datetime(2027, 1, 5, 2, 0, tzinfo=UTC)  # 09:00 in Ho Chi Minh City

# (user, language, department, country, office, title, level, hired, left)
ROSTER = [
    ("UCAMP01", "de", "Engineering", "Germany", "Berlin", "Software Engineer", 2, "2024-03-01"),
    ("UCAMP02", "vi", "Engineering", "Vietnam", "Hanoi", "Data Engineer", 3, "2025-01-10"),
    ("UCAMP03", "en", "Engineering", "USA", "New York", "Engineering Manager", 6, "2015-06-01"),
    ("UCAMP04", "en", "Engineering", "USA", "New York", "QA Engineer", 4, "2019-02-01"),
    ("UCAMP05", "en", "Marketing", "USA", "New York", "Social Media Lead", 3, "2021-09-01"),
    ("UCAMP06", "en", "Engineering", "USA", "Remote", "Platform Engineer", 5, "2018-01-01"),
]
LEFT = "UCAMP04"  # left the roster
MEMBER = "UCAMP06"  # already in the programme
ENGINEERS = ["UCAMP01", "UCAMP02", "UCAMP03"]  # who an Engineering campaign invites


@contextmanager
def manual_clock(start: datetime) -> Iterator[clock.ManualClock]:
    manual = clock.ManualClock(start)
    previous = clock.install(manual)
    try:
        yield manual
    finally:
        clock.install(previous)


def seed(app: RunningApp) -> None:
    """The programme, the roster (stored as the roster import would), the people in Slack,
    and one person who is in the programme already."""
    setup_program(app, start="2027-01-01", end="2027-12-31")
    with app.db.session() as session:
        for user_id, language, dept, country, office, title, level, hired in ROSTER:
            Person(user_id, "mentor", language).add_to(app)
            session.add(
                RosterEntry(
                    slack_user_id=user_id,
                    department=dept,
                    country=country,
                    office=office,
                    title=title,
                    level=level,
                    hire_date=date.fromisoformat(hired),
                    left_at=SENT_AT - timedelta(days=3) if user_id == LEFT else None,
                )
            )
    assert enroll(app, Person(MEMBER, "mentor", offered=["ai_tools"])).status == 200
    eventually(lambda: app.fake.home_of(MEMBER))


def campaign_values(role: str | None = "mentor", **fields: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "role": sr.radio(role),
        "department": sr.static_select(fields.get("department")),
        "country": sr.static_select(fields.get("country")),
        "office": sr.static_select(fields.get("office")),
        "title_contains": sr.plain(fields.get("title")),
        "level_at_least": sr.number(fields.get("level")),
        "hired_after": sr.datepicker(fields.get("hired_after")),
    }
    return sr.values_from(values)


def preview(app: RunningApp, view: dict[str, Any], values: dict[str, Any]) -> str:
    """Clicks Preview in the modal; the text of the modal it became (`view` becomes it)."""
    before = len(app.fake.calls("views.update"))
    response = app.slack.block_action(
        ADMIN, "campaign_preview", value="preview", view=view, values=values
    )
    assert response.status == 200
    update = app.fake.wait_for_count("views.update", before + 1)[-1]
    assert update.ok, update.error
    view.clear()
    view.update(update.response["view"])
    return json.dumps(update.params["view"], ensure_ascii=False)


def send(app: RunningApp, **fields: Any) -> dict[str, Any]:
    """Opens the modal and sends the campaign; the answer's view."""
    view = open_modal(app, ADMIN, "campaign")
    response = app.slack.view_submission(ADMIN, view, campaign_values(**fields))
    assert response.status == 200, response.body
    return response.json()


def deliver(app: RunningApp) -> None:
    app.services.delivery.sender.flush()


def invitations_to(app: RunningApp, user_id: str, kind: str = "campaign_join") -> list[Any]:
    return [
        c
        for c in app.fake.calls("chat.postMessage")
        if c.ok and c.went_to(user_id) and kind in json.dumps(c.params.get("blocks"))
    ]


def click(app: RunningApp, user_id: str, action_id: str) -> Any:
    posted = invitations_to(app, user_id)[-1]
    button = next(
        e
        for b in posted.params["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == action_id
    )
    return app.slack.block_action(
        user_id,
        action_id,
        value=button["value"],
        message=posted.response["message"],
        channel_id=posted.response["channel"],
    )


def invites(app: RunningApp) -> dict[str, str]:
    with app.db.session() as session:
        rows = session.exec(select(CampaignInvite).order_by(CampaignInvite.id)).all()
        return {row.slack_user_id: row.status for row in rows}


def test_the_preview_counts_the_segment_and_send_queues_one_invitation_each(
    running_app: RunningApp,
) -> None:
    app = running_app
    with manual_clock(SENT_AT) as manual:
        seed(app)
        view = open_modal(app, ADMIN, "campaign")
        # The selects offer the roster's values (the one who left the roster counts no more).
        departments = next(b for b in view["blocks"] if b.get("block_id") == "department")
        offered = [o["value"] for o in departments["element"]["options"]]
        assert offered == ["Engineering", "Marketing"]

        shown = preview(app, view, campaign_values(department="Engineering"))
        assert "*3* people would be invited" in shown
        for user_id in ENGINEERS:
            assert f"<@{user_id}>" in shown
        assert LEFT not in shown and MEMBER not in shown
        # Title, level and hire date narrow it down; an empty segment says so.
        shown = preview(app, view, campaign_values(title="ENGINEER", level=3))
        assert "*2* people" in shown and "UCAMP02" in shown and "UCAMP03" in shown
        shown = preview(app, view, campaign_values(hired_after="2020-01-01", country="Germany"))
        assert "*1* people" in shown and "UCAMP01" in shown
        shown = preview(app, view, campaign_values(office="Nowhere"))
        assert "*Nobody*" in shown

        answer = send(app, department="Engineering")
        assert answer["response_action"] == "update"
        assert "3 invitations are queued" in json.dumps(answer["view"])
        assert invites(app) == dict.fromkeys(ENGINEERS, "invited")
        with app.db.session() as session:
            queued = session.exec(
                select(OutboxMessage).where(OutboxMessage.kind == "campaign_invite")
            ).all()
            audit = session.exec(select(AuditEvent).where(AuditEvent.action == "campaign.send"))
            event = audit.one()
        assert sorted(m.recipient for m in queued) == ENGINEERS
        assert event.actor_slack_id == ADMIN and event.detail["count"] == 3

        # Each at their good local time: Berlin and New York now, Vietnam next morning.
        deliver(app)
        assert invitations_to(app, "UCAMP01") and invitations_to(app, "UCAMP03")
        assert not invitations_to(app, "UCAMP02")
        german = invitations_to(app, "UCAMP01")[0].params["text"]
        assert "Digital Leaders 2027" in german and "Hi!" not in german  # in German
        manual.set(VIETNAM_MORNING)
        deliver(app)
        vietnamese = invitations_to(app, "UCAMP02")
        assert len(vietnamese) == 1 and "Hi!" not in vietnamese[0].params["text"]
        assert len(invitations_to(app, "UCAMP01")) == 1  # each once

        # The campaign counts: sending the same segment again invites nobody new.
        again = send(app, department="Engineering")
        assert again["response_action"] == "errors"
        assert "Nobody" in again["errors"]["role"]
        with app.db.session() as session:
            assert len(session.exec(select(Campaign)).all()) == 1  # no empty campaign stored


def test_join_and_not_for_me_are_recorded_and_later_campaigns_respect_them(
    running_app: RunningApp,
) -> None:
    app = running_app
    with manual_clock(SENT_AT) as manual:
        seed(app)
        send(app, department="Engineering")
        deliver(app)
        manual.set(VIETNAM_MORNING)
        deliver(app)
        assert all(invitations_to(app, user_id) for user_id in ENGINEERS)

        # Join opens the programme's join form with the role of the invitation picked.
        before = len(app.fake.calls("views.open"))
        assert click(app, "UCAMP01", "campaign_join").status == 200
        opened = app.fake.wait_for_count("views.open", before + 1)[-1]
        form = opened.response["view"]
        role = next(b for b in form["blocks"] if b.get("block_id") == "role")
        assert role["element"]["initial_option"]["value"] == "mentor"
        person = Person("UCAMP01", "mentor", "de", offered=["ai_tools"])
        response = app.slack.view_submission("UCAMP01", form, enrollment_values(person))
        assert response.status == 200 and "errors" not in response.body, response.body
        # Joining through /mentoring join counts too.
        assert enroll(app, Person("UCAMP03", "mentee", wanted=["ai_tools"])).status == 200

        # "Not for me": thanked in place, never invited again.
        assert click(app, "UCAMP02", "campaign_decline").status == 200
        thanked = app.fake.wait_for("chat.update", lambda c: "Cảm ơn" in str(c.params["text"]))
        assert thanked.ok and "campaign_join" not in json.dumps(thanked.params.get("blocks"))
        eventually(lambda: invites(app)["UCAMP02"] == "declined")
        assert invites(app) == {"UCAMP01": "joined", "UCAMP02": "declined", "UCAMP03": "joined"}

        answer = send(app)  # everyone on the roster who may still be asked
        assert "1 invitations are queued" in json.dumps(answer["view"])
        with app.db.session() as session:
            latest = session.exec(select(Campaign).order_by(Campaign.id.desc())).first()  # type: ignore[union-attr]
            assert latest is not None
            second = session.exec(
                select(CampaignInvite.slack_user_id).where(CampaignInvite.campaign_id == latest.id)
            ).all()
        assert second == ["UCAMP05"]

        # The funnel: the two who joined are paired, and the pair met.
        with app.db.session() as session:
            ids = {
                p.slack_user_id: p.id
                for p in session.exec(select(Participant)).all()
                if p.slack_user_id in ("UCAMP01", "UCAMP03")
            }
            program = session.exec(select(Program)).one()
            session.add(
                Pair(
                    program_id=program.id or 0,
                    mentor_id=ids["UCAMP01"] or 0,
                    mentee_id=ids["UCAMP03"] or 0,
                    status="active",
                    approved_at=SENT_AT,
                    last_met_at=SENT_AT + timedelta(days=2),
                )
            )
        report = json.dumps(command_reply(app, ADMIN, "report").get("blocks"), ensure_ascii=False)
        assert "Recruiting campaigns" in report
        assert "3 invited → 2 joined → 2 matched → 2 met (1 said not for me)" in report
        assert "1 invited → 0 joined → 0 matched → 0 met (0 said not for me)" in report


def test_one_reminder_after_seven_days_only_to_those_who_have_not_answered(
    running_app: RunningApp,
) -> None:
    app = running_app
    start = SENT_AT
    with manual_clock(start) as manual:
        seed(app)
        send(app, department="Engineering")
        deliver(app)
        manual.set(VIETNAM_MORNING)
        deliver(app)
        assert enroll(app, Person("UCAMP01", "mentor", "de", offered=["ai_tools"])).status == 200
        assert click(app, "UCAMP02", "campaign_decline").status == 200
        eventually(lambda: invites(app)["UCAMP02"] == "declined")

        early = run_job(app.services, "campaign_reminders", start + timedelta(days=6))
        assert early is not None and early.queued == 0
        week = start + timedelta(days=7)
        manual.set(week)
        report = run_job(app.services, "campaign_reminders", week)
        assert report is not None and report.queued == 1
        deliver(app)
        reminders = invitations_to(app, "UCAMP03")
        assert len(reminders) == 2 and "reminder" in reminders[-1].params["text"]
        assert len(invitations_to(app, "UCAMP01")) == 1
        assert len(invitations_to(app, "UCAMP02")) == 1
        # Never a second one, and the campaign is done.
        later = run_job(app.services, "campaign_reminders", week + timedelta(days=1))
        assert later is not None and later.queued == 0
        with app.db.session() as session:
            assert session.exec(select(Campaign)).one().status == "done"


def test_invitations_still_waiting_are_cancelled_when_enrollment_closes(
    running_app: RunningApp,
) -> None:
    app = running_app
    with manual_clock(SENT_AT) as manual:
        seed(app)
        send(app, department="Engineering")
        deliver(app)  # Berlin and New York now; Vietnam waits for its morning
        setup_program(app, start="2027-01-01", end="2027-12-31", enrollment="closed")
        manual.set(VIETNAM_MORNING)
        deliver(app)
        assert not invitations_to(app, "UCAMP02")
        with app.db.session() as session:
            row = session.exec(
                select(OutboxMessage).where(OutboxMessage.recipient == "UCAMP02")
            ).one()
        assert row.status == "cancelled"
        assert row.cancelled_because == "the programme no longer takes people in"
        # And a closed programme takes no campaign.
        reply = command_reply(app, ADMIN, "campaign")
        assert "open its enrollment first" in reply["text"]


def test_erasing_ones_data_keeps_the_invitation_counted_without_the_person(
    running_app: RunningApp,
) -> None:
    app = running_app
    with manual_clock(SENT_AT):
        seed(app)
        send(app, department="Engineering")
        assert enroll(app, Person("UCAMP03", "mentee", wanted=["ai_tools"])).status == 200
        eventually(lambda: invites(app).get("UCAMP03") == "joined")
        view = open_modal(app, "UCAMP03", "leave")
        values = sr.values_from({"erase": sr.checkboxes(["erase"])})
        assert app.slack.view_submission("UCAMP03", view, values).status == 200
        eventually(lambda: "UCAMP03" not in invites(app))
        statuses = sorted(invites(app).values())
        assert statuses == ["invited", "invited", "joined"]
        report = json.dumps(command_reply(app, ADMIN, "report").get("blocks"), ensure_ascii=False)
        assert "3 invited → 1 joined → 0 matched → 0 met" in report


def test_an_invitation_to_someone_who_left_the_roster_meanwhile_is_not_sent(
    running_app: RunningApp,
) -> None:
    app = running_app
    with manual_clock(SENT_AT) as manual:
        seed(app)
        send(app, department="Engineering")
        with app.db.session() as session:
            entry = session.exec(
                select(RosterEntry).where(RosterEntry.slack_user_id == "UCAMP02")
            ).one()
            entry.left_at = SENT_AT + timedelta(hours=1)
            session.add(entry)
        manual.set(VIETNAM_MORNING)
        deliver(app)
        assert not invitations_to(app, "UCAMP02")
        with app.db.session() as session:
            row = session.exec(
                select(OutboxMessage).where(OutboxMessage.recipient == "UCAMP02")
            ).one()
        assert (row.status, row.cancelled_because) == ("cancelled", "the person left the roster")


def test_only_owners_may_run_a_campaign(running_app: RunningApp) -> None:
    app = running_app
    with manual_clock(SENT_AT):
        seed(app)
        # An owner who is not a super-admin may.
        app.fake.add_user("UOWNER01", real_name="Olga Owner", locale="en-US")
        setup_program(app, start="2027-01-01", end="2027-12-31", owners=[ADMIN, "UOWNER01"])
        view = open_modal(app, "UOWNER01", "campaign")
        assert view["callback_id"] == "campaign"
        reply = command_reply(app, "UCAMP05", "campaign")
        assert "Only programme admins" in reply["text"]
        # A copy of the owner's modal submitted by someone else is refused, nothing stored.
        view = open_modal(app, ADMIN, "campaign")
        response = app.slack.view_submission(
            "UCAMP05", view, campaign_values(department="Engineering")
        )
        assert response.status == 200
        assert "Only programme admins" in json.dumps(response.json())
        assert invites(app) == {}


def test_the_reminder_job_runs_from_the_command_line(
    running_app: RunningApp,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from bot.cli import main

    app = running_app
    with manual_clock(SENT_AT):
        seed(app)
        send(app, department="Engineering")
    for name, value in {
        "SLACK_BOT_TOKEN": app.settings.slack_bot_token,
        "SLACK_SIGNING_SECRET": app.settings.slack_signing_secret,
        "SLACK_API_URL": app.fake.api_url,
        "DATABASE_URL": app.db.url,
        "ADMIN_USER_IDS": ADMIN,
    }.items():
        monkeypatch.setenv(name, value)
    empty = tmp_path / "empty.env"
    empty.write_text("")
    previous, root = clock.current(), logging.getLogger()
    handlers, level = list(root.handlers), root.level
    at = (SENT_AT + timedelta(days=8)).isoformat()
    try:
        argv = ["--env-file", str(empty), "jobs", "run", "campaign_reminders", "--at", at]
        assert main([*argv, "--dry-run"]) == 0
        dry = capsys.readouterr().out
        assert main(argv) == 0
        ran = capsys.readouterr().out
    finally:
        clock.install(previous)
        root.handlers[:] = handlers
        root.setLevel(level)
    # In each person's language, at their working hours (Vietnam's the next morning).
    assert "3 would be queued, nothing sent" in dry
    assert "would send to UCAMP02 at 2027-01-13T02:00:00+00:00: Nhắc nhẹ" in dry
    assert "Eine kleine Erinnerung" in dry
    assert "3 queued" in ran and "2 delivered now" in ran
    with app.db.session() as session:
        reminded = session.exec(select(CampaignInvite.reminded_at)).all()
    assert len(reminded) == 3 and all(reminded)
