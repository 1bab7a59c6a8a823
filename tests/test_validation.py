"""The validation layer (bot/domain/validation.py) and the forms that use it, tested directly."""

from __future__ import annotations

from datetime import date

import pytest

from bot.domain import validation
from bot.domain.enrollment import EnrollmentForm, validate_enrollment
from bot.domain.programs import ProgramForm, validate_program
from bot.simulated_slack import signed_requests as sr
from handlers import payloads
from storage.models import Program

PROGRAM = Program(name="P", topic_catalogue=[{"id": "ai_tools", "label": "AI tools"}])
KNOWN = {"UMANAGER1", "UCOLLEAGUE1", "WGRID0001"}


def _exists(user_id: str) -> bool:
    return user_id in KNOWN


def _enrollment(**changes: object) -> EnrollmentForm:
    form = EnrollmentForm(role="mentee", topics_wanted=["ai_tools"])
    for key, value in changes.items():
        setattr(form, key, value)
    return form


def _program(**changes: object) -> ProgramForm:
    form = ProgramForm(
        name="Digital Leaders",
        goals=["80% of leaders complete 6 sessions"],
        start_date=date(2027, 1, 1),
        end_date=date(2027, 6, 30),
        community_channel="C0MENTORING",
    )
    for key, value in changes.items():
        setattr(form, key, value)
    return form


# Text -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad", ["\x00", "a\x00b", "\x01", "\x08", "\x0b", "\x0c", "\r", "\x1b[31m"]
)
def test_control_characters_are_refused(bad: str) -> None:
    assert validation.text_error(f"Marketing{bad}") == validation.BAD_TEXT


def test_lone_surrogates_are_refused() -> None:
    assert validation.text_error("goal \ud800") == validation.BAD_TEXT


@pytest.mark.parametrize(
    "good", ["", "Marketing & Sales", "line one\nline two", "tab\tseparated", "Tiếng Việt 🚀 <b>"]
)
def test_ordinary_text_passes(good: str) -> None:
    assert validation.text_error(good) is None


def test_text_errors_checks_every_line_of_a_list() -> None:
    errors = validation.text_errors({"name": "ok", "goals": ["fine", "bad\x00"], "topics": []})
    assert errors == {"goals": validation.BAD_TEXT}


# Slack ids --------------------------------------------------------------------------------------


@pytest.mark.parametrize("good", ["U012ABCDEF", "UMANAGER1", "W0123456789"])
def test_user_ids(good: str) -> None:
    assert validation.is_user_id(good)


@pytest.mark.parametrize(
    "bad", ["", "U", "u012abc", "C012ABC", "U" + "A" * 5000, "U012 ABC", "<@U012ABC>", "U012\x00"]
)
def test_malformed_user_ids(bad: str) -> None:
    assert not validation.is_user_id(bad)
    assert validation.user_error(bad) == validation.BAD_USER


@pytest.mark.parametrize("good", ["C0MENTORING", "G012ABCDEF"])
def test_channel_ids(good: str) -> None:
    assert validation.channel_error(good) is None


@pytest.mark.parametrize("bad", ["", "#general", "U012ABC", "C" + "1" * 5000, "c012abc"])
def test_malformed_channel_ids(bad: str) -> None:
    assert validation.channel_error(bad) == validation.BAD_CHANNEL


def test_user_exists_is_asked_only_for_well_formed_ids() -> None:
    asked: list[str] = []

    def exists(user_id: str) -> bool:
        asked.append(user_id)
        return False

    assert validation.user_error("U" + "A" * 5000, exists) == validation.BAD_USER
    assert validation.users_error(["UOK1", "bad"], exists) == validation.BAD_USERS
    assert asked == []
    assert validation.user_error("UNOBODY1", exists) == validation.UNKNOWN_USER
    assert validation.users_error(["UNOBODY1"], exists) == validation.UNKNOWN_USERS
    assert validation.user_error(None, exists) is None
    assert validation.users_error([], exists) is None


# Programme dates --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (date(2027, 1, 1), date(2027, 6, 30), {}),
        (date(2000, 1, 1), date(2004, 12, 31), {}),
        (date(2100, 12, 31), date(2105, 12, 31), {}),
        (date(2024, 2, 29), date(2029, 2, 28), {}),
        (date(1, 1, 1), date(2027, 6, 30), {"start_date": validation.BAD_START}),
        (date(9999, 12, 31), date(2027, 6, 30), {"start_date": validation.BAD_START}),
        (date(1999, 12, 31), None, {"start_date": validation.BAD_START}),
        (date(2101, 1, 1), None, {"start_date": validation.BAD_START}),
        (date(2027, 1, 1), date(1971, 1, 1), {"end_date": validation.END_BEFORE_START}),
        (date(2027, 1, 1), date(1, 1, 1), {"end_date": validation.END_BEFORE_START}),
        (date(2027, 1, 1), date(2027, 1, 1), {"end_date": validation.END_BEFORE_START}),
        (date(2027, 1, 1), date(9999, 12, 31), {"end_date": validation.TOO_LONG_PROGRAM}),
        (date(2027, 1, 1), date(2032, 1, 2), {"end_date": validation.TOO_LONG_PROGRAM}),
        (date(2024, 2, 29), date(2029, 3, 1), {"end_date": validation.TOO_LONG_PROGRAM}),
        (None, date(9999, 12, 31), {"end_date": validation.BAD_END}),
        (None, date(1971, 1, 1), {"end_date": validation.BAD_END}),
        (
            date(1, 1, 1),
            date(9999, 12, 31),
            {"start_date": validation.BAD_START, "end_date": validation.BAD_END},
        ),
    ],
)
def test_programme_dates(start: date | None, end: date | None, expected: dict[str, str]) -> None:
    assert validation.program_dates_errors(start, end) == expected


