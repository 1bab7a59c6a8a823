"""`programs list` and `export --program` over two programmes, on both databases."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from bot.cli import main
from bot.domain.enrollment import EnrollmentForm, Person, enroll
from bot.domain.programs import ProgramForm, save_program
from storage import repositories as repo
from storage.db import Database


def _programme(database: Database, name: str, owner: str, zone: str, language: str) -> int:
    form = ProgramForm(
        name=name,
        goals=["Every pair meets monthly"],
        start_date=date(2027, 1, 4),
        end_date=None,
        timezone=zone,
        channel_language=language,
        owners=[owner],
    )
    with database.session() as session:
        return save_program(session, form, admin_id="USUPER").id or 0


def _join(database: Database, program_id: int, user_id: str, role: str) -> None:
    form = EnrollmentForm(
        role=role,
        department="Sales",
        topics_offered=["ai_tools"] if role == "mentor" else [],
        topics_wanted=["ai_tools"] if role == "mentee" else [],
    )
    person = Person(
        user_id=user_id, display_name=user_id, locale="en", timezone="UTC", utc_offset_minutes=0
    )
    with database.session() as session:
        program = repo.program(session, program_id)
        assert program is not None
        enroll(session, program, person, form)


@pytest.fixture
def two_programmes(
    database: Database, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> tuple[int, int]:
    monkeypatch.setenv("DATABASE_URL", database.url)
    dach = _programme(database, "DACH 2027", "UBERLINHR", "Europe/Berlin", "de")
    vietnam = _programme(database, "Việt Nam 2027", "UHANOIHR", "Asia/Ho_Chi_Minh", "vi")
    _join(database, dach, "UDE1", "mentor")
    _join(database, dach, "UDE2", "mentee")
    _join(database, vietnam, "UVI1", "mentee")
    (tmp_path / "empty.env").write_text("")
    return dach, vietnam


def test_programs_list_shows_each_programme_with_owners_zone_language_and_people(
    two_programmes: tuple[int, int], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dach, vietnam = two_programmes
    base = ["--env-file", str(tmp_path / "empty.env"), "programs", "list"]
    assert main([*base, "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows == [
        {
            "id": dach,
            "name": "DACH 2027",
            "status": "enrolling",
            "owners": ["UBERLINHR"],
            "timezone": "Europe/Berlin",
            "language": "de",
            "participants": 2,
            "pairs": 0,
        },
        {
            "id": vietnam,
            "name": "Việt Nam 2027",
            "status": "enrolling",
            "owners": ["UHANOIHR"],
            "timezone": "Asia/Ho_Chi_Minh",
            "language": "vi",
            "participants": 1,
            "pairs": 0,
        },
    ]
    assert main(base) == 0
    header, *lines = capsys.readouterr().out.splitlines()
    assert header.split() == [
        "id",
        "name",
        "status",
        "owners",
        "timezone",
        "language",
        "participants",
        "pairs",
    ]
    assert lines[1].startswith(f"{vietnam}   Việt Nam 2027  enrolling  UHANOIHR")


def test_export_of_one_programme_holds_its_rows_only_and_all_carry_their_programme(
    two_programmes: tuple[int, int], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dach, vietnam = two_programmes
    base = ["--env-file", str(tmp_path / "empty.env"), "export", "--format", "json"]
    assert main(base) == 0
    everything = json.loads(capsys.readouterr().out)
    people = {p["slack_user_id"]: p["program_id"] for p in everything["participants"]}
    assert people == {"UDE1": dach, "UDE2": dach, "UVI1": vietnam}
    assert main([*base, "--program", str(vietnam)]) == 0
    one = json.loads(capsys.readouterr().out)
    assert [p["slack_user_id"] for p in one["participants"]] == ["UVI1"]
    assert [p["id"] for p in one["programs"]] == [vietnam]
    for table, rows in one.items():
        for row in rows if isinstance(rows, list) else []:
            assert row.get("program_id", row.get("id")) == vietnam, table
