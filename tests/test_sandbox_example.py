"""`reverse-mentoring sandbox --example`: two regional programmes a month in, seeded the way
people would do it, with HR's roster; and what `--example` and `--fresh` do with a database
that already holds data."""

from __future__ import annotations

import json
import re
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from bot.domain.matching import reporting_chain
from bot.domain.overview import enrollment_overview
from bot.domain.report import build_report
from bot.i18n import translator
from bot.sandbox import example
from bot.sandbox.run import prepare_database
from bot.sandbox.server import Sandbox
from bot.sandbox.workspace import ADMIN_ID, DACH_CHANNEL, VIETNAM_CHANNEL
from bot.views.report import report_sections
from storage import repositories as repo
from storage.db import Database
from storage.models import (
    Goal,
    Pair,
    Participant,
    Program,
    RosterEntry,
    ShoutOut,
)
from tests.test_sandbox_cli import START_LINE, _call, _cli, _free_port, _Terminal

NOW = datetime(2027, 2, 10, 9, 0, tzinfo=UTC)  # a Wednesday: the example's "today"
KATRIN, HA = example.OWNERS[example.DACH], example.OWNERS[example.VIETNAM]
JUERGEN, LAN = "UBE0CFO03", "UHN0SAL04"  # a DACH leader, a Việt Nam leader


@pytest.fixture
def box(database_url: str) -> Iterator[Sandbox]:
    sandbox = Sandbox(
        port=0,
        database_url=database_url,
        example=True,
        start_at=NOW,
        with_scheduler=False,
        serve_page=False,
    )
    sandbox.start()
    try:
        yield sandbox
    finally:
        sandbox.stop()


def _home(box: Sandbox, user_id: str) -> dict[str, Any]:
    box.open_home(user_id)
    published = [c for c in box.fake.calls("views.publish") if c.params["user_id"] == user_id]
    assert published, user_id
    return published[-1].params["view"]


def _text(view: dict[str, Any]) -> str:
    return json.dumps(view, ensure_ascii=False)


