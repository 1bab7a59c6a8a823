"""Issue 9 (items 5 and 6) for the journey, pulse, report and recognition listeners: with the
database down every click and submission is answered "temporarily unavailable" and nothing
crashes; a slow Slack profile lookup on the meeting modal is acknowledged before it answers
and the outcome told afterwards. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import select

from bot import clock
from bot.i18n import translator
from bot.simulated_slack import signed_requests as sr
from bot.views import common
from bot.views import pulse as pulse_views
from storage.models import CheckInRequest, PulseKind, SuccessStory
from tests.conftest import ADMIN, RunningApp
from tests.flows import (
    UNAVAILABLE,
    database_down,
    eventually,
    modal_updates,
    open_modal,
    response_url_text,
)
from tests.test_journey_e2e import Member, prompt_of, run, seed
from tests.test_recognition_e2e import make_world

MENTOR = Member("UGMENTOR1", "mentor")
MENTEE = Member("UGMENTEE1", "mentee")


@pytest.fixture
def monday(running_app: RunningApp) -> Iterator[clock.ManualClock]:
    manual = clock.ManualClock(datetime(2027, 1, 4, 8, 0, tzinfo=UTC))
    previous = clock.install(manual)
    running_app.services.use_clock(manual)
    try:
        yield manual
    finally:
        clock.install(previous)


def _no_crash(caplog: pytest.LogCaptureFixture) -> None:
    assert not [r for r in caplog.records if r.getMessage() == "listener failed"]


def _checked_in(app: RunningApp) -> dict[str, Any]:
    """A pair asked "did you meet?"; returns the mentee's check-in message."""
    seed(app, [(MENTOR, MENTEE)])
    report = run(app, "checkin")
    assert report is not None and report.queued == 2
    return prompt_of(app, MENTEE.user_id)


def _met_value(message: dict[str, Any]) -> str:
    return next(
        str(e["value"])
        for b in message["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == "journey_met"
    )


def _requests(app: RunningApp) -> list[CheckInRequest]:
    with app.db.session() as session:
        return list(session.exec(select(CheckInRequest)).all())


def test_met_click_with_the_database_down_is_answered(
    running_app: RunningApp, monday: clock.ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    app = running_app
    message = _checked_in(app)
    opened = len(app.fake.calls("views.open"))
    with database_down(app):
        response = app.slack.block_action(
            MENTEE.user_id, "journey_met", value=_met_value(message), message=message
        )
        assert UNAVAILABLE in response_url_text(app, response)
    assert len(app.fake.calls("views.open")) == opened  # no form that could not be saved
    assert all(r.status != "met" for r in _requests(app))
    _no_crash(caplog)


def test_pulse_submit_with_the_database_down_is_answered_inline(
    running_app: RunningApp, caplog: pytest.LogCaptureFixture
) -> None:
    app = running_app
    app.fake.add_user(MENTEE.user_id)
    view = {
        **pulse_views.survey_modal(PulseKind.PULSE, 1, translator("en"), threshold=5),
        "id": "VPULSE1",
    }
    values = sr.values_from({"value": sr.static_select("5"), "change": sr.plain("More time")})
    with database_down(app):
        response = app.slack.view_submission(MENTEE.user_id, view, values)
    assert response.status == 200
    answer = response.json()
    assert answer["response_action"] == "errors"
    assert UNAVAILABLE in next(iter(answer["errors"].values()))
    _no_crash(caplog)


def test_report_button_with_the_database_down_is_answered_by_dm(
    running_app: RunningApp, caplog: pytest.LogCaptureFixture
) -> None:
    app = running_app
    with database_down(app):
        click = app.slack.block_action(ADMIN, "home_report", view={"id": "VHOME", "type": "home"})
        assert click.status == 200
        eventually(lambda: any(UNAVAILABLE in t for t in app.fake.dm_texts(ADMIN)))
    _no_crash(caplog)


def test_story_submit_with_the_database_down_is_answered_inline(
    running_app: RunningApp, caplog: pytest.LogCaptureFixture
) -> None:
    app = running_app
    make_world(app)
    view = open_modal(app, "UMENTOR1", "story")
    values = {"story": {"story": {"type": "plain_text_input", "value": "We learned a lot"}}}
    with database_down(app):
        response = app.slack.view_submission("UMENTOR1", view, values)
    assert response.status == 200
    answer = response.json()
    assert answer["response_action"] == "errors"
    # The mentor reads German: the same "temporarily unavailable" in their language.
    assert answer["errors"]["story"] == common.unavailable(translator("de"))["text"]
    with app.db.session() as session:
        assert session.exec(select(SuccessStory)).all() == []
    assert not [m for m in app.fake.posted_messages("DUMENTEE1") if "story_agree" in str(m)]
    _no_crash(caplog)


@pytest.mark.parametrize(
    ("command", "user"),
    [
        ("status", MENTEE.user_id),
        ("goals", MENTEE.user_id),
        ("pause 2027-02-01", MENTEE.user_id),
        ("report", ADMIN),
        ("hold on", ADMIN),
        ("shoutout <@UGMENTEE1> thank you", ADMIN),
        ("thanks <@UGMENTOR1> thank you", MENTEE.user_id),
        ("story", MENTEE.user_id),
    ],
)
def test_subcommands_with_the_database_down_are_answered(
    running_app: RunningApp, command: str, user: str, caplog: pytest.LogCaptureFixture
) -> None:
    app = running_app
    app.fake.add_user(MENTEE.user_id)
    app.fake.add_user(MENTOR.user_id)
    with database_down(app):
        response = app.slack.command(user, command)
        assert UNAVAILABLE in response_url_text(app, response)
    _no_crash(caplog)


def test_slow_profile_lookup_on_the_meeting_modal_is_acknowledged_before_it_answers(
    running_app: RunningApp, monday: clock.ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    """users.info does not answer until the test lets it: the submit is acknowledged meanwhile
    ("still saving", the deadline path), then the modal says the meeting is logged, it is
    stored, and the check-in message says so."""
    app = running_app
    message = _checked_in(app)
    before = len(app.fake.calls("views.open"))
    app.slack.block_action(
        MENTEE.user_id, "journey_met", value=_met_value(message), message=message
    )
    view = app.fake.wait_for_count("views.open", before + 1)[-1].response["view"]
    app.services.people.forget(MENTEE.user_id)
    today = monday.now().date()
    values = sr.values_from(
        {
            "met_on": sr.datepicker(str(today - timedelta(days=1))),
            "duration": sr.static_select("45"),
            "topics": sr.plain("Prompting"),
            "learned": sr.plain("How execs decide"),
            "taught": sr.plain("ChatGPT basics"),
            "rating": sr.static_select("5"),
            "notes": sr.plain("good"),
        }
    )
    with app.fake.holding("users.info"):
        response = app.slack.view_submission(MENTEE.user_id, view, values)
        assert response.status == 200
        answer = response.json()
        assert answer["response_action"] == "update"
        assert "Still saving" in json.dumps(answer["view"])
        eventually(lambda: app.fake.held("users.info"))  # the work still waits for Slack
        assert all(r.status != "met" for r in _requests(app))
        assert modal_updates(app, view["id"]) == []
    told = eventually(lambda: modal_updates(app, view["id"]))
    assert "meeting is logged" in json.dumps(told[-1])
    [met] = [r for r in _requests(app) if r.status == "met"]
    assert met.rating == 5 and met.duration_minutes == 45
    eventually(lambda: "logged" in prompt_of(app, MENTEE.user_id)["text"])
    _no_crash(caplog)
