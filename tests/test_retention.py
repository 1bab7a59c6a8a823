"""Retention, on SQLite and PostgreSQL, through `reverse-mentoring jobs run retention`: a dry
run changes nothing and counts right; a run deletes check-in notes N months after a pair
ended, erases people N days after they left, anonymises an ended programme N months after its
end with the report's figures unchanged, and is recorded in the audit log. Erasure covers the
roster, campaign invitations and audit targets."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, select

from bot import clock
from bot.domain import retention
from bot.domain.report import build_report
from bot.simulated_slack import signed_requests as sr
from storage import repositories as repo
from storage.db import Database
from storage.models import (
    AuditEvent,
    Campaign,
    CampaignInvite,
    CheckInCycle,
    CheckInRequest,
    Goal,
    Pair,
    Participant,
    Program,
    RosterEntry,
)
from tests.conftest import ADMIN, RunningApp
from tests.flows import Person, enroll, open_modal, program_values

MENTOR = Person("URETMYDATA", "mentor", offered=["ai_tools"])

AT = "2028-02-01T04:00:00+00:00"
BOTH = "URETBOTH1"  # in the ended programme and, still, in the running one


@pytest.fixture
def cli(database: Database, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Any]:
    from bot.cli import main

    monkeypatch.setenv("DATABASE_URL", database.url)
    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "PULSE_SECRET"):
        monkeypatch.delenv(name, raising=False)
    empty = tmp_path / "empty.env"
    empty.write_text("")
    previous = clock.current()
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        yield lambda *argv: main(["--env-file", str(empty), *argv])
    finally:
        clock.install(previous)
        root.handlers[:] = handlers
        root.setLevel(level)


def _person(session: Session, program_id: int, user: str, role: str, **fields: Any) -> int:
    person = Participant(
        program_id=program_id,
        slack_user_id=user,
        role=role,
        status=fields.pop("status", "paired"),
        display_name=f"Name of {user}",
        department="Finance",
        personal_goals="Something personal",
        **fields,
    )
    session.add(person)
    session.flush()
    return person.id or 0


def _pair(session: Session, program_id: int, mentor: int, mentee: int, ended: datetime) -> int:
    pair = Pair(
        program_id=program_id,
        mentor_id=mentor,
        mentee_id=mentee,
        status="ended",
        approved_at=datetime(2025, 3, 1, tzinfo=UTC),
        introduced_at=datetime(2025, 3, 1, tzinfo=UTC),
        ended_at=ended,
        end_reason="completed",
        conversation_id="G0PAIR",
    )
    session.add(pair)
    session.flush()
    session.add(Goal(pair_id=pair.id or 0, title="Our private goal", status="done", progress=100))
    return pair.id or 0


def _checkin(session: Session, cycle: int, pair: int, person: int, notes: str | None) -> None:
    session.add(
        CheckInRequest(
            cycle_id=cycle,
            pair_id=pair,
            participant_id=person,
            status="met",
            rating=4,
            met_on=date(2025, 4, 2),
            notes=notes,
            learned="Something learned",
        )
    )


def seed(database: Database) -> dict[str, int]:
    """A running programme (two ended pairs with notes, two people who left) and one that
    ended on 31 December 2025 (three people, a pair with check-ins)."""
    ids: dict[str, int] = {}
    with database.session() as session:
        running = Program(name="Running", timezone="Europe/Berlin", status="running")
        ended = Program(
            name="Ended",
            status="ended",
            start_date=date(2025, 1, 1),
            end_date=date(2025, 12, 31),
            settings={"retention": {"notes_months": 12, "left_days": 30, "anonymise_months": 24}},
        )
        session.add(running)
        session.add(ended)
        session.flush()
        r, e = running.id or 0, ended.id or 0
        ids |= {"running": r, "ended": e}
        for program_id, period in ((r, "2027-01"), (e, "2025-04")):
            cycle = CheckInCycle(program_id=program_id, period=period, status="closed")
            session.add(cycle)
            session.flush()
            ids[f"cycle{program_id}"] = cycle.id or 0
        cycle_r, cycle_e = ids[f"cycle{r}"], ids[f"cycle{e}"]
        m1, m2 = _person(session, r, "URETM1", "mentor"), _person(session, r, "URETM2", "mentor")
        e1, e2 = _person(session, r, "URETE1", "mentee"), _person(session, r, "URETE2", "mentee")
        _person(session, r, BOTH, "mentee", status="waiting")
        old = _pair(session, r, m1, e1, datetime(2027, 1, 10, tzinfo=UTC))  # 12+ months ago
        recent = _pair(session, r, m2, e2, datetime(2027, 6, 1, tzinfo=UTC))
        ids |= {"old_pair": old, "recent_pair": recent}
        _checkin(session, cycle_r, old, m1, "private words")
        _checkin(session, cycle_r, old, e1, "more private words")
        _checkin(session, cycle_r, recent, m2, "recent words")
        ids["left_long_ago"] = _person(
            session, r, "URETL1", "mentor", status="left", left_at=datetime(2028, 1, 1, tzinfo=UTC)
        )
        ids["left_lately"] = _person(
            session, r, "URETL2", "mentor", status="left", left_at=datetime(2028, 1, 20, tzinfo=UTC)
        )
        b1 = _person(session, e, "URETB1", "mentor")
        b2 = _person(session, e, "URETB2", "mentee")
        _person(session, e, BOTH, "mentee", status="waiting")
        ended_pair = _pair(session, e, b1, b2, datetime(2025, 12, 31, tzinfo=UTC))
        ids["ended_pair"] = ended_pair
        _checkin(session, cycle_e, ended_pair, b1, "old notes")
        _checkin(session, cycle_e, ended_pair, b2, None)
    return ids


def _notes(database: Database) -> dict[int, list[str | None]]:
    with database.session() as session:
        rows = session.exec(select(CheckInRequest)).all()
        found: dict[int, list[str | None]] = {}
        for row in rows:
            found.setdefault(row.pair_id, []).append(row.notes)
        return found


def _figures(database: Database, program_id: int) -> dict[str, Any]:
    with database.session() as session:
        program = session.get(Program, program_id)
        assert program is not None
        report = build_report(session, program, datetime(2028, 2, 1, tzinfo=UTC))
        return {
            "by_role_status": report.by_role_status,
            "pairs": report.pairs,
            "cycles": report.cycles,
            "average_rating": report.average_rating,
            "goals": report.goals,
            "goal_progress": report.goal_progress,
            "completion": report.completion,
        }


def _people(database: Database) -> dict[int, Participant]:
    with database.session() as session:
        return {p.id or 0: p for p in session.exec(select(Participant)).all()}


def test_a_dry_run_counts_and_changes_nothing_then_the_run_applies_every_rule(
    database: Database, cli: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = seed(database)
    notes_before, people_before = _notes(database), _people(database)
    figures_before = _figures(database, ids["ended"])

    assert cli("jobs", "run", "retention", "--dry-run", "--at", AT) == 0
    out = capsys.readouterr().out
    assert "retention (dry run): check-in notes: 3 of 2 ended pairs would be deleted" in out
    assert "retention (dry run): people who left: 1 would be erased" in out
    assert "retention (dry run): ended programmes: 1 would be anonymised (3 people)" in out
    assert "URET" not in out and "Name of" not in out  # counts, never people
    assert _notes(database) == notes_before
    assert {i: p.slack_user_id for i, p in _people(database).items()} == {
        i: p.slack_user_id for i, p in people_before.items()
    }
    with database.session() as session:
        assert session.exec(select(AuditEvent)).all() == []

    assert cli("jobs", "run", "retention", "--at", AT) == 0
    out = capsys.readouterr().out
    assert "check-in notes: 3 of 2 ended pairs were deleted" in out
    notes = _notes(database)
    assert notes[ids["old_pair"]] == [None, None]
    assert notes[ids["recent_pair"]] == ["recent words"]  # ended 8 months ago: kept
    assert notes[ids["ended_pair"]] == [None, None]
    people = _people(database)
    assert people[ids["left_long_ago"]].erased_at is not None
    assert people[ids["left_long_ago"]].slack_user_id.startswith("erased-")
    assert people[ids["left_long_ago"]].display_name is None
    assert people[ids["left_lately"]].erased_at is None  # left 12 days ago
    in_ended = [p for p in people.values() if p.program_id == ids["ended"]]
    assert all(p.slack_user_id.startswith("erased-") and p.department is None for p in in_ended)
    # Still taking part in the running programme: that enrollment is untouched.
    still = [p for p in people.values() if p.program_id == ids["running"] and p.role == "mentee"]
    assert BOTH in {p.slack_user_id for p in still}
    with database.session() as session:
        ended_pair = session.get(Pair, ids["ended_pair"])
        assert ended_pair is not None and ended_pair.conversation_id is None
        goals = session.exec(select(Goal).where(Goal.pair_id == ids["ended_pair"])).all()
        assert [g.title for g in goals] == [""]
        [event] = session.exec(select(AuditEvent)).all()
        assert event.action == "retention.run" and event.actor_slack_id is None
        assert event.detail == {
            "notes_deleted": 3,
            "notes_pairs": 2,
            "left_erased": 1,
            "programmes_anonymised": 1,
            "people_anonymised": 3,
        }
    assert _figures(database, ids["ended"]) == figures_before

    assert cli("jobs", "list") == 0
    listed = capsys.readouterr().out
    assert any(
        line.startswith("(workspace)") and "  retention  " in line and "30 3 * * *" in line
        for line in listed.splitlines()
    ), listed

    # The same day again: the ledger says it ran; the next day finds nothing more to do.
    assert cli("jobs", "run", "retention", "--at", AT) == 0
    assert "already ran" in capsys.readouterr().out
    assert cli("jobs", "run", "retention", "--at", "2028-02-02T04:00:00+00:00") == 0
    out = capsys.readouterr().out
    assert "check-in notes: 0 of 0 ended pairs were deleted" in out
    assert "ended programmes: 0 were anonymised" in out


def test_the_rules_follow_the_programme_settings(database: Database) -> None:
    ids = seed(database)
    with database.session() as session:
        program = session.get(Program, ids["running"])
        assert program is not None
        program.settings = {"retention": {"notes_months": 6, "left_days": 5, "anonymise_months": 1}}
        session.add(program)
    with database.session() as session:
        programs = list(repo.all_programs(session))
        found = retention.sweep(session, programs, datetime(2028, 2, 1, 4, tzinfo=UTC))
    # Six months: the pair ended in June 2027 has its notes deleted too; five days: both
    # people who left are erased.
    assert (found.notes, found.left_erased) == (4, 2)


def test_a_month_earlier_keeps_the_day_or_the_months_last() -> None:
    at = datetime(2028, 3, 31, 4, tzinfo=UTC)
    assert retention.months_before(at, 1) == datetime(2028, 2, 29, 4, tzinfo=UTC)
    assert retention.months_before(at, 14) == datetime(2027, 1, 31, 4, tzinfo=UTC)
    assert retention.problems({"notes_months": 0, "left_days": 30, "anonymise_months": 500}) == {
        "notes_months": retention.PROBLEMS["notes_months"],
        "anonymise_months": retention.PROBLEMS["anonymise_months"],
    }


def test_erasure_covers_the_roster_campaign_invitations_and_audit_targets(
    database: Database,
) -> None:
    with database.session() as session:
        program = Program(name="P")
        session.add(program)
        session.flush()
        session.add(RosterEntry(slack_user_id="UGONE1", department="Finance", email="g@x.io"))
        session.add(RosterEntry(slack_user_id="USTAY1", manager_slack_id="UGONE1"))
        campaign = Campaign(program_id=program.id or 0, role="mentee")
        session.add(campaign)
        session.flush()
        session.add(CampaignInvite(campaign_id=campaign.id or 0, slack_user_id="UGONE1"))
        session.add(CampaignInvite(campaign_id=campaign.id or 0, slack_user_id="UGONE10"))
        repo.record_audit(session, actor="UADMIN", action="program.owner_add", target="user:UGONE1")
        repo.record_audit(
            session, actor="UADMIN", action="program.owner_add", target="user:UGONE10"
        )
    with database.session() as session:
        repo.forget_user(session, "UGONE1")
    with database.session() as session:
        roster = {r.slack_user_id: r for r in session.exec(select(RosterEntry)).all()}
        assert set(roster) == {"USTAY1"} and roster["USTAY1"].manager_slack_id is None
        invites = sorted(i.slack_user_id for i in session.exec(select(CampaignInvite)).all())
        assert len(invites) == 2 and "UGONE1" not in invites and "UGONE10" in invites
        targets = sorted(str(e.target) for e in session.exec(select(AuditEvent)).all())
        assert targets == ["user:UGONE10", "user:erased"]


def test_admins_set_the_rules_in_the_settings_modal_and_people_read_them_in_mydata(
    running_app: RunningApp,
) -> None:
    app = running_app
    view = open_modal(app, ADMIN, "program")
    initial = {
        b["block_id"]: b["element"].get("initial_value")
        for b in view["blocks"]
        if b.get("block_id") in retention.LIMITS
    }
    assert initial == {"notes_months": "12", "left_days": "30", "anonymise_months": "24"}
    assert app.slack.view_submission(ADMIN, view, program_values()).status == 200

    def submit(notes: int, days: int, months: int) -> sr.Response:
        modal = open_modal(app, ADMIN, "program")
        values = program_values()
        for name, value in (
            ("notes_months", notes),
            ("left_days", days),
            ("anonymise_months", months),
        ):
            values[name] = {name: sr.number(value)}
        return app.slack.view_submission(ADMIN, modal, values)

    refused = submit(0, 30, 24).json()
    assert refused["response_action"] == "errors"
    assert refused["errors"] == {"notes_months": "Keep notes for 1 to 120 months."}
    assert submit(6, 10, 18).status == 200
    with app.db.session() as session:
        program = session.exec(select(Program)).one()
        assert retention.of(program) == retention.Retention(6, 10, 18)
        changes = session.exec(
            select(AuditEvent).where(AuditEvent.action == "program.settings")
        ).all()
        assert [c.detail for c in changes] == [{"fields": ["settings"]}]

    MENTOR.add_to(app)
    assert enroll(app, MENTOR).status == 200
    app.slack.command(MENTOR.user_id, "mydata")
    upload = app.fake.wait_for("files.completeUploadExternal", timeout=10)
    assert upload.ok
    data = json.loads(app.fake.uploaded_files()[-1]["bytes"])
    assert data["retention"] == {"notes_months": 6, "left_days": 10, "anonymise_months": 18}
    copies = [
        json.dumps(c.params.get("blocks"))
        for c in app.fake.calls("chat.postMessage")
        if c.ok and "Here is everything" in str(c.params.get("text"))
    ]
    assert copies and "deleted 6 months after a pair ends" in copies[-1]
    assert "erased after 10 days" in copies[-1] and "18 months after the programme" in copies[-1]
