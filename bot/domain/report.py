"""The admin report's figures, computed from storage (no Slack, no rendering).

Check-ins are read only through the query functions in storage/repositories/journey.py (counts and
ratings; private notes are never selected). Pulse figures come from bot.domain.pulse, which
applies the anonymity threshold, the closed-round rule and complementary suppression.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlmodel import Session

from bot.domain import milestones, pulse
from bot.domain.campaigns import Funnel, funnels
from bot.domain.overview import TopicBalance
from bot.domain.programs import all_topics, growth_catalogue, is_archived
from storage import repositories as repo
from storage.models import PairStatus, Program

AT_RISK_AFTER = timedelta(days=45)  # an active pair that has not met for this long


@dataclass(frozen=True)
class CycleRow:
    period: str
    pairs_asked: int  # pairs sent the cycle's check-in
    pairs_answered: int
    pairs_met: int
    average_rating: float | None

    @property
    def meeting_rate(self) -> float | None:
        """Pairs that met ÷ pairs asked in the cycle (0–100): a pair that did not answer
        counts as not met, so a silent pair lowers the rate instead of leaving it out."""
        if not self.pairs_asked:
            return None
        return 100.0 * self.pairs_met / self.pairs_asked

    @property
    def pairs_silent(self) -> int:
        return self.pairs_asked - self.pairs_answered


@dataclass(frozen=True)
class Completion:
    """The programme's completion rule (the one certificates follow) and who meets it."""

    cycles: int  # check-in cycles with a meeting a pair needs
    reached: int  # introduced pairs that met in at least that many cycles
    pairs: int  # introduced pairs (active or ended)


@dataclass
class Report:
    program: Program
    by_role_status: dict[tuple[str, str], int]
    pairs: dict[str, int]  # active, at_risk, ended, proposed
    cycles: list[CycleRow]
    average_rating: float | None
    goals: dict[str, int]
    goal_progress: float | None
    completion: Completion
    surveys: list[pulse.RoundResult] = field(default_factory=list)
    match_checks: list[pulse.RoundResult] = field(default_factory=list)
    topics: list[TopicBalance] = field(default_factory=list)
    # Recruiting campaigns: invited → joined → matched → met, oldest first.
    campaigns: list[Funnel] = field(default_factory=list)

    @property
    def threshold(self) -> int:
        return pulse.threshold_of(self.program)


def topic_balance(session: Session, program: Program) -> list[TopicBalance]:
    """Topic demand vs supply counted in SQL (the enrollment overview loads every person)."""
    counts = repo.topic_demand_supply(session, program.id or 0)
    growth = {t["id"] for t in growth_catalogue()}
    topics = []
    for topic in all_topics(program):
        held = counts.get(topic["id"], repo.TopicCounts())
        optional = topic["id"] in growth or is_archived(topic)
        if held.offered or held.demand or not optional:
            archived = is_archived(topic)
            topics.append(
                TopicBalance(topic["id"], topic["label"], held.offered, held.demand, archived)
            )
    topics.sort(key=lambda t: (t.supply - t.demand, -t.demand))
    return topics


def build_report(
    session: Session, program: Program, at: datetime, *, surveys: bool = True, topics: bool = True
) -> Report:
    """The programme's report; `surveys`/`topics` False leaves those parts empty (the
    cross-programme report reads each programme's latest survey in one query of its own)."""
    program_id = program.id or 0
    states = repo.pair_states(session, program_id)
    met = repo.last_met(session, program_id)
    rematch = repo.open_rematch_pairs(session, program_id)
    at_risk = 0
    for pair_id, status, last_met_at, introduced_at in states:
        if status != PairStatus.ACTIVE:
            continue
        last = max([t for t in (met.get(pair_id), last_met_at, introduced_at) if t], default=None)
        if pair_id in rematch or (last is not None and at - last > AT_RISK_AFTER):
            at_risk += 1
    by_status = {s: sum(1 for _i, st, _m, _n in states if st == s) for s in PairStatus}
    pairs = {
        "active": by_status[PairStatus.ACTIVE],
        "at_risk": at_risk,
        "ended": by_status[PairStatus.ENDED],
        "proposed": by_status[PairStatus.PROPOSED],
    }
    cycles = []
    ratings = rating_sum = 0
    for row in repo.checkin_cycle_figures(session, program_id):
        average = row.rating_sum / row.ratings if row.ratings else None
        cycles.append(
            CycleRow(row.period, row.pairs_asked, row.pairs_answered, row.pairs_met, average)
        )
        ratings += row.ratings
        rating_sum += row.rating_sum
    goals, progress = repo.goal_figures(session, program_id)
    sessions = repo.sessions_per_pair(session, program_id)
    introduced = [i for i, st, _m, _n in states if st in (PairStatus.ACTIVE, PairStatus.ENDED)]
    needed = milestones.completion_cycles(program)
    reached = sum(1 for i in introduced if sessions.get(i, 0) >= needed)
    return Report(
        program=program,
        by_role_status=repo.count_by_role_status(session, program_id),
        pairs=pairs,
        cycles=cycles,
        average_rating=rating_sum / ratings if ratings else None,
        goals=goals,
        goal_progress=progress,
        completion=Completion(needed, reached, len(introduced)),
        surveys=pulse.results(session, program, pulse.SURVEY_KINDS) if surveys else [],
        match_checks=pulse.results(session, program, pulse.MATCH_CHECK_KINDS) if surveys else [],
        topics=topic_balance(session, program) if topics else [],
        campaigns=funnels(session, program_id),
    )
