"""Who can take part, end to end through signed requests on SQLite and PostgreSQL: guests,
bots and deactivated accounts refused at join and invitation; a deactivation mid-programme
(`user_change`, or found by the daily `people_refresh` paging `users.list`) ends the pair kindly;
Slack's profile fields mapped by a super-admin fill the roster without overwriting a file's."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import select

from bot import clock
from bot.i18n import translator
from bot.simulated_slack import signed_requests as sr
from bot.simulated_slack.rate_limits import SLACK_LIKE
from bot.simulated_slack.web_api import FakeSlack
from bot.usecases import directory
from bot.views.enrollment import partner_unreachable_message
from scheduler import runner
from storage.db import Database
from storage.models import (
    AuditEvent,
    OutboxMessage,
    Pair,
    Participant,
    Program,
    RosterEntry,
    WorkspaceSetting,
)
from tests.conftest import ADMIN, RunningApp
from tests.flows import command_reply, eventually, open_modal, program_values, setup_program
from tests.test_journey_e2e import Member, seed
from tests.test_scheduled_jobs import MEMBERS as JOB_MEMBERS
from tests.test_scheduled_jobs import cli  # noqa: F401 - the `jobs` command-line fixture
from tests.test_scheduled_jobs import seed as seed_jobs

GUEST_REASON = "Guest accounts can't take part"


@pytest.fixture
def app_clock(running_app: RunningApp) -> Iterator[clock.ManualClock]:
    manual = clock.ManualClock(datetime(2027, 1, 4, 8, 0, tzinfo=UTC))  # a Monday
    previous = clock.install(manual)
    running_app.services.use_clock(manual)
    try:
        yield manual
    finally:
        clock.install(previous)


def _people(app: RunningApp) -> dict[str, Participant]:
    with app.db.session() as session:
        return {p.slack_user_id: p for p in session.exec(select(Participant)).all()}


def _set_locale(app: RunningApp, user_id: str, locale: str) -> None:
    with app.db.session() as session:
        person = session.exec(select(Participant).where(Participant.slack_user_id == user_id))
        row = person.one()
        row.locale = locale
        session.add(row)


# Eligibility at join and invitation --------------------------------------------------------


@pytest.mark.parametrize(
    ("user_id", "flags", "reason"),
    [
        ("UGUEST001", {"is_restricted": True}, GUEST_REASON),
        ("UGUEST002", {"is_ultra_restricted": True}, GUEST_REASON),
        ("UBOTUSER1", {"is_bot": True}, "This account is a bot"),
        ("UAPPUSER1", {"is_app_user": True}, "This account belongs to an app"),
        ("UDELETED1", {"deleted": True}, "This account is deactivated"),
        ("USLACKBOT", {}, "This account is a bot"),
    ],
)
def test_who_may_not_join_is_told_why_and_no_form_opens(
    running_app: RunningApp, user_id: str, flags: dict[str, bool], reason: str
) -> None:
    app = running_app
    setup_program(app, enrollment="open")
    app.fake.add_user(user_id, real_name="Someone", **flags)
    opened = len(app.fake.calls("views.open"))
    answer = command_reply(app, user_id, "join")
    assert reason in answer["text"]
    assert len(app.fake.calls("views.open")) == opened  # no join form
    assert user_id not in _people(app)
    # A member may join the same programme.
    app.fake.add_user("UMEMBER01", real_name="Mia Member")
    assert open_modal(app, "UMEMBER01", "join")["callback_id"]


def test_a_guest_is_refused_in_their_language_and_cannot_be_invited(
    running_app: RunningApp,
) -> None:
    app = running_app
    setup_program(app, enrollment="open")
    app.fake.add_user("UGUESTDE1", real_name="Gast", locale="de-DE", is_restricted=True)
    answer = command_reply(app, "UGUESTDE1", "join")
    assert "Gäste" in answer["text"] or "Gast" in answer["text"], answer["text"]
    # The programme's "Invite people" refuses a guest and says who and why.
    view = open_modal(app, ADMIN, "program")
    response = app.slack.view_submission(
        ADMIN, view, program_values(join_policy="invited", invited=["UGUESTDE1"])
    )
    body = response.json()
    assert body["response_action"] == "errors", body
    assert "Gast can't be invited" in body["errors"]["invited"]
    assert GUEST_REASON in body["errors"]["invited"]


# A deactivation mid-programme ---------------------------------------------------------------


def test_deactivated_mid_programme_by_user_change_ends_the_pair_kindly(
    running_app: RunningApp, app_clock: clock.ManualClock
) -> None:
    app = running_app
    gone, partner = Member("UGONE0001", "mentee"), Member("UPARTNER2", "mentor")
    others = (Member("UOTHERMR2", "mentor"), Member("UOTHERME2", "mentee"))
    gone_pair, other_pair = seed(app, [(partner, gone), others])
    _set_locale(app, "UPARTNER2", "de")
    with app.db.session() as session:  # HR's file lists the person
        session.add(RosterEntry(slack_user_id="UGONE0001", department="Sales", source="file"))
    # Check-ins are queued for a working hour still to come: pending in the outbox.
    app_clock.set(datetime(2027, 1, 4, 5, 0, tzinfo=UTC))
    report = runner.run_job(app.services, "checkin", app_clock.now())
    assert report is not None and report.queued == 4
    user = app.fake.update_user("UGONE0001", deleted=True)
    response = app.slack.user_change(user, event_id="EvDEACT1")
    assert response.status == 200

    kind_words = partner_unreachable_message(translator("de"))["text"]
    eventually(lambda: kind_words in app.fake.dm_texts("UPARTNER2"))
    people = _people(app)
    assert (people["UGONE0001"].status, people["UGONE0001"].left_reason) == (
        "left",
        "deactivated",
    )
    assert people["UPARTNER2"].status == "waiting"  # back in the pool for a new match
    assert people["UOTHERME2"].status == "paired"
    with app.db.session() as session:
        pair = session.get(Pair, gone_pair)
        still = session.get(Pair, other_pair)
        outbox = session.exec(select(OutboxMessage).where(OutboxMessage.kind == "checkin")).all()
        entry = session.exec(select(RosterEntry)).one()
        audit = session.exec(select(AuditEvent).where(AuditEvent.action == "people.departed")).all()
    assert pair is not None and (pair.status, pair.end_reason) == ("ended", "deactivated")
    assert still is not None and still.status == "active"
    status = {m.recipient: m.status for m in outbox}
    assert status["UGONE0001"] == "cancelled" and status["UPARTNER2"] == "cancelled"
    assert status["UOTHERME2"] == "pending" and status["UOTHERMR2"] == "pending"
    assert entry.left_at is not None and entry.left_reason == "deactivated"
    assert entry.department == "Sales"  # the file's data stays, for the retention rule
    assert [(a.target, a.detail) for a in audit] == [
        ("user:UGONE0001", {"reason": "deactivated", "pairs_ended": 1})
    ]
    # Slack re-delivers the event, then sends another change: the partner is told once.
    app.slack.user_change(user, event_id="EvDEACT1")
    app.slack.user_change(app.fake.update_user("UGONE0001", real_name="x"), event_id="EvDEACT2")
    assert app.services.listener_executor is not None
    assert app.services.listener_executor.wait_idle(30)
    assert app.fake.dm_texts("UPARTNER2").count(kind_words) == 1
    # Nothing is sent to the departed person any more.
    app.services.delivery.deliver_now(report.keys, budget_seconds=5)
    assert not [c for c in app.fake.calls("chat.postMessage") if c.went_to("UGONE0001")]


def test_becoming_a_guest_by_user_change_leaves_with_a_kind_word(
    running_app: RunningApp, app_clock: clock.ManualClock
) -> None:
    app = running_app
    seed(app, [(Member("UMENTOR03", "mentor"), Member("UNOWGUEST", "mentee"))])
    user = app.fake.update_user("UNOWGUEST", is_restricted=True)
    assert app.slack.user_change(user).status == 200
    eventually(lambda: "left the programme" in " ".join(app.fake.dm_texts("UMENTOR03")))
    people = _people(app)
    assert (people["UNOWGUEST"].status, people["UNOWGUEST"].left_reason) == (
        "left",
        "not_eligible",
    )
    # ... and can no longer join again.
    assert GUEST_REASON in command_reply(app, "UNOWGUEST", "join")["text"]


# The daily people refresh -------------------------------------------------------------------


def test_people_refresh_pages_users_list_through_a_429_and_finds_who_left(
    running_app: RunningApp, app_clock: clock.ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = running_app
    monkeypatch.setattr(directory, "USERS_PAGE_SIZE", 2)  # several pages from a few people
    pairs = [
        (Member("UREFMR001", "mentor"), Member("UREFME001", "mentee")),
        (Member("UREFMR002", "mentor"), Member("UREFME002", "mentee")),
    ]
    seed(app, pairs)
    for i in range(3):
        app.fake.add_user(f"UBYSTAND{i}")  # not taking part
    with app.db.session() as session:  # on HR's roster, not in the programme
        session.add(RosterEntry(slack_user_id="UBYSTAND1", department="Ops", source="file"))
    app.fake.update_user("UBYSTAND1", deleted=True)
    app.fake.update_user("UREFME001", deleted=True)  # deactivated while no event came
    app.fake.update_user("UREFMR002", is_ultra_restricted=True)  # made a guest
    users = len(app.fake.users())
    app.fake.fail_next("users.list", status=429, retry_after=1)
    report = runner.run_job(app.services, "people_refresh", app_clock.now())
    assert report is not None
    app.services.delivery.deliver_now(report.keys, budget_seconds=20)

    calls = app.fake.calls("users.list")
    assert [c.status for c in calls].count(429) == 1
    pages = [c for c in calls if c.ok]
    assert len(pages) == -(-users // 2)  # every page, once, in order
    assert [c.params.get("cursor") for c in pages][0] is None
    assert all(c.params.get("cursor") for c in pages[1:])
    people = _people(app)
    assert people["UREFME001"].left_reason == "deactivated"
    assert people["UREFMR002"].left_reason == "not_eligible"
    assert people["UREFMR001"].status == "waiting" and people["UREFME002"].status == "waiting"
    assert partner_unreachable_message(translator("en"))["text"] in app.fake.dm_texts("UREFMR001")
    assert any("left the programme" in t for t in app.fake.dm_texts("UREFME002"))
    assert any("3 left (2 pair(s) ended)" in note for note in report.notes), report.notes
    with app.db.session() as session:
        roster = session.exec(select(RosterEntry)).one()
    assert (roster.left_reason, roster.department) == ("deactivated", "Ops")
    # Once a day; the next day's run finds nobody new and tells nobody again.
    assert runner.run_job(app.services, "people_refresh", app_clock.now()) is None
    app_clock.advance(timedelta(days=1))
    again = runner.run_job(app.services, "people_refresh", app_clock.now())
    assert again is not None and again.queued == 0
    assert any("0 left" in note for note in again.notes)


# Slack's profile fields as a roster source -------------------------------------------------


def _profile_workspace(app: RunningApp) -> None:
    app.fake.add_profile_field("Xf01", "Department")
    app.fake.add_profile_field("Xf02", "Manager", kind="user")
    app.fake.add_profile_field("Xf03", "Office")
    app.fake.add_profile_field("Xf04", "Pronouns")


def test_profile_fields_mapped_by_a_super_admin_fill_the_roster_but_never_a_files_entry(
    running_app: RunningApp, app_clock: clock.ManualClock
) -> None:
    app = running_app
    _profile_workspace(app)
    seed(
        app,
        [
            (Member("UPROFMR01", "mentor"), Member("UPROFME01", "mentee")),
            (Member("UPROFMR02", "mentor"), Member("UFILEME01", "mentee")),
        ],
    )
    app.fake.set_profile(
        "UPROFMR01", title="Data Engineer", Xf01="Engineering", Xf02="UBOSS0001", Xf03="Hanoi"
    )
    app.fake.set_profile("UPROFME01", title="CFO", Xf01="Finance", Xf02="not a user id")
    app.fake.set_profile("UFILEME01", title="VP Sales", Xf01="Sales (Slack)")
    with app.db.session() as session:
        session.add(
            RosterEntry(slack_user_id="UFILEME01", department="Sales (HR file)", source="file")
        )

    # Someone who is not a super-admin is refused, and nothing opens.
    app.fake.add_user("UNOTADMIN")
    assert "admin" in command_reply(app, "UNOTADMIN", "roster fields")["text"].lower()

    view = open_modal(app, ADMIN, "roster fields")
    shown = str(view["blocks"])
    assert "Department" in shown and "Pronouns" in shown
    # The admin's form submitted by someone else is refused in the modal, and nothing is saved.
    forged = app.slack.view_submission(
        "UNOTADMIN", view, sr.values_from({"department": sr.static_select("Xf01")})
    ).json()
    assert forged["response_action"] == "update"
    assert "Only programme admins" in str(forged["view"]["blocks"])
    with app.db.session() as session:
        assert session.get(WorkspaceSetting, "roster.slack_fields") is None
    # The manager field must hold a person: a text field is refused with the reason.
    wrong = app.slack.view_submission(
        ADMIN, view, sr.values_from({"manager": sr.static_select("Xf01")})
    )
    assert wrong.json()["response_action"] == "errors"
    mapping = {
        "department": sr.static_select("Xf01"),
        "manager": sr.static_select("Xf02"),
        "office": sr.static_select("Xf03"),
        "title": sr.checkboxes(["yes"]),
    }
    saved = app.slack.view_submission(ADMIN, view, sr.values_from(mapping))
    assert saved.json()["response_action"] == "update", saved.body
    with app.db.session() as session:
        setting = session.get(WorkspaceSetting, "roster.slack_fields")
        audit = session.exec(
            select(AuditEvent).where(AuditEvent.action == "roster.slack_fields")
        ).all()
    assert setting is not None and setting.value == {
        "department": "Xf01",
        "manager": "Xf02",
        "office": "Xf03",
        "title": True,
    }
    assert [(a.actor_slack_id, a.detail["mapped"]) for a in audit] == [
        (ADMIN, ["department", "manager", "office"])
    ]
    # The modal opens again with the mapping; saving it unchanged audits nothing.
    view = open_modal(app, ADMIN, "roster fields")
    assert "Xf02" in str(view["blocks"])
    app.slack.view_submission(ADMIN, view, sr.values_from(mapping))

    report = runner.run_job(app.services, "people_refresh", app_clock.now())
    assert report is not None
    with app.db.session() as session:
        entries = {e.slack_user_id: e for e in session.exec(select(RosterEntry)).all()}
        audits = session.exec(select(AuditEvent)).all()
    assert len([a for a in audits if a.action == "roster.slack_fields"]) == 1
    engineer = entries["UPROFMR01"]
    assert (
        engineer.source,
        engineer.department,
        engineer.manager_slack_id,
        engineer.office,
        engineer.title,
    ) == ("slack", "Engineering", "UBOSS0001", "Hanoi", "Data Engineer")
    cfo = entries["UPROFME01"]
    assert (cfo.department, cfo.manager_slack_id, cfo.office, cfo.title) == (
        "Finance",
        None,  # a manager field must hold a user id
        None,
        "CFO",
    )
    from_file = entries["UFILEME01"]
    assert (from_file.source, from_file.department, from_file.title) == (
        "file",
        "Sales (HR file)",
        None,
    )
    assert "UPROFMR02" in entries  # filled nothing but a blank entry marks the read
    assert len(app.fake.calls("users.profile.get")) == 4
    assert any("created 3" in n and "kept 1" in n for n in report.notes), report.notes

    # The next day: a changed profile changes its entry; the rest stay as they were.
    app.fake.set_profile("UPROFME01", Xf03="Berlin")
    app_clock.advance(timedelta(days=1))
    again = runner.run_job(app.services, "people_refresh", app_clock.now())
    assert again is not None
    assert any("changed 1" in n and "unchanged 2" in n for n in again.notes), again.notes
    with app.db.session() as session:
        cfo_now = session.exec(
            select(RosterEntry).where(RosterEntry.slack_user_id == "UPROFME01")
        ).one()
    assert cfo_now.office == "Berlin"


def test_roster_fields_without_the_profile_scope_says_how_to_fix_it(
    running_app: RunningApp,
) -> None:
    app = running_app
    app.fake.scopes = app.fake.scopes - {"users.profile:read"}
    answer = command_reply(app, ADMIN, "roster fields")
    assert "users.profile:read" in answer["text"]


def test_people_refresh_keeps_to_slacks_tier_2_limit_and_reads_every_page(
    running_app: RunningApp, app_clock: clock.ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With Slack's own limits (users.list: Tier 2, 20 a minute, a short burst), the refresh
    waits out each 429's Retry-After and still reads every page once."""
    app = running_app
    monkeypatch.setattr(directory, "USERS_PAGE_SIZE", 3)
    seed(app, [(Member("UTIERMR01", "mentor"), Member("UTIERME01", "mentee"))])
    for i in range(7):  # ten accounts with the admin and the pair: four pages of three
        app.fake.add_user(f"UCROWD{i:03d}")
    app.fake.update_user("UTIERME01", deleted=True)
    pages_needed = -(-len(app.fake.users()) // 3)
    app.fake.set_rate_limits(SLACK_LIKE)
    started = time.monotonic()
    report = runner.run_job(app.services, "people_refresh", app_clock.now())
    took = time.monotonic() - started
    app.fake.set_rate_limits(None)
    assert report is not None
    calls = app.fake.calls("users.list")
    limited = [c for c in calls if c.status == 429]
    assert len([c for c in calls if c.ok]) == pages_needed == 4
    assert limited, "Slack's burst is two calls: the third waits"
    assert took >= 2.5  # Retry-After honoured (3 s at 20 a minute)
    assert _people(app)["UTIERME01"].left_reason == "deactivated"


def test_jobs_run_people_refresh_from_the_command_line(
    database: Database,
    fake_slack: FakeSlack,
    cli: Any,  # noqa: F811 - the fixture imported above
    capsys: pytest.CaptureFixture[str],
) -> None:
    seed_jobs(database, fake_slack)
    with database.session() as session:  # a second live programme, with nobody in it yet
        session.add(Program(name="Second", timezone="Europe/Berlin"))
    mentor, mentee = JOB_MEMBERS
    fake_slack.update_user(mentee, deleted=True)
    assert cli("jobs", "run", "people_refresh", "--dry-run") == 0
    out = capsys.readouterr().out
    assert "1 left (1 pair(s) ended)" in out and "1 would be queued, nothing changed" in out
    with database.session() as session:  # a dry run changes nothing
        assert {p.status for p in session.exec(select(Participant)).all()} == {"paired"}
    assert cli("jobs", "run", "people_refresh") == 0
    out = capsys.readouterr().out
    # A workspace job: the people are refreshed once for both programmes, the partner told.
    assert out.count("1 left (1 pair(s) ended)") == 1
    assert "people_refresh: 1 queued, 1 delivered now; done" in out
    with database.session() as session:
        people = {p.slack_user_id: p for p in session.exec(select(Participant)).all()}
    assert (people[mentee].status, people[mentee].left_reason) == ("left", "deactivated")
    assert people[mentor].status == "waiting"
    assert any("no longer available" in t for t in fake_slack.dm_texts(mentor))


def test_refresh_now_from_the_saved_mapping_reads_profiles_at_once(
    running_app: RunningApp, app_clock: clock.ManualClock
) -> None:
    app = running_app
    _profile_workspace(app)
    seed(app, [(Member("UNOWMR001", "mentor"), Member("UNOWME001", "mentee"))])
    app.fake.set_profile("UNOWMR001", title="Analyst", Xf03="Da Nang")
    view = open_modal(app, ADMIN, "roster fields")
    mapping = {"office": sr.static_select("Xf03"), "title": sr.checkboxes(["yes"])}
    saved = app.slack.view_submission(ADMIN, view, sr.values_from(mapping)).json()
    assert saved["response_action"] == "update"
    shown = dict(saved["view"], id=view["id"])
    assert "roster_refresh_now" in str(shown["blocks"])
    # Someone else's click (a forwarded view) does nothing.
    app.fake.add_user("UNOTADMIN")
    app.slack.block_action("UNOTADMIN", "roster_refresh_now", view=shown)
    app.slack.block_action(ADMIN, "roster_refresh_now", view=shown)
    done = app.fake.wait_for("views.update", lambda c: "Refreshed:" in str(c.params))
    assert "created 2" in str(done.params["view"]), done.params
    with app.db.session() as session:
        entries = {e.slack_user_id: e for e in session.exec(select(RosterEntry)).all()}
    assert (entries["UNOWMR001"].title, entries["UNOWMR001"].office) == ("Analyst", "Da Nang")
    assert entries["UNOWME001"].source == "slack"
    assert len(app.fake.calls("users.profile.get")) == 2  # the other click read nothing
