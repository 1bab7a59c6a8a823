"""Who may do what is decided in one place (handlers/authorize.py), and a refusal says why.

Every admin's button and modal is tried by someone who is not an admin (a forwarded message, a
crafted payload): the listener never runs, nothing is stored or sent, and the person is told.
"""

from __future__ import annotations

import json

import pytest
from sqlmodel import select

from bot.i18n import translator
from bot.views import common
from bot.views import comparison as comparison_views
from bot.views import home as home_views
from bot.views import journey as journey_views
from bot.views import matching as matching_views
from bot.views import program as program_views
from bot.views import recognition as recognition_views
from bot.views import report as report_views
from storage.models import MatchRun, Program
from tests.conftest import ADMIN, RunningApp
from tests.flows import eventually, setup_program

OUTSIDER = "UOUTSIDE1"
REFUSAL = common.admins_only(translator("en"))["text"]

# Every action an admin's listener answers (handlers register them with ADMINS_ONLY).
ADMIN_ACTIONS = [
    home_views.MATCH_ACTION,
    matching_views.REVIEW_ACTION,
    matching_views.PAGE_ACTION + "_prev",
    matching_views.PAGE_ACTION + "_next",
    matching_views.REMOVE_ACTION,
    matching_views.RERUN_ACTION,
    matching_views.REMATCH_END_ACTION,
    matching_views.REMATCH_KEEP_ACTION,
    journey_views.CONTACT_ACTION,
    journey_views.END_ACTION,
    home_views.PROGRAM_ACTION,
    home_views.NEW_COHORT_ACTION,
    home_views.OPEN_ENROLLMENT_ACTION,
    home_views.ARCHIVE_ACTION,
    report_views.REPORT_ACTION,
    report_views.EXPORT_ACTION,
    report_views.CLOSE_ROUND_ACTION,
    comparison_views.CROSS_REPORT_ACTION,
    recognition_views.THANKS_APPROVE_ACTION,
    recognition_views.THANKS_REJECT_ACTION,
    recognition_views.STORY_APPROVE_ACTION,
    recognition_views.STORY_REJECT_ACTION,
]
# Web API calls an admin's listener would make; a refused click makes none of them.
LISTENER_CALLS = (
    "views.open",
    "views.update",
    "views.publish",
    "chat.update",
    "files.getUploadURLExternal",
    "conversations.history",
)


def _calls(app: RunningApp) -> dict[str, int]:
    return {method: len(app.fake.calls(method)) for method in LISTENER_CALLS}


def _told(app: RunningApp, user_id: str) -> list[str]:
    """What the person was told privately: ephemeral answers, then DMs."""
    texts = [str(m.get("text") or "") for m in app.fake.ephemeral_messages(user_id)]
    return texts + app.fake.dm_texts(user_id)


@pytest.mark.parametrize("action_id", ADMIN_ACTIONS)
def test_a_non_admin_clicking_an_admins_button_is_told_why_and_nothing_happens(
    running_app: RunningApp, action_id: str
) -> None:
    app = running_app
    setup_program(app)
    eventually(lambda: app.fake.home_of(ADMIN))  # the admin's own Home, after saving
    app.fake.add_user(OUTSIDER, real_name="Olli Outsider", locale="en-US")
    before = _calls(app)
    message = {"ts": "1700000000.000100", "text": "forwarded", "blocks": []}
    response = app.slack.block_action(
        OUTSIDER, action_id, value="1", message=message, channel_id="D" + OUTSIDER
    )
    assert response.status == 200
    told = eventually(lambda: _told(app, OUTSIDER))
    assert told == [REFUSAL]
    assert _calls(app) == before
    with app.db.session() as session:
        assert session.exec(select(MatchRun)).all() == []
        assert session.exec(select(Program)).one().name == "Digital Leaders 2027"


def test_a_non_admin_submitting_an_admins_modal_sees_the_refusal_in_it(
    running_app: RunningApp,
) -> None:
    app = running_app
    setup_program(app)
    view = {
        "id": "V0CRAFTED",
        "type": "modal",
        "callback_id": program_views.CALLBACK_ID,
        "private_metadata": "",
        "blocks": [],
    }
    response = app.slack.view_submission(OUTSIDER, view, {})
    answer = response.json()
    assert answer["response_action"] == "update"
    assert REFUSAL in json.dumps(answer["view"])
    with app.db.session() as session:
        assert session.exec(select(Program)).one().name == "Digital Leaders 2027"


def test_admins_only_subcommands_are_refused_with_the_reason(running_app: RunningApp) -> None:
    app = running_app
    app.fake.add_user(OUTSIDER, real_name="Olli Outsider", locale="en-US")
    for name in ("match", "report", "shoutout <@UX> hi", "program", "hold on"):
        response = app.slack.command(OUTSIDER, name)
        assert response.status == 200
    told = eventually(lambda: len(_told(app, OUTSIDER)) >= 5 and _told(app, OUTSIDER))
    assert told == [REFUSAL] * 5
    assert app.fake.calls("views.open") == []
