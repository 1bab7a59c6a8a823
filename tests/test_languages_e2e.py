"""Every language, every number; forms that mean what they say (issue #20, items 6-10).

Dates, months, weekdays and numbers in the reader's locale; messages to a pair in both
partners' languages; channel posts in the programme's channel language; the admin's texts per
language; optional fields that are optional; a confirmation after saving the programme; the
admin's next step as App Home's primary button. End to end through signed requests and the
simulated Slack (SQLite and PostgreSQL), plus renders of the pure views in German and
Vietnamese.
"""

from __future__ import annotations

import io
import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from pypdf import PdfReader
from sqlmodel import select

from bot.domain import digest as digest_domain
from bot.domain.journey import MeetingOptions, PairProgress
from bot.domain.programs import ProgramForm, ProgramTexts, save_program, validate_program
from bot.i18n import SUPPORTED, translator
from bot.simulated_slack import signed_requests as sr
from bot.simulated_slack.web_api import FakeSlack
from bot.views import journey as journey_views
from bot.views import recognition as recognition_views
from scheduler.pulse import run_pulse
from scheduler.recognition import run_digest, run_milestones
from storage.db import Database
from storage.models import CheckInCycle, CheckInRequest, Goal, Pair, Participant, Program, ShoutOut
from tests.conftest import ADMIN, RunningApp
from tests.flows import (
    Person,
    command_reply,
    enroll,
    enroll_pool,
    eventually,
    match_review,
    open_modal,
    program_values,
    setup_program,
    stored_pairs,
)
from tests.test_journey_e2e import Member, seed
from tests.test_pulse_e2e import manual_clock
from tests.test_recognition_e2e import CHANNEL, channel_posts, make_world, scheduled
from tests.view_catalogue import all_views

DE, VI, EN = translator("de"), translator("vi"), translator("en")


# 6. Dates, weekdays, months and numbers in the reader's locale -----------------------------


def test_translator_formats_for_each_locale() -> None:
    march = date(2027, 3, 4)
    assert [t.period("2027-03") for t in (EN, DE, VI)] == [
        "March 2027",
        "März 2027",
        "tháng 3 năm 2027",
    ]
    assert [t.day(march) for t in (EN, DE, VI)] == ["Mar 4, 2027", "04.03.2027", "4 thg 3, 2027"]
    assert [t.decimal(5) for t in (EN, DE, VI)] == ["5.0", "5,0", "5,0"]
    assert [t.percent(75) for t in (EN, DE, VI)] == ["75%", "75\xa0%", "75%"]
    assert [t.signed(12) for t in (EN, DE, VI)] == ["+12", "+12", "+12"]
    assert EN.number(1234) == "1,234" and DE.number(1234) == "1.234"
    assert EN.period("2027-W05") == "2027-W05"  # not a date: as it is


def test_slots_next_check_in_and_targets_in_german_and_vietnamese() -> None:
    slot = datetime(2027, 3, 4, 8, 0, tzinfo=UTC)  # a Thursday
    goal = Goal(id=1, pair_id=1, title="Prompting", target_date=date(2027, 6, 30), progress=50)
    expected = {
        "de": ("Do., 4. März 2027, 09:00 (CET)", "März 2027", "30.06.2027", "01.05.2027"),
        "vi": ("15:00 Thứ 5, 4 thg 3, 2027 (+07)", "tháng 3 năm 2027", "30 thg 6, 2027", ""),
    }
    for language, (slot_text, month, target, paused) in expected.items():
        _ = translator(language)
        zone = "Europe/Berlin" if language == "de" else "Asia/Ho_Chi_Minh"
        offer = journey_views.not_yet_message(MeetingOptions([slot]), zone, zone, "U2", 1, _)
        shown = json.dumps(offer["blocks"], ensure_ascii=False)
        assert slot_text in shown, shown
        assert "Thu" not in shown and "2027-03-04" not in shown
        status = journey_views.status_message(
            [PairProgress("U2", [goal], 3)], "2027-03", date(2027, 5, 1), _
        )
        shown = json.dumps(status["blocks"], ensure_ascii=False)
        assert month in shown and target in shown and paused in shown, shown
        assert "2027-03" not in shown and "2027-06-30" not in shown
        escalation = journey_views.escalation_message(1, "U1", "U2", ["2027-01", "2027-02"], _)
        assert _.period("2027-01") in escalation["text"] and "2027-01" not in escalation["text"]


