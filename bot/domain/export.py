"""The data export: one function for the CLI (`reverse-mentoring export`) and the admin button.

Tables: participants (every status, people who left included; erased people keep no name),
pairs (proposed, active, ended), goals, check-ins (never the private notes), pulse aggregates
per round (invited and answered always; the scores only once the round has closed with at
least the threshold of respondents; never one person's answers), shout-outs.
JSON: one document with a key per table, every value as stored. CSV: one file per table, UTF-8
with a byte-order mark (spreadsheet tools then read German and Vietnamese text correctly), ISO
8601 dates, and text that a spreadsheet would run as a formula neutralised (`neutralise`).
"""

from __future__ import annotations

import csv
import io
import json
import sys
import zipfile
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlmodel import Session

from bot.domain import pulse
from storage import repositories as repo
from storage.db import Database
from storage.models import (
    CheckInRequest,
    Goal,
    Pair,
    PairStatus,
    Participant,
    Program,
    ShoutOut,
)

FORMATS = ("json", "csv")
Rows = list[dict[str, Any]]
COLUMNS: dict[str, tuple[type[Any], tuple[str, ...]]] = {
    # What each row's program_id names (several programmes run at once).
    "programs": (
        Program,
        (
            "id",
            "name",
            "status",
            "timezone",
            "start_date",
            "end_date",
            "join_policy",
            "template_of",
            "created_at",
        ),
    ),
    "participants": (
        Participant,
        (
            "id",
            "program_id",
            "slack_user_id",
            "display_name",
            "role",
            "status",
            "department",
            "seniority",
            "locale",
            "enrolled_at",
            "left_at",
            "erased_at",
        ),
    ),
    "pairs": (
        Pair,
        (
            "id",
            "program_id",
            "mentor_id",
            "mentee_id",
            "status",
            "score",
            "created_at",
            "approved_at",
            "introduced_at",
            "ended_at",
            "end_reason",
        ),
    ),
    "goals": (
        Goal,
        ("id", "pair_id", "title", "measure", "target_date", "progress", "status", "created_at"),
    ),
    "checkins": (
        CheckInRequest,  # `notes` are private to the pair: never selected
        (
            "id",
            "cycle_id",
            "pair_id",
            "participant_id",
            "status",
            "met_on",
            "duration_minutes",
            "topics_covered",
            "rating",
            "asked_at",
            "answered_at",
        ),
    ),
    "shoutouts": (
        ShoutOut,
        ("id", "program_id", "author_slack_id", "recipient_slack_ids", "message", "created_at"),
    ),
}
PULSE_COLUMNS = (
    "program_id", "round_id", "kind", "period", "status", "opens_at", "closes_at", "invited",
    "answered", "respondents", "value", "pairing", "nps", "would_join_again_percent",
    "match_yes", "match_not_sure", "match_help",
)  # fmt: skip
EXPORTED_PAIR_STATUSES = {PairStatus.PROPOSED, PairStatus.ACTIVE, PairStatus.ENDED}
PAIR_TABLES = ("goals", "checkins")  # their programme is their pair's


