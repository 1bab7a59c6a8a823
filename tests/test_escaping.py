"""Every view that shows someone's text escapes it in mrkdwn, and only there (all languages)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest

from bot.domain.enrollment import EnrollmentForm
from bot.domain.overview import EnrollmentOverview, TopicBalance
from bot.domain.programs import ProgramForm
from bot.i18n import SUPPORTED, Translator, translator
from bot.views import common, kit
from bot.views import enrollment as enrollment_views
from bot.views import matching as matching_views
from bot.views.home import HomeState, home_view
from bot.views.labels import FORMAT, label
from bot.views.program import program_modal
from storage.models import Pair, Participant, Program

HOSTILE = "<!channel> <https://evil.example|click me> <@UEVIL0001> <!here> & co"
ESCAPED = "&lt;!channel&gt; &lt;https://evil.example|click me&gt; &lt;@UEVIL0001&gt;"
# What must never reach Slack's mrkdwn parser from a person's text.
RAW_PIECES = ("<!channel>", "<!here>", "<https://", "<@UEVIL0001")


def test_escape_is_slacks_three_entities() -> None:
    assert kit.escape("a & b < c > d") == "a &amp; b &lt; c &gt; d"
    assert kit.escape("&lt;") == "&amp;lt;"  # what a person typed is shown as typed
    assert kit.escape("plain ✓ *bold* _it_") == "plain ✓ *bold* _it_"


def _texts(node: Any, kind: str) -> Iterator[str]:
    """Every text object of `kind` ("mrkdwn"/"plain_text") in a rendered payload."""
    if isinstance(node, dict):
        if node.get("type") == kind and isinstance(node.get("text"), str):
            yield node["text"]
        for value in node.values():
            yield from _texts(value, kind)
    elif isinstance(node, list):
        for item in node:
            yield from _texts(item, kind)


def _mrkdwn(payload: dict[str, Any]) -> list[str]:
    """mrkdwn objects, plus a message's `text` fallback (Slack formats it as mrkdwn too)."""
    texts = list(_texts(payload, "mrkdwn"))
    if payload.get("type") not in ("modal", "home") and isinstance(payload.get("text"), str):
        texts.append(payload["text"])
    return texts


def assert_escaped(payload: dict[str, Any], shown: str = ESCAPED) -> None:
    texts = _mrkdwn(payload)
    for text in texts:
        for piece in RAW_PIECES:
            assert piece not in text, (piece, text)
        assert "&amp;lt;" not in text, text  # escaped once, not twice
    assert any(shown in text for text in texts), texts  # the hostile text was really shown
    for text in _texts(payload, "plain_text"):
        assert "&lt;" not in text and "&amp;" not in text, text  # plain text is never escaped


@pytest.fixture(params=SUPPORTED)
def _(request: pytest.FixtureRequest) -> Translator:
    return translator(request.param)


def _program() -> Program:
    return Program(
        id=1,
        name=HOSTILE[:150],
        goals=[HOSTILE],
        start_date=date(2027, 1, 1),
        end_date=date(2027, 6, 30),
        topic_catalogue=[{"id": "evil", "label": HOSTILE}, {"id": "ai_tools", "label": "AI tools"}],
    )


def _person(pid: int, user_id: str, role: str, **extra: Any) -> Participant:
    fields: dict[str, Any] = {
        "id": pid,
        "program_id": 1,
        "slack_user_id": user_id,
        "role": role,
        "display_name": HOSTILE,
        "department": HOSTILE,
        "topics_offered": ["evil"] if role == "mentor" else [],
        "topics_wanted": ["evil"] if role == "mentee" else [],
        "development_areas": ["evil"],
        "personal_goals": HOSTILE,
        "success_definition": HOSTILE,
        "meeting_frequency": "monthly",
        "meeting_format": "video",
        "timezone": "Europe/Berlin",
    }
    fields.update(extra)
    return Participant(**fields)


MENTOR = _person(1, "UMENTOR01", "mentor")
MENTEE = _person(2, "UMENTEE01", "mentee")
PAIR = Pair(
    id=7,
    program_id=1,
    mentor_id=1,
    mentee_id=2,
    score=42,
    reasons=[
        {"code": "shared_topics", "params": {"topics": ["evil"]}},
        {"code": "different_departments", "params": {}},
    ],
)


def test_command_replies(_: Translator) -> None:
    reply = common.unknown_command(_, "<!channel> <https://evil.example|click me>")
    assert_escaped(reply, shown="`&lt;!channel&gt; &lt;https://evil.example")  # clipped at 40
    assert_escaped(common.enrollment_closed(_, HOSTILE))


def test_enrollment_modal(_: Translator) -> None:
    form = EnrollmentForm(
        role="mentee",
        department=HOSTILE,
        topics_wanted=["evil"],
        personal_goals=HOSTILE,
        success_definition=HOSTILE,
    )
    view = enrollment_views.enrollment_modal(
        _program(), form, _, timezone=HOSTILE, locale_name="English", editing=True
    )
    assert_escaped(view)
    # What the person typed comes back into the inputs exactly as typed, and the admin's topic
    # label is an option (plain text): neither is escaped.
    text = json.dumps(view, ensure_ascii=False)
    assert f'"initial_value": {json.dumps(HOSTILE)}' in text
    assert HOSTILE[:74] in json.dumps(list(_texts(view, "plain_text")), ensure_ascii=False)