def test_digest_names_the_month_in_the_channel_language() -> None:
    program = Program(id=1, name="Mentoring", goals=[], topic_catalogue=[])
    period = digest_domain.period_before(datetime(2027, 3, 2, tzinfo=UTC), "Europe/Berlin")
    for _, month in ((DE, "Februar 2027"), (VI, "tháng 2 năm 2027")):
        message = recognition_views.digest_message(digest_domain.Digest(program, period), _)
        assert month in message["text"]


def _two_cycles(app: RunningApp) -> None:
    """Two pairs; January: one met (rating 4), February: both met (ratings 4 and 5)."""
    with app.db.session() as session:
        people = session.exec(select(Participant)).all()
        mentors = [p for p in people if p.role == "mentor"]
        mentees = [p for p in people if p.role == "mentee"]
        pairs = []
        for mentor, mentee in zip(mentors, mentees, strict=True):
            pair = Pair(
                program_id=mentor.program_id,
                mentor_id=mentor.id or 0,
                mentee_id=mentee.id or 0,
                status="active",
            )
            session.add(pair)
            pairs.append((pair, mentor))
        session.flush()
        for period, met in (("2027-01", [True, False]), ("2027-02", [True, True])):
            cycle = CheckInCycle(program_id=mentors[0].program_id, period=period)
            session.add(cycle)
            session.flush()
            for index, ((pair, mentor), did) in enumerate(zip(pairs, met, strict=True)):
                session.add(
                    CheckInRequest(
                        cycle_id=cycle.id or 0,
                        pair_id=pair.id or 0,
                        participant_id=mentor.id or 0,
                        status="met" if did else "not_yet",
                        rating=4 + index if did else None,
                    )
                )


def test_the_report_writes_numbers_and_months_as_a_german_admin_does(
    running_app: RunningApp,
) -> None:
    app = running_app
    app.fake.add_user("UADMINDE", real_name="Dana Admin", locale="de-DE", is_admin=True)
    setup_program(app)
    people = [
        Person("UREPA1", "mentor", offered=["ai_tools"]),
        Person("UREPA2", "mentor", offered=["ai_tools"]),
        Person("UREPB1", "mentee", wanted=["ai_tools"]),
        Person("UREPB2", "mentee", wanted=["ai_tools"]),
    ]
    for person in people:
        person.add_to(app)
        assert enroll(app, person).status == 200
    _two_cycles(app)
    reply = command_reply(app, "UADMINDE", "report")
    text = json.dumps(reply["blocks"], ensure_ascii=False)
    assert DE("Programme report: {name}", name="Digital Leaders 2027") in text
    assert "Januar 2027: 50\xa0% getroffen (1 von 2 gefragten Tandems; 0 ohne Antwort), " in text
    assert "Februar 2027: 100\xa0% getroffen (2 von 2 gefragten Tandems; 0 ohne Antwort), " in text
    assert "Bewertung 4,0" in text and "Bewertung 4,5" in text
    assert DE("Average session rating: {rating}", rating="4,3") in text
    assert "2027-01" not in text and "4.5" not in text


# 7. Messages to a pair in each member's language; channel posts in the channel language -----


def test_goals_saved_reach_a_german_and_english_pair_in_both_languages(
    running_app: RunningApp,
) -> None:
    app = running_app
    setup_program(app)
    mentor = Person("UGOALDE1", "mentor", "de", offered=["ai_tools"])
    mentee = Person("UGOALEN1", "mentee", "en", wanted=["ai_tools"])
    for person in (mentor, mentee):
        person.add_to(app)
        assert enroll(app, person).status == 200
    app.slack.view_submission(ADMIN, match_review(app), {})
    intro = app.fake.wait_for("chat.postMessage", lambda c: c.params["channel"].startswith("G"))
    eventually(lambda: all(p.conversation_id for p in stored_pairs(app, "active")))
    button = next(
        e for b in intro.params["blocks"] if b["type"] == "actions" for e in b["elements"]
    )
    app.slack.block_action(mentee.user_id, "pair_set_goals", value=button["value"])
    opened = app.fake.wait_for(
        "views.open", lambda c: c.params["view"]["callback_id"] == "pair_goals"
    )
    entries = {
        "goal_1": sr.plain("Ship an AI helper"),
        "measure_1": sr.plain("Used weekly"),
        "target_1": sr.datepicker("2099-03-31"),
    }
    saved = app.slack.view_submission(
        mentee.user_id, opened.response["view"], sr.values_from(entries)
    )
    assert saved.status == 200 and "errors" not in saved.body
    post = app.fake.wait_for(
        "chat.postMessage",
        lambda c: c.went_to(intro.response["channel"]) and "Ship an AI helper" in str(c.params),
    )
    text = FakeSlack.message_text(post.params)
    for _ in (DE, EN):
        assert _("<@{user}> set your pair goals:", user=mentee.user_id) in text, text
    assert DE("<@{user}> set your pair goals:", user="U") != EN(
        "<@{user}> set your pair goals:", user="U"
    )


