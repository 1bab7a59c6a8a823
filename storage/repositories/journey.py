"""The journey: check-in cycles and answers, meetings, and the pairs' goals. Check-ins are read
only here (the report's figures included), so the journey may reshape them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import case, distinct, func, or_, true
from sqlmodel import Session, col, select

from storage.models import (
    CheckInCycle,
    CheckInRequest,
    CheckInRequestStatus,
    Goal,
    GoalStatus,
    Pair,
)
from storage.repositories.common import oldest_first, within

# A check-in the person answered (a meeting, "not yet" or a snoozed month).
ANSWERED_CHECKINS = (
    CheckInRequestStatus.MET,
    CheckInRequestStatus.NOT_YET,
    CheckInRequestStatus.SNOOZED,
)


# Check-in cycles and answers ----------------------------------------------------------------


def checkin_cycle(session: Session, program_id: int, period: str) -> CheckInCycle | None:
    return session.exec(
        select(CheckInCycle).where(
            CheckInCycle.program_id == program_id, CheckInCycle.period == period
        )
    ).first()


def checkin_cycles(session: Session, program_id: int) -> Sequence[CheckInCycle]:
    return session.exec(
        select(CheckInCycle)
        .where(CheckInCycle.program_id == program_id)
        .order_by(col(CheckInCycle.period))
    ).all()


def checkin_periods(session: Session) -> dict[int, str]:
    rows = session.exec(select(CheckInCycle.id, CheckInCycle.period)).all()
    return {int(cycle_id): period for cycle_id, period in rows if cycle_id is not None}


def checkins_of(session: Session, participant_id: int) -> Sequence[CheckInRequest]:
    """The person's check-ins (one per pair and cycle), oldest first."""
    return oldest_first(session, CheckInRequest, CheckInRequest.participant_id == participant_id)


def checkin_requests_of_cycle(session: Session, cycle_id: int) -> Sequence[CheckInRequest]:
    return oldest_first(session, CheckInRequest, CheckInRequest.cycle_id == cycle_id)


def checkin_requests_of_pair(
    session: Session, pair_id: int, cycle_id: int | None = None
) -> Sequence[CheckInRequest]:
    in_cycle = true() if cycle_id is None else CheckInRequest.cycle_id == cycle_id
    return oldest_first(session, CheckInRequest, CheckInRequest.pair_id == pair_id, in_cycle)


def requested_keys(session: Session, cycle_id: int) -> set[tuple[int, int]]:
    """(pair id, participant id) of everyone already asked in the cycle."""
    rows = session.exec(
        select(CheckInRequest.pair_id, CheckInRequest.participant_id).where(
            CheckInRequest.cycle_id == cycle_id
        )
    ).all()
    return {(pair_id, participant_id) for pair_id, participant_id in rows}


def last_suggestions(
    session: Session, pair_ids: list[int], before_cycle_id: int
) -> dict[int, dict[str, Any]]:
    """Pair id -> the suggestion of its latest earlier cycle (to rotate away from it)."""
    found: dict[int, dict[str, Any]] = {}
    if not pair_ids:
        return found
    rows = session.exec(
        select(CheckInRequest.pair_id, CheckInRequest.suggestion)
        .where(
            col(CheckInRequest.pair_id).in_(pair_ids),
            CheckInRequest.cycle_id != before_cycle_id,
        )
        .order_by(col(CheckInRequest.cycle_id))
    ).all()
    for pair_id, suggestion in rows:
        found[pair_id] = suggestion
    return found


# Meetings (a cycle in which either partner said the pair met counts once) -------------------


@dataclass(frozen=True)
class CycleMeetings:
    cycle_id: int
    period: str
    sessions: int  # meetings the pair held in the cycle (at least 1 when they met)


def meetings_of_pair(session: Session, pair_id: int) -> int:
    """Cycles in which the pair logged a meeting."""
    return int(
        session.exec(
            select(func.count(distinct(CheckInRequest.cycle_id))).where(
                CheckInRequest.pair_id == pair_id,
                CheckInRequest.status == CheckInRequestStatus.MET,
            )
        ).one()
    )


def meetings_by_cycle(session: Session, pair_ids: Iterable[int]) -> dict[int, list[CycleMeetings]]:
    """Pair id -> the cycles in which it met, oldest first (either partner's answer counts, a
    cycle once: a check-in logs one meeting)."""
    ids = list(pair_ids)
    if not ids:
        return {}
    rows = session.exec(
        select(CheckInRequest.pair_id, CheckInCycle.id, CheckInCycle.period)
        .join(CheckInCycle, col(CheckInCycle.id) == CheckInRequest.cycle_id)
        .where(
            col(CheckInRequest.pair_id).in_(ids),
            CheckInRequest.status == CheckInRequestStatus.MET,
        )
        .group_by(CheckInRequest.pair_id, CheckInCycle.id, CheckInCycle.period)
        .order_by(col(CheckInCycle.period), col(CheckInCycle.id))
    ).all()
    found: dict[int, list[CycleMeetings]] = {}
    for pair_id, cycle_id, period in rows:
        found.setdefault(pair_id, []).append(CycleMeetings(cycle_id, period, 1))
    return found