def test_the_example_is_two_regional_programmes_a_month_in(box: Sandbox) -> None:
    assert box.clock.now() == NOW
    start = example.example_start(NOW)
    assert start.weekday() == 0 and timedelta(days=31) <= NOW - start < timedelta(days=38)
    with box.runtime.services.db.session() as session:
        programmes = {p.name: p for p in session.exec(select(Program))}
        assert set(programmes) == {"DACH 2027", "Việt Nam 2027", "AI for executives"}
        dach, vietnam = programmes["DACH 2027"], programmes["Việt Nam 2027"]
        evergreen = programmes["AI for executives"]
        assert (dach.status, dach.timezone, dach.settings["channel_language"]) == (
            "running",
            "Europe/Berlin",
            "de",
        )
        assert (vietnam.status, vietnam.timezone, vietnam.settings["channel_language"]) == (
            "running",
            "Asia/Ho_Chi_Minh",
            "vi",
        )
        assert evergreen.status == "enrolling" and evergreen.end_date is None
        assert dach.start_date == vietnam.start_date == start.date()
        assert repo.owners(session, dach.id or 0) == [KATRIN]
        assert repo.owners(session, vietnam.id or 0) == [HA]

        people = {p.id: p for p in session.exec(select(Participant))}
        pairs = list(session.exec(select(Pair)))
        roster = {r.slack_user_id: r for r in session.exec(select(RosterEntry))}
        goals = list(session.exec(select(Goal)))
        shout_outs = list(session.exec(select(ShoutOut)))
        overview = enrollment_overview(session, dach)
        # The owner's report has a month to show: the first check-in cycle's meetings.
        en = translator("en")
        report = [
            row
            for program in (dach, vietnam)
            for _title, rows in report_sections(build_report(session, program, NOW), en)
            for row in rows
        ]

    # Everyone enrolled in both roles, matched, approved and introduced, in their programme.
    for programme, office in ((dach, "Berlin"), (vietnam, "Hanoi")):
        enrolled = [p for p in people.values() if p.program_id == programme.id]
        assert sorted(p.role for p in enrolled) == ["mentee"] * 3 + ["mentor"] * 3
        mine = [p for p in pairs if p.program_id == programme.id]
        assert len(mine) == 3 and all(p.status == "active" and p.introduced_at for p in mine)
        for pair in mine:
            mentor, mentee = people[pair.mentor_id], people[pair.mentee_id]
            assert mentor.program_id == mentee.program_id == programme.id
            assert {roster[mentor.slack_user_id].office, roster[mentee.slack_user_id].office} == {
                office
            }
            # The reporting-line exclusion has data: every mentor works under one of the
            # leaders of their programme, and none is paired with their own line.
            managers = {r.slack_user_id: r.manager_slack_id for r in roster.values()}
            assert mentee.slack_user_id not in reporting_chain(mentor.slack_user_id, managers)
        # A month in: the first check-ins answered (all pairs but one met), goals set.
        assert sum(p.last_met_at is not None for p in mine) >= 2
        assert {g.pair_id for g in goals} >= {p.id for p in mine}
        assert sum(p.training_read_at is not None for p in enrolled) == 5
    assert sum(p.last_met_at is None for p in pairs) == 1
    assert shout_outs, "the DACH owner thanked a pair"
    evergreen_people = [p for p in people.values() if p.program_id == evergreen.id]
    assert len(evergreen_people) == 2

    # HR's roster: everyone, with departments, titles, offices, countries, hire dates and
    # levels, and one reporting chain up to the chief executive.
    assert set(roster) == {p.user_id for p in box.people}
    assert all(
        r.department and r.title and r.office and r.country and r.hire_date for r in roster.values()
    )
    assert all(r.level for r in roster.values())
    tops = [r for r in roster.values() if r.manager_slack_id is None]
    assert [r.title for r in tops] == ["Chief Executive Officer"]
    managers = {r.slack_user_id: r.manager_slack_id for r in roster.values()}
    mentors_under_a_leader = [
        p
        for p in people.values()
        if p.role == "mentor"
        and p.program_id != evergreen.id
        and any(
            q.slack_user_id in reporting_chain(p.slack_user_id, managers)
            for q in people.values()
            if q.role == "mentee" and q.program_id == p.program_id
        )
    ]
    assert len(mentors_under_a_leader) == 6
    met = [row for row in report if "% met (" in row]
    assert len(met) == 2 and any("100% met (3 of 3 pairs asked" in row for row in met), met
    # The overview's departments are filled.
    assert {name for name, _count in overview.by_department} >= {"Finance", "Sales", "Marketing"}


def test_a_member_sees_their_home_in_their_language_and_an_owner_their_programme(
    box: Sandbox,
) -> None:
    with box.runtime.services.db.session() as session:
        ids = {p.name: p.id for p in session.exec(select(Program))}
    dach, vietnam = ids["DACH 2027"], ids["Việt Nam 2027"]
    de, vi = translator("de"), translator("vi")
    home = _text(_home(box, JUERGEN))
    assert de("Your partner") in home and "DACH 2027" in home
    assert f"participant_actions_{dach}" in home and "Việt Nam 2027" not in home
    home = _text(_home(box, LAN))
    assert vi("Your partner") in home and "Việt Nam 2027" in home
    assert f"participant_actions_{vietnam}" in home
    # Each owner runs their own programme only; the super-admin runs all three.
    owner = _text(_home(box, KATRIN))
    assert de("You run this programme: enrollment overview") in owner
    assert f"admin_actions_{dach}" in owner and f"admin_actions_{vietnam}" not in owner
    owner = _text(_home(box, HA))
    assert f"admin_actions_{vietnam}" in owner and f"admin_actions_{dach}" not in owner
    admin = _text(_home(box, ADMIN_ID))
    assert all(f"admin_actions_{i}" in admin for i in ids.values())
    # Each owner's shout-out reached their programme's channel, in its language.
    for channel, language, praise in (
        (DACH_CHANNEL[0], "de", "Social-Media-Leitfaden"),
        (VIETNAM_CHANNEL[0], "vi", "Bảng điều khiển AI"),
    ):
        posted = [str(m.get("text")) for m in box.fake.posted_messages(channel)]
        assert any(praise in text for text in posted), posted
        assert any(translator(language)("Shout-out") in text for text in posted), posted


def _other_data(url: str) -> None:
    """A programme and a person that are not the example's."""
    database = Database(url)
    database.migrate()
    with database.session() as session:
        session.add(Program(name="Our own pilot"))
    database.dispose()


