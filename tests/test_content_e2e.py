"""People's text through the running app: escaped where it is shown, validated where it enters.

Signed requests to the real app and the fake Slack, on SQLite and PostgreSQL.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import select

from bot.simulated_slack import signed_requests as sr
from bot.simulated_slack.web_api import FakeSlack
from storage.models import Participant, Program
from tests.conftest import ADMIN, RunningApp
from tests.flows import (
    Person,
    enroll,
    eventually,
    match_review,
    open_modal,
    program_values,
    setup_program,
)

HOSTILE = "<!channel> <https://evil.example|click me> <@UEVIL0001>"
RAW_PIECES = ("<!channel>", "<https://", "<@UEVIL0001")


def _errors(response: Any) -> dict[str, str]:
    assert response.status == 200, response.body
    body = response.json()
    assert body["response_action"] == "errors", body
    return body["errors"]


def _participants(app: RunningApp) -> list[Participant]:
    with app.db.session() as session:
        return list(session.exec(select(Participant)).all())


def _programs(app: RunningApp) -> list[Program]:
    with app.db.session() as session:
        return list(session.exec(select(Program)).all())


# 9.13: escaping -------------------------------------------------------------------------------


def test_hostile_goals_reach_the_intro_escaped(running_app: RunningApp) -> None:
    setup_program(running_app)
    mentor = Person("UMENTOR101", "mentor", offered=["ai_tools"])
    mentee = Person("UMENTEE101", "mentee", "de", department=HOSTILE, wanted=["ai_tools"])
    for person in (mentor, mentee):
        person.add_to(running_app)
    assert enroll(running_app, mentor).status == 200
    response = enroll(running_app, mentee, personal_goals=sr.plain(HOSTILE))
    assert response.status == 200 and not response.body, response.body
    with running_app.db.session() as session:
        stored = session.exec(select(Participant).where(Participant.role == "mentee")).one()
        assert stored.personal_goals == HOSTILE  # stored as typed; escaped only when shown
    confirmation = eventually(lambda: running_app.fake.dm_texts(mentee.user_id))[0]
    assert "&lt;!channel&gt;" in confirmation  # the department in the profile summary
    assert not any(piece in confirmation for piece in RAW_PIECES), confirmation

    view = match_review(running_app)
    assert running_app.slack.view_submission(ADMIN, view, {}).status == 200
    intro = running_app.fake.wait_for(
        "chat.postMessage", lambda c: c.params["channel"].startswith("G"), timeout=15
    )
    assert intro.ok, intro.error
    text = FakeSlack.message_text(intro.params)
    assert "&lt;!channel&gt; &lt;https://evil.example|click me&gt; &lt;@UEVIL0001&gt;" in text
    for piece in RAW_PIECES:
        assert piece not in text, text
    assert f"<@{mentor.user_id}>" in text and f"<@{mentee.user_id}>" in text


# 9.14: validation -----------------------------------------------------------------------------


def test_nul_in_department_is_refused_inline_and_nothing_is_stored(
    running_app: RunningApp,
) -> None:
    setup_program(running_app)
    person = Person("UMENTEE201", "mentee", wanted=["ai_tools"])
    person.add_to(running_app)
    running_app.fake.reset_calls()
    errors = _errors(enroll(running_app, person, department=sr.plain("Sales\x00Ops")))
    assert set(errors) == {"department"}
    assert "invisible or broken characters" in errors["department"]
    assert _participants(running_app) == []
    assert running_app.fake.dm_texts(person.user_id) == []
    # Fixed, the same form goes through.
    assert enroll(running_app, person, department=sr.plain("Sales Ops")).status == 200
    assert [p.department for p in _participants(running_app)] == ["Sales Ops"]


def test_the_inline_error_is_in_the_persons_language(running_app: RunningApp) -> None:
    setup_program(running_app)
    person = Person("UMENTEE202", "mentee", "vi", wanted=["ai_tools"])
    person.add_to(running_app)
    errors = _errors(enroll(running_app, person, personal_goals=sr.plain("a\x00")))
    assert set(errors) == {"personal_goals"}
    assert "invisible" not in errors["personal_goals"]  # translated, not the English msgid


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("manager", sr.users_select("U" + "A" * 4999)),
        ("avoid", sr.multi_users_select(["UMENTOR301", "U" + "1" * 4999])),
    ],
)
def test_a_5000_character_user_id_is_refused(
    running_app: RunningApp, field: str, value: dict[str, Any]
) -> None:
    setup_program(running_app)
    person = Person("UMENTEE301", "mentee", wanted=["ai_tools"])
    person.add_to(running_app)
    assert set(_errors(enroll(running_app, person, **{field: value}))) == {field}
    assert _participants(running_app) == []


def test_a_5000_character_channel_is_refused(running_app: RunningApp) -> None:
    view = open_modal(running_app, ADMIN, "program")
    values = program_values(channel="C" + "0" * 4999)
    errors = _errors(running_app.slack.view_submission(ADMIN, view, values))
    assert set(errors) == {"community_channel"}
    assert _programs(running_app) == []


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("manager", sr.users_select("UGHOST0001")),
        ("avoid", sr.multi_users_select(["UMENTOR401", "UGHOST0002"])),
    ],
)
def test_an_unknown_user_is_refused(
    running_app: RunningApp, field: str, value: dict[str, Any]
) -> None:
    setup_program(running_app)
    person = Person("UMENTEE401", "mentee", wanted=["ai_tools"])
    Person("UMENTOR401", "mentor").add_to(running_app)
    person.add_to(running_app)
    assert set(_errors(enroll(running_app, person, **{field: value}))) == {field}
    assert _participants(running_app) == []


def test_a_known_manager_and_avoid_list_are_accepted(running_app: RunningApp) -> None:
    setup_program(running_app)
    boss = Person("UBOSS0501", "mentor")
    other = Person("UOTHER0501", "mentor")
    person = Person("UMENTEE501", "mentee", wanted=["ai_tools"])
    person.manager, person.avoid = boss.user_id, [other.user_id]
    for someone in (boss, other, person):
        someone.add_to(running_app)
    assert enroll(running_app, person).status == 200
    [stored] = _participants(running_app)
    assert stored.manager_slack_id == boss.user_id and stored.avoid_slack_ids == [other.user_id]


def test_enrollment_bogus_is_refused(running_app: RunningApp) -> None:
    view = open_modal(running_app, ADMIN, "program")
    errors = _errors(
        running_app.slack.view_submission(ADMIN, view, program_values(enrollment="bogus"))
    )
    assert set(errors) == {"enrollment"}
    assert _programs(running_app) == []


@pytest.mark.parametrize(
    ("start", "end", "field"),
    [
        ("0001-01-01", "2027-06-30", "start_date"),
        ("9999-12-31", "9999-12-31", "start_date"),
        ("2027-01-01", "9999-12-31", "end_date"),
        ("2027-01-01", "1971-01-01", "end_date"),
    ],
)
def test_absurd_programme_dates_are_refused(
    running_app: RunningApp, start: str, end: str, field: str
) -> None:
    view = open_modal(running_app, ADMIN, "program")
    values = program_values(start=start, end=end)
    errors = _errors(running_app.slack.view_submission(ADMIN, view, values))
    assert field in errors
    assert _programs(running_app) == []


def test_closed_enrollment_is_saved_as_closed(running_app: RunningApp) -> None:
    setup_program(running_app, enrollment="closed")
    assert [p.enrollment_open for p in _programs(running_app)] == [False]
