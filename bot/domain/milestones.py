"""Milestones: first meeting, third meeting, each goal achieved, programme completed.

Detected from the check-ins (cycles in which the pair met) and goals, read through
`storage.repositories` (`meetings_by_cycle`, `achieved_goals`). Each is recorded once per pair
under a unique (pair, kind), so however often the job runs or answers are edited, a milestone
is celebrated once; a later edit that un-does a meeting does not take a celebration back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import Session

from bot.domain.programs import name_in
from storage import repositories as repo
from storage.models import Milestone, Pair, PairStatus, Participant, Program

FIRST_MEETING = "first_meeting"
THIRD_MEETING = "third_meeting"
GOAL_ACHIEVED = "goal_achieved"  # stored as goal_achieved:<goal id>, one per goal
COMPLETED = "completed"
# Cycles with a meeting a pair needs to complete the programme (programme setting).
COMPLETION_SETTING = "completion_cycles"
DEFAULT_COMPLETION_CYCLES = 6


def completion_cycles(program: Program) -> int:
    value = (program.settings or {}).get(COMPLETION_SETTING, DEFAULT_COMPLETION_CYCLES)
    try:
        return max(1, int(value))
    except (TypeError, ValueError):
        return DEFAULT_COMPLETION_CYCLES


def base_kind(kind: str) -> str:
    """goal_achieved:12 -> goal_achieved."""
    return kind.split(":", 1)[0]


@dataclass(frozen=True)
class PairProgress:
    """What a pair has done so far: the figures milestones and certificates are made of."""

    cycles_met: int
    sessions: int
    goals_achieved: list[tuple[int, str]] = field(default_factory=list)  # (goal id, title)


def progress(session: Session, pairs: list[Pair]) -> dict[int, PairProgress]:
    ids = [pair.id or 0 for pair in pairs]
    meetings = repo.meetings_by_cycle(session, ids)
    goals: dict[int, list[tuple[int, str]]] = {}
    for goal in repo.achieved_goals(session, ids):
        goals.setdefault(goal.pair_id, []).append((goal.id or 0, goal.title))
    return {
        pair_id: PairProgress(
            cycles_met=len(meetings.get(pair_id, [])),
            sessions=sum(m.sessions for m in meetings.get(pair_id, [])),
            goals_achieved=goals.get(pair_id, []),
        )
        for pair_id in ids
    }


def reached(figures: PairProgress, needed_cycles: int) -> list[str]:
    """The milestone kinds these figures reach, in the order they are celebrated."""
    kinds: list[str] = []
    if figures.sessions >= 1:
        kinds.append(FIRST_MEETING)
    if figures.sessions >= 3:
        kinds.append(THIRD_MEETING)
    kinds += [f"{GOAL_ACHIEVED}:{goal_id}" for goal_id, _title in figures.goals_achieved]
    if figures.cycles_met >= needed_cycles:
        kinds.append(COMPLETED)
    return kinds


@dataclass(frozen=True)
class Reached:
    pair: Pair
    milestone: Milestone
    figures: PairProgress

    @property
    def kind(self) -> str:
        return base_kind(self.milestone.kind)

    def goal_title(self) -> str | None:
        if self.kind != GOAL_ACHIEVED:
            return None
        goal_id = int(self.milestone.kind.split(":", 1)[1])
        return next((t for g, t in self.figures.goals_achieved if g == goal_id), None)


def counts_for_milestones(pair: Pair) -> bool:
    """Introduced pairs (active, or ended after having run), as `repo.recognised_pairs`."""
    return pair.approved_at is not None and pair.status in (PairStatus.ACTIVE, PairStatus.ENDED)


def detect(
    session: Session, program: Program, at: datetime, pairs: list[Pair] | None = None
) -> list[Reached]:
    """Records every milestone reached and not recorded before (by the programme's introduced
    pairs, or only by `pairs`); returns the new ones."""
    if pairs is None:
        pairs = list(repo.recognised_pairs(session, program.id or 0))
    figures = progress(session, pairs)
    needed = completion_cycles(program)
    found: list[Reached] = []
    for pair in pairs:
        for kind in reached(figures[pair.id or 0], needed):
            milestone = repo.add_milestone(session, pair.id or 0, kind, at)
            if milestone is not None:
                found.append(Reached(pair, milestone, figures[pair.id or 0]))
    return found


def certificate_detail(
    program: Program, pair: Pair, person: Participant, figures: PairProgress, at: datetime
) -> dict[str, Any]:
    """What the certificate says, frozen when the pair completes."""
    start = program.start_date or (pair.approved_at or at).date()
    return {
        "name": person.display_name or person.slack_user_id,
        "role": person.role,
        "program": name_in(program, person.locale),  # in the language it is written in
        "start": start.isoformat(),
        "end": min(program.end_date or at.date(), at.date()).isoformat(),
        "sessions": figures.sessions,
        "goals": len(figures.goals_achieved),
        "locale": person.locale,
    }
