"""Rules that moved out of the listeners: who may enroll, the intro's languages, pair goals,
and the dedupe keys of the messages the app owes."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from bot.domain import enrollment, notices, pairing
from storage.models import Participant, ParticipantStatus, Program


def _participant(status: str = ParticipantStatus.WAITING, **extra: object) -> Participant:
    return Participant(
        id=7, program_id=1, slack_user_id="U1", role="mentee", status=status, **extra
    )


@pytest.mark.parametrize(
    ("is_open", "status", "allowed"),
    [
        (True, None, True),  # a newcomer while open
        (False, None, False),  # a newcomer while closed
        (False, ParticipantStatus.WAITING, True),  # enrolled: may always edit
        (False, ParticipantStatus.PAIRED, True),
        (False, ParticipantStatus.LEFT, False),  # left: joining again is a new enrollment
        (True, ParticipantStatus.LEFT, True),
    ],
)
def test_who_may_enroll(is_open: bool, status: str | None, allowed: bool) -> None:
    program = Program(name="P", enrollment_open=is_open)
    participant = _participant(status) if status else None
    assert enrollment.may_enroll(program, participant) is allowed
    assert enrollment.is_enrolled(participant) is (status not in (None, ParticipantStatus.LEFT))


@pytest.mark.parametrize(
    ("mentor", "mentee", "languages"),
    [("de", "de", ["de"]), ("de", "vi", ["de", "vi"]), ("en", "de", ["en", "de"])],
)
def test_intro_languages_mentor_first_and_once(
    mentor: str, mentee: str, languages: list[str]
) -> None:
    first = _participant(locale=mentor)
    second = _participant(locale=mentee)
    assert pairing.intro_languages(first, second) == languages


@pytest.mark.parametrize(
    ("entries", "problem"),
    [
        ([("", ""), ("  ", "measured"), ("", "")], "Add at least one goal."),
        ([("Learn AI", "weekly"), ("", ""), ("", "")], None),
        ([("a", "x"), ("b", "x"), ("c", "x")], None),
        ([("a", "x"), ("b", "x"), ("c", "x"), ("d", "x")], "Three goals at most"),
    ],
)
def test_a_pair_sets_one_to_three_goals(
    entries: list[tuple[str, str]], problem: str | None
) -> None:
    targets = [date(2027, 6, 30) if title.strip() else None for title, _measure in entries]
    found = pairing.validate_pair_goals(entries, targets)
    assert (found == {}) if problem is None else found["goal_1"].startswith(problem)


def test_goal_entries_without_a_title_are_dropped() -> None:
    entries = [("", "only a measure"), ("Post monthly", ""), ("  ", "")]
    assert pairing.pair_goal_entries(entries) == [("Post monthly", "")]


def test_one_training_pack_per_enrollment_but_a_new_one_after_rejoining() -> None:
    first = _participant(enrolled_at=datetime(2027, 1, 4, 9, tzinfo=UTC))
    again = _participant(enrolled_at=datetime(2027, 1, 4, 9, tzinfo=UTC))
    rejoined = _participant(enrolled_at=datetime(2027, 3, 1, 9, tzinfo=UTC))
    assert notices.training_key(first) == notices.training_key(again)
    assert notices.training_key(first) != notices.training_key(rejoined)


def test_keys_name_the_change_that_owes_the_message() -> None:
    assert notices.intro_key(3) != notices.intro_key(4)
    assert notices.rematch_request_key(5, "UA") != notices.rematch_request_key(5, "UB")
    assert notices.partner_left_key(1, 2) != notices.pair_ended_key(1, 2)
    # A confirmation is owed by each repetition of the action.
    assert notices.fresh_key(notices.ENROLLED, 7) != notices.fresh_key(notices.ENROLLED, 7)
    assert all(
        len(key) <= 200  # the outbox's dedupe_key column
        for key in (
            notices.fresh_key(notices.MATCH_SUGGESTIONS, 10**9, "U" * 20),
            notices.rematch_request_key(10**9, "U" * 20),
        )
    )
