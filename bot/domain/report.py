"""The admin report's figures, computed from storage (no Slack, no rendering).

Check-ins are read only through the query functions in storage/repositories.py (counts and
ratings; private notes are never selected). Pulse figures come from bot.domain.pulse, which
applies the anonymity threshold, the closed-round rule and complementary suppression.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlmodel import Session

from bot.domain import pulse
from bot.domain.overview import TopicBalance, enrollment_overview
from storage import repositories as repo
from storage.models import PairStatus, Program, PulseKind

AT_RISK_AFTER = timedelta(days=45)  # an active pair that has not met for this long
SESSIONS_TARGET = 6


@dataclass(frozen=True)
class CycleRow:
    period: str
    pairs_responding: int
    pairs_met: int
    average_rating: float | None

    @property
    def meeting_rate(self) -> float | None:
        """Share of the pairs that answered the cycle's check-in who met (0–100)."""
        if not self.pairs_responding:
            return None
        return 100.0 * self.pairs_met / self.pairs_responding


@dataclass
class Report:
    program: Program
    by_role_status: dict[tuple[str, str], int]
    pairs: dict[str, int]  # active, at_risk, ended, proposed
    cycles: list[CycleRow]
    average_rating: float | None
    goals: dict[str, int]
    goal_progress: float | None
    pairs_with_target_sessions: tuple[int, int]  # (pairs with >= 6 sessions, active+ended)
    surveys: list[pulse.RoundResult] = field(default_factory=list)
    match_checks: list[pulse.RoundResult] = field(default_factory=list)
    topics: list[TopicBalance] = field(default_factory=list)

    @property
    def threshold(self) -> int:
        return pulse.threshold_of(self.program)


def build_report(session: Session, program: Program, at: datetime) -> Report:
    program_id = program.id or 0
    all_pairs = repo.pairs(session, program_id)
    met = repo.last_met(session, program_id)
    rematch = repo.open_rematch_pairs(session, program_id)
    active = [p for p in all_pairs if p.status == PairStatus.ACTIVE]
    at_risk = 0
    for pair in active:
        last = max(
            [t for t in (met.get(pair.id or 0), pair.last_met_at, pair.introduced_at) if t],
            default=None,
        )
        if pair.id in rematch or (last is not None and at - last > AT_RISK_AFTER):
            at_risk += 1
    pairs = {
        "active": len(active),
        "at_risk": at_risk,
        "ended": sum(1 for p in all_pairs if p.status == PairStatus.ENDED),
        "proposed": sum(1 for p in all_pairs if p.status == PairStatus.PROPOSED),
    }
    cycles = []
    ratings = rating_sum = 0
    for row in repo.checkin_cycle_figures(session, program_id):
        average = row.rating_sum / row.ratings if row.ratings else None
        cycles.append(CycleRow(row.period, row.pairs_responding, row.pairs_met, average))
        ratings += row.ratings
        rating_sum += row.rating_sum
    goals, progress = repo.goal_figures(session, program_id)
    sessions = repo.sessions_per_pair(session, program_id)
    introduced = [p for p in all_pairs if p.status in (PairStatus.ACTIVE, PairStatus.ENDED)]
    reached = sum(1 for p in introduced if sessions.get(p.id or 0, 0) >= SESSIONS_TARGET)
    return Report(
        program=program,
        by_role_status=repo.count_by_role_status(session, program_id),
        pairs=pairs,
        cycles=cycles,
        average_rating=rating_sum / ratings if ratings else None,
        goals=goals,
        goal_progress=progress,
        pairs_with_target_sessions=(reached, len(introduced)),
        surveys=pulse.results(session, program, [PulseKind.PULSE, PulseKind.FINAL]),
        match_checks=pulse.results(session, program, [PulseKind.MATCH_CHECK]),
        topics=enrollment_overview(session, program).topics,
    )
