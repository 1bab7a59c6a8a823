"""The cross-programme report's figures (bot/domain/comparison.py) on SQLite and PostgreSQL:
each programme's figures as its own report gives them, totals, and the pooled pulse rule
tried with a differencing attack (pooled minus the shown programmes must give nothing)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest

from bot import clock
from bot.domain import pulse
from bot.domain.comparison import (
    Comparison,
    PulseFigure,
    build_comparison,
    comparison_rows,
    pooled_pulse,
    programme_figures,
    pulse_figure,
)
from bot.domain.programs import ProgramForm, save_program
from bot.domain.report import build_report
from storage.db import Database
from storage.models import (
    CheckInCycle,
    CheckInRequest,
    Goal,
    Pair,
    Participant,
    Program,
    PulseKind,
)

SECRET = b"comparison-test-secret-0123456789abcdef"
OPENED = datetime(2027, 2, 1, 9, 0, tzinfo=UTC)
CLOSED = OPENED + timedelta(days=8)


@dataclass(frozen=True)
class Shape:
    """What one seeded programme holds."""

    name: str
    prefix: str
    threshold: int
    pairs: int
    waiting: int  # mentees without a pair
    met: int  # pairs whose check-in says they met
    not_yet: int  # pairs that answered "not yet"; the rest stay silent
    goals_done: int
    goals_open: int
    answers: Sequence[tuple[int, int]]  # (value 1–5, NPS 0–10) per respondent
    owners: Sequence[str] = ()


# 4 pairs + 1 waiting mentee; 2 met, 1 not yet, 1 silent: 50 % met, 75 % answered. Six
# answers at threshold 5: shown. NPS: 3 promoters, 2 detractors of 6 = +17; value 4.0.
DACH = Shape(
    "DACH 2027", "UDA", 5, 4, 1, 2, 1, 2, 2, [(5, 10), (4, 10), (4, 9), (3, 8), (5, 5), (3, 3)]
)
# 2 pairs + 2 waiting; both met. Three answers at threshold 5: hidden. Were they pooled,
# the pooled NPS would drop from +17 to -22 and n from 6 to 9, giving them away.
VIETNAM = Shape("Việt Nam 2027", "UVN", 5, 2, 2, 2, 0, 0, 1, [(1, 0), (1, 0), (1, 0)])


@pytest.fixture
def manual_clock() -> Iterator[clock.ManualClock]:
    manual = clock.ManualClock(OPENED)
    previous = clock.install(manual)
    try:
        yield manual
    finally:
        clock.install(previous)


def seed_programme(db: Database, shape: Shape, manual: clock.ManualClock, secret: bytes) -> int:
    """A programme with pairs, one check-in cycle, goals and one survey round answered through
    the real ballot path and closed; returns its id."""
    manual.set(OPENED)
    form = ProgramForm(
        name=shape.name,
        goals=[],
        start_date=date(2027, 1, 1),
        end_date=date(2027, 12, 31),
        anonymity_threshold=shape.threshold,
        owners=list(shape.owners),
    )
    with db.session() as session:
        program = save_program(session, form, admin_id="USEEDER")
        program_id = program.id or 0
        enrolled = OPENED - timedelta(days=60)

        def person(user: str, role: str, status: str) -> Participant:
            row = Participant(
                program_id=program_id,
                slack_user_id=user,
                role=role,
                status=status,
                department="Sales",
                enrolled_at=enrolled,
            )
            session.add(row)
            return row

        pairs = []
        for index in range(shape.pairs):
            mentor = person(f"{shape.prefix}M{index}", "mentor", "paired")
            mentee = person(f"{shape.prefix}E{index}", "mentee", "paired")
            session.flush()
            pair = Pair(
                program_id=program_id,
                mentor_id=mentor.id or 0,
                mentee_id=mentee.id or 0,
                status="active",
                introduced_at=OPENED - timedelta(days=20),
                approved_at=OPENED - timedelta(days=20),
            )
            session.add(pair)
            session.flush()
            pairs.append((pair, mentor, mentee))
        for index in range(shape.waiting):
            person(f"{shape.prefix}W{index}", "mentee", "waiting")
        cycle = CheckInCycle(program_id=program_id, period="2027-01")
        session.add(cycle)
        session.flush()
        for index, (pair, mentor, mentee) in enumerate(pairs):
            status = (
                "met" if index < shape.met else "not_yet" if index < shape.met + shape.not_yet
                else "asked"
            )  # fmt: skip
            for member in (mentor, mentee):
                session.add(
                    CheckInRequest(
                        cycle_id=cycle.id or 0,
                        pair_id=pair.id or 0,
                        participant_id=member.id or 0,
                        status=status,
                        rating=4 if status == "met" else None,
                        answered_at=None if status == "asked" else OPENED - timedelta(days=10),
                    )
                )
        first = pairs[0][0].id or 0
        for index in range(shape.goals_done + shape.goals_open):
            done = index < shape.goals_done
            session.add(
                Goal(
                    pair_id=first,
                    title=f"Goal {index}",
                    status="done" if done else "open",
                    progress=100 if done else 40,
                )
            )
        session.flush()
        people = [row for _pair, mentor, mentee in pairs for row in (mentor, mentee)]
        opened = pulse.open_round(session, program, PulseKind.PULSE, OPENED, people, secret=secret)
        round_id = opened.id or 0
    for (value, nps), user in zip(shape.answers, [p.slack_user_id for p in people], strict=False):
        outcome = db.run(
            lambda s, u=user, v=value, n=nps: pulse.record_answer(
                s, secret, round_id, u, pulse.SURVEY_KINDS, {"value": v, "nps": n, "pairing": 4}, {}
            )
        )
        assert outcome == pulse.RECORDED
    manual.set(CLOSED)
    assert db.run(lambda s: pulse.close_now(s, round_id, CLOSED, secret=secret))
    return program_id


def _comparison(db: Database) -> Comparison:
    with db.session() as session:
        return build_comparison(session, CLOSED)


def test_each_programme_has_its_own_reports_figures_side_by_side_with_totals(
    database: Database, manual_clock: clock.ManualClock
) -> None:
    dach_id = seed_programme(database, DACH, manual_clock, SECRET)
    vietnam_id = seed_programme(database, VIETNAM, manual_clock, SECRET)
    comparison = _comparison(database)
    dach, vietnam = comparison.programmes
    assert (dach.program.id, vietnam.program.id) == (dach_id, vietnam_id)
    assert (dach.mentors, dach.mentees, dach.waiting) == (4, 5, 1)
    assert (vietnam.mentors, vietnam.mentees, vietnam.waiting) == (2, 4, 2)
    assert (dach.pairs_active, vietnam.pairs_active) == (4, 2)
    assert dach.period == "2027-01"
    assert (dach.meeting_rate, dach.answer_rate) == (50.0, 75.0)
    assert (vietnam.meeting_rate, vietnam.answer_rate) == (100.0, 100.0)
    assert (dach.goals_done, dach.goals_total, dach.goal_progress) == (2, 4, 70.0)
    assert (vietnam.goals_done, vietnam.goals_total) == (0, 1)
    assert comparison.total("pairs_active") == 6 and comparison.total("waiting") == 3
    assert comparison.total("mentees") == 9
    # The same numbers as the programme's own report.
    with database.session() as session:
        program = session.get(Program, dach_id)
        assert program is not None
        report = build_report(session, program, CLOSED)
        own = programme_figures(report, pulse_figure(report.surveys))
    assert own == dach
    # Pulse: each programme against its own threshold.
    assert dach.pulse is not None and dach.pulse.shown
    assert dach.pulse.respondents == 6
    assert dach.pulse.nps is not None and round(dach.pulse.nps) == 17
    assert dach.pulse.value == 4.0
    assert vietnam.pulse is not None and not vietnam.pulse.shown
    assert vietnam.pulse.respondents is None and vietnam.pulse.nps is None
    assert vietnam.pulse.nps_counts == {} and vietnam.pulse.value_counts == {}


def test_the_pooled_pulse_figure_gives_nothing_away_to_a_differencing_attack(
    database: Database, manual_clock: clock.ManualClock
) -> None:
    seed_programme(database, DACH, manual_clock, SECRET)
    seed_programme(database, VIETNAM, manual_clock, SECRET)
    comparison = _comparison(database)
    dach, vietnam = comparison.programmes
    pooled = comparison.pooled
    assert pooled is not None
    assert pooled.included == [dach.program.id] and pooled.left_out == [vietnam.program.id]
    # The attack: pooled minus every shown programme's figure. What is left would be the
    # hidden programme's; it must be nothing.
    shown = [f.pulse for f in comparison.programmes if f.pulse is not None and f.pulse.shown]
    assert pooled.respondents - sum(p.respondents or 0 for p in shown) == 0
    assert dach.pulse is not None and pooled.nps == dach.pulse.nps
    assert pooled.value == 4.0
    # Were Việt Nam's three answers pooled, n would be 9 and NPS -22: neither appears anywhere.
    rows = comparison_rows(comparison)
    assert rows[-1]["pulse_respondents"] == 6 and rows[-1]["pulse_nps"] == pytest.approx(16.7)
    assert rows[1]["pulse_respondents"] is None and rows[1]["pulse_nps"] is None
    assert rows[1]["pulse_shown"] is False


def _score(nps: dict[int, int]) -> float:
    promoters = sum(c for v, c in nps.items() if v >= 9)
    detractors = sum(c for v, c in nps.items() if v <= 6)
    return 100.0 * (promoters - detractors) / sum(nps.values())


def _figure(n: int, threshold: int, nps: dict[int, int]) -> PulseFigure:
    shown = n >= threshold
    return PulseFigure(
        "2027-02-01",
        threshold,
        shown,
        respondents=n if shown else None,
        nps=_score(nps) if shown else None,
        nps_counts=nps if shown else {},
        value_counts={4: n} if shown else {},
    )


def test_pooling_follows_each_programmes_own_threshold() -> None:
    """Three answers are shown where the threshold is 3 and hidden where it is 5; nothing is
    pooled when no programme's figure is shown."""
    from bot.domain.comparison import ProgrammeFigures

    def programme(number: int, figure: PulseFigure | None) -> ProgrammeFigures:
        program = Program(id=number, name=f"P{number}")
        return ProgrammeFigures(
            program, 0, 0, 0, 0, 0, 0, None, None, None, 0, 0, None, 0, 0, figure
        )

    small = programme(1, _figure(3, 3, {10: 3}))
    hidden = programme(2, _figure(3, 5, {0: 3}))
    large = programme(3, _figure(5, 5, {0: 5}))
    silent = programme(4, None)  # no closed round: neither pooled nor left out
    pooled = pooled_pulse([small, hidden, large, silent])
    assert pooled is not None
    assert (pooled.included, pooled.left_out) == ([1, 3], [2])
    assert pooled.respondents == 8
    assert pooled.nps == pytest.approx(100.0 * (3 - 5) / 8)
    assert pooled_pulse([hidden, silent]) is None