def test_an_admins_note_to_a_pair_speaks_both_partners_languages(
    running_app: RunningApp,
) -> None:
    app = running_app
    [pair_id] = seed(app, [(Member("UCONTDE1", "mentor"), Member("UCONTVI1", "mentee"))])
    with app.db.session() as session:
        for person in session.exec(select(Participant)).all():
            person.locale = "de" if person.slack_user_id == "UCONTDE1" else "vi"
            session.add(person)
    app.slack.block_action(
        ADMIN,
        "journey_contact_pair",
        value=str(pair_id),
        message={"ts": "1700000000.000100", "text": "A quiet pair"},
        channel_id=app.fake.dm_channel(ADMIN),
    )
    post = app.fake.wait_for(
        "chat.postMessage", lambda c: "<@UADMIN01>" in json.dumps(c.params.get("blocks"))
    )
    text = FakeSlack.message_text(post.params)
    note = (
        "Hi both! <@{admin}> from the programme team here: how is it going? If finding time is "
        "hard, or something is in the way, just reply here and we'll help."
    )
    assert DE(note, admin=ADMIN) in text and VI(note, admin=ADMIN) in text
    assert EN(note, admin=ADMIN) not in text


def test_channel_posts_use_the_programmes_channel_language(running_app: RunningApp) -> None:
    app = running_app
    world = make_world(app)
    with app.db.session() as session:
        program = session.get(Program, world.program_id)
        assert program is not None
        program.settings = {**program.settings, "channel_language": "vi"}
        session.add(program)
    command_reply(app, ADMIN, "shoutout <@UMENTOR1> Danke für den Workshop")
    [post] = channel_posts(app.fake)
    assert VI("Shout-out") in json.dumps(post["blocks"], ensure_ascii=False)
    # The German mentor's own thank-you stays in German.
    dms = eventually(lambda: app.fake.dm_texts("UMENTOR1"))
    assert DE("You received a shout-out in <#{channel}>. Thank you!", channel=CHANNEL) in dms[0]
    with app.db.session() as session:  # given in February: the month's digest reports it
        for row in session.exec(select(ShoutOut)).all():
            row.created_at = datetime(2027, 2, 15, 12, tzinfo=UTC)
            session.add(row)
    scheduled(app, run_digest, datetime(2027, 3, 2, 9, tzinfo=UTC))
    digest = eventually(lambda: len(channel_posts(app.fake)) > 1 and channel_posts(app.fake)[-1])
    assert VI("Reverse mentoring in {month}", month="tháng 2 năm 2027") in digest["text"]


def test_the_channel_language_defaults_to_the_workspace_default_and_is_a_setting(
    running_app: RunningApp,
) -> None:
    app = running_app
    view = open_modal(app, ADMIN, "program")
    block = next(b for b in view["blocks"] if b.get("block_id") == "channel_language")
    assert block["element"]["initial_option"]["value"] == "en"  # DEFAULT_LOCALE
    assert [o["value"] for o in block["element"]["options"]] == list(SUPPORTED)
    values = program_values() | sr.values_from({"channel_language": sr.static_select("de")})
    assert app.slack.view_submission(ADMIN, view, values).status == 200
    with app.db.session() as session:
        program = session.exec(select(Program)).one()
    assert program.settings["channel_language"] == "de"
    again = open_modal(app, ADMIN, "program")
    block = next(b for b in again["blocks"] if b.get("block_id") == "channel_language")
    assert block["element"]["initial_option"]["value"] == "de"


# 8. The admin's texts per language, the original as fallback ---------------------------------

VI_TEXTS = {
    "name_vi": sr.plain("Cố vấn ngược 2027"),
    "goals_vi": sr.plain("80% lãnh đạo hoàn thành 6 buổi\n"),  # the second goal: the original
    "topics_vi": sr.plain("Công cụ AI\n\nAn ninh mạng"),  # an empty line keeps the original
}


