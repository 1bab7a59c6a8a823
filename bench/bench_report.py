"""The admin report at scale: 5,000 participants, 12 check-in cycles and 12 pulse rounds; or
(`--programmes 10 --participants 500`) ten programmes side by side.

Seeds a fresh database (2,500 pairs, 12 cycles of check-ins from both partners, goals, 12
closed pulse rounds with their aggregate tallies), then times the report's figures
(`build_report`, target < 1 s), its charts (target < 2 s), the CSV and JSON export, and a
sample of anonymous answers through the real write path. Reports peak Python memory
(tracemalloc) of each step.

    python -m bench.bench_report [--participants 5000] [--database-url postgresql+psycopg://…]
    python -m bench.bench_report --programmes 10 --participants 500 [--database-url …]

With several programmes it times one programme's report figures (target < 1 s), the
cross-programme report's figures (every programme side by side, < 2 s) and its charts (< 2 s).
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import insert
from sqlmodel import select

from bench.databases import bench_database
from bot.domain import pulse
from bot.domain.comparison import build_comparison
from bot.domain.export import export_files
from bot.domain.programs import DEFAULT_TOPICS, ProgramForm, save_program, topic_id
from bot.domain.report import build_report
from bot.i18n import translator
from bot.views.comparison import comparison_charts, comparison_files, comparison_message
from bot.views.report import report_charts, report_message
from storage.db import Database
from storage.models import (
    CheckInCycle,
    CheckInRequest,
    Goal,
    Pair,
    Participant,
    Program,
    PulseKind,
    PulseRound,
    PulseTally,
)

T = TypeVar("T")
START = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)
SECRET = b"bench-pulse-secret-0123456789-abcdef"  # the PULSE_SECRET of this run


def measure(label: str, work: Callable[[], T], *, memory: bool = True) -> tuple[T, float]:
    """Times `work` (best of two runs), then runs it once more under tracemalloc for its peak
    Python memory (tracing slows Python down, so it is never part of the timing)."""
    timings = []
    for _ in range(2):
        started = time.perf_counter()
        result = work()
        timings.append(time.perf_counter() - started)
    elapsed = min(timings)
    peak_text = ""
    if memory:
        tracemalloc.start()
        work()
        _current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        peak_text = f"   peak {peak / 1e6:8.1f} MB"
    print(f"{label:<34} {elapsed:8.3f} s{peak_text}")
    return result, elapsed


def seed(
    db: Database, size: int, rng: random.Random, name: str = "Bench", prefix: str = "UR"
) -> int:
    topics = [topic_id(label) for label in DEFAULT_TOPICS]
    form = ProgramForm(
        name=name, goals=["80% of leaders complete 6 sessions"],
        start_date=date(2027, 1, 1), end_date=date(2027, 12, 31), anonymity_threshold=5,
    )  # fmt: skip
    with db.session() as session:
        program = save_program(session, form, admin_id="UBENCH")
        program_id = program.id or 0
        half = size // 2
        rows: list[dict[str, Any]] = []
        for index in range(size):
            role = "mentor" if index < half else "mentee"
            chosen = rng.sample(topics, 3)
            rows.append(
                {
                    "program_id": program_id, "slack_user_id": f"{prefix}{index:06d}", "role": role,
                    "status": "paired", "department": f"Dept {index % 9}",
                    "topics_offered": chosen if role == "mentor" else [],
                    "topics_wanted": chosen[:2] if role == "mentee" else [],
                    "development_areas": [], "available_days": [], "avoid_slack_ids": [],
                    "enrolled_at": START - timedelta(days=60), "updated_at": START,
                    "locale": "en", "utc_offset_minutes": 0,
                }
            )  # fmt: skip
        session.execute(insert(Participant), rows)
        ids = list(
            session.exec(
                select(Participant.id)
                .where(Participant.program_id == program_id)
                .order_by(Participant.id)  # type: ignore[arg-type]
            ).all()
        )
        pairs = [
            {"program_id": program_id, "mentor_id": ids[i], "mentee_id": ids[half + i],
             "status": "active", "score": 5, "reasons": [], "created_at": START,
             "introduced_at": START}
            for i in range(half)
        ]  # fmt: skip
        session.execute(insert(Pair), pairs)
        pair_ids = list(
            session.exec(
                select(Pair.id).where(Pair.program_id == program_id).order_by(Pair.id)  # type: ignore[arg-type]
            ).all()
        )
        goals = [
            {"pair_id": pair_id, "title": "Goal", "progress": rng.randint(0, 100),
             "status": rng.choice(["open", "done"]), "created_at": START, "updated_at": START}
            for pair_id in pair_ids for _ in range(2)
        ]  # fmt: skip
        session.execute(insert(Goal), goals)
        for month in range(12):
            cycle = CheckInCycle(program_id=program_id, period=f"2027-{month + 1:02d}")
            session.add(cycle)
            session.flush()
            responses = []
            for i, pair_id in enumerate(pair_ids):
                met = rng.random() < 0.7
                for person in (ids[i], ids[half + i]):
                    responses.append(
                        {"cycle_id": cycle.id, "pair_id": pair_id, "participant_id": person,
                         "status": "met" if met else "not_yet", "suggestion": {},
                         "notes": "private", "rating": rng.randint(1, 5),
                         "asked_at": START + timedelta(days=30 * month),
                         "answered_at": START + timedelta(days=30 * month)}
                    )  # fmt: skip
            session.execute(insert(CheckInRequest), responses)
            people = list(
                session.exec(select(Participant).where(Participant.program_id == program_id)).all()
            )
            opened = pulse.open_round(
                session,
                program,
                PulseKind.PULSE,
                START + timedelta(days=30 * month),
                people,
                secret=SECRET,
            )
            opened.status, opened.closed_at, opened.answered = "closed", START, int(size * 0.8)
            session.add(opened)
            session.flush()
            _fill_tallies(session, opened, rng)
    return program_id


def _fill_tallies(session: Any, opened: PulseRound, rng: random.Random) -> None:
    """Aggregate counts as if 80% had answered (answers themselves are timed separately)."""
    cells = session.exec(select(PulseTally).where(PulseTally.round_id == opened.id)).all()
    # As many answers per invited person whatever the programme's size (5,000: 400 and 60).
    overall = max(1, opened.invited * 400 // 5000)
    group = max(1, opened.invited * 60 // 5000)
    for cell in cells:
        cell.n = rng.randint(0, overall) if cell.dimension == "all" else rng.randint(0, group)
    session.flush()


def several_programmes(args: argparse.Namespace, rng: random.Random) -> int:
    """N programmes of M people each: one programme's figures (< 1 s), every programme side
    by side (< 2 s) and the comparison charts (< 2 s)."""
    with (
        tempfile.TemporaryDirectory() as folder,
        bench_database(args.database_url, Path(folder)) as url,
    ):
        db = Database(url)
        db.migrate()
        started = time.perf_counter()
        ids = [
            seed(db, args.participants, rng, name=f"Bench {n + 1}", prefix=f"U{n:02d}R")
            for n in range(args.programmes)
        ]
        print(f"seeded {args.programmes} programmes × {args.participants} participants, "
              f"12 cycles and 12 rounds each in {time.perf_counter() - started:.1f} s "
              f"({db.engine.dialect.name})")  # fmt: skip
        _ = translator("en")
        at = START + timedelta(days=365)

        def figures() -> Any:
            with db.session() as session:
                program = session.get(Program, ids[len(ids) // 2])
                assert program is not None
                return build_report(session, program, at)

        def compared() -> Any:
            with db.session() as session:
                return build_comparison(session, at)

        _report, figures_time = measure("one programme's report figures", figures)
        comparison, compared_time = measure("cross-programme report figures", compared)
        assert len(comparison.programmes) == args.programmes
        measure("cross-programme text (Block Kit)", lambda: comparison_message(comparison, _))
        charts, charts_time = measure(
            "comparison charts (PNGs)", lambda: comparison_charts(comparison, _)
        )
        measure("comparison CSV + JSON", lambda: comparison_files(comparison))
        verdict = {True: "yes", False: "NO"}
        print(f"one programme < 1 s: {verdict[figures_time < 1]}; across programmes < 2 s: "
              f"{verdict[compared_time < 2]}; charts < 2 s: {verdict[charts_time < 2]} "
              f"({len(charts)} charts)")  # fmt: skip
        db.dispose()
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--participants", type=int, default=5000)
    parser.add_argument("--answers", type=int, default=300, help="answers timed through storage")
    parser.add_argument("--database-url", default=None, help="default: a temporary SQLite file")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--programmes",
        type=int,
        default=1,
        help="more than 1: that many programmes of --participants each (e.g. 10 × 500), timing "
        "one programme's report, the cross-programme report and its charts",
    )
    args = parser.parse_args()
    rng = random.Random(args.seed)
    if args.programmes > 1:
        return several_programmes(args, rng)
    with (
        tempfile.TemporaryDirectory() as folder,
        bench_database(args.database_url, Path(folder)) as url,
    ):
        db = Database(url)
        db.migrate()
        started = time.perf_counter()
        program_id = seed(db, args.participants, rng)
        print(f"seeded {args.participants} participants, 12 cycles, 12 rounds "
              f"in {time.perf_counter() - started:.1f} s ({db.engine.dialect.name})")  # fmt: skip
        _ = translator("en")

        def figures() -> Any:
            with db.session() as session:
                program = session.get(Program, program_id)
                assert program is not None
                return build_report(session, program, START + timedelta(days=365))

        report, figures_time = measure("report figures", figures)
        measure("report text (Block Kit)", lambda: report_message(report, _))
        charts, charts_time = measure("charts (4 PNGs)", lambda: report_charts(report, _))
        measure("export csv", lambda: export_files(db, "csv"))
        measure("export json", lambda: export_files(db, "json"))
        with db.session() as session:
            people = list(session.exec(select(Participant).limit(args.answers)).all())
            program = session.get(Program, program_id)
            at = START + timedelta(days=400)
            opened = pulse.open_round(session, program, PulseKind.PULSE, at, people, secret=SECRET)
            round_id = opened.id or 0

        def answers() -> None:
            for person in people:
                outcome = db.run(
                    lambda s, p=person: pulse.record_answer(
                        s,
                        SECRET,
                        round_id,
                        p.slack_user_id,
                        pulse.SURVEY_KINDS,
                        {"value": 4, "nps": 9, "pairing": 5},
                        {"change": "x"},
                    )
                )
                assert outcome == pulse.RECORDED, outcome

        started = time.perf_counter()
        answers()
        answer_time = time.perf_counter() - started
        print(f"{args.answers} anonymous answers{'':<14} {answer_time:8.3f} s")
        print(f"per answer: {1000 * answer_time / max(1, args.answers):.1f} ms")
        later = START + timedelta(days=408)
        started = time.perf_counter()
        db.run(lambda s: pulse.close_now(s, round_id, later, secret=SECRET))
        print(f"closing: {args.answers} ballots opened and counted in "
              f"{time.perf_counter() - started:.3f} s")  # fmt: skip
        verdict = {True: "yes", False: "NO"}
        print(f"figures < 1 s: {verdict[figures_time < 1]}; charts < 2 s: "
              f"{verdict[charts_time < 2]} ({len(charts)} charts)")  # fmt: skip
        db.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
