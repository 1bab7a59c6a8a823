"""`reverse-mentoring demo` end to end, small: two programmes side by side (DACH in German,
Việt Nam in Vietnamese, each with its owner); what it prints is what the app's report and
export say, everyone read their own language and their own programme, the HTML holds, and a
seed repeats exactly."""

from __future__ import annotations

import html
import io
import json
import re
import shutil
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from bot.demo import REGIONS, DemoResult, demo_people, programme_figures, run_demo
from bot.domain.export import export_files
from bot.domain.training import training_pack
from bot.i18n import translator
from bot.transcript import sandbox_stylesheet
from storage import repositories as repo
from storage.db import Database
from storage.models import Certificate, Milestone, Pair, Program, PulseRound
from tests.test_sandbox_render import parse

PEOPLE, MONTHS, SEED = 12, 2, 3  # six in each programme
OWNERS = {region.owner.user_id: region for region in REGIONS}
ARTIFACTS = Path(__file__).parent / "artifacts" / "transcript"
# As tests/test_sandbox_browser.py launches Chromium (importing it would skip this module
# without playwright).
BROWSER_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]


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
            programs = {p.name: p for p in session.exec(select(Program))}
            assert set(programs) == {"DACH 2027", "Việt Nam 2027"}
            for region in REGIONS:
                program = programs[region.name]
                assert (program.timezone, program.settings["channel_language"]) == (
                    region.timezone,
                    region.language,
                )
                assert repo.owners(session, program.id or 0) == [region.owner.user_id]
                # Side by side: each programme logged its own meetings.
                assert repo.checkin_cycle_figures(session, program.id or 0), region.name
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
        assert len(meetings) >= 2 * MONTHS
        assert [line for line in result.summary if line.startswith("== ")] == [
            "== DACH 2027",
            "== Việt Nam 2027",
        ]
        for name, data in export_files(database, "json"):
            assert (result.out / "export" / name).read_bytes() == data
    finally:
        database.dispose()


def test_pairs_reach_their_goals_and_certificates_follow_the_completion_rule(
    runs: tuple[DemoResult, str, DemoResult],
) -> None:
    result, url, _second = runs
    database = Database(url)
    try:
        with database.session() as session:
            programs = list(session.exec(select(Program)))
            assert len(programs) == 2
            assert all(p.settings["completion_cycles"] == MONTHS for p in programs)
            names = {p.id: p.name for p in programs}
            certificates = list(session.exec(select(Certificate)))
            milestones = list(session.exec(select(Milestone)))
            completed = {m.pair_id for m in milestones if m.kind == "completed"}
            pairs = list(session.exec(select(Pair)))
            checks = list(session.exec(select(PulseRound).where(PulseRound.kind == "match_check")))
    finally:
        database.dispose()
    # Pairs logged goal progress in their meetings: goals were achieved, and certificates
    # (two per pair that met in every month, as the programme's rule says) count them.
    assert completed and len(certificates) == 2 * len(completed)
    assert all(c.detail["sessions"] >= MONTHS for c in certificates)
    assert all(c.detail["goals"] >= 1 for c in certificates)
    summary = "\n".join(result.summary)
    assert re.search(r"Pair goals: [1-9]\d* done", summary)
    # Each programme's report counts its own pairs.
    sections = dict(re.findall(r"^== (.+)\n((?:(?!== ).*\n?)*)", summary, flags=re.M))
    assert set(sections) == set(names.values())
    for program_id, name in names.items():
        mine = [p for p in pairs if p.program_id == program_id]
        done = len([p for p in mine if p.id in completed])
        assert f"Completed: {done} of {len(mine)} pairs" in sections[name], name
    # The report states the rule the certificates follow, and counts the same pairs.
    rule = (
        f"Completion rule: a pair completes the programme once it has met in {MONTHS} "
        "check-in cycles; certificates follow this rule."
    )
    assert rule in summary
    assert len(pairs) == result.pairs
    assert "6 or more sessions" not in summary
    assert "pairs that met ÷ pairs asked" in summary
    # The silent pair answered no match check; no round was shown for nobody.
    assert checks and all(0 < c.answered <= c.invited for c in checks)
    assert any(c.answered < c.invited for c in checks)
    assert "0 of 0" not in summary


def test_everyone_read_their_own_language(runs: tuple[DemoResult, str, DemoResult]) -> None:
    result, _url, _second = runs
    text = (result.out / "transcript.txt").read_text(encoding="utf-8")
    sections = re.split(r"^=+\n", text, flags=re.M)
    people = {
        p.name: p for p in demo_people(PEOPLE, SEED) if not p.is_admin and p.user_id not in OWNERS
    }
    own = {region.office.city: region.name for region in REGIONS}
    checked = 0
    for person in people.values():
        section = next(s for s in sections if s.startswith(person.name + " ("))
        body = sections[sections.index(section) + 1]
        _ = translator(person.office.locale)
        role = "mentor" if "mentor)" in section else "mentee"
        assert _(training_pack(role).title) in body, (person.name, role)
        # Their own programme only: Berlin's people DACH, Hanoi's Việt Nam.
        other = next(name for city, name in own.items() if city != person.office.city)
        assert own[person.office.city] in body and other not in body, person.name
        checked += 1
    assert checked == PEOPLE
    # Each owner read their programme's matters in their language (German, Vietnamese).
    for owner, region in OWNERS.items():
        person = next(p for p in demo_people(PEOPLE, SEED) if p.user_id == owner)
        section = next(s for s in sections if s.startswith(person.name + " ("))
        assert f"owner of {region.name})" in section