@pytest.mark.parametrize("person", [MENTOR, MENTEE], ids=["mentor", "mentee"])
@pytest.mark.parametrize("created", [True, False])
def test_confirmation(_: Translator, person: Participant, created: bool) -> None:
    assert_escaped(enrollment_views.enrolled_confirmation(_program(), person, _, created=created))


def test_leave_dialog(_: Translator) -> None:
    assert_escaped(enrollment_views.leave_modal(_program(), _, paired=True))


def test_mydata(_: Translator) -> None:
    data = {"profile": {"personal_goals": HOSTILE}, "pairs": [], "goals": [], "checkins": []}
    message = enrollment_views.mydata_message(data, _)
    assert_escaped(message)
    assert message["blocks"][1]["text"]["text"].endswith("```")


def test_home(_: Translator) -> None:
    overview = EnrollmentOverview(
        by_role={"mentor": 1, "mentee": 1},
        by_status={"waiting": 2},
        by_department=[(HOSTILE, 2)],
        topics=[TopicBalance("evil", HOSTILE, supply=1, demand=2)],
        training_read=0,
        total=2,
    )
    state = HomeState(
        program=_program(),
        participant=MENTEE,
        partner_ids=["UMENTOR01"],
        is_admin=True,
        overview=overview,
    )
    view = home_view([state], _)
    assert_escaped(view)
    sections = "\n".join(_mrkdwn(view))
    assert "<@UMENTOR01>" in sections  # our own mentions stay mentions


def test_match_review(_: Translator) -> None:
    waiting = [
        {
            "participant_id": 3,
            "reason": {"code": "no_mentor_offers", "params": {"topics": ["evil"]}},
        },
        {"participant_id": 4, "reason": {"code": HOSTILE, "params": {}}},
    ]
    people = {
        1: MENTOR,
        2: MENTEE,
        3: _person(3, "UWAIT0001", "mentee"),
        4: _person(4, "UWAIT0002", "mentee", display_name=None),
    }
    view = matching_views.review_modal(_program(), 5, [PAIR], waiting, people, _)
    assert_escaped(view)
    assert "<@UWAIT0002>" in "\n".join(_mrkdwn(view))  # no name: a mention instead


def test_intro(_: Translator) -> None:
    for translators in ([_], [_, translator("de" if _.locale != "de" else "vi")]):
        message = matching_views.intro_message(_program(), PAIR, MENTOR, MENTEE, translators)
        assert_escaped(message)
        text = "\n".join(_mrkdwn(message))
        assert "<@UMENTOR01>" in text and "<@UMENTEE01>" in text


def test_pair_goals_summary(_: Translator) -> None:
    for translators in ([_], [_, translator("de" if _.locale != "de" else "vi")]):
        assert_escaped(
            matching_views.goals_saved_message([HOSTILE, "ok"], "UMENTOR01", translators)
        )


def test_rematch_request(_: Translator) -> None:
    reason = HOSTILE + "\n<!everyone> second line"
    message = matching_views.rematch_admin_message(9, MENTEE, MENTOR, reason, _)
    assert_escaped(message)
    quote = message["blocks"][1]["text"]["text"]
    assert all(line.startswith("> ") for line in quote.splitlines())  # a newline ends no quote
    assert "<!everyone>" not in quote


def test_programme_settings_are_plain_text_only(_: Translator) -> None:
    form = ProgramForm(
        name=HOSTILE, goals=[HOSTILE], start_date=None, end_date=None, topics=[HOSTILE]
    )
    view = program_modal(form, _, is_new=False)
    text = json.dumps(view, ensure_ascii=False)
    assert HOSTILE in text and "&lt;" not in text  # shown back as typed, in inputs
    for mrkdwn in _mrkdwn(view):
        assert HOSTILE not in mrkdwn


def test_enrollment_closed_as_inline_error_is_plain(_: Translator) -> None:
    assert HOSTILE in common.enrollment_closed_error(_, HOSTILE)


def test_a_value_without_label_is_shown_inert(_: Translator) -> None:
    assert label(FORMAT, "<!channel>", _) == "&lt;!channel&gt;"
    assert label(FORMAT, "video", _) == _("Video call")


def test_admin_versions_of_programme_texts_are_escaped(_: Translator) -> None:
    """The admin's name, goals and topics in the reader's language are escaped like the
    originals (here only the versions are hostile, so what is shown is the version)."""
    program = Program(
        id=1,
        name="Mentoring",
        goals=["Grow"],
        start_date=date(2027, 1, 1),
        end_date=date(2027, 6, 30),
        topic_catalogue=[{"id": "evil", "label": "Evil"}],
        settings={
            "texts": {
                locale: {"name": HOSTILE, "goals": [HOSTILE], "topics": {"evil": HOSTILE}}
                for locale in SUPPORTED
            }
        },
    )
    form = EnrollmentForm(role="mentee", topics_wanted=["evil"])
    modal = enrollment_views.enrollment_modal(
        program, form, _, timezone="UTC", locale_name="English", editing=False
    )
    assert_escaped(modal)
    assert HOSTILE in json.dumps(modal["blocks"][2:], ensure_ascii=False)  # the topic option
    assert_escaped(home_view([HomeState(program, None, [], False, None, may_join=True)], _))
    person = _person(1, "UMENTOR01", "mentor", department="Sales")
    assert_escaped(enrollment_views.enrolled_confirmation(program, person, _, created=True))