def test_members_read_the_programme_in_their_language_with_the_original_as_fallback(
    running_app: RunningApp,
) -> None:
    app = running_app
    view = open_modal(app, ADMIN, "program")
    labels = [b["label"]["text"] for b in view["blocks"] if b.get("block_id", "")[-3:] == "_vi"]
    assert labels == [
        "Programme name · Tiếng Việt",
        "Programme goals · Tiếng Việt",
        "Topic catalogue · Tiếng Việt",
    ]
    values = program_values() | sr.values_from(VI_TEXTS)
    assert app.slack.view_submission(ADMIN, view, values).status == 200
    with app.db.session() as session:
        program = session.exec(select(Program)).one()
    assert program.settings["texts"] == {
        "vi": {
            "name": "Cố vấn ngược 2027",
            "goals": ["80% lãnh đạo hoàn thành 6 buổi"],
            "topics": {"ai_tools": "Công cụ AI", "cybersecurity_hygiene": "An ninh mạng"},
        }
    }
    shown: dict[str, str] = {}
    for person in (Person("UTEXTVI1", "mentee", "vi"), Person("UTEXTEN1", "mentee", "en")):
        person.add_to(app)
        modal = open_modal(app, person.user_id, "join")
        shown[person.language] = json.dumps(modal["blocks"], ensure_ascii=False)
    assert "Cố vấn ngược 2027" in shown["vi"] and "Digital Leaders 2027" not in shown["vi"]
    assert "80% lãnh đạo hoàn thành 6 buổi" in shown["vi"]
    assert "Leaders rate digital confidence +1" in shown["vi"]  # no version: the original
    assert "Công cụ AI" in shown["vi"] and "An ninh mạng" in shown["vi"]
    assert VI("Social media") in shown["vi"]  # a default topic without a version: translated
    assert "Digital Leaders 2027" in shown["en"] and "Cố vấn" not in shown["en"]
    assert "Công cụ AI" not in shown["en"] and "AI tools" in shown["en"]
    # The settings modal shows the versions again, lined up with the originals.
    again = open_modal(app, ADMIN, "program")
    prefilled = {
        b["block_id"]: b["element"].get("initial_value")
        for b in again["blocks"]
        if b.get("block_id", "").endswith("_vi")
    }
    assert prefilled == {
        "name_vi": "Cố vấn ngược 2027",
        "goals_vi": "80% lãnh đạo hoàn thành 6 buổi",
        "topics_vi": "Công cụ AI\n\nAn ninh mạng",
    }


def test_more_version_lines_than_originals_are_refused_inline(running_app: RunningApp) -> None:
    app = running_app
    view = open_modal(app, ADMIN, "program")
    values = program_values() | sr.values_from(
        {"goals_de": sr.plain("Eins\nZwei\nDrei"), "name_de": sr.plain("N" * 151)}
    )
    response = app.slack.view_submission(ADMIN, view, values)
    errors = response.json()["errors"]
    assert errors == {
        "goals_de": "One line per goal above, in the same order: there are more lines than goals.",
        "name_de": "Keep the name under 150 characters.",
    }


def test_a_renamed_topic_keeps_its_versions(database: Database) -> None:
    form = ProgramForm(
        name="P",
        goals=["Grow"],
        start_date=date(2027, 1, 1),
        end_date=date(2027, 6, 30),
        topics=["AI tools", "Social media"],
        texts={"de": ProgramTexts(name="Programm", goals=["Wachsen"], topics=["KI", "Soziale"])},
    )
    assert validate_program(form) == {}
    with database.session() as session:
        program = save_program(session, form, admin_id="UADMIN01")
        form.topics = ["AI tools and agents", "Social media"]  # a rename keeps the id
        form.texts = None  # a form built in code keeps what is stored
        program = save_program(session, form, admin_id="UADMIN01", program=program)
        texts = program.settings["texts"]["de"]
    assert texts == {
        "name": "Programm",
        "goals": ["Wachsen"],
        "topics": {"ai_tools": "KI", "social_media": "Soziale"},
    }


