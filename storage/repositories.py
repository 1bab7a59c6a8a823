"""The small set of queries the app runs, over SQLModel sessions (no Slack in here)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TypeVar

from sqlalchemy import String, delete, func, or_
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, SQLModel, col, select

from storage.models import (
    CheckInResponse,
    Goal,
    MatchRun,
    MatchRunStatus,
    OutboxMessage,
    OutboxStatus,
    Pair,
    PairEvent,
    PairStatus,
    Participant,
    ProcessedEvent,
    Program,
    ProgramStatus,
    RematchRequest,
    ShoutOut,
)

M = TypeVar("M", bound=SQLModel)


def save(session: Session, row: M) -> M:
    session.add(row)
    session.flush()
    return row


# Programmes ---------------------------------------------------------------------------------


def active_program(session: Session) -> Program | None:
    return session.exec(
        select(Program)
        .where(Program.status == ProgramStatus.ACTIVE)
        .order_by(col(Program.id).desc())
    ).first()


# Participants -------------------------------------------------------------------------------


def participant_by_user(session: Session, program_id: int, user_id: str) -> Participant | None:
    return session.exec(
        select(Participant).where(
            Participant.program_id == program_id, Participant.slack_user_id == user_id
        )
    ).first()


def participants(
    session: Session, program_id: int, statuses: Iterable[str] | None = None
) -> Sequence[Participant]:
    query = select(Participant).where(Participant.program_id == program_id)
    if statuses is not None:
        query = query.where(col(Participant.status).in_(list(statuses)))
    return session.exec(query.order_by(col(Participant.id))).all()


def current_participant(
    session: Session, user_id: str
) -> tuple[Program | None, Participant | None]:
    """The active programme and the person's enrollment in it (either may be None)."""
    program = active_program(session)
    if program is None:
        return None, None
    return program, participant_by_user(session, program.id or 0, user_id)


def participations_of_user(session: Session, user_id: str) -> Sequence[Participant]:
    """The person's enrollments across programmes, oldest first."""
    return session.exec(
        select(Participant)
        .where(Participant.slack_user_id == user_id)
        .order_by(col(Participant.id))
    ).all()


def participants_by_ids(session: Session, ids: Iterable[int]) -> dict[int, Participant]:
    wanted = list(set(ids))
    if not wanted:
        return {}
    rows = session.exec(select(Participant).where(col(Participant.id).in_(wanted))).all()
    return {row.id: row for row in rows if row.id is not None}


def manager_map(session: Session) -> dict[str, str | None]:
    """Everyone's named manager across programmes (reporting lines outlive a cohort)."""
    rows = session.exec(
        select(Participant.slack_user_id, Participant.manager_slack_id).order_by(
            col(Participant.id)
        )
    ).all()
    return {user: manager for user, manager in rows if manager}


# Pairs --------------------------------------------------------------------------------------


def pairs(
    session: Session, program_id: int, statuses: Iterable[str] | None = None
) -> Sequence[Pair]:
    query = select(Pair).where(Pair.program_id == program_id)
    if statuses is not None:
        query = query.where(col(Pair.status).in_(list(statuses)))
    return session.exec(query.order_by(col(Pair.id))).all()


def pairs_of(
    session: Session, participant_id: int, statuses: Iterable[str] | None = None
) -> Sequence[Pair]:
    query = select(Pair).where(
        or_(Pair.mentor_id == participant_id, Pair.mentee_id == participant_id)
    )
    if statuses is not None:
        query = query.where(col(Pair.status).in_(list(statuses)))
    return session.exec(query.order_by(col(Pair.id))).all()


def active_partners(session: Session, participant: Participant) -> list[Participant]:
    """The people the participant is actively paired with."""
    active = pairs_of(session, participant.id or 0, [PairStatus.ACTIVE])
    others = [p.mentee_id if p.mentor_id == participant.id else p.mentor_id for p in active]
    people = participants_by_ids(session, others)
    return [people[other] for other in others if other in people]


def active_load(session: Session, program_id: int) -> dict[int, int]:
    """Mentor participant id -> number of active pairs."""
    rows = session.exec(
        select(Pair.mentor_id, func.count())
        .where(Pair.program_id == program_id, Pair.status == PairStatus.ACTIVE)
        .group_by(Pair.mentor_id)
    ).all()
    return {mentor_id: count for mentor_id, count in rows}


def earlier_pairs(session: Session) -> set[frozenset[str]]:
    """Slack user ids of every pair that was ever introduced, in any programme."""
    mentor = Participant.__table__.alias("mentor")  # type: ignore[attr-defined]
    mentee = Participant.__table__.alias("mentee")  # type: ignore[attr-defined]
    rows = session.execute(
        select(mentor.c.slack_user_id, mentee.c.slack_user_id)
        .select_from(Pair)
        .join(mentor, mentor.c.id == Pair.mentor_id)
        .join(mentee, mentee.c.id == Pair.mentee_id)
        .where(col(Pair.status).in_([PairStatus.ACTIVE, PairStatus.ENDED]))
    ).all()
    return {frozenset(row) for row in rows}


def add_pair_event(
    session: Session, pair_id: int, kind: str, actor: str | None = None, **detail: object
) -> PairEvent:
    return save(session, PairEvent(pair_id=pair_id, kind=kind, actor_slack_id=actor, detail=detail))


def pair_events(session: Session, pair_id: int) -> Sequence[PairEvent]:
    return session.exec(
        select(PairEvent).where(PairEvent.pair_id == pair_id).order_by(col(PairEvent.id))
    ).all()


