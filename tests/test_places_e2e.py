"""Offices and meeting languages, end to end (issue 21): the admin lists the programme's
offices, people pick theirs (or remote) and the languages they meet in when they join, and can
change both in their profile."""

from __future__ import annotations

from typing import Any

from sqlmodel import select

from bot.i18n import translator
from bot.simulated_slack import signed_requests as sr
from storage import repositories as repo
from storage.models import Participant
from tests.conftest import ADMIN, RunningApp
from tests.flows import Person, enroll, enrollment_values, open_modal, setup_program


def _block(view: dict[str, Any], block_id: str) -> dict[str, Any] | None:
    return next((b for b in view["blocks"] if b.get("block_id") == block_id), None)


def _option_values(block: dict[str, Any]) -> list[str]:
    return [o["value"] for o in block["element"]["options"]]


def _stored(app: RunningApp, user_id: str) -> Participant:
    with app.db.session() as session:
        participant = session.exec(
            select(Participant).where(Participant.slack_user_id == user_id)
        ).one()
    return participant


def test_admin_lists_offices_and_people_pick_theirs(running_app: RunningApp) -> None:
    app = running_app
    # Blank lines, repeats and "remote" (always offered) are dropped.
    setup_program(app, offices="Berlin\n\nHanoi\nberlin\nRemote\nNew York ")
    with app.db.session() as session:
        (program,) = repo.live_programs(session)
        assert program.settings["offices"] == ["Berlin", "Hanoi", "New York"]
    settings_modal = open_modal(app, ADMIN, "program")
    offices = _block(settings_modal, "offices")
    assert offices is not None
    assert offices["element"]["initial_value"] == "Berlin\nHanoi\nNew York"

    person = Person("UHANOIJOIN", "mentor", "vi", offered=["ai_tools"], languages=["en", "de"])
    person.add_to(app)
    view = open_modal(app, person.user_id, "join")
    office = _block(view, "office")
    assert office is not None and not office.get("optional")
    assert _option_values(office) == ["Berlin", "Hanoi", "New York", "remote"]
    languages = _block(view, "languages")
    assert languages is not None
    assert "vi" not in _option_values(languages)  # their Slack language counts already
    # The office is required: a forged submission without it is refused inline.
    _ = translator("vi")
    refused = app.slack.view_submission(person.user_id, view, enrollment_values(person))
    assert refused.json()["errors"] == {"office": _("Pick where you work.")}
    forged = enrollment_values(person, office=sr.static_select("Paris"))
    assert app.slack.view_submission(person.user_id, view, forged).json()["errors"] == {
        "office": _("Pick one of the options.")
    }
    person.office = "Hanoi"
    assert enroll(app, person).status == 200
    stored = _stored(app, person.user_id)
    assert (stored.office, stored.languages, stored.locale) == ("Hanoi", ["en", "de"], "vi")

    # The profile opens prefilled, and a move to remote work is saved.
    profile = open_modal(app, person.user_id, "profile")
    office = _block(profile, "office")
    assert office is not None and office["element"]["initial_option"]["value"] == "Hanoi"
    languages = _block(profile, "languages")
    assert languages is not None
    assert [o["value"] for o in languages["element"]["initial_options"]] == ["en", "de"]
    person.office, person.languages = "remote", ["en"]
    response = app.slack.view_submission(person.user_id, profile, enrollment_values(person))
    assert response.status == 200 and "errors" not in response.body
    stored = _stored(app, person.user_id)
    assert (stored.office, stored.languages) == ("remote", ["en"])


def test_without_offices_nobody_is_asked(running_app: RunningApp) -> None:
    app = running_app
    setup_program(app)
    person = Person("UNOOFFICE1", "mentee", "de", wanted=["ai_tools"])
    person.add_to(app)
    view = open_modal(app, person.user_id, "join")
    assert _block(view, "office") is None
    assert _block(view, "languages") is not None
    assert enroll(app, person).status == 200
    assert _stored(app, person.user_id).office is None
    # Unknown languages are refused.
    profile = open_modal(app, person.user_id, "profile")
    wrong = enrollment_values(person, languages=sr.multi_static_select(["xx"]))
    answer = app.slack.view_submission(person.user_id, profile, wrong)
    assert answer.json()["errors"] == {"languages": translator("de")("Pick one of the options.")}
