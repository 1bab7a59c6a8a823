"""Pulse surveys: rounds, who answered, the tallies and held-back texts. Answers are anonymous:
see bot/domain/pulse.py for why each write looks like this."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, or_
from sqlmodel import Session, col, select

from storage.models import PulseParticipation, PulseRound, PulseTally, PulseText
from storage.repositories.common import among, fresh, lock, save, transition, update_where


def pulse_rounds(
    session: Session, program_id: int, kinds: Iterable[str] | None = None
) -> Sequence[PulseRound]:
    query = select(PulseRound).where(
        PulseRound.program_id == program_id, among(PulseRound.kind, kinds)
    )
    return session.exec(query.order_by(col(PulseRound.opens_at), col(PulseRound.id))).all()


def pulse_round(session: Session, round_id: int) -> PulseRound | None:
    return session.exec(fresh(select(PulseRound).where(PulseRound.id == round_id))).first()


def pulse_round_for(session: Session, program_id: int, kind: str, period: str) -> PulseRound | None:
    return session.exec(
        select(PulseRound).where(
            PulseRound.program_id == program_id,
            PulseRound.kind == kind,
            PulseRound.period == period,
        )
    ).first()


def create_pulse_round(
    session: Session,
    pulse: PulseRound,
    cells: Iterable[tuple[str, str, int]],
    text_questions: Iterable[str],
) -> PulseRound:
    """The round with every tally cell (dimension, question, value) at 0 and empty text lists."""
    save(session, pulse)
    rows = [
        {"round_id": pulse.id, "dimension": d, "question": q, "value": v, "n": 0}
        for d, q, v in cells
    ]
    if rows:
        session.execute(PulseTally.__table__.insert(), rows)  # type: ignore[attr-defined]
    for question in text_questions:
        session.add(PulseText(round_id=pulse.id or 0, question=question, texts=[]))
    session.flush()
    return pulse


def set_round_invited(session: Session, round_id: int, invited: int) -> None:
    update_where(session, PulseRound, col(PulseRound.id) == round_id, invited=invited)


def mark_reminded(session: Session, pulse: PulseRound, when: datetime) -> bool:
    """Claims the round's one reminder (False when it was sent already)."""
    unclaimed = (col(PulseRound.id) == pulse.id, col(PulseRound.reminded_at).is_(None))
    return update_where(session, PulseRound, *unclaimed, reminded_at=when) == 1


def has_answered(session: Session, round_id: int, participant_id: int) -> bool:
    return (
        session.exec(
            select(PulseParticipation.id).where(
                PulseParticipation.round_id == round_id,
                PulseParticipation.participant_id == participant_id,
            )
        ).first()
        is not None
    )


def respondents(session: Session, round_id: int) -> set[int]:
    rows = session.exec(
        select(PulseParticipation.participant_id).where(PulseParticipation.round_id == round_id)
    ).all()
    return set(rows)


def record_pulse_answer(
    session: Session,
    round_id: int,
    participant_id: int,
    dimensions: Sequence[str],
    chosen: dict[str, int],
    texts: dict[str, str],
    insert_at: Callable[[int], int],
) -> bool:
    """Participation, counters, tallies and held-back text in ONE transaction; False (and
    nothing written but a lock) when the person already answered this round.

    Every tally cell and every text list of the round is rewritten whatever the answer, so all
    of them carry this transaction's version (xmin) and none tells what was chosen.
    """
    pulse = session.get(PulseRound, round_id)
    if pulse is None or not lock(session, pulse, "open"):
        return False
    if has_answered(session, round_id, participant_id):
        return False
    session.add(PulseParticipation(round_id=round_id, participant_id=participant_id))
    update_where(
        session, PulseRound, col(PulseRound.id) == round_id, answered=PulseRound.answered + 1
    )
    picked = or_(
        *(
            and_(col(PulseTally.question) == question, col(PulseTally.value) == value)
            for question, value in chosen.items()
        )
    )
    hit = and_(col(PulseTally.dimension).in_(list(dimensions)), picked)
    update_where(
        session,
        PulseTally,
        col(PulseTally.round_id) == round_id,
        n=PulseTally.n + case((hit, 1), else_=0),
    )
    for row in pulse_texts(session, round_id):
        current = list(row.texts)
        text = texts.get(row.question)
        if text:
            current.insert(insert_at(len(current) + 1), text)
        update_where(
            session,
            PulseText,
            col(PulseText.round_id) == round_id,
            col(PulseText.question) == row.question,
            texts=current,
        )
    session.flush()
    return True


def pulse_tallies(session: Session, round_ids: Iterable[int]) -> Sequence[PulseTally]:
    ids = list(round_ids)
    if not ids:
        return []
    return session.exec(fresh(select(PulseTally).where(col(PulseTally.round_id).in_(ids)))).all()


def pulse_texts(session: Session, round_id: int) -> Sequence[PulseText]:
    return session.exec(fresh(select(PulseText).where(PulseText.round_id == round_id))).all()


def close_pulse_round(session: Session, pulse: PulseRound, when: datetime) -> bool:
    closed = transition(session, pulse, "open", status="closed", closed_at=when)
    if closed:
        update_where(session, PulseText, col(PulseText.round_id) == pulse.id, released=True)
    return closed


def vacuum_pulse_tables(engine: Any) -> None:
    """PostgreSQL: drop the dead row versions an open round's answers left behind."""
    if engine.dialect.name != "postgresql":
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("VACUUM pulse_tally, pulse_text, pulse_round")
