"""`reverse-mentoring roster import`: preview, dry run, apply, re-import, bad input, full
roster, against the simulated Slack (users.lookupByEmail, users.list) on both databases."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from bot import clock
from bot.domain.roster import MAX_BYTES
from bot.simulated_slack.web_api import FakeSlack
from storage.db import Database
from storage.models import (
    AuditEvent,
    Pair,
    Participant,
    Program,
    RosterEntry,
    RosterImport,
)
from tests.conftest import ADMIN, BOT_TOKEN, SIGNING_SECRET

PEOPLE = {
    "UROS0001": "ada@example.com",
    "UROS0002": "bo@example.com",
    "UROS0003": "cy@example.com",
    "UROS0004": "di@example.com",
}
ROSTER = (
    "email;department;manager;title;office;country;hire_date;level\n"
    "ada@example.com;Board;;CEO;Berlin;DE;2010-01-04;9\n"
    "bo@example.com;Engineering;ada@example.com;CTO;Berlin;DE;2015-03-01;8\n"
    "cy@example.com;Engineering;bo@example.com;Engineer;Hanoi;VN;2023-09-01;3\n"
    "nobody@example.com;Sales;ada@example.com;Rep;Paris;FR;2024-01-01;2\n"
)


@pytest.fixture
def roster_cli(
    database: Database,
    fake_slack: FakeSlack,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> Iterator[Any]:
    """`reverse-mentoring …` with the environment pointing at the simulated Slack; returns
    (exit code, what it printed on stdout and stderr)."""
    from bot.cli import main

    for user, email in PEOPLE.items():
        fake_slack.add_user(user, email=email)
    for name, value in {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": fake_slack.api_url,
        "DATABASE_URL": database.url,
        "ADMIN_USER_IDS": ADMIN,
    }.items():
        monkeypatch.setenv(name, value)
    empty = tmp_path / "empty.env"
    empty.write_text("")
    previous = clock.current()
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level

    def run(*argv: str) -> tuple[int, str]:
        code = main(["--env-file", str(empty), *argv])
        printed = capsys.readouterr()
        return code, printed.out + printed.err

    try:
        yield run
    finally:
        clock.install(previous)
        root.handlers[:] = handlers
        root.setLevel(level)


def _file(tmp_path: Path, text: str | bytes, name: str = "roster.csv") -> str:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return str(path)


def _entries(database: Database) -> dict[str, RosterEntry]:
    with database.session() as session:
        return {e.slack_user_id: e for e in session.exec(select(RosterEntry)).all()}


def _count(database: Database, model: type[Any]) -> int:
    with database.session() as session:
        return len(session.exec(select(model)).all())


def test_dry_run_previews_and_writes_nothing_then_apply_then_reimport_changes_nothing(
    roster_cli: Any, database: Database, fake_slack: FakeSlack, tmp_path: Path
) -> None:
    path = _file(tmp_path, "\ufeff" + ROSTER)  # Excel's "CSV UTF-8" starts with a BOM
    code, out = roster_cli("roster", "import", path, "--dry-run")
    assert code == 0, out
    assert "4 rows, 3 matched a Slack user: 3 new, 0 changed, 0 unchanged." in out
    assert "line 5: nobody@example.com" in out
    assert "Dry run: nothing was written." in out
    assert _count(database, RosterEntry) == 0
    assert _count(database, RosterImport) == 0
    assert _count(database, AuditEvent) == 0
    lookups = [c for c in fake_slack.calls("users.lookupByEmail")]
    assert len(lookups) == 4 and all(c.status == 200 for c in lookups)

    code, out = roster_cli("roster", "import", path)
    assert code == 0, out
    assert "Roster imported: 3 new, 0 changed, 0 left the roster." in out
    entries = _entries(database)
    assert set(entries) == {"UROS0001", "UROS0002", "UROS0003"}
    cy = entries["UROS0003"]
    assert (cy.email, cy.department, cy.manager_slack_id, cy.title) == (
        "cy@example.com",
        "Engineering",
        "UROS0002",
        "Engineer",
    )
    assert (cy.office, cy.country, cy.hire_date, cy.level) == ("Hanoi", "VN", date(2023, 9, 1), 3)
    assert entries["UROS0001"].manager_slack_id is None
    with database.session() as session:
        (audit,) = session.exec(select(AuditEvent)).all()
        record = session.exec(select(RosterImport)).one()
    assert audit.action == "roster.import"
    assert audit.detail == {
        "import_id": record.id,
        "rows": 4,
        "created": 3,
        "changed": 0,
        "left": 0,
        "full": False,
    }
    assert (record.source, record.rows, record.created) == ("cli: roster.csv", 4, 3)

    # The same file again: no change, no new import, and Slack asked only about the unknown.
    before = len(fake_slack.calls("users.lookupByEmail"))
    code, out = roster_cli("roster", "import", path)
    assert code == 0, out
    assert "This very file was imported before" in out
    assert "Nothing changed" in out
    assert _count(database, RosterImport) == 1
    assert _count(database, AuditEvent) == 1
    assert len(fake_slack.calls("users.lookupByEmail")) == before + 1  # nobody@ only


def test_a_changed_row_is_updated_and_a_json_roster_reads_the_same(
    roster_cli: Any, database: Database, tmp_path: Path
) -> None:
    assert roster_cli("roster", "import", _file(tmp_path, ROSTER))[0] == 0
    json_roster = (
        '[{"slack_id": "UROS0003", "Department": "Data", "manager_email": "ada@example.com",'
        ' "level": 4, "hire_date": "2023-09-01"}]'
    )
    code, out = roster_cli("roster", "import", _file(tmp_path, json_roster, "r.json"))
    assert code == 0, out
    assert "1 new" not in out and "1 changed" in out
    cy = _entries(database)["UROS0003"]
    assert (cy.department, cy.manager_slack_id, cy.level, cy.title) == (
        "Data",
        "UROS0001",
        4,
        None,
    )


BAD_FILES: list[tuple[str, bytes, list[str]]] = [
    (
        "duplicate emails",
        (b"email,department\nada@example.com,Board\nbo@example.com,Eng\nADA@example.com,Sales\n"),
        ["Line 4: the same person as line 2 (ada@example.com)"],
    ),
    (
        "a manager loop",
        (
            b"slack_id,manager\nUROS0001,bo@example.com\nUROS0002,cy@example.com\n"
            b"UROS0003,UROS0001\nUROS0004,UROS0004\n"
        ),
        [
            "Line 2: the managers form a loop: UROS0001 → UROS0002 → UROS0003 → UROS0001",
            "Line 5: the person is their own manager",
        ],
    ),
    (
        "an unknown column",
        b"email,department,salary\nada@example.com,Board,100\n",
        ["Line 1: Unknown column \u201csalary\u201d. The columns a roster may have: slack_id"],
    ),
    (
        "a wrong encoding",
        "email,office\nada@example.com,Köln\n".encode("cp1252"),
        ["The file is not UTF-8: line 2 has the byte 0xF6"],
    ),
    (
        "UTF-16",
        "email,office\nada@example.com,Köln\n".encode("utf-16"),
        ["The file is UTF-16. Save it as UTF-8"],
    ),
    (
        "malformed rows",
        (
            b"email,hire_date,level,manager\nada@example.com,04.01.2010,9,\n"
            b"bo@example.com,2015-03-01,senior,\ncy@example.com,,3,the boss\n"
            b"UROS0004\n"
        ),
        [
            "Line 2: the hire date \u201c04.01.2010\u201d is not a date like 2024-03-01",
            "Line 3: the level \u201csenior\u201d is not a whole number",
            "Line 4: the manager \u201cthe boss\u201d is neither a Slack user id nor an email",
            "Line 5: 1 cells where the header has 4",
        ],
    ),
]


@pytest.mark.parametrize(("name", "data", "said"), BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_a_bad_roster_is_refused_naming_its_rows_and_nothing_is_applied(
    roster_cli: Any, database: Database, tmp_path: Path, name: str, data: bytes, said: list[str]
) -> None:
    assert roster_cli("roster", "import", _file(tmp_path, ROSTER, "good.csv"))[0] == 0
    before = _entries(database)
    code, out = roster_cli("roster", "import", _file(tmp_path, data))
    assert code == 1, out
    for text in said:
        assert text in out
    assert "Nothing was imported." in out
    after = _entries(database)
    assert {u: e.department for u, e in after.items()} == {
        u: e.department for u, e in before.items()
    }
    assert _count(database, RosterImport) == 1


def test_a_formula_in_a_cell_is_stored_as_text(
    roster_cli: Any, database: Database, tmp_path: Path
) -> None:
    data = 'email,department,title\nada@example.com,"=HYPERLINK(""http://x"",""y"")",@SUM(A1)\n'
    code, out = roster_cli("roster", "import", _file(tmp_path, data))
    assert code == 0, out
    ada = _entries(database)["UROS0001"]
    assert ada.department == '=HYPERLINK("http://x","y")'
    assert ada.title == "@SUM(A1)"


def test_a_file_over_20_mb_is_refused_unread(
    roster_cli: Any, database: Database, tmp_path: Path, fake_slack: FakeSlack
) -> None:
    path = tmp_path / "huge.csv"
    with path.open("wb") as handle:
        handle.write(b"email,department\n")
        handle.truncate(MAX_BYTES + 1024)
    code, out = roster_cli("roster", "import", str(path))
    assert code == 1
    assert "The file is 20.0 MB; a roster may be at most 20 MB." in out
    assert fake_slack.calls("users.lookupByEmail") == []
    assert _count(database, RosterEntry) == 0


def test_ten_thousand_rows_with_emails_read_the_directory_instead_of_10000_lookups(
    roster_cli: Any, database: Database, fake_slack: FakeSlack, tmp_path: Path
) -> None:
    lines = ["email,department,manager"]
    for n in range(10_000):
        user = f"UBIG{n:05d}"
        fake_slack.add_user(user, email=f"p{n}@big.example")
        manager = f"p{(n - 1) // 10}@big.example" if n else ""
        lines.append(f"p{n}@big.example,Dept {n % 40},{manager}")
    code, out = roster_cli("roster", "import", _file(tmp_path, "\n".join(lines)))
    assert code == 0, out
    assert "10000 rows, 10000 matched a Slack user: 10000 new" in out
    assert fake_slack.calls("users.lookupByEmail") == []
    assert 1 <= len(fake_slack.calls("users.list")) <= 11
    assert _count(database, RosterEntry) == 10_000
    assert _entries(database)["UBIG00011"].manager_slack_id == "UBIG00001"


def _pair(database: Database, mentor: str, mentee: str) -> None:
    with database.session() as session:
        program = Program(name="Roster", created_at=datetime(2026, 11, 2, tzinfo=UTC))
        session.add(program)
        session.flush()
        ids = []
        for user, role in ((mentor, "mentor"), (mentee, "mentee")):
            person = Participant(
                program_id=program.id or 0, slack_user_id=user, role=role, status="paired"
            )
            session.add(person)
            session.flush()
            ids.append(person.id or 0)
        session.add(
            Pair(program_id=program.id or 0, mentor_id=ids[0], mentee_id=ids[1], status="active")
        )
        session.commit()


def test_a_person_missing_from_a_full_roster_leaves_and_their_partner_is_told(
    roster_cli: Any, database: Database, fake_slack: FakeSlack, tmp_path: Path
) -> None:
    assert roster_cli("roster", "import", _file(tmp_path, ROSTER))[0] == 0
    _pair(database, "UROS0002", "UROS0003")
    without_cy = "\n".join(line for line in ROSTER.splitlines() if "cy@" not in line)
    # Not a full roster: nobody leaves.
    code, out = roster_cli("roster", "import", _file(tmp_path, without_cy, "part.csv"))
    assert code == 0 and "Nothing changed" in out
    assert _entries(database)["UROS0003"].left_at is None

    code, out = roster_cli("roster", "import", _file(tmp_path, without_cy, "all.csv"), "--full")
    assert code == 0, out
    assert "Full roster: 1 people not in it leave the programme." in out
    assert "0 changed, 1 left the roster" in out
    cy = _entries(database)["UROS0003"]
    assert cy.left_at is not None and cy.left_reason == "missing_from_roster"
    with database.session() as session:
        person = session.exec(
            select(Participant).where(Participant.slack_user_id == "UROS0003")
        ).one()
        pair = session.exec(select(Pair)).one()
    assert person.status == "left"
    assert pair.status == "ended"
    told = [c for c in fake_slack.calls("chat.postMessage") if c.ok and c.went_to("UROS0002")]
    assert told, "the partner is told"
    with database.session() as session:
        audit = session.exec(select(AuditEvent).order_by(AuditEvent.id.desc())).first()  # type: ignore[union-attr]
    assert audit is not None and audit.detail["left"] == 1 and audit.detail["full"] is True


def test_an_unreadable_file_and_a_missing_scope_are_clear_one_liners(
    roster_cli: Any, database: Database, fake_slack: FakeSlack, tmp_path: Path
) -> None:
    code = roster_cli("roster", "import", str(tmp_path / "nope.csv"))[0]
    assert code == 2
    fake_slack.scopes = fake_slack.scopes - {"users:read.email"}
    code, _out = roster_cli("roster", "import", _file(tmp_path, ROSTER))
    assert code == 2
    assert _count(database, RosterEntry) == 0


def test_slack_out_of_reach_is_one_line_and_nothing_is_imported(
    roster_cli: Any, database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SLACK_API_URL", "http://127.0.0.1:9/api/")  # nothing listens there
    code, out = roster_cli("roster", "import", _file(tmp_path, ROSTER))
    assert code == 2
    assert "Slack could not be reached for users.lookupByEmail" in out
    assert "nothing was imported" in out
    assert _count(database, RosterEntry) == 0