def test_certificates_carry_the_programme_name_and_dates_in_each_partners_language(
    running_app: RunningApp,
) -> None:
    app = running_app
    world = make_world(app, completion_cycles=2)
    with app.db.session() as session:
        program = session.get(Program, world.program_id)
        assert program is not None
        program.settings = {
            **program.settings,
            "texts": {"vi": {"name": "Lãnh đạo số 2027"}, "de": {"name": "Digitale Führung"}},
        }
        session.add(program)
        for period in ("2027-01", "2027-02"):
            cycle = CheckInCycle(program_id=world.program_id, period=period)
            session.add(cycle)
            session.flush()
            for person in (world.mentor_id, world.mentee_id):
                session.add(
                    CheckInRequest(
                        cycle_id=cycle.id or 0,
                        pair_id=world.pair_id,
                        participant_id=person,
                        status="met",
                    )
                )
    scheduled(app, run_milestones, datetime(2027, 3, 3, tzinfo=UTC))
    files = eventually(lambda: len(app.fake.uploaded_files()) >= 2 and app.fake.uploaded_files())
    pages = {f["channel"]: PdfReader(io.BytesIO(f["bytes"])).pages[0].extract_text() for f in files}
    assert "Lãnh đạo số 2027" in pages["DUMENTEE1"] and "1 tháng 1, 2027" in pages["DUMENTEE1"]
    assert "Digitale Führung" in pages["DUMENTOR1"] and "1. Januar 2027" in pages["DUMENTOR1"]


# 9. Forms that mean what they say ------------------------------------------------------------

OPTIONAL_WORDS = ("optional", "không bắt buộc")


@pytest.mark.parametrize("language", SUPPORTED)
def test_no_label_says_optional_where_slack_already_does(language: str) -> None:
    """Slack marks an optional input "(optional)" itself: a label saying it too reads twice."""
    _ = translator(language)
    checked = 0
    for name, view in all_views(_).items():
        for block in view.get("blocks", []):
            if block.get("type") == "input" and block.get("optional"):
                checked += 1
                label = block["label"]["text"].lower()
                assert not any(word in label for word in OPTIONAL_WORDS), (name, label)
    assert checked > 10


def _input(view: dict[str, Any], block_id: str) -> dict[str, Any]:
    return next(b for b in view["blocks"] if b.get("block_id") == block_id)


def test_picking_a_role_makes_the_topics_it_needs_required(running_app: RunningApp) -> None:
    app = running_app
    setup_program(app)
    person = Person("UROLE001", "mentor", "de")
    person.add_to(app)
    modal = open_modal(app, person.user_id, "join")
    role = _input(modal, "role")
    assert role["dispatch_action"] is True
    assert _input(modal, "topics_offered")["optional"] is True  # no role yet: both optional
    assert _input(modal, "topics_wanted")["optional"] is True

    def pick(role_value: str, typed: dict[str, Any]) -> dict[str, Any]:
        before = len(app.fake.calls("views.update"))
        app.slack.block_action(
            person.user_id,
            "role",
            block_id="role",
            action_type="radio_buttons",
            selected_option=role_value,
            view=modal,
            values=sr.values_from({"role": sr.radio(role_value), **typed}),
        )
        call = app.fake.wait_for_count("views.update", before + 1)[-1]
        assert call.ok, call.error
        assert call.params["view_id"] == modal["id"]
        return call.response["view"]  # the modal as it is now (its new hash included)

    modal = as_mentor = pick("mentor", {"department": sr.plain("Recht")})
    assert _input(as_mentor, "topics_offered")["optional"] is False
    assert _input(as_mentor, "topics_wanted")["optional"] is True
    assert _input(as_mentor, "development_areas")["optional"] is True
    assert _input(as_mentor, "department")["element"]["initial_value"] == "Recht"  # kept
    assert _input(as_mentor, "role")["element"]["initial_option"]["value"] == "mentor"
    as_mentee = pick("mentee", {"topics_wanted": sr.multi_static_select(["ai_tools"])})
    assert _input(as_mentee, "topics_offered")["optional"] is True
    assert _input(as_mentee, "topics_wanted")["optional"] is False
    kept = _input(as_mentee, "topics_wanted")["element"]["initial_options"]
    assert [option["value"] for option in kept] == ["ai_tools"]
    # The rule behind it stands: a mentor without a topic to teach is refused inline.
    submit = enroll(app, person, topics_offered=sr.multi_static_select([]))
    assert "topics_offered" in submit.json()["errors"]


