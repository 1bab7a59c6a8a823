"""Rules that moved out of the listeners: who may enroll, the intro's languages, pair goals,
and the dedupe keys of the messages the app owes."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from bot.delivery import MessageKind
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

    def key(person: Participant) -> str:
        return notices.TRAINING.key(person.id, person.enrolled_at.isoformat()).value

    assert key(first) == key(again)
    assert key(first) != key(rejoined)


def test_keys_name_the_change_that_owes_the_message() -> None:
    assert notices.INTRO.key(3) != notices.INTRO.key(4)
    assert notices.INTRO.key(3) == notices.INTRO.key(3)
    assert notices.REMATCH_REQUEST.key(5, "UA") != notices.REMATCH_REQUEST.key(5, "UB")
    assert notices.PARTNER_LEFT.key(1, 2).value != notices.PAIR_ENDED.key(1, 2).value
    # A confirmation is owed by each repetition of the action.
    assert notices.ENROLLED.fresh_key(7, "V1") != notices.ENROLLED.fresh_key(7, "V1")
    assert all(
        len(key.value) <= 200  # the outbox's dedupe_key column
        for key in (
            notices.MATCH_SUGGESTIONS.fresh_key(10**9, "U" * 20),
            notices.REMATCH_REQUEST.key(10**9, "U" * 20),
            notices.CHECKIN.key("U" * 20, 10**9, "2027-01"),
        )
    )
    # A key names every part its kind declares, no more and no fewer.
    with pytest.raises(ValueError, match="intro keys name"):
        notices.INTRO.key(3, 4)


def test_every_kind_is_in_the_catalogue_once() -> None:
    declared = [v for v in vars(notices).values() if isinstance(v, MessageKind)]
    assert sorted(k.name for k in declared) == sorted(notices.KINDS)
    assert all(notices.KINDS[k.name] is k for k in declared)