def _iso(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _pulse_rows(session: Session, program_id: int | None = None) -> Rows:
    rows: Rows = []
    for program in repo.all_programs(session):
        if program_id is not None and program.id != program_id:
            continue
        for result in pulse.results(session, program, ["pulse", "final", "match_check"]):
            r = result.round
            row: dict[str, Any] = dict.fromkeys(PULSE_COLUMNS)
            row.update(
                program_id=r.program_id, round_id=r.id, kind=r.kind, period=r.period,
                status=r.status, opens_at=_iso(r.opens_at), closes_at=_iso(r.closes_at),
                invited=r.invited, answered=result.answered,
            )  # fmt: skip
            group = result.overall
            if group is not None:
                match = group.distribution.get("match", {})
                again = group.averages.get("again")
                row.update(
                    respondents=group.respondents,
                    value=_round(group.averages.get("value")),
                    pairing=_round(group.averages.get("pairing")),
                    nps=_round(group.nps),
                    would_join_again_percent=None if again is None else round(100 * again),
                    match_yes=match.get(pulse.MATCH_YES) if match else None,
                    match_not_sure=match.get(pulse.MATCH_NOT_SURE) if match else None,
                    match_help=match.get(pulse.MATCH_HELP) if match else None,
                )
            rows.append(row)
    return rows


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def export_tables(session: Session, program_id: int | None = None) -> dict[str, Rows]:
    """Every exported table as rows of plain values (dates as ISO strings), of one programme
    or (None) of all of them; every row names its programme."""
    out: dict[str, Rows] = {}
    for name, (model, columns) in COLUMNS.items():
        rows = [
            {c: _iso(v) for c, v in zip(columns, row, strict=True)}
            for row in repo.export_rows(session, model, columns)
        ]
        if name == "pairs":
            rows = [r for r in rows if r["status"] in EXPORTED_PAIR_STATUSES]
        out[name] = rows
    # Goals and check-ins belong to a programme through their pair.
    pair_programme = {
        row[0]: row[1] for row in repo.export_rows(session, Pair, ("id", "program_id"))
    }
    for name in PAIR_TABLES:
        for row in out[name]:
            row["program_id"] = pair_programme.get(row["pair_id"])
    periods = repo.checkin_periods(session)
    for row in out["checkins"]:
        row["period"] = periods.get(row["cycle_id"])
    out["pulse"] = _pulse_rows(session, program_id)
    if program_id is not None:
        out = {
            name: [
                row
                for row in rows
                if (row["id"] if name == "programs" else row.get("program_id")) == program_id
            ]
            for name, rows in out.items()
        }
    return out


# OWASP, "CSV Injection" (https://owasp.org/www-community/attacks/CSV_Injection): no cell may
# begin with =, +, -, @, tab (0x09) or carriage return (0x0D); a spreadsheet runs such a cell as
# a formula (=HYPERLINK(...) sends the row's data away, +cmd|... starts programs). Prefixing a
# single quote makes it text, and the text stays readable after the quote. The separator and
# quote characters OWASP also mentions are the csv module's quoting (fields with , " or line
# breaks are quoted, quotes doubled), so no cell can start in the middle of a value.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(text: str) -> str:
    """The text as a spreadsheet shows it without running it: a leading quote if needed."""
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


def _cell(value: Any) -> Any:
    if isinstance(value, list):
        return neutralise("; ".join(str(v) for v in value))
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str):
        return neutralise(value)
    return "" if value is None else value  # numbers stay numbers, -3 included


def csv_bytes(rows: Rows, columns: list[str]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([neutralise(c) for c in columns])
    for row in rows:
        writer.writerow([_cell(row.get(c)) for c in columns])
    return buffer.getvalue().encode("utf-8-sig")


def _columns(name: str, rows: Rows) -> list[str]:
    if name == "pulse":
        return list(PULSE_COLUMNS)
    columns = list(COLUMNS[name][1])
    if name in PAIR_TABLES:
        columns.insert(1, "program_id")
    return [*columns, "period"] if name == "checkins" else columns


def export_files(
    db: Database, fmt: str, *, program_id: int | None = None, actor: str | None = None
) -> list[tuple[str, bytes]]:
    """THE export: (file name, bytes) — one JSON document, or one CSV per table; of one
    programme, or of all of them. `actor` (a Slack id, or "cli"): recorded in the audit log
    in the transaction that reads the data."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}")

    def read(session: Session) -> dict[str, Rows]:
        tables = export_tables(session, program_id)
        if actor is not None:
            repo.record_audit(
                session,
                actor=actor,
                action="export",
                program_id=program_id,
                detail={"format": fmt, "rows": {name: len(rows) for name, rows in tables.items()}},
            )
        return tables

    tables = db.run(read)
    if fmt == "json":
        body = json.dumps(tables, ensure_ascii=False, indent=2) + "\n"
        return [("reverse-mentoring-export.json", body.encode("utf-8"))]
    return [(f"{name}.csv", csv_bytes(rows, _columns(name, rows))) for name, rows in tables.items()]


def write_export(
    db: Database,
    fmt: str,
    output: str | None,
    stdout: Callable[[bytes], Any] | None = None,
    *,
    program_id: int | None = None,
    actor: str | None = None,
) -> str:
    """Writes the export: stdout by default; `--output` a file (JSON), a `.zip`, or a folder
    (CSV: one file per table). Returns where it went."""
    files = export_files(db, fmt, program_id=program_id, actor=actor)
    write = stdout or sys.stdout.buffer.write
    if output is None:
        if fmt == "json":
            write(files[0][1])
        else:  # tables one after another, each after a `# table: name` line
            for index, (name, data) in enumerate(files):
                text = data.decode("utf-8-sig")
                prefix = "\ufeff" if index == 0 else "\r\n"
                write((prefix + f"# table: {name[:-4]}\r\n" + text).encode("utf-8"))
        return "stdout"
    path = Path(output)
    if output.endswith(".zip"):
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, data in files:
                archive.writestr(name, data)
        return str(path)
    if fmt == "csv" or path.is_dir() or output.endswith(("/", "\\")):
        path.mkdir(parents=True, exist_ok=True)
        for name, data in files:
            (path / name).write_bytes(data)
        return str(path)
    path.write_bytes(files[0][1])
    return str(path)
