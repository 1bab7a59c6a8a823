"""Several programmes at once, end to end through signed requests: regional cohorts in their
own zones and languages with their own owners, a person in two of them, an owner refused on
the other one, a new cohort from an ended programme with its alumni invited."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlmodel import select

from bot.i18n import translator
from bot.views import common
from bot.views import home as home_views
from bot.views.programmes import CHOOSE_PROGRAMME_ACTION
from scheduler import runner
from storage import repositories as repo
from storage.models import Pair, Participant, Program, ProgramStatus
from tests.conftest import ADMIN, RunningApp
from tests.flows import (
    Person,
    command_reply,
    enroll,
    enrollment_values,
    eventually,
    open_modal,
    program_values,
    setup_program,
)

BERLIN_HR, HANOI_HR = "UBERLINHR", "UHANOIHR"
REFUSAL = common.admins_only(translator("en"))["text"]


def _programme(app: RunningApp, name: str) -> Program:
    with app.db.session() as session:
        return session.exec(select(Program).where(Program.name == name)).one()


def _new_programme(app: RunningApp, **values: Any) -> None:
    """A super-admin's `/mentoring program new`, filled in and saved."""
    view = open_modal(app, ADMIN, "program new")
    assert view["title"]["text"] == "New programme"
    response = app.slack.view_submission(ADMIN, view, program_values(**values))
    assert response.status == 200, response.body


def _two_regional_programmes(app: RunningApp) -> tuple[Program, Program]:
    app.fake.add_user(BERLIN_HR, real_name="Berlin HR", locale="de-DE", tz="Europe/Berlin")
    app.fake.add_user(HANOI_HR, real_name="Hanoi HR", locale="vi-VN", tz="Asia/Ho_Chi_Minh")
    setup_program(
        app,
        name="DACH 2027",
        timezone="Europe/Berlin",
        owners=[BERLIN_HR],
        channel_language="de",
        channel="C0DACH",
        capacity=2,
    )
    _new_programme(
        app,
        name="Việt Nam 2027",
        timezone="Asia/Ho_Chi_Minh",
        owners=[HANOI_HR],
        channel_language="vi",
        channel="C0VIETNAM",
        capacity=2,
        join_policy="invited",
        invited=["UVIMENTOR", "UVIMENTEE", "UBOTH"],
    )
    return _programme(app, "DACH 2027"), _programme(app, "Việt Nam 2027")


def _buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        element
        for block in message.get("blocks") or []
        if block.get("type") == "actions"
        for element in block["elements"]
    ]


def _choose(app: RunningApp, user_id: str, text: str, programme: Program) -> None:
    """Runs `/mentoring text`, which asks which programme, and picks `programme`."""
    question = command_reply(app, user_id, text)
    offered = {json.loads(b["value"])["p"]: b for b in _buttons(question)}
    assert len(offered) > 1, question  # a question only when there is a choice
    button = offered[programme.id]
    response = app.slack.block_action(
        user_id, CHOOSE_PROGRAMME_ACTION, value=button["value"], channel_id="D" + user_id
    )
    assert response.status == 200


def _join_modal_after_choosing(app: RunningApp, person: Person, programme: Program) -> None:
    before = len(app.fake.calls("views.open"))
    _choose(app, person.user_id, "join", programme)
    call = app.fake.wait_for_count("views.open", before + 1)[-1]
    assert call.ok and call.response is not None
    view = call.response["view"]
    assert json.loads(view["private_metadata"])["program_id"] == programme.id
    response = app.slack.view_submission(person.user_id, view, enrollment_values(person))
    assert response.status == 200, response.body


def _home_block_ids(app: RunningApp, user_id: str) -> set[str]:
    before = len([c for c in app.fake.calls("views.publish") if c.params["user_id"] == user_id])
    app.slack.app_home_opened(user_id)
    calls = app.fake.wait_for_count(
        "views.publish", before + 1, lambda c: c.params["user_id"] == user_id
    )
    return {str(b.get("block_id")) for b in calls[-1].params["view"]["blocks"]}


def _approve_as(app: RunningApp, owner: str) -> dict[str, Any]:
    def is_review(call: Any) -> bool:
        return call.params["view"].get("callback_id") == "match_review"

    before = len([c for c in app.fake.calls("views.update") if is_review(c)])
    assert app.slack.command(owner, "match").status == 200
    review = app.fake.wait_for_count("views.update", before + 1, is_review)[-1]
    assert review.ok and review.response is not None
    view = review.response["view"]
    response = app.slack.view_submission(owner, view, {})
    assert response.status == 200, response.body
    return view