def meetings_in_period(session: Session, program_id: int, period: str) -> int:
    """Meetings held by the programme's pairs in the check-in cycle of `period`."""
    cycle = checkin_cycle(session, program_id, period)
    if cycle is None:
        return 0
    per_pair = meetings_by_cycle(
        session,
        session.exec(
            select(CheckInRequest.pair_id).where(CheckInRequest.cycle_id == cycle.id).distinct()
        ).all(),
    )
    return sum(m.sessions for found in per_pair.values() for m in found if m.cycle_id == cycle.id)


def _met_per_pair(session: Session, program_id: int, figure: Any) -> list[Any]:
    """(pair id, figure) over each of the programme's pairs' answers that say they met."""
    return list(
        session.execute(
            select(CheckInRequest.pair_id, figure)
            .join(Pair, col(Pair.id) == CheckInRequest.pair_id)
            .where(
                Pair.program_id == program_id,
                CheckInRequest.status == CheckInRequestStatus.MET,
            )
            .group_by(CheckInRequest.pair_id)
        ).all()
    )


def sessions_per_pair(session: Session, program_id: int) -> dict[int, int]:
    """Pair id -> meetings logged: the check-in cycles in which either partner said they met."""
    rows = _met_per_pair(session, program_id, func.count(distinct(CheckInRequest.cycle_id)))
    return {int(pair): int(count or 0) for pair, count in rows}


def last_met(session: Session, program_id: int) -> dict[int, datetime]:
    """Pair id -> the latest check-in answer that says the pair met."""
    rows = _met_per_pair(session, program_id, func.max(CheckInRequest.answered_at))
    return {int(pair): when for pair, when in rows if when is not None}


@dataclass(frozen=True)
class CycleFigures:
    period: str
    pairs_asked: int  # pairs sent the cycle's check-in, whether they answered or not
    pairs_answered: int
    pairs_met: int
    ratings: int
    rating_sum: int


def checkin_cycle_figures(session: Session, program_id: int) -> list[CycleFigures]:
    """Per check-in cycle: pairs asked, pairs that answered, pairs that met, ratings (never
    notes). A pair counts once however many of its members were asked or answered."""
    r = CheckInRequest
    met = r.status == CheckInRequestStatus.MET
    answered = col(r.status).in_(ANSWERED_CHECKINS)
    rating = case((met, r.rating))
    rows = session.execute(
        select(
            CheckInCycle.period,
            func.count(distinct(r.pair_id)),
            func.count(distinct(case((answered, r.pair_id)))),
            func.count(distinct(case((met, r.pair_id)))),
            func.count(rating),
            func.coalesce(func.sum(rating), 0),
        )
        .select_from(CheckInCycle)
        .join(r, r.cycle_id == CheckInCycle.id)
        .where(CheckInCycle.program_id == program_id)
        .group_by(CheckInCycle.id, CheckInCycle.period)
        .order_by(CheckInCycle.period)
    ).all()
    return [
        CycleFigures(p, int(asked), int(a), int(m), int(n), int(s)) for p, asked, a, m, n, s in rows
    ]


# Goals --------------------------------------------------------------------------------------


def _achieved() -> Any:
    """A goal marked done, or at 100 %."""
    return or_(Goal.status == GoalStatus.DONE, col(Goal.progress) >= 100)


def goals_of_pair(session: Session, pair_id: int) -> Sequence[Goal]:
    return oldest_first(session, Goal, Goal.pair_id == pair_id, reread=True)


def goals_of_pairs(session: Session, pair_ids: Iterable[int]) -> Sequence[Goal]:
    ids = list(pair_ids)
    if not ids:
        return []
    return oldest_first(session, Goal, col(Goal.pair_id).in_(ids))


def achieved_goals(session: Session, pair_ids: Iterable[int]) -> Sequence[Goal]:
    """Goals marked done (or at 100 %), oldest first."""
    ids = list(pair_ids)
    if not ids:
        return []
    return oldest_first(session, Goal, col(Goal.pair_id).in_(ids), _achieved())


def goals_achieved_between(
    session: Session, program_id: int, start: datetime, end: datetime
) -> int:
    return int(
        session.exec(
            select(func.count())
            .select_from(Goal)
            .join(Pair, col(Pair.id) == Goal.pair_id)
            .where(Pair.program_id == program_id, _achieved(), within(Goal.updated_at, start, end))
        ).one()
    )


def goal_figures(session: Session, program_id: int) -> tuple[dict[str, int], float | None]:
    """Goals by status and their average progress (percent)."""
    rows = session.execute(
        select(Goal.status, func.count(), func.avg(Goal.progress))
        .join(Pair, col(Pair.id) == Goal.pair_id)
        .where(Pair.program_id == program_id)
        .group_by(Goal.status)
    ).all()
    counts = {status: int(count) for status, count, _avg in rows}
    total = sum(counts.values())
    weighted = sum(float(avg or 0) * int(count) for _s, count, avg in rows)
    return counts, (weighted / total if total else None)
