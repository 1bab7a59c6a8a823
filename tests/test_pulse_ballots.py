"""Sealed ballots (bot/domain/ballots.py) and what the round does with them when it closes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select

from bot import clock
from bot.domain import ballots, pulse
from storage.db import Database
from storage.models import Participant, Program, PulseBallot, PulseKind, PulseRound

SECRET = b"ballot-test-secret-0123456789abcdefgh"
SALT = bytes(range(32))
TEXTS = ["change"]


def _key(secret: bytes = SECRET, round_id: int = 1, kind: str = "pulse") -> ballots.RoundKey:
    return ballots.round_key(secret, round_id, kind, SALT)


def test_every_ballot_of_a_kind_has_one_length_whatever_it_says() -> None:
    key = _key()
    group = ("all", "role:mentor", "dept:Engineering")
    answers = [
        ballots.Ballot(group, {"value": 1, "nps": 0, "pairing": 1}),
        ballots.Ballot(group, {"value": 5, "nps": 10, "pairing": 5}, {"change": "ok"}),
        ballots.Ballot(group, {"value": 3, "nps": 7, "pairing": 2}, {"change": "Đổi " * 500}),
        ballots.Ballot(("all", "role:mentee", "dept:" + "\x01" * 100), {"value": 2}),
        ballots.Ballot(group, {"value": 4}, {"change": "😀" * 2000}),  # 8,000 bytes of UTF-8
    ]
    sealed = [key.seal(answer, TEXTS) for answer in answers]
    assert {len(s) for s in sealed} == {ballots.sealed_size(len(TEXTS))}
    assert [key.open(s, TEXTS) for s in sealed] == answers
    # The same answer twice looks unrelated (a random nonce each time).
    again = key.seal(answers[0], TEXTS)
    assert again != sealed[0] and key.open(again, TEXTS) == answers[0]


def test_a_text_longer_than_its_slot_is_cut_at_a_character() -> None:
    key = _key()
    long = ballots.Ballot(("all",), {"value": 1}, {"change": "ä" * 5000})  # 10,000 bytes
    opened = key.open(key.seal(long, TEXTS), TEXTS)
    assert opened.texts["change"] == "ä" * (ballots.TEXT_BYTES // 2)


def test_a_ballot_opens_only_with_its_own_round_key() -> None:
    sealed = _key().seal(ballots.Ballot(("all",), {"value": 4}), TEXTS)
    for other in (_key(secret=b"another-secret-0123456789abcdefghij"), _key(round_id=2)):
        with pytest.raises(ballots.BallotUnreadable):
            other.open(sealed, TEXTS)
    with pytest.raises(ballots.BallotUnreadable):  # a ballot moved to a round of another kind
        _key(kind="final").open(sealed, TEXTS)
    tampered = sealed[:-1] + bytes([sealed[-1] ^ 1])
    with pytest.raises(ballots.BallotUnreadable):
        _key().open(tampered, TEXTS)


def test_markers_name_nobody_and_cannot_be_joined() -> None:
    key = _key()
    answered, invited = key.answered("U123"), key.invited("U123")
    assert answered != invited  # the two lists cannot be joined
    assert key.answered("U123", 7) != key.answered("U123", 8) != answered  # one per pair
    assert _key(round_id=2).answered("U123") != answered  # nor rounds to each other
    assert "U123" not in answered and len(answered) == 64
    assert key.answered("U123") == answered  # stable within the round: one answer per person


START = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)


def test_a_changed_secret_keeps_the_round_open_instead_of_losing_answers(
    database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    manual = clock.ManualClock(START)
    previous = clock.install(manual)
    try:
        with database.session() as session:
            program = Program(name="P", anonymity_threshold=3)
            session.add(program)
            session.flush()
            people = [
                Participant(
                    program_id=program.id or 0,
                    slack_user_id=f"USEC{i}",
                    role="mentee",
                    status="waiting",
                    enrolled_at=START - timedelta(days=30),
                )
                for i in range(3)
            ]
            session.add_all(people)
            session.flush()
            opened = pulse.open_round(
                session, program, PulseKind.PULSE, START, people, secret=SECRET
            )
            round_id, program_id = opened.id or 0, program.id or 0
        for person in people:
            outcome = database.run(
                lambda s, p=person: pulse.record_answer(
                    s, SECRET, round_id, p.slack_user_id, pulse.SURVEY_KINDS,
                    {"value": 4, "nps": 9, "pairing": 4}, {},
                )
            )  # fmt: skip
            assert outcome == pulse.RECORDED
        later = START + timedelta(days=8)
        wrong = b"a-different-secret-0123456789abcdefghij"

        def close_with(secret: bytes) -> list[PulseRound]:
            def work(session: Session) -> list[PulseRound]:
                found = session.get(Program, program_id)
                assert found is not None
                return pulse.close_due(session, found, later, secret=secret)

            return database.run(work)

        # With another secret nobody is invited any more, and the round does not close ...
        refused = database.run(
            lambda s: pulse.may_answer(s, wrong, round_id, "USEC0", pulse.SURVEY_KINDS)
        )
        assert refused == pulse.NOT_INVITED
        assert close_with(wrong) == []
        assert "do not open with this PULSE_SECRET" in caplog.text
        with database.session() as session:
            still = session.get(PulseRound, round_id)
            assert still is not None and still.status == "open"
            assert len(session.exec(select(PulseBallot)).all()) == 3
        # ... until the secret it was opened with is back: then every answer is counted.
        assert [r.id for r in close_with(SECRET)] == [round_id]
        with database.session() as session:
            program = session.get(Program, program_id)
            assert program is not None
            (result,) = pulse.results(session, program, [PulseKind.PULSE])
        assert result.visible and result.overall is not None
        assert result.overall.respondents == 3 and result.answered == 3
    finally:
        clock.install(previous)


def test_answers_sent_at_once_by_one_person_are_counted_once(database: Database) -> None:
    """A double click sends the same answer twice at the same moment: both pass the "has this
    person answered?" check, one ballot must be cast. (On PostgreSQL the insert's rowcount was
    -1, so every concurrent answer cast a ballot and the tallies counted people twice.)"""
    import threading

    manual = clock.ManualClock(START)
    previous = clock.install(manual)
    try:
        with database.session() as session:
            program = Program(name="P", anonymity_threshold=3)
            session.add(program)
            session.flush()
            people = [
                Participant(
                    program_id=program.id or 0,
                    slack_user_id=f"UTWICE{i}",
                    role="mentee",
                    status="waiting",
                    enrolled_at=START - timedelta(days=30),
                )
                for i in range(3)
            ]
            session.add_all(people)
            session.flush()
            opened = pulse.open_round(
                session, program, PulseKind.PULSE, START, people, secret=SECRET
            )
            round_id, program_id = opened.id or 0, program.id or 0
        clicks = 4
        outcomes: dict[str, list[str]] = {p.slack_user_id: [] for p in people}
        for person in people:
            together = threading.Barrier(clicks)

            def click(
                user_id: str = person.slack_user_id, start: threading.Barrier = together
            ) -> None:
                def answer(session: Session) -> str:
                    start.wait(10)
                    return pulse.record_answer(
                        session, SECRET, round_id, user_id, pulse.SURVEY_KINDS,
                        {"value": 4, "nps": 9, "pairing": 4}, {},
                    )  # fmt: skip

                try:
                    outcomes[user_id].append(database.run(answer))
                except Exception as error:  # noqa: BLE001 - SQLite may refuse a writer: shown below
                    outcomes[user_id].append(type(error).__name__)

            threads = [threading.Thread(target=click) for _ in range(clicks)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        for user_id, seen in outcomes.items():
            assert seen.count(pulse.RECORDED) == 1, (user_id, seen)
            assert set(seen) <= {pulse.RECORDED, pulse.ALREADY}, (user_id, seen)
        with database.session() as session:
            assert len(session.exec(select(PulseBallot)).all()) == 3
        later = START + timedelta(days=8)

        def close(session: Session) -> list[PulseRound]:
            found = session.get(Program, program_id)
            assert found is not None
            return pulse.close_due(session, found, later, secret=SECRET)

        assert [r.id for r in database.run(close)] == [round_id]
        with database.session() as session:
            program = session.get(Program, program_id)
            assert program is not None
            (result,) = pulse.results(session, program, [PulseKind.PULSE])
        assert result.overall is not None
        assert result.overall.respondents == 3 and result.answered == 3
    finally:
        clock.install(previous)