def test_comparison_charts_keep_fixed_axes_and_mark_a_hidden_figure_instead_of_a_zero() -> None:
    from bot.domain.comparison import ProgrammeFigures
    from bot.i18n import translator
    from bot.views.comparison import comparison_figures

    def programme(number: int, figure: PulseFigure) -> ProgrammeFigures:
        program = Program(id=number, name=f"P{number}")
        return ProgrammeFigures(
            program, 4, 5, 1, 4, 1, 0, "2027-01", 50.0, 75.0, 2, 4, 70.0, 1, 4, figure
        )

    figures = [programme(1, _figure(6, 5, {10: 4, 3: 2})), programme(2, _figure(3, 5, {0: 3}))]
    comparison = Comparison(figures, pooled_pulse(figures))
    charts = {chart.name: chart for chart in comparison_figures(comparison, translator("en"))}
    assert set(charts) == {
        "pairs-by-programme.png",
        "checkins-by-programme.png",
        "pulse-by-programme.png",
    }
    rates = charts["checkins-by-programme.png"].figure.axes[0]
    assert rates.get_ylim() == (0, 100)
    nps = charts["pulse-by-programme.png"]
    axes = nps.figure.axes[0]
    assert axes.get_ylim() == (-100, 100)
    assert [t.get_text() for t in axes.get_xticklabels()] == ["P1", "P2", "All (pooled)"]
    # P1 and the pooled figure get a bar each (the same +33), P2 none but the word "hidden".
    assert len(axes.patches) == 2
    assert [round(p.get_height()) for p in axes.patches] == [33, 33]
    assert "hidden" in [t.get_text() for t in axes.texts]
    assert nps.data == {"programmes": ["P1", "P2", "All (pooled)"], "NPS": [33, None, 33]}
    counts = charts["pairs-by-programme.png"].figure.axes[0]
    assert counts.get_ylim()[0] == 0
    assert all(float(t).is_integer() for t in counts.get_yticks())