def test_example_refuses_a_database_with_other_data_and_fresh_starts_over(
    database_url: str,
) -> None:
    # An empty database: the example goes in; plain sandbox is plain.
    assert prepare_database(database_url, example=True, fresh=False) == (True, None)
    assert prepare_database(database_url, example=False, fresh=False) == (False, None)
    _other_data(database_url)
    example_wanted, refusal = prepare_database(database_url, example=True, fresh=False)
    assert refusal is not None and "\n" not in refusal
    assert "already holds data (1 programme, 0 people enrolled)" in refusal
    assert "--fresh" in refusal
    # Plain sandbox continues with what it holds.
    assert prepare_database(database_url, example=False, fresh=False) == (False, None)
    # --fresh deletes it all; the migrations make the tables again.
    assert prepare_database(database_url, example=True, fresh=True) == (True, None)
    database = Database(database_url)
    try:
        database.migrate()
        with database.session() as session:
            assert session.exec(select(Program)).all() == []
    finally:
        database.dispose()


def test_the_cli_refuses_to_mix_then_starts_the_example_and_a_restart_continues_it(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path}/sandbox.db"
    _other_data(url)
    refused = _cli(["sandbox", "--example", "--database-url", url], tmp_path)
    assert refused.returncode == 2
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1 and "already holds data" in lines[0] and "--fresh" in lines[0], lines
    # --fresh: the example, in a workspace of its own people.
    terminal = _Terminal(
        ["sandbox", "--example", "--fresh", "--port", str(_free_port()), "--database-url", url],
        tmp_path,
    )
    try:
        found = terminal.read_until(START_LINE, timeout=120)
        assert "with the example: two programmes a month in" in terminal.text
        members = _members(found.group(1))
        assert {KATRIN, HA, JUERGEN, LAN} <= set(members)
    finally:
        terminal.stop()
    # A second start continues the example (its people, its programmes) without seeding again.
    started = time.monotonic()
    terminal = _Terminal(["sandbox", "--port", str(_free_port()), "--database-url", url], tmp_path)
    try:
        found = terminal.read_until(START_LINE, timeout=120)
        assert "with the example" in terminal.text
        assert {KATRIN, HA} <= set(_members(found.group(1)))
    finally:
        terminal.stop()
    assert time.monotonic() - started < 60
    database = Database(url)
    try:
        with database.session() as session:
            names = sorted(p.name for p in session.exec(select(Program)))
    finally:
        database.dispose()
    assert len(names) == 3 and "Our own pilot" not in names


def _members(url: str) -> list[str]:
    """The members the sandbox page offers, read as the page reads them."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(url, timeout=30) as response:
        page = response.read().decode()
    token = re.search(r'<meta name="sandbox-token" content="([^"]+)">', page)
    assert token is not None
    return [m["id"] for m in _call(url, "/api/members", token.group(1))["members"]]


def test_seeding_that_goes_wrong_stops_with_the_step_that_failed(tmp_path: Path) -> None:
    """Slack refuses to open the admin's form (an expired trigger): the example says which
    step failed rather than start a half-seeded workspace."""
    box = Sandbox(
        port=0,
        database_url=f"sqlite:///{tmp_path}/sandbox.db",
        example=True,
        start_at=NOW,
        with_scheduler=False,
        serve_page=False,
    )
    box.fake.fail_next("views.open", status=200, error="expired_trigger_id", times=20)
    try:
        with pytest.raises(example.SeedingFailed, match="new-programme form did not open"):
            box.start()
    finally:
        box.stop()
    # Nothing was stored: the next `--example` seeds it.
    assert prepare_database(f"sqlite:///{tmp_path}/sandbox.db", example=True, fresh=False) == (
        True,
        None,
    )


def test_plain_sandbox_still_starts_empty(database_url: str) -> None:
    box = Sandbox(
        port=0, people=4, seed=2, database_url=database_url, with_scheduler=False, serve_page=False
    )
    box.start()
    try:
        with box.runtime.services.db.session() as session:
            assert session.exec(select(Program)).all() == []
            assert session.exec(select(RosterEntry)).all() == []
        assert KATRIN not in {p.user_id for p in box.people}
        assert {c for c, _name in box.channels} == {"C0MENTORING", "C0GENERAL"}
    finally:
        box.stop()
