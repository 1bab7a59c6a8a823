"""Programme set-up and enrollment, end to end through signed requests and the fake Slack."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlmodel import select

from bot.i18n import translator
from bot.views.enrollment import partner_left_message
from storage import repositories as repo
from storage.models import OutboxMessage, Pair, PairStatus, Participant, Program
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

MENTOR = Person("UMENTOR001", "mentor", "de", offered=["ai_tools", "social_media"])
MENTEE = Person("UMENTEE001", "mentee", "vi", department="Finance", wanted=["ai_tools"])


def _program(app: RunningApp) -> Program | None:
    """The programme the admin set up (these tests set up one)."""
    with app.db.session() as session:
        programs = repo.all_programs(session)
        return programs[-1] if programs else None


def _participants(app: RunningApp) -> list[Participant]:
    with app.db.session() as session:
        return list(session.exec(select(Participant)).all())


def _whole_database(app: RunningApp) -> str:
    """Every row of every table as text: erased people must not appear anywhere."""
    from sqlalchemy import text
    from sqlmodel import SQLModel

    rows = []
    with app.db.engine.connect() as connection:
        for table in SQLModel.metadata.sorted_tables:
            rows += [
                str(tuple(row)) for row in connection.execute(text(f'SELECT * FROM "{table.name}"'))
            ]
    return "\n".join(rows)


def _errors(response: Any) -> dict[str, str]:
    body = response.json()
    assert body["response_action"] == "errors", body
    return body["errors"]


# Programme set-up ---------------------------------------------------------------------------


def test_admin_sets_up_the_programme(running_app: RunningApp) -> None:
    view = open_modal(running_app, ADMIN, "program")
    assert view["title"]["text"] == "New programme"
    topics = next(b for b in view["blocks"] if b.get("block_id") == "topics")
    assert "Gen Z perspectives" in topics["element"]["initial_value"]  # sensible defaults
    response = running_app.slack.view_submission(ADMIN, view, program_values(capacity=2))
    # The modal becomes a confirmation of what was saved.
    answer = response.json()
    assert answer["response_action"] == "update", answer
    assert answer["view"]["title"]["text"] == "Programme settings"
    shown = answer["view"]["blocks"][0]["text"]["text"]
    for part in (
        "The programme is set up.",
        "*Digital Leaders 2027*",
        "Jan 1, 2027 to Jun 30, 2027",
        "Enrollment: Open",
        "Goals: 2 · Topics: 4",
        "Channel: <#C0MENTORING> · Channel language: English",
    ):
        assert part in shown, (part, shown)
    program = _program(running_app)
    assert program is not None
    assert program.name == "Digital Leaders 2027"
    assert program.goals == [
        "80% of leaders complete 6 sessions",
        "Leaders rate digital confidence +1",
    ]
    assert [t["id"] for t in program.topic_catalogue] == [
        "ai_tools",
        "social_media",
        "cybersecurity_hygiene",
        "data_literacy",
    ]
    assert program.mentor_capacity == 2 and program.anonymity_threshold == 5
    assert program.community_channel == "C0MENTORING"
    assert str(program.end_date) == "2027-06-30"
    # Editing keeps one programme and shows the saved values.
    again = open_modal(running_app, ADMIN, "program")
    assert again["title"]["text"] == "Programme settings"
    edited = running_app.slack.view_submission(
        ADMIN, again, program_values(name="Round 2", capacity=3, enrollment="closed")
    )
    shown = edited.json()["view"]["blocks"][0]["text"]["text"]
    assert "The programme settings are saved." in shown and "Enrollment: Closed" in shown
    with running_app.db.session() as session:
        assert len(session.exec(select(Program)).all()) == 1
    assert _program(running_app).name == "Round 2"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("overrides", "block"),
    [
        ({"start": "2027-06-30", "end": "2027-01-01"}, "end_date"),
        ({"goals": "   "}, "goals"),
        ({"goals": "a\nb\nc\nd"}, "goals"),
        ({"capacity": 0}, "mentor_capacity"),
        ({"capacity": "many"}, "mentor_capacity"),
        ({"threshold": 1}, "anonymity_threshold"),
        ({"name": ""}, "name"),
        ({"topics": ""}, "topics"),
    ],
)
def test_invalid_programme_values_are_shown_inline(
    running_app: RunningApp, overrides: dict[str, Any], block: str
) -> None:
    view = open_modal(running_app, ADMIN, "program")
    response = running_app.slack.view_submission(ADMIN, view, program_values(**overrides))
    assert block in _errors(response)
    assert _program(running_app) is None


def test_forged_programme_submission_by_non_admin_changes_nothing(running_app: RunningApp) -> None:
    view = open_modal(running_app, ADMIN, "program")
    running_app.fake.add_user("UNOBODY01")
    response = running_app.slack.view_submission("UNOBODY01", view, program_values())
    answer = response.json()  # the modal says why (handlers/authorize.py)
    assert answer["response_action"] == "update"
    assert "Only programme admins can do that." in json.dumps(answer["view"])
    assert _program(running_app) is None


# Enrollment ---------------------------------------------------------------------------------


def test_join_without_programme_or_when_closed_gives_clear_message(running_app: RunningApp) -> None:
    MENTEE.add_to(running_app)
    running_app.slack.command(MENTEE.user_id, "join")
    reply = running_app.fake.wait_for("response_url")
    assert "no mentoring programme" in json.dumps(
        reply.params
    ).lower() or "chương trình" in json.dumps(reply.params, ensure_ascii=False)
    setup_program(running_app, enrollment="closed")
    running_app.fake.reset_calls()
    running_app.slack.command(MENTEE.user_id, "join")
    running_app.fake.wait_for("response_url")
    assert running_app.fake.calls("views.open") == []
    assert _participants(running_app) == []


def test_twenty_people_enroll_in_three_languages(running_app: RunningApp) -> None:
    setup_program(running_app)
    people = []
    for index in range(20):
        language = ("en", "de", "vi")[index % 3]
        role = "mentor" if index % 2 else "mentee"
        person = Person(
            f"UPERSON{index:03d}",
            role,
            language,
            department=f"Dept {index % 4}",
            offered=["ai_tools", "data_literacy"] if role == "mentor" else [],
            wanted=["ai_tools"] if role == "mentee" else [],
        )
        person.add_to(running_app)
        response = enroll(running_app, person)
        assert response.status == 200 and response.body in ("", "{}"), response.body
        people.append(person)
    stored = {p.slack_user_id: p for p in _participants(running_app)}
    assert len(stored) == 20
    for person in people:
        row = stored[person.user_id]
        assert row.role == person.role
        assert row.locale == person.language
        assert row.status == "waiting"
        assert row.timezone is not None
    # Everyone gets a confirmation and a training pack, in their own language.
    running_app.fake.wait_for_count("chat.postMessage", 40, timeout=15)
    german = running_app.fake.dm_texts("UPERSON001")
    english = running_app.fake.dm_texts("UPERSON003")
    assert len(german) == 2 and len(english) == 2
    assert german != english

    def all_sent() -> bool:
        with running_app.db.session() as session:
            packs = session.exec(
                select(OutboxMessage).where(OutboxMessage.kind == "training")
            ).all()
        return len(packs) == 20 and all(p.status == "sent" for p in packs)

    eventually(all_sent)


def test_invalid_enrollment_gets_inline_errors_and_stores_nothing(running_app: RunningApp) -> None:
    setup_program(running_app)
    mentor = Person("UMENTOR002", "mentor", offered=[])
    mentor.add_to(running_app)
    view = open_modal(running_app, mentor.user_id, "join")
    response = running_app.slack.view_submission(mentor.user_id, view, enrollment_values(mentor))
    assert "topics_offered" in _errors(response)
    mentee = Person("UMENTEE002", "mentee", wanted=[], manager="UMENTEE002")
    mentee.add_to(running_app)
    view = open_modal(running_app, mentee.user_id, "join")
    errors = _errors(
        running_app.slack.view_submission(mentee.user_id, view, enrollment_values(mentee))
    )
    assert {"topics_wanted", "manager"} <= set(errors)
    nobody = Person("UNOROLE001", "mentee", wanted=["ai_tools"])
    nobody.add_to(running_app)
    view = open_modal(running_app, nobody.user_id, "join")
    from bot.simulated_slack import signed_requests as sr

    errors = _errors(
        running_app.slack.view_submission(
            nobody.user_id,
            view,
            enrollment_values(
                nobody, role=sr.radio(None), topics_wanted=sr.multi_static_select(["nope"])
            ),
        )
    )
    assert {"role", "topics_wanted"} <= set(errors)
    assert _participants(running_app) == []


def _outbox(app: RunningApp) -> list[OutboxMessage]:
    with app.db.session() as session:
        return list(session.exec(select(OutboxMessage)).all())


def test_double_submit_creates_one_participant(running_app: RunningApp) -> None:
    setup_program(running_app)
    MENTOR.add_to(running_app)
    view = open_modal(running_app, MENTOR.user_id, "join")
    values = enrollment_values(MENTOR)
    first = running_app.slack.view_submission(MENTOR.user_id, view, values)
    second = running_app.slack.view_submission(MENTOR.user_id, view, values)
    assert first.status == second.status == 200
    assert len(_participants(running_app)) == 1
    # Slack retrying the same submission (same view) is not a new change: the welcome and
    # the training pack are owed once. Both acks came after their commits, so the outbox
    # already holds everything either submission queued.
    with running_app.db.session() as session:
        owed = session.exec(select(OutboxMessage)).all()
    assert sorted(m.kind for m in owed) == ["enrolled", "training"]
    eventually(lambda: len(running_app.fake.dm_texts(MENTOR.user_id)) == 2)
    eventually(lambda: all(m.status == "sent" for m in _outbox(running_app)))
    assert len(running_app.fake.dm_texts(MENTOR.user_id)) == 2


def test_join_again_opens_the_prefilled_profile(running_app: RunningApp) -> None:
    setup_program(running_app)
    MENTOR.add_to(running_app)
    enroll(running_app, MENTOR)
    view = open_modal(running_app, MENTOR.user_id, "join")
    assert view["title"]["text"] != "Join the programme"
    blocks = {b.get("block_id"): b for b in view["blocks"]}
    assert blocks["role"]["element"]["initial_option"]["value"] == "mentor"
    offered = [o["value"] for o in blocks["topics_offered"]["element"]["initial_options"]]
    assert offered == ["ai_tools", "social_media"]
    # Saving the profile updates, never duplicates.
    response = running_app.slack.view_submission(
        MENTOR.user_id,
        view,
        enrollment_values(MENTOR, department={"type": "plain_text_input", "value": "Design"}),
    )
    assert response.status == 200
    rows = _participants(running_app)
    assert len(rows) == 1 and rows[0].department == "Design"


def test_training_pack_read_is_recorded(running_app: RunningApp) -> None:
    setup_program(running_app)
    MENTEE.add_to(running_app)
    enroll(running_app, MENTEE)
    pack = running_app.fake.wait_for(
        "chat.postMessage", lambda c: "training_read" in json.dumps(c.params.get("blocks", []))
    )
    assert pack.ok
    assert pack.response is not None
    button = next(e for b in pack.params["blocks"] if b["type"] == "actions" for e in b["elements"])
    assert button["action_id"] == "training_read"
    running_app.slack.block_action(
        MENTEE.user_id,
        "training_read",
        value=button["value"],
        block_id="training",
        message=pack.response["message"],
        channel_id=pack.response["channel"],
    )
    update = running_app.fake.wait_for("chat.update")
    assert update.ok and "✅" in json.dumps(update.params["blocks"], ensure_ascii=False)
    assert _participants(running_app)[0].training_read_at is not None


def test_home_shows_status_and_admin_overview(running_app: RunningApp) -> None:
    setup_program(running_app)
    for person in (MENTOR, MENTEE):
        person.add_to(running_app)
        enroll(running_app, person)
    running_app.fake.reset_calls()
    running_app.slack.app_home_opened(MENTEE.user_id)
    home = running_app.fake.wait_for("views.publish").params["view"]
    actions = [
        e["action_id"] for b in home["blocks"] if b["type"] == "actions" for e in b["elements"]
    ]
    assert {"home_edit_profile", "home_leave"} <= set(actions)
    running_app.slack.app_home_opened(ADMIN)
    admin_home = running_app.fake.wait_for(
        "views.publish", lambda c: c.params["user_id"] == ADMIN
    ).params["view"]
    text = json.dumps(admin_home, ensure_ascii=False)
    assert "Enrolled" in text and "AI tools: 1 offer, 1 want" in text


def test_leave_with_deletion_removes_personal_data(running_app: RunningApp) -> None:
    setup_program(running_app)
    for person in (MENTOR, MENTEE):
        person.add_to(running_app)
        enroll(running_app, person)
    # Pair them directly in storage; matching has its own tests.
    with running_app.db.session() as session:
        mentor, mentee = (repo.participant_by_user(session, 1, p.user_id) for p in (MENTOR, MENTEE))
        assert mentor and mentee
        session.add(
            Pair(program_id=1, mentor_id=mentor.id, mentee_id=mentee.id, status=PairStatus.ACTIVE)
        )
        mentor.status = mentee.status = "paired"
        session.add(mentor)
        session.add(mentee)
    view = open_modal(running_app, MENTEE.user_id, "leave")
    from bot.simulated_slack import signed_requests as sr

    running_app.slack.view_submission(
        MENTEE.user_id, view, sr.values_from({"erase": sr.checkboxes(["erase"])})
    )
    kind_words = partner_left_message(translator(MENTOR.language))["text"]
    told = running_app.fake.wait_for(
        "chat.postMessage",
        lambda c: c.went_to("D" + MENTOR.user_id) and c.params.get("text") == kind_words,
    )
    assert told.ok
    rows = {p.role: p for p in _participants(running_app)}
    erased, partner = rows["mentee"], rows["mentor"]
    assert erased.slack_user_id.startswith("erased-")
    assert erased.display_name is None and erased.department is None
    assert erased.topics_wanted == [] and erased.personal_goals is None
    assert erased.status == "left" and erased.erased_at is not None
    assert partner.status == "waiting"  # back in the pool
    whole = _whole_database(running_app)
    assert MENTEE.user_id not in whole, [r for r in whole.splitlines() if MENTEE.user_id in r]
    with running_app.db.session() as session:
        pairs = session.exec(select(Pair)).all()
    assert len(pairs) == 1 and pairs[0].status == "ended"  # anonymous aggregate survives
    assert len(_participants(running_app)) == 2


def test_mydata_sends_everything_stored(running_app: RunningApp) -> None:
    setup_program(running_app)
    MENTOR.add_to(running_app)
    enroll(running_app, MENTOR)
    response = running_app.slack.command(MENTOR.user_id, "mydata")
    assert response.status == 200
    upload = running_app.fake.wait_for("files.completeUploadExternal", timeout=10)
    assert upload.ok
    files = running_app.fake.uploaded_files()
    data = json.loads(files[-1]["bytes"])
    assert data["profile"]["slack_user_id"] == MENTOR.user_id
    assert data["profile"]["topics_offered"] == ["ai_tools", "social_media"]


def test_home_buttons_open_join_profile_and_leave(running_app: RunningApp) -> None:
    setup_program(running_app)
    MENTEE.add_to(running_app)
    running_app.slack.block_action(MENTEE.user_id, "home_join", block_id="join")
    joined = running_app.fake.wait_for(
        "views.open", lambda c: c.params["view"]["callback_id"] == "enrollment"
    )
    assert joined.ok
    enroll(running_app, MENTEE)
    for action, callback in (
        ("home_edit_profile", "enrollment"),
        ("home_leave", "leave_programme"),
    ):
        before = len(running_app.fake.calls("views.open"))
        running_app.slack.block_action(MENTEE.user_id, action, block_id="participant_actions")
        opened = running_app.fake.wait_for_count("views.open", before + 1)[-1]
        assert opened.ok and opened.params["view"]["callback_id"] == callback


def test_new_programme_defaults_to_the_recognition_channel(fake_slack: Any, database: Any) -> None:
    from bot.services import build_services
    from handlers.program import open_program_modal
    from tests.conftest import make_settings

    services = build_services(
        make_settings(fake_slack, database.url, RECOGNITION_CHANNEL="C0WINS"), db=database
    )
    assert open_program_modal(services, services.client, ADMIN, fake_slack.issue_trigger(), None)
    view = fake_slack.wait_for("views.open").params["view"]
    channel = next(b for b in view["blocks"] if b.get("block_id") == "community_channel")
    assert channel["element"]["initial_conversation"] == "C0WINS"


def test_simultaneous_double_submit_creates_one_participant(running_app: RunningApp) -> None:
    from concurrent.futures import ThreadPoolExecutor

    setup_program(running_app)
    MENTOR.add_to(running_app)
    view = open_modal(running_app, MENTOR.user_id, "join")
    values = enrollment_values(MENTOR)
    with ThreadPoolExecutor(max_workers=4) as pool:
        responses = list(
            pool.map(
                lambda _i: running_app.slack.view_submission(MENTOR.user_id, view, values), range(4)
            )
        )
    assert [r.status for r in responses] == [200] * 4
    assert len(_participants(running_app)) == 1

    def one_pack() -> bool:
        with running_app.db.session() as session:
            packs = session.exec(
                select(OutboxMessage).where(OutboxMessage.kind == "training")
            ).all()
        return len(packs) == 1 and packs[0].status == "sent"

    eventually(one_pack)


def test_enrollment_when_slack_profile_lookup_fails_keeps_the_modal(
    running_app: RunningApp,
) -> None:
    setup_program(running_app)
    MENTOR.add_to(running_app)
    view = open_modal(running_app, MENTOR.user_id, "join")
    running_app.services.people.forget(MENTOR.user_id)
    running_app.fake.fail_next("users.info", status=200, error="internal_error", times=2)
    response = running_app.slack.view_submission(MENTOR.user_id, view, enrollment_values(MENTOR))
    assert "try again" in _errors(response)["role"]
    assert _participants(running_app) == []
    # The person submits again (the modal kept their answers) and it works.
    ok = running_app.slack.view_submission(MENTOR.user_id, view, enrollment_values(MENTOR))
    assert ok.status == 200 and ok.body in ("", "{}")
    assert len(_participants(running_app)) == 1


def test_new_programme_dates_start_on_the_admins_own_today(running_app: RunningApp) -> None:
    """Late on 31 January in UTC it is already 1 February in Hanoi, and still the 31st in
    Honolulu: each admin's new programme starts on their own date, not the server's."""
    from datetime import UTC, datetime

    from bot import clock

    late_evening = clock.ManualClock(datetime(2027, 1, 31, 20, 0, tzinfo=UTC))
    previous = clock.install(late_evening)
    running_app.services.use_clock(late_evening)
    try:
        running_app.fake.add_user(
            "UHANOI001", tz="Asia/Ho_Chi_Minh", tz_offset=25200, is_admin=True
        )
        running_app.fake.add_user(
            "UHAWAII01", tz="Pacific/Honolulu", tz_offset=-36000, is_admin=True
        )
        starts = {}
        for admin in ("UHANOI001", "UHAWAII01"):
            view = open_modal(running_app, admin, "program")
            block = next(b for b in view["blocks"] if b.get("block_id") == "start_date")
            starts[admin] = block["element"]["initial_date"]
    finally:
        clock.install(previous)
    assert starts == {"UHANOI001": "2027-02-01", "UHAWAII01": "2027-01-31"}


def test_a_join_slack_is_too_busy_to_open_gets_a_button_that_opens_it(
    running_app: RunningApp,
) -> None:
    """A kickoff's rush meets views.open's rate limit: a Retry-After the 3-second trigger
    cannot outlive is not waited for; the person gets a button that opens the form with a
    fresh trigger, and the note goes once the form is open."""
    setup_program(running_app)
    MENTEE.add_to(running_app)
    tried = len(running_app.fake.calls("views.open"))
    running_app.fake.fail_next("views.open", status=429, retry_after=30)
    reply = command_reply(running_app, MENTEE.user_id, "join")
    busy = "Slack is busy right now and the form did not open. Open it with the button."
    assert reply["text"] == translator(MENTEE.language)(busy)
    button = reply["blocks"][0]["accessory"]
    assert button["action_id"] == "home_join"
    assert len(running_app.fake.calls("views.open")) == tried + 1  # not retried after 30 s
    before = len(running_app.fake.calls("views.open"))
    running_app.slack.block_action(MENTEE.user_id, "home_join", channel_id="C0GENERAL")
    opened = running_app.fake.wait_for_count("views.open", before + 1)[-1]
    assert opened.ok and opened.response["view"]["callback_id"] == "enrollment"