def _person_page(page: str, user_id: str) -> str:
    """One person's page of transcript.html."""
    start = page.index(f'<section class="page person" id="{user_id}">')
    following = page.find('<section class="page person"', start + 1)
    return page[start : following if following > 0 else len(page)]


def test_the_html_transcript_is_laid_out_like_the_sandbox(
    runs: tuple[DemoResult, str, DemoResult],
) -> None:
    result, _url, _second = runs
    page = (result.out / "transcript.html").read_text(encoding="utf-8")
    parsed = parse(page)
    assert "<script" not in page
    # The sandbox's own stylesheet: Block Kit, message and modal rules.
    assert sandbox_stylesheet() in page and ".bk-modal {" in page and ".msg {" in page
    people = {p.user_id: p for p in demo_people(PEOPLE, SEED)}
    pages = {
        attrs.get("id")
        for tag, attrs in parsed.tags
        if tag == "section" and "person" in (attrs.get("class") or "")
    }
    assert pages == set(people)
    for user_id, person in people.items():
        section = _person_page(page, user_id)
        # A table of contents, then a panel per conversation with its header.
        assert 'class="toc"' in section and "Direct message" in section, person.name
        # Times in the reader's own zone.
        zone = ZoneInfo(person.office.timezone)
        stamps = re.findall(r'<time datetime="([^"]+)">([^<]+)</time>', section)
        assert stamps, person.name
        for instant, shown in stamps[:5]:
            local = datetime.fromisoformat(instant).astimezone(zone)
            assert shown == f"{local:%a %d %b %Y, %H:%M} {local.tzname()}"
        _ = translator(person.office.locale)
        if person.is_admin:
            # The admin's set-up screens of both programmes, as they were submitted.
            title = html.escape(_("New programme"))
            assert section.count(f"submitted “{title}”") == 2, person.name
            assert "DACH 2027" in section and "Việt Nam 2027" in section
        if user_id in OWNERS:
            # Each owner's matching screen, in their language.
            assert f"submitted “{html.escape(_('Review matches'))}”" in section, person.name
            assert html.escape(OWNERS[user_id].name) in section
    assert "Group DM" in page and "Channel" in page


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


def test_the_transcript_reads_well_in_a_browser(runs: tuple[DemoResult, str, DemoResult]) -> None:
    """Opens transcript.html in headless Chromium (as tests/test_sandbox_browser.py does) and
    saves a screenshot of each step in tests/artifacts/transcript/ for a person to look at."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("no Chromium installed (apt-get install chromium); .ci/run installs it")
    result, _url, _second = runs
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    people = demo_people(PEOPLE, SEED)
    admin = next(p for p in people if p.is_admin)
    owner = REGIONS[1].owner  # Việt Nam's, in Hanoi
    hanoi = next(
        p for p in people if p.office.timezone == "Asia/Ho_Chi_Minh" and p.user_id not in OWNERS
    )
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=BROWSER_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto((result.out / "transcript.html").as_uri())
        # It opens on the overview: the programme's figures and charts, every person a link.
        assert page.locator("#overview").is_visible()
        assert page.locator("#overview img").count() >= 1
        assert page.locator("section.person:visible").count() == 0
        assert page.evaluate("document.documentElement.scrollHeight") < 8000
        page.screenshot(path=str(ARTIFACTS / "01-overview.png"), full_page=True)

        # The admin: a table of contents, then the set-up screen as it was submitted.
        page.click(f'nav a[href="#{admin.user_id}"]')
        section = page.locator(f"#{admin.user_id}")
        assert section.is_visible() and not page.locator("#overview").is_visible()
        assert section.locator(".toc a").count() >= 3
        _ = translator(admin.office.locale)
        forms = section.locator(".form-entry .bk-modal-title")
        assert forms.all_inner_texts()[:2] == [_("New programme"), _("New programme")]
        page.screenshot(path=str(ARTIFACTS / "02-admin.png"))

        # Việt Nam's owner: the matching screen she submitted, in Vietnamese.
        page.click(f'nav a[href="#{owner.user_id}"]')
        section = page.locator(f"#{owner.user_id}")
        _ = translator(owner.office.locale)
        forms = section.locator(".form-entry .bk-modal-title")
        assert _("Review matches") in forms.all_inner_texts()
        section.locator(".form-entry").first.scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / "03-owner-matching.png"))

        # A person in Hanoi: their DM and channel panels, times in their zone.
        page.click(f'nav a[href="#{hanoi.user_id}"]')
        section = page.locator(f"#{hanoi.user_id}")
        headers = section.locator(".conversation > h3").all_inner_texts()
        assert any("Direct message" in h for h in headers) and any("Channel" in h for h in headers)
        first_time = section.locator(".msg time").first.inner_text()
        assert first_time.endswith("+07"), first_time
        page.screenshot(path=str(ARTIFACTS / "04-hanoi.png"))
        # The table of contents takes the reader to a conversation.
        section.locator(".toc a").last.click()
        page.screenshot(path=str(ARTIFACTS / "05-hanoi-channel.png"))
        assert section.is_visible()
        browser.close()
