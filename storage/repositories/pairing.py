"""Pairs and what happens to them: match runs and their proposals, the pair's event log, and
rematch requests."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from storage.models import (
    MatchRun,
    MatchRunStatus,
    Pair,
    PairEvent,
    PairStatus,
    Participant,
    RematchRequest,
    RematchStatus,
)
from storage.repositories.common import among, oldest_first, save, update_where
from storage.repositories.people import participants_by_ids


def _with(participant_id: int) -> Any:
    """The pair has the participant on either side."""
    return or_(Pair.mentor_id == participant_id, Pair.mentee_id == participant_id)


def pairs(
    session: Session, program_id: int, statuses: Iterable[str] | None = None
) -> Sequence[Pair]:
    return oldest_first(session, Pair, Pair.program_id == program_id, among(Pair.status, statuses))


def pairs_of(
    session: Session, participant_id: int, statuses: Iterable[str] | None = None
) -> Sequence[Pair]:
    return oldest_first(session, Pair, _with(participant_id), among(Pair.status, statuses))


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


def pair_states(
    session: Session, program_id: int
) -> list[tuple[int, str, datetime | None, datetime | None]]:
    """(id, status, last_met_at, introduced_at) of every pair: the report needs no more."""
    rows = session.exec(
        select(Pair.id, Pair.status, Pair.last_met_at, Pair.introduced_at).where(
            Pair.program_id == program_id
        )
    ).all()
    return [(int(i or 0), s, met, intro) for i, s, met, intro in rows]


def recognised_pairs(session: Session, program_id: int) -> Sequence[Pair]:
    """Pairs that were introduced (active, or ended after having run)."""
    return oldest_first(
        session,
        Pair,
        Pair.program_id == program_id,
        among(Pair.status, [PairStatus.ACTIVE, PairStatus.ENDED]),
        col(Pair.approved_at).is_not(None),
    )


def add_pair_event(
    session: Session, pair_id: int, kind: str, actor: str | None = None, **detail: object
) -> PairEvent:
    return save(session, PairEvent(pair_id=pair_id, kind=kind, actor_slack_id=actor, detail=detail))


def pair_events(session: Session, pair_id: int) -> Sequence[PairEvent]:
    return oldest_first(session, PairEvent, PairEvent.pair_id == pair_id)


# Match runs ---------------------------------------------------------------------------------


def open_match_run(session: Session, program_id: int) -> MatchRun | None:
    return session.exec(
        select(MatchRun)
        .where(MatchRun.program_id == program_id, MatchRun.status == MatchRunStatus.OPEN)
        .order_by(col(MatchRun.id).desc())
    ).first()


def latest_match_run(session: Session, program_id: int) -> MatchRun | None:
    return session.exec(
        select(MatchRun).where(MatchRun.program_id == program_id).order_by(col(MatchRun.id).desc())
    ).first()


def proposed_pairs(session: Session, match_run_id: int) -> Sequence[Pair]:
    return oldest_first(
        session, Pair, Pair.match_run_id == match_run_id, Pair.status == PairStatus.PROPOSED
    )


def pairs_of_run(session: Session, match_run_id: int) -> Sequence[Pair]:
    """Every pair the run ever proposed, whatever became of it (fresh from the database)."""
    return oldest_first(session, Pair, Pair.match_run_id == match_run_id, reread=True)


def discard_proposed_pairs(
    session: Session,
    *,
    reason: str,
    match_run_id: int | None = None,
    participant_id: int | None = None,
) -> int:
    """PROPOSED -> DISCARDED for a run's or a person's proposed pairs; returns how many."""
    conditions = [Pair.status == PairStatus.PROPOSED]
    if match_run_id is not None:
        conditions.append(Pair.match_run_id == match_run_id)
    if participant_id is not None:
        conditions.append(_with(participant_id))
    return update_where(
        session,
        Pair,
        *conditions,
        synchronize_session="fetch",
        status=PairStatus.DISCARDED,
        end_reason=reason,
    )


# Rematch requests ---------------------------------------------------------------------------


def open_rematch_requests(session: Session, pair_id: int) -> Sequence[RematchRequest]:
    return session.exec(
        select(RematchRequest).where(
            RematchRequest.pair_id == pair_id, RematchRequest.status == RematchStatus.OPEN
        )
    ).all()


def open_rematch_pairs(session: Session, program_id: int) -> set[int]:
    rows = session.exec(
        select(RematchRequest.pair_id)
        .join(Pair, col(Pair.id) == RematchRequest.pair_id)
        .where(Pair.program_id == program_id, RematchRequest.status == RematchStatus.OPEN)
    ).all()
    return set(rows)


def rematch_requests_by(session: Session, participant_id: int) -> Sequence[RematchRequest]:
    return session.exec(
        select(RematchRequest).where(RematchRequest.requested_by == participant_id)
    ).all()


def close_open_rematch_requests(
    session: Session, pair_id: int, status: str, admin_id: str | None, when: datetime
) -> int:
    """Every still-open request on the pair gets the admin's answer; returns how many."""
    return update_where(
        session,
        RematchRequest,
        RematchRequest.pair_id == pair_id,
        RematchRequest.status == RematchStatus.OPEN,
        synchronize_session="fetch",
        status=status,
        resolved_at=when,
        resolved_by=admin_id,
    )
