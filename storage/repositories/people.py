"""Participants: a person's enrollments, the programme's people and their counts, managers,
and topic demand and supply."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, case, distinct, func, literal, true, union_all
from sqlmodel import Session, col, select

from storage.models import Participant, ParticipantStatus, Program, Role
from storage.repositories.common import among, fresh, oldest_first


def participant_by_user(session: Session, program_id: int, user_id: str) -> Participant | None:
    return session.exec(
        select(Participant).where(
            Participant.program_id == program_id, Participant.slack_user_id == user_id
        )
    ).first()


def participants(
    session: Session, program_id: int, statuses: Iterable[str] | None = None
) -> Sequence[Participant]:
    return oldest_first(
        session,
        Participant,
        Participant.program_id == program_id,
        among(Participant.status, statuses),
    )


def enrollment_in(
    session: Session, program_id: int | None, user_id: str
) -> tuple[Program | None, Participant | None]:
    """The programme and the person's enrollment in it (either may be None)."""
    program = session.get(Program, program_id) if program_id else None
    if program is None:
        return None, None
    return program, participant_by_user(session, program.id or 0, user_id)


def participations_of_user(session: Session, user_id: str) -> Sequence[Participant]:
    """The person's enrollments across programmes, oldest first."""
    return oldest_first(session, Participant, Participant.slack_user_id == user_id)


def _by_ids(session: Session, ids: Iterable[int], *, reread: bool) -> dict[int, Participant]:
    wanted = list(set(ids))
    if not wanted:
        return {}
    query = select(Participant).where(col(Participant.id).in_(wanted))
    rows = session.exec(fresh(query) if reread else query).all()
    return {row.id: row for row in rows if row.id is not None}


def participants_by_ids(session: Session, ids: Iterable[int]) -> dict[int, Participant]:
    return _by_ids(session, ids, reread=False)


def fresh_participants(session: Session, ids: Iterable[int]) -> dict[int, Participant]:
    """Like participants_by_ids, but re-read even when the session already holds them."""
    return _by_ids(session, ids, reread=True)


def manager_map(session: Session) -> dict[str, str | None]:
    """Everyone's named manager across programmes (reporting lines outlive a cohort)."""
    rows = session.exec(
        select(Participant.slack_user_id, Participant.manager_slack_id).order_by(
            col(Participant.id)
        )
    ).all()
    return {user: manager for user, manager in rows if manager}


def count_by_status(session: Session, program_id: int) -> dict[str, int]:
    rows = session.exec(
        select(Participant.status, func.count())
        .where(Participant.program_id == program_id)
        .group_by(Participant.status)
    ).all()
    return {status: count for status, count in rows}


def count_by_role_status(session: Session, program_id: int) -> dict[tuple[str, str], int]:
    rows = session.exec(
        select(Participant.role, Participant.status, func.count())
        .where(Participant.program_id == program_id)
        .group_by(Participant.role, Participant.status)
    ).all()
    return {(role, status): int(count) for role, status, count in rows}


# Topics -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TopicCounts:
    offered: int = 0  # mentors offering the topic
    wanted: int = 0  # mentees wanting it most
    development: int = 0  # mentees with it as a development area
    demand: int = 0  # mentees wanting it either way, each counted once


def _array_elements(session: Session, column: Any) -> Any:
    """The elements of a JSON array column as rows with one text column, `value`."""
    if session.get_bind().dialect.name == "postgresql":
        return func.jsonb_array_elements_text(column).table_valued("value")
    return func.json_each(column).table_valued("value")


def topic_demand_supply(
    session: Session,
    program_id: int,
    statuses: Iterable[str] = (ParticipantStatus.WAITING, ParticipantStatus.PAIRED),
) -> dict[str, TopicCounts]:
    """Topic id -> who offers and wants it among the programme's participants, counted in SQL."""
    chosen = []
    for kind, column in (
        ("offered", Participant.topics_offered),
        ("wanted", Participant.topics_wanted),
        ("development", Participant.development_areas),
    ):
        elements = _array_elements(session, column)
        chosen.append(
            select(
                col(Participant.id).label("participant_id"),
                col(Participant.role).label("role"),
                literal(kind).label("kind"),
                elements.c.value.label("topic"),
            )
            .select_from(Participant)
            .join(elements, true())
            .where(
                Participant.program_id == program_id,
                col(Participant.status).in_(list(statuses)),
            )
        )
    rows = union_all(*chosen).subquery()

    def people(condition: Any) -> Any:
        return func.count(distinct(case((condition, rows.c.participant_id))))

    mentee = rows.c.role == Role.MENTEE
    query = select(
        rows.c.topic,
        people(and_(rows.c.role == Role.MENTOR, rows.c.kind == "offered")),
        people(and_(mentee, rows.c.kind == "wanted")),
        people(and_(mentee, rows.c.kind == "development")),
        people(and_(mentee, rows.c.kind.in_(["wanted", "development"]))),
    ).group_by(rows.c.topic)
    return {
        topic: TopicCounts(offered, wanted, development, demand)
        for topic, offered, wanted, development, demand in session.execute(query).all()
    }