def test_two_regional_programmes_with_their_own_owners_zones_and_a_person_in_both(
    running_app: RunningApp,
) -> None:
    app = running_app
    dach, vietnam = _two_regional_programmes(app)
    assert (dach.timezone, dach.status, dach.join_policy) == (
        "Europe/Berlin",
        "enrolling",
        "everyone",
    )
    assert (vietnam.timezone, vietnam.join_policy) == ("Asia/Ho_Chi_Minh", "invited")
    assert (
        dach.settings["channel_language"] == "de" and vietnam.settings["channel_language"] == "vi"
    )
    with app.db.session() as session:
        assert repo.owners(session, dach.id or 0) == [BERLIN_HR]
        assert repo.owners(session, vietnam.id or 0) == [HANOI_HR]

    # The Berlin owner's `/mentoring program` is DACH's, without a question.
    settings = open_modal(app, BERLIN_HR, "program")
    assert json.loads(settings["private_metadata"])["program_id"] == dach.id
    # ... and a click on Việt Nam's matching button is refused with the reason; nothing runs.
    message = {"ts": "1700000000.000100", "text": "forwarded", "blocks": []}
    app.slack.block_action(
        BERLIN_HR,
        home_views.MATCH_ACTION,
        value=str(vietnam.id),
        message=message,
        channel_id="D" + BERLIN_HR,
    )
    refused = eventually(lambda: app.fake.ephemeral_messages(BERLIN_HR))
    assert [m.get("text") for m in refused] == [common.admins_only(translator("de"))["text"]]

    # People: two in each programme, one (invited to Việt Nam) in both.
    de_mentor = Person("UDEMENTOR", "mentor", "de", offered=["ai_tools"])
    de_mentee = Person("UDEMENTEE", "mentee", "de", wanted=["social_media"])
    vi_mentor = Person("UVIMENTOR", "mentor", "vi", offered=["ai_tools", "social_media"])
    vi_mentee = Person("UVIMENTEE", "mentee", "vi", wanted=["ai_tools"])
    both = Person("UBOTH", "mentee", "de", wanted=["ai_tools"], timezone="Europe/Berlin")
    de_mentor.offered = ["ai_tools", "social_media"]
    for person in (de_mentor, de_mentee, vi_mentor, vi_mentee, both):
        person.add_to(app)
    # Việt Nam is for invited people: the Berlin colleagues are offered DACH only.
    for person in (de_mentor, de_mentee):
        assert enroll(app, person).status == 200
    for person in (vi_mentor, vi_mentee):
        _join_modal_after_choosing(app, person, vietnam)
    _join_modal_after_choosing(app, both, vietnam)
    _join_modal_after_choosing(app, both, dach)
    with app.db.session() as session:
        people = session.exec(select(Participant)).all()
        where = {(p.program_id, p.slack_user_id) for p in people}
    assert where == {
        (dach.id, "UDEMENTOR"),
        (dach.id, "UDEMENTEE"),
        (dach.id, "UBOTH"),
        (vietnam.id, "UVIMENTOR"),
        (vietnam.id, "UVIMENTEE"),
        (vietnam.id, "UBOTH"),
    }

    # Each owner matches their own programme; the person in both gets one pair in each.
    _approve_as(app, BERLIN_HR)
    _approve_as(app, HANOI_HR)
    eventually(lambda: len([p for p in _pairs(app) if p.status == "active"]) == 4)
    with app.db.session() as session:
        by_id = {p.id: p for p in session.exec(select(Participant)).all()}
        for pair in _pairs(app):
            mentor, mentee = by_id[pair.mentor_id], by_id[pair.mentee_id]
            assert mentor.program_id == mentee.program_id == pair.program_id
        both_pairs = {
            pair.program_id
            for pair in _pairs(app)
            if "UBOTH" in (by_id[pair.mentor_id].slack_user_id, by_id[pair.mentee_id].slack_user_id)
        }
        assert both_pairs == {dach.id, vietnam.id}
        statuses = {p.id: p.status for p in session.exec(select(Program)).all()}
        assert statuses == {dach.id: "running", vietnam.id: "running"}

    # `/mentoring status` asks the person in both which programme, then answers for it.
    before = len(app.fake.calls("response_url"))
    _choose(app, "UBOTH", "status", vietnam)
    answer = app.fake.wait_for_count("response_url", before + 1)[-1].params
    assert "Việt Nam 2027" in json.dumps(answer, ensure_ascii=False)

    # Home: the person in both sees both; each owner sees their programme's admin buttons only.
    both_home = _home_block_ids(app, "UBOTH")
    assert {f"participant_actions_{dach.id}", f"participant_actions_{vietnam.id}"} <= both_home
    berlin_home = _home_block_ids(app, BERLIN_HR)
    assert f"admin_actions_{dach.id}" in berlin_home
    assert f"admin_actions_{vietnam.id}" not in berlin_home
    super_home = _home_block_ids(app, ADMIN)
    assert {f"admin_actions_{dach.id}", f"admin_actions_{vietnam.id}"} <= super_home

    # Jobs per programme, each at 08:00 on weekdays in its own zone.
    scheduler = runner.build_scheduler(app.services)
    monday = datetime(2027, 3, 1, 0, 0, tzinfo=UTC)
    fires = {
        program.id: scheduler.get_job(runner.job_id("checkin", program.id or 0))
        .trigger.get_next_fire_time(None, monday)
        .astimezone(UTC)
        for program in (dach, vietnam)
    }
    assert fires == {
        dach.id: datetime(2027, 3, 1, 7, 0, tzinfo=UTC),  # 08:00 in Berlin (winter)
        vietnam.id: datetime(2027, 3, 1, 1, 0, tzinfo=UTC),  # 08:00 in Hanoi
    }