def test_the_survey_states_the_programmes_own_anonymity_threshold(
    running_app: RunningApp,
) -> None:
    app = running_app
    at = datetime(2027, 2, 16, 14, 0, tzinfo=UTC)
    with manual_clock(at - timedelta(days=30)) as manual:
        setup_program(app, start="2027-01-01", end="2027-12-31", threshold=7, pulse="monthly")
        person = Person("USURVEY1", "mentee", "de", wanted=["ai_tools"])
        person.add_to(app)
        assert enroll(app, person).status == 200
        manual.set(at)
        assert run_pulse(app.services, at).queued == 1
        app.services.delivery.sender.flush()
        posted = app.fake.wait_for(
            "chat.postMessage",
            lambda c: c.went_to(person.user_id) and "pulse_open" in str(c.params.get("blocks")),
        )
        button = next(
            e
            for b in posted.params["blocks"]
            if b["type"] == "actions"
            for e in b["elements"]
            if e["action_id"] == "pulse_open"
        )
        before = len(app.fake.calls("views.open"))
        app.slack.block_action(
            person.user_id,
            "pulse_open",
            value=button["value"],
            message=posted.response["message"],
            channel_id=posted.response["channel"],
        )
        view = app.fake.wait_for_count("views.open", before + 1)[-1].params["view"]
    notice = view["blocks"][0]["elements"][0]["text"]
    expected = DE(
        "Anonymous: we store only totals, never who gave which answer. Results are "
        "shown only for groups of at least {n} people, after the survey closes.",
        n="7",
    )
    assert notice == expected
    change = _input(view, "change")
    assert change["optional"] is True and change["label"]["text"] == DE("What should we change?")


# 10. A confirmation after saving; the next step is the primary button ----------------------


def _admin_buttons(app: RunningApp) -> dict[str, str | None]:
    """The buttons of the admin's part of App Home (action id -> style) after opening it."""

    def to_admin(call: Any) -> bool:
        return bool(call.ok and call.params.get("user_id") == ADMIN)

    before = len([c for c in app.fake.calls("views.publish") if to_admin(c)])
    app.slack.app_home_opened(ADMIN)
    home = app.fake.wait_for_count("views.publish", before + 1, to_admin)[-1].params["view"]
    return {
        element["action_id"]: element.get("style")
        for block in home["blocks"]
        # Per programme: admin_actions_<id>, report_actions_<id>.
        if str(block.get("block_id")).startswith(("admin_actions_", "report_actions_"))
        for element in block["elements"]
    }


def test_app_home_makes_the_admins_next_step_the_primary_button(
    running_app: RunningApp,
) -> None:
    app = running_app
    setup_program(app)
    buttons = _admin_buttons(app)
    assert buttons["home_program_settings"] == "primary"  # nobody to match yet
    assert buttons["home_run_matching"] is None
    enroll_pool(app, 2, 2)
    buttons = _admin_buttons(app)
    assert buttons["home_run_matching"] == "primary"
    assert buttons["home_program_settings"] is None and buttons["home_report"] is None
    review = match_review(app)  # a proposal waits for approval
    buttons = _admin_buttons(app)
    assert buttons["match_review_open"] == "primary" and "home_run_matching" not in buttons
    approved = app.slack.view_submission(ADMIN, review, {})
    assert "Matches approved" in approved.body
    eventually(lambda: stored_pairs(app, "active"))
    buttons = _admin_buttons(app)
    assert buttons["home_report"] == "primary"  # everyone matched: follow the programme
    assert buttons["home_run_matching"] is None
    primaries = [action for action, style in buttons.items() if style == "primary"]
    assert primaries == ["home_report"]
    newcomer = Person("UNEWCOMER", "mentee", "vi", wanted=["data_literacy"])
    newcomer.add_to(app)
    assert enroll(app, newcomer).status == 200  # nobody offers that topic: waits unmatched
    eventually(lambda: _admin_buttons(app)["home_run_matching"] == "primary")


def test_saving_a_programme_with_versions_confirms_which_languages_it_has(
    running_app: RunningApp,
) -> None:
    app = running_app
    app.fake.add_user("UADMINVI", real_name="Vy Admin", locale="vi-VN", is_admin=True)
    view = open_modal(app, "UADMINVI", "program")
    values = program_values() | sr.values_from(
        {**VI_TEXTS, "channel_language": sr.static_select("vi")}
    )
    answer = app.slack.view_submission("UADMINVI", view, values).json()
    assert answer["response_action"] == "update"
    shown = answer["view"]["blocks"][0]["text"]["text"]
    assert VI("The programme is set up.") in shown
    assert VI("Texts in other languages: {languages}", languages="Tiếng Việt") in shown
    assert "1 thg 1, 2027" in shown  # the dates as the admin writes them
    assert (
        VI(
            "Channel: {channel} · Channel language: {language}",
            channel="<#C0MENTORING>",
            language="Tiếng Việt",
        )
        in shown
    )
