"""The cross-programme report for super-admins: each programme's headline figures side by
side, computed by the same code as its own report (bot.domain.report), plus pooled figures.

Pulse figures keep each programme's own anonymity threshold. A pooled pulse figure must not
let anyone take a hidden programme's figure back out of it (pooled minus the shown ones), so
the rule is: **a pooled pulse figure counts only the programmes whose own figure is shown**.
It is then a function of figures already on the screen and reveals nothing more; the
programmes left out are named. A programme's figure is its latest closed survey round's
overall result, shown only at or above its threshold (bot.domain.pulse.round_result).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session

from bot.domain import pulse
from bot.domain.report import Report, build_report
from storage import repositories as repo
from storage.models import CycleStatus, ParticipantStatus, Program, ProgramStatus, PulseTally

ACTIVE = (ParticipantStatus.WAITING, ParticipantStatus.PAIRED)


@dataclass(frozen=True)
class PulseFigure:
    """A programme's latest closed survey round, overall: `shown` False when it stays hidden
    (fewer answers than the programme's threshold)."""

    period: str
    threshold: int
    shown: bool
    respondents: int | None = None  # None while hidden
    nps: float | None = None
    value: float | None = None  # average value of sessions, 1–5
    nps_counts: dict[int, int] = field(default_factory=dict)
    value_counts: dict[int, int] = field(default_factory=dict)


@dataclass(frozen=True)
class ProgrammeFigures:
    program: Program
    mentors: int  # active (waiting or paired)
    mentees: int
    waiting: int  # the waiting list: active people without a pair yet
    pairs_active: int
    pairs_at_risk: int
    pairs_ended: int
    period: str | None  # the latest check-in cycle
    meeting_rate: float | None  # in that cycle, 0–100
    answer_rate: float | None  # pairs that answered its check-in ÷ pairs asked, 0–100
    goals_done: int
    goals_total: int
    goal_progress: float | None
    completed: int
    completion_pairs: int
    pulse: PulseFigure | None  # None: no closed survey round yet


@dataclass(frozen=True)
class PooledPulse:
    """The pulse figure over the programmes whose own figure is shown (`included`); the
    programmes with a hidden figure are `left_out` and count nowhere in it."""

    included: list[int]
    left_out: list[int]
    respondents: int
    nps: float | None
    value: float | None


@dataclass(frozen=True)
class Comparison:
    programmes: list[ProgrammeFigures]
    pooled: PooledPulse | None  # None: no programme's pulse figure is shown

    def total(self, name: str) -> int:
        """The sum of a count over every programme (people, pairs, goals)."""
        return sum(int(getattr(figures, name)) for figures in self.programmes)


def _rate(part: int, whole: int) -> float | None:
    return 100.0 * part / whole if whole else None


def _nps(counts: dict[int, int]) -> float | None:
    total = sum(counts.values())
    if not total:
        return None
    promoters = sum(n for v, n in counts.items() if v >= 9)
    detractors = sum(n for v, n in counts.items() if v <= 6)
    return 100.0 * (promoters - detractors) / total


def _average(counts: dict[int, int]) -> float | None:
    total = sum(counts.values())
    return sum(v * n for v, n in counts.items()) / total if total else None


def pulse_figure(results: Sequence[pulse.RoundResult]) -> PulseFigure | None:
    """The latest closed survey round's overall figure (hidden below the threshold), from a
    programme's full report."""
    closed = [r for r in results if r.round.status == CycleStatus.CLOSED and r.round.invited]
    return _figure(closed[-1]) if closed else None


def _figure(latest: pulse.RoundResult) -> PulseFigure:
    overall = latest.overall
    if overall is None:
        return PulseFigure(latest.round.period, latest.threshold, shown=False)
    return PulseFigure(
        latest.round.period,
        latest.threshold,
        shown=True,
        respondents=overall.respondents,
        nps=overall.nps,
        value=overall.averages.get("value"),
        nps_counts=dict(overall.distribution.get("nps", {})),
        value_counts=dict(overall.distribution.get("value", {})),
    )


def latest_pulse_figures(session: Session, programs: Sequence[Program]) -> dict[int, PulseFigure]:
    """Each programme's latest closed survey figure, read for every programme at once (its
    round and that round's overall cells): the same result `pulse_figure` gets from a full
    report, through the same rule (bot.domain.pulse.round_result with the programme's own
    threshold)."""
    rounds = repo.latest_closed_rounds(session, [p.id or 0 for p in programs], pulse.SURVEY_KINDS)
    cells: dict[int, list[PulseTally]] = {}
    for cell in repo.overall_tallies(session, [r.id or 0 for r in rounds.values()]):
        cells.setdefault(cell.round_id, []).append(cell)
    out = {}
    for program in programs:
        latest = rounds.get(program.id or 0)
        if latest is not None:
            threshold = pulse.threshold_of(program)
            result = pulse.round_result(latest, cells.get(latest.id or 0, []), threshold, {})
            out[program.id or 0] = _figure(result)
    return out


def programme_figures(report: Report, latest: PulseFigure | None) -> ProgrammeFigures:
    """The headline figures of one programme, from its own report and its latest survey."""
    people = report.by_role_status
    last = report.cycles[-1] if report.cycles else None
    goals = report.goals
    return ProgrammeFigures(
        program=report.program,
        mentors=sum(people.get(("mentor", s), 0) for s in ACTIVE),
        mentees=sum(people.get(("mentee", s), 0) for s in ACTIVE),
        waiting=sum(n for (_role, status), n in people.items() if status == "waiting"),
        pairs_active=report.pairs["active"],
        pairs_at_risk=report.pairs["at_risk"],
        pairs_ended=report.pairs["ended"],
        period=last.period if last else None,
        meeting_rate=last.meeting_rate if last else None,
        answer_rate=_rate(last.pairs_answered, last.pairs_asked) if last else None,
        goals_done=goals.get("done", 0),
        goals_total=sum(goals.values()),
        goal_progress=report.goal_progress,
        completed=report.completion.reached,
        completion_pairs=report.completion.pairs,
        pulse=latest,
    )


def pooled_pulse(programmes: Sequence[ProgrammeFigures]) -> PooledPulse | None:
    """Pooled NPS and value over the programmes whose own figure is shown; None when none is.
    A hidden programme adds nothing, so pooled minus the shown figures is always empty."""
    included = [f for f in programmes if f.pulse is not None and f.pulse.shown]
    left_out = [f for f in programmes if f.pulse is not None and not f.pulse.shown]
    if not included:
        return None
    nps: Counter[int] = Counter()
    value: Counter[int] = Counter()
    for figures in included:
        assert figures.pulse is not None
        nps.update(figures.pulse.nps_counts)
        value.update(figures.pulse.value_counts)
    return PooledPulse(
        included=[f.program.id or 0 for f in included],
        left_out=[f.program.id or 0 for f in left_out],
        respondents=sum((f.pulse.respondents or 0) for f in included if f.pulse),
        nps=_nps(dict(nps)),
        value=_average(dict(value)),
    )


def compared_programmes(session: Session) -> list[Program]:
    """Every programme but the archived ones, oldest first."""
    return [p for p in repo.all_programs(session) if p.status != ProgramStatus.ARCHIVED]


def build_comparison(session: Session, at: datetime) -> Comparison:
    programs = compared_programmes(session)
    latest = latest_pulse_figures(session, programs)
    programmes = [
        programme_figures(
            build_report(session, program, at, surveys=False, topics=False),
            latest.get(program.id or 0),
        )
        for program in programs
    ]
    return Comparison(programmes, pooled_pulse(programmes))


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def comparison_rows(comparison: Comparison) -> list[dict[str, object]]:
    """One row per programme and a last one for the pooled figures, as the CSV and JSON
    export of the comparison give them (a hidden pulse figure stays empty)."""
    rows: list[dict[str, object]] = []
    for f in comparison.programmes:
        shown = f.pulse is not None and f.pulse.shown
        rows.append(
            {
                "program_id": f.program.id,
                "program": f.program.name,
                "status": f.program.status,
                "mentors": f.mentors,
                "mentees": f.mentees,
                "waiting": f.waiting,
                "pairs_active": f.pairs_active,
                "pairs_at_risk": f.pairs_at_risk,
                "pairs_ended": f.pairs_ended,
                "cycle": f.period,
                "meeting_rate": _rounded(f.meeting_rate),
                "answer_rate": _rounded(f.answer_rate),
                "goals_done": f.goals_done,
                "goals_total": f.goals_total,
                "goal_progress": _rounded(f.goal_progress),
                "completed_pairs": f.completed,
                "introduced_pairs": f.completion_pairs,
                "pulse_round": f.pulse.period if f.pulse else None,
                "pulse_threshold": f.pulse.threshold if f.pulse else None,
                "pulse_shown": shown if f.pulse else None,
                "pulse_respondents": f.pulse.respondents if f.pulse and shown else None,
                "pulse_nps": _rounded(f.pulse.nps) if f.pulse and shown else None,
                "pulse_value": _rounded(f.pulse.value) if f.pulse and shown else None,
            }
        )
    pooled = comparison.pooled
    total: dict[str, object] = {key: None for key in rows[0]} if rows else {}
    total.update(
        {
            name: comparison.total(name)
            for name in (
                "mentors",
                "mentees",
                "waiting",
                "pairs_active",
                "pairs_at_risk",
                "pairs_ended",
                "goals_done",
                "goals_total",
            )
        }  # fmt: skip
    )
    total["program"] = "all"
    if pooled is not None:
        total["pulse_shown"] = True
        total["pulse_respondents"] = pooled.respondents
        total["pulse_nps"] = _rounded(pooled.nps)
        total["pulse_value"] = _rounded(pooled.value)
    rows.append(total)
    return rows
