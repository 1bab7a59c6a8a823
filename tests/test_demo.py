"""`reverse-mentoring demo` end to end, small: what it prints is what the app's report and
export say, everyone read their own language, the HTML holds, and a seed repeats exactly."""

from __future__ import annotations

import html
import io
import json
import re
from datetime import datetime
from pathlib import Path

import pytest
from sqlmodel import select

from bot.demo import DemoResult, programme_figures, run_demo
from bot.domain.export import export_files
from bot.domain.training import training_pack
from bot.i18n import translator
from bot.sandbox.workspace import seed_people
from storage import repositories as repo
from storage.db import Database
from storage.models import Pair
from tests.test_sandbox_render import parse

PEOPLE, MONTHS, SEED = 6, 2, 3


def _run(folder: Path) -> tuple[DemoResult, str]:
    url = f"sqlite:///{folder}/demo.db"
    result = run_demo(
        people=PEOPLE,
        months=MONTHS,
        seed=SEED,
        out=folder / "out",
        database_url=url,
        progress_stream=io.StringIO(),
        on_summary=lambda _line: None,
    )
    return result, url


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[DemoResult, str, DemoResult]:
    first, url = _run(tmp_path_factory.mktemp("demo-a"))
    second, _url = _run(tmp_path_factory.mktemp("demo-b"))
    return first, url, second


def test_the_summary_is_the_reports_and_the_files_are_the_export(
    runs: tuple[DemoResult, str, DemoResult],
) -> None:
    result, url, _second = runs
    database = Database(url)
    try:
        with database.session() as session:
            program = repo.active_program(session)
            assert program is not None
            assert repo.checkin_cycle_figures(session, program.id or 0), "meetings were logged"
            # Every pair set its goals through the modal, each measured and dated.
            pairs = list(session.exec(select(Pair)))
            goals = list(repo.goals_of_pairs(session, [p.id or 0 for p in pairs]))
            assert pairs and {g.pair_id for g in goals} == {p.id for p in pairs}
            assert all(g.measure and g.target_date for g in goals)
        summary = json.loads((result.out / "summary.json").read_text(encoding="utf-8"))
        assert summary["people"] == PEOPLE and summary["pairs"] == result.pairs > 0
        assert summary["figures"] == result.summary
        # The report's own code over the stored data, at the demo's last simulated moment.
        ended_at = datetime.fromisoformat(summary["ended_at"])
        assert programme_figures(database, ended_at) == result.summary
        meetings = [line for line in result.summary if "% met (" in line]
        assert len(meetings) >= MONTHS
        for name, data in export_files(database, "json"):
            assert (result.out / "export" / name).read_bytes() == data
    finally:
        database.dispose()


def test_everyone_read_their_own_language(runs: tuple[DemoResult, str, DemoResult]) -> None:
    result, _url, _second = runs
    text = (result.out / "transcript.txt").read_text(encoding="utf-8")
    sections = re.split(r"^=+\n", text, flags=re.M)
    people = {p.name: p for p in seed_people(PEOPLE, SEED) if not p.is_admin}
    checked = 0
    for person in people.values():
        section = next(s for s in sections if s.startswith(person.name + " ("))
        body = sections[sections.index(section) + 1]
        _ = translator(person.office.locale)
        role = "mentor" if "mentor)" in section else "mentee"
        assert _(training_pack(role).title) in body, (person.name, role)
        checked += 1
    assert checked == PEOPLE


def test_the_html_transcript_is_well_formed_with_a_section_each(
    runs: tuple[DemoResult, str, DemoResult],
) -> None:
    result, _url, _second = runs
    page = (result.out / "transcript.html").read_text(encoding="utf-8")
    parsed = parse(page)
    sections = {attrs.get("id") for tag, attrs in parsed.tags if tag == "section"}
    assert {p.user_id for p in seed_people(PEOPLE, SEED)} == sections
    assert html.escape("<script") not in page or "<script" not in page


def test_one_seed_gives_identical_transcripts_and_no_block_kit_violation(
    runs: tuple[DemoResult, str, DemoResult],
) -> None:
    first, _url, second = runs
    for name in ("transcript.txt", "transcript.html", "summary.txt"):
        assert (first.out / name).read_bytes() == (second.out / name).read_bytes(), name
    assert first.violations == [] and second.violations == []
    assert sorted(p.name for p in first.out.iterdir() if p.suffix in (".png", ".pdf")), (
        "charts and certificates were written"
    )