# Match runs ---------------------------------------------------------------------------------


def open_match_run(session: Session, program_id: int) -> MatchRun | None:
    return session.exec(
        select(MatchRun)
        .where(MatchRun.program_id == program_id, MatchRun.status == MatchRunStatus.OPEN)
        .order_by(col(MatchRun.id).desc())
    ).first()


def proposed_pairs(session: Session, match_run_id: int) -> Sequence[Pair]:
    return session.exec(
        select(Pair)
        .where(Pair.match_run_id == match_run_id, Pair.status == PairStatus.PROPOSED)
        .order_by(col(Pair.id))
    ).all()


# Rematch, goals, responses, shout-outs (for a person's data export) -------------------------


def open_rematch_requests(session: Session, pair_id: int) -> Sequence[RematchRequest]:
    return session.exec(
        select(RematchRequest).where(
            RematchRequest.pair_id == pair_id, RematchRequest.status == "open"
        )
    ).all()


def rematch_requests_by(session: Session, participant_id: int) -> Sequence[RematchRequest]:
    return session.exec(
        select(RematchRequest).where(RematchRequest.requested_by == participant_id)
    ).all()


def goals_of_pairs(session: Session, pair_ids: Iterable[int]) -> Sequence[Goal]:
    ids = list(pair_ids)
    if not ids:
        return []
    return session.exec(select(Goal).where(col(Goal.pair_id).in_(ids)).order_by(col(Goal.id))).all()


def checkin_responses_of(session: Session, participant_id: int) -> Sequence[CheckInResponse]:
    return session.exec(
        select(CheckInResponse).where(CheckInResponse.participant_id == participant_id)
    ).all()


def shoutouts_mentioning(session: Session, program_id: int, user_id: str) -> list[ShoutOut]:
    rows = session.exec(select(ShoutOut).where(ShoutOut.program_id == program_id)).all()
    return [row for row in rows if user_id in row.recipient_slack_ids]


def forget_user(session: Session, user_id: str) -> None:
    """Removes a Slack user id from every record outside their participant row.

    Delivered or pending messages that name the person (introductions quote goals) are
    deleted: their only remaining purpose was the exactly-once ledger.
    """
    for goal in session.exec(select(Goal).where(Goal.created_by == user_id)).all():
        goal.created_by = None
        session.add(goal)
    for event in session.exec(select(PairEvent).where(PairEvent.actor_slack_id == user_id)):
        event.actor_slack_id = None
        session.add(event)
    for shoutout in session.exec(select(ShoutOut)).all():
        if user_id in shoutout.recipient_slack_ids or shoutout.author_slack_id == user_id:
            shoutout.recipient_slack_ids = [r for r in shoutout.recipient_slack_ids if r != user_id]
            if shoutout.author_slack_id == user_id:
                shoutout.author_slack_id = "erased"
            session.add(shoutout)
    mentions = or_(
        col(OutboxMessage.recipient).contains(user_id),
        func.cast(OutboxMessage.payload, String).contains(user_id),
    )
    for message in session.exec(select(OutboxMessage).where(mentions)).all():
        session.delete(message)
    for request in session.exec(
        select(RematchRequest).where(RematchRequest.resolved_by == user_id)
    ):
        request.resolved_by = None
        session.add(request)
    session.flush()


def count_by_status(session: Session, program_id: int) -> dict[str, int]:
    rows = session.exec(
        select(Participant.status, func.count())
        .where(Participant.program_id == program_id)
        .group_by(Participant.status)
    ).all()
    return {status: count for status, count in rows}


# Delivery -----------------------------------------------------------------------------------


def failed_messages(session: Session, program_id: int | None) -> Sequence[OutboxMessage]:
    """Messages the outbox gave up on (newest first), for the admins' report and Home.

    `last_error` says why (e.g. `account_inactive`, `channel_not_found`); `uncertain` means the
    last attempt may have reached the person after all. `program_id=None`: every programme.
    """
    query = select(OutboxMessage).where(OutboxMessage.status == OutboxStatus.FAILED)
    if program_id is not None:
        query = query.where(OutboxMessage.program_id == program_id)
    return session.exec(query.order_by(col(OutboxMessage.failed_at).desc())).all()


def conversation_of(session: Session, recipient: str) -> str | None:
    """The conversation an earlier message to `recipient` landed in (saves conversations.open)."""
    return session.exec(
        select(OutboxMessage.channel_id)
        .where(OutboxMessage.recipient == recipient, col(OutboxMessage.channel_id).is_not(None))
        .limit(1)
    ).first()


def record_event(session: Session, event_id: str, seen_at: datetime) -> bool:
    """Remembers `event_id`; False when it was remembered before (by any worker or replica).

    One INSERT … ON CONFLICT DO NOTHING: concurrent callers never raise, exactly one wins.
    """
    table = ProcessedEvent.__table__  # type: ignore[attr-defined]
    dialect = session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    statement = (
        insert(table)
        .values(event_id=event_id, seen_at=seen_at)
        .on_conflict_do_nothing(index_elements=["event_id"])
        .returning(table.c.id)
    )
    return session.execute(statement).first() is not None


def prune_events(session: Session, before: datetime) -> int:
    """Forgets event ids seen before `before` (Slack stops re-delivering within minutes)."""
    result = session.execute(delete(ProcessedEvent).where(col(ProcessedEvent.seen_at) < before))
    return int(result.rowcount)  # type: ignore[attr-defined]