# The enrollment form ----------------------------------------------------------------------------


def test_a_good_enrollment_is_valid_with_the_directory() -> None:
    form = _enrollment(manager_user_id="UMANAGER1", avoid_user_ids=["UCOLLEAGUE1", "WGRID0001"])
    assert validate_enrollment(form, PROGRAM, "UME1", user_exists=_exists) == {}


@pytest.mark.parametrize("field", ["department", "personal_goals", "success_definition"])
def test_enrollment_refuses_control_characters_in_each_text(field: str) -> None:
    form = _enrollment(**{field: "Sales\x00"})
    assert validate_enrollment(form, PROGRAM, "UME1") == {field: validation.BAD_TEXT}


def test_unstorable_text_wins_over_length() -> None:
    form = _enrollment(personal_goals="\x00" * 2000)
    assert validate_enrollment(form, PROGRAM, "UME1") == {"personal_goals": validation.BAD_TEXT}


def test_enrollment_refuses_malformed_and_unknown_people() -> None:
    huge = "U" + "A" * 4999
    assert validate_enrollment(_enrollment(manager_user_id=huge), PROGRAM, "UME1") == {
        "manager": validation.BAD_USER
    }
    assert validate_enrollment(
        _enrollment(avoid_user_ids=["UCOLLEAGUE1", huge]), PROGRAM, "UME1"
    ) == {"avoid": validation.BAD_USERS}
    unknown = _enrollment(manager_user_id="UGHOST01", avoid_user_ids=["UGHOST02"])
    assert validate_enrollment(unknown, PROGRAM, "UME1", user_exists=_exists) == {
        "manager": validation.UNKNOWN_USER,
        "avoid": validation.UNKNOWN_USERS,
    }
    # Without a directory (the default) only the shape is checked.
    assert validate_enrollment(unknown, PROGRAM, "UME1") == {}


def test_self_as_manager_keeps_its_own_message() -> None:
    errors = validate_enrollment(
        _enrollment(manager_user_id="UME1"), PROGRAM, "UME1", user_exists=_exists
    )
    assert errors == {"manager": "That is you: pick your manager, or leave it empty."}


# The programme form -----------------------------------------------------------------------------


def test_a_good_programme_is_valid() -> None:
    assert validate_program(_program(enrollment="open")) == {}
    assert validate_program(_program(enrollment="closed")) == {}


@pytest.mark.parametrize("raw", ["bogus", "", "OPEN", "open "])
def test_enrollment_choice_must_be_open_or_closed(raw: str) -> None:
    form = ProgramForm(
        name="P",
        goals=["g"],
        start_date=date(2027, 1, 1),
        end_date=date(2027, 6, 30),
        enrollment=raw,
    )
    assert set(validate_program(form)) == {"enrollment"}
    assert form.enrollment_open is False  # never read as "open", even if saved by mistake


def test_raw_choice_decides_enrollment_open() -> None:
    opened = ProgramForm(name="P", goals=["g"], start_date=None, end_date=None, enrollment="open")
    closed = ProgramForm(name="P", goals=["g"], start_date=None, end_date=None, enrollment="closed")
    assert opened.enrollment_open is True and closed.enrollment_open is False


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": "Leaders\x00"}, "name"),
        ({"goals": ["fine", "bad\x00"]}, "goals"),
        ({"topics": ["AI tools", "\x07bell"]}, "topics"),
        ({"community_channel": "C" * 5000}, "community_channel"),
        ({"community_channel": "#general"}, "community_channel"),
        ({"start_date": date(1, 1, 1)}, "start_date"),
        ({"start_date": date(9999, 12, 31), "end_date": date(9999, 12, 31)}, "start_date"),
        ({"end_date": date(9999, 12, 31)}, "end_date"),
        ({"end_date": date(1971, 1, 1)}, "end_date"),
    ],
)
def test_programme_refusals_name_their_field(changes: dict[str, object], field: str) -> None:
    assert field in validate_program(_program(**changes))


# The payload readers keep what was sent ---------------------------------------------------------


def test_readers_keep_odd_values_for_validation() -> None:
    huge = "U" + "A" * 4999
    values = sr.values_from(
        {
            "manager": sr.users_select(huge),
            "avoid": {"type": "multi_users_select", "selected_users": ["UOK1", 42]},
            "channel": sr.conversations_select("C" * 5000),
            "enrollment": sr.radio("bogus"),
            "number_user": {"type": "users_select", "selected_user": 12345},
        }
    )
    assert payloads.user(values, "manager") == huge
    assert payloads.users(values, "avoid") == ["UOK1", "42"]
    assert payloads.conversation(values, "channel") == "C" * 5000
    assert payloads.selected(values, "enrollment") == "bogus"
    assert payloads.user(values, "number_user") == "12345"
    assert validation.user_error(payloads.user(values, "number_user")) == validation.BAD_USER
    empty = sr.values_from(
        {"manager": sr.users_select(None), "channel": sr.conversations_select("")}
    )
    assert payloads.user(empty, "manager") is None
    assert payloads.conversation(empty, "channel") is None
    assert payloads.users(empty, "avoid") == []
