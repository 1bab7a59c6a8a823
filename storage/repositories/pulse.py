"""Pulse surveys: rounds, invitation and participation markers, sealed ballots, the tallies and
held-back texts. Answers are anonymous: see bot/domain/pulse.py for why each write looks like
this."""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from storage.models import (
    PulseBallot,
    PulseInvitation,
    PulseParticipation,
    PulseRound,
    PulseTally,
    PulseText,
)
from storage.repositories.common import among, fresh, save, transition, update_where

Markers = type[PulseParticipation] | type[PulseInvitation]


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


# Markers: who was invited, who has answered (keyed hashes, see bot/domain/ballots.py) --------


def _insert_new(session: Session, model: Any, rows: list[dict[str, Any]]) -> int:
    """INSERT … ON CONFLICT DO NOTHING on the primary key; how many rows were new.

    Counted from RETURNING, not `rowcount`: psycopg reports -1 for this multi-row INSERT, which
    let every concurrent answer of one person cast a ballot (counted several times)."""
    if not rows:
        return 0
    table = model.__table__
    dialect = session.get_bind().dialect.name
    statement = (postgresql_insert if dialect == "postgresql" else sqlite_insert)(table)
    keys = [c.name for c in table.primary_key.columns]
    new = statement.values(rows).on_conflict_do_nothing(index_elements=keys)
    return len(session.execute(new.returning(*table.primary_key.columns)).all())


def add_markers(session: Session, model: Markers, round_id: int, markers: Iterable[str]) -> None:
    rows = [{"round_id": round_id, "marker": m} for m in sorted(set(markers))]
    _insert_new(session, model, rows)


def has_marker(session: Session, model: Markers, round_id: int, candidates: Sequence[str]) -> bool:
    found = session.exec(
        select(model.marker).where(
            model.round_id == round_id, col(model.marker).in_(list(candidates))
        )
    ).first()
    return found is not None


def markers(session: Session, model: Markers, round_id: int) -> set[str]:
    return set(session.exec(select(model.marker).where(model.round_id == round_id)).all())


def respondent_counts(session: Session, round_ids: Iterable[int]) -> dict[int, int]:
    """How many have answered each round (its participation markers)."""
    ids = list(round_ids)
    if not ids:
        return {}
    rows = session.exec(
        select(PulseParticipation.round_id, func.count())
        .where(col(PulseParticipation.round_id).in_(ids))
        .group_by(col(PulseParticipation.round_id))
    ).all()
    return {round_id: int(n) for round_id, n in rows}


# Ballots ------------------------------------------------------------------------------------


def cast_ballot(session: Session, round_id: int, marker: str, sealed: bytes) -> bool:
    """The participation marker and the sealed ballot, in the caller's transaction and nothing
    else; False (nothing written) when the marker exists: this person has answered."""
    if not _insert_new(session, PulseParticipation, [{"round_id": round_id, "marker": marker}]):
        return False
    ballot = {"round_id": round_id, "id": secrets.token_hex(16), "sealed": sealed}
    session.execute(insert(PulseBallot).values(**ballot))
    return True


def pulse_ballots(session: Session, round_id: int) -> list[bytes]:
    rows = session.exec(select(PulseBallot.sealed).where(PulseBallot.round_id == round_id)).all()
    return [bytes(row) for row in rows]


def finish_pulse_round(
    session: Session,
    round_id: int,
    counts: Mapping[tuple[str, str, int], int],
    texts: Mapping[str, list[str]],
) -> None:
    """A closing round's results, each cell and text list written once; then its ballots,
    markers and key salt are deleted. `answered` becomes the number of participation markers."""
    answered = respondent_counts(session, [round_id]).get(round_id, 0)
    cells = session.exec(select(PulseTally).where(PulseTally.round_id == round_id)).all()
    for cell in cells:
        added = counts.get((cell.dimension, cell.question, cell.value), 0)
        if added:
            update_where(
                session,
                PulseTally,
                col(PulseTally.round_id) == round_id,
                col(PulseTally.dimension) == cell.dimension,
                col(PulseTally.question) == cell.question,
                col(PulseTally.value) == cell.value,
                n=cell.n + added,
            )
    for question, shuffled in texts.items():
        update_where(
            session,
            PulseText,
            col(PulseText.round_id) == round_id,
            col(PulseText.question) == question,
            texts=shuffled,
        )
    update_where(session, PulseText, col(PulseText.round_id) == round_id, released=True)
    for model in (PulseBallot, PulseParticipation, PulseInvitation):
        session.execute(delete(model).where(col(model.round_id) == round_id))
    update_where(
        session, PulseRound, col(PulseRound.id) == round_id, answered=answered, key_salt=None
    )
    session.flush()


# Results ------------------------------------------------------------------------------------


def pulse_tallies(session: Session, round_ids: Iterable[int]) -> Sequence[PulseTally]:
    ids = list(round_ids)
    if not ids:
        return []
    return session.exec(fresh(select(PulseTally).where(col(PulseTally.round_id).in_(ids)))).all()


def latest_closed_rounds(
    session: Session, program_ids: Iterable[int], kinds: Iterable[str]
) -> dict[int, PulseRound]:
    """Per programme, its latest closed round of these kinds that anyone was invited to (in
    the order `pulse_rounds` lists them)."""
    ids = list(program_ids)
    if not ids:
        return {}
    rows = session.exec(
        select(PulseRound)
        .where(
            col(PulseRound.program_id).in_(ids),
            among(PulseRound.kind, kinds),
            PulseRound.status == "closed",
            col(PulseRound.invited) > 0,
        )
        .order_by(col(PulseRound.opens_at), col(PulseRound.id))
    ).all()
    return {row.program_id: row for row in rows}  # the last one of each programme wins


def overall_tallies(session: Session, round_ids: Iterable[int]) -> Sequence[PulseTally]:
    """The rounds' cells of everyone (dimension "all"): what an overall figure needs."""
    ids = list(round_ids)
    if not ids:
        return []
    query = select(PulseTally).where(
        col(PulseTally.round_id).in_(ids), PulseTally.dimension == "all"
    )
    return session.exec(fresh(query)).all()


def pulse_texts(session: Session, round_id: int) -> Sequence[PulseText]:
    return session.exec(fresh(select(PulseText).where(PulseText.round_id == round_id))).all()


def close_pulse_round(session: Session, pulse: PulseRound, when: datetime) -> bool:
    """Claims the close (False when the round was not open); the caller then finishes it."""
    return transition(session, pulse, "open", status="closed", closed_at=when)


def vacuum_pulse_tables(engine: Any) -> None:
    """PostgreSQL: drop the dead row versions of a closed round's ballots and markers."""
    if engine.dialect.name != "postgresql":
        return
    tables = "pulse_ballot, pulse_participation, pulse_invitation, pulse_tally, pulse_text"
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql(f"VACUUM {tables}, pulse_round")