def _pairs(app: RunningApp) -> list[Pair]:
    with app.db.session() as session:
        return list(session.exec(select(Pair)).all())


def test_a_new_cohort_from_an_ended_programme_invites_its_alumni_and_never_repeats_a_pair(
    running_app: RunningApp,
) -> None:
    app = running_app
    setup_program(app, name="Pilot 2027", timezone="Europe/Berlin")
    mentor = Person("UALUMENTOR", "mentor", "de", offered=["ai_tools"])
    mentee = Person("UALUMENTEE", "mentee", "de", wanted=["ai_tools"])
    for person in (mentor, mentee):
        person.add_to(app)
        assert enroll(app, person).status == 200
    _approve_as(app, ADMIN)
    eventually(lambda: [p for p in _pairs(app) if p.status == "active"])
    pilot = _programme(app, "Pilot 2027")
    with app.db.session() as session:  # its end date passed and its last digest went out
        stored = session.get(Program, pilot.id)
        assert stored is not None
        stored.status = ProgramStatus.ENDED
        session.add(stored)
    app.fake.add_user("UNEWCOMER", real_name="New Comer", locale="de-DE", tz="Europe/Berlin")

    # Home offers the next cohort and archiving for the ended programme.
    home = _home_block_ids(app, ADMIN)
    assert f"admin_actions_{pilot.id}" in home
    app.fake.reset_calls()
    app.slack.block_action(
        ADMIN, home_views.NEW_COHORT_ACTION, value=str(pilot.id), view={"type": "home", "id": "V1"}
    )
    opened = app.fake.wait_for("views.open")
    assert opened.ok and opened.response is not None
    draft_view = opened.response["view"]
    blocks = {b.get("block_id"): b for b in draft_view["blocks"]}
    assert blocks["name"]["element"]["initial_value"] == "Pilot 2027"
    assert blocks["timezone"]["element"]["initial_option"]["value"] == "Europe/Berlin"
    assert "invite_alumni" in blocks
    # A second click edits the same draft rather than making another.
    app.slack.block_action(
        ADMIN, home_views.NEW_COHORT_ACTION, value=str(pilot.id), view={"type": "home", "id": "V1"}
    )
    app.fake.wait_for_count("views.open", 2)
    response = app.slack.view_submission(
        ADMIN,
        draft_view,
        program_values(
            name="Cohort 2028",
            start="2028-01-03",
            end="2028-06-30",
            join_policy="invited",
            invite_alumni=True,
        ),
    )
    assert response.status == 200, response.body
    with app.db.session() as session:
        drafts = session.exec(select(Program).where(Program.template_of == pilot.id)).all()
        assert [(d.name, d.status, d.timezone) for d in drafts] == [
            ("Cohort 2028", "draft", "Europe/Berlin")
        ]
        cohort = drafts[0]
        assert repo.is_invited(session, cohort.id or 0, mentor.user_id)
        assert repo.is_invited(session, cohort.id or 0, mentee.user_id)
        assert not repo.is_invited(session, cohort.id or 0, "UNEWCOMER")

    # A draft is for its owners only: nobody can join before it opens.
    nothing_open = common.no_program(translator("de"), is_admin=False)["text"]
    assert command_reply(app, mentor.user_id, "join")["text"] == nothing_open
    app.slack.block_action(
        ADMIN,
        home_views.OPEN_ENROLLMENT_ACTION,
        value=str(cohort.id),
        view={"type": "home", "id": "V1"},
    )
    eventually(lambda: _programme(app, "Cohort 2028").status == "enrolling")
    # Alumni are invited; a newcomer is not (the cohort is for invited people only).
    assert command_reply(app, "UNEWCOMER", "join")["text"] == nothing_open
    for person in (mentor, mentee):
        view = open_modal(app, person.user_id, "join")
        assert json.loads(view["private_metadata"])["program_id"] == cohort.id
        submitted = app.slack.view_submission(person.user_id, view, enrollment_values(person))
        assert submitted.status == 200, submitted.body
    # They were a pair in the pilot: the new cohort never pairs them again.
    with app.db.session() as session:
        assert repo.earlier_pairs(session) == {frozenset({mentor.user_id, mentee.user_id})}
    before = len(app.fake.calls("views.update"))
    app.slack.command(ADMIN, "match")
    update = app.fake.wait_for_count("views.update", before + 1)[-1]
    assert "Proposed pairs: 0*" in json.dumps(update.params["view"])

    # The ended pilot is archived: it leaves Home, its figures stay.
    app.slack.block_action(
        ADMIN, home_views.ARCHIVE_ACTION, value=str(pilot.id), view={"type": "home", "id": "V1"}
    )
    eventually(lambda: _programme(app, "Pilot 2027").status == "archived")
    assert f"admin_actions_{pilot.id}" not in _home_block_ids(app, ADMIN)
    assert [p.status for p in _pairs(app)] == ["active"]  # the pilot's pair is history, kept
