"""The HR roster: reading a roster file (CSV or JSON) and planning what importing it changes.

Pure: no Slack, no database. `parse_roster` turns the file's bytes into rows and the problems
it found (each naming its line); `plan_import` compares the rows (with emails resolved to Slack
user ids by the caller) with the stored roster and says what would be created, changed and,
for a full roster, who leaves. A file with any blocking problem is never applied, so nothing is
ever half-applied.

Cells are stored as the text they are: a cell that looks like a spreadsheet formula (`=`, `+`,
`-`, `@`) is never evaluated here, and the export neutralises such text (`export.neutralise`).
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Final

from bot.i18n import N_, Translator

MAX_BYTES: Final = 20 * 1024 * 1024
# Slack user ids: U… or W… (Enterprise Grid), upper-case letters and digits.
_SLACK_ID = re.compile(r"^[UW][A-Z0-9]{2,31}$")
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")

# The columns a roster may have, each with the names it is known by (compared after lower-casing
# and turning spaces and hyphens into underscores).
COLUMNS: Final[Mapping[str, tuple[str, ...]]] = {
    "slack_id": ("slack_id", "slack_user_id", "user_id", "slack", "slack_user"),
    "email": ("email", "e_mail", "mail", "email_address", "work_email"),
    "department": ("department", "dept", "team"),
    "manager": ("manager", "manager_id", "manager_slack_id", "manager_email", "reports_to"),
    "title": ("title", "job_title", "position", "role_title"),
    "office": ("office", "city", "location", "site"),
    "country": ("country", "country_code"),
    "hire_date": ("hire_date", "start_date", "hired", "hired_on", "joined"),
    "level": ("level", "grade", "job_level"),
}
_ALIASES: Final = {alias: name for name, aliases in COLUMNS.items() for alias in aliases}
# Longest text each stored field holds (the roster_entry columns).
MAX_LENGTHS: Final = {"department": 100, "title": 200, "office": 100, "country": 100}
MAX_LEVEL: Final = 1000

# Problems with the whole file.
TOO_BIG = N_(
    "The file is {size} MB; a roster may be at most 20 MB. "
    "Leave out columns the app does not use, or split it."
)
EMPTY = N_("The file is empty.")
UTF16 = N_("The file is UTF-16. Save it as UTF-8 (in Excel: “CSV UTF-8”) and import it again.")
NOT_UTF8 = N_(
    "The file is not UTF-8: line {line} has the byte 0x{byte}, which UTF-8 does not allow "
    "(the file is probably Windows-1252 or Latin-1). "
    "Save it as UTF-8 (in Excel: “CSV UTF-8”) and import it again."
)
BAD_JSON = N_("The JSON is not valid: {error} (line {line}).")
BAD_CSV = N_("The CSV cannot be read: {error} (line {line}).")
JSON_SHAPE = N_('A JSON roster is a list of objects, one per person (or {{"people": [...]}}).')
NO_HEADER = N_("The file has no header line naming its columns.")
UNKNOWN_COLUMN = N_("Unknown column “{column}”. The columns a roster may have: {known}.")
DUPLICATE_COLUMN = N_("The column “{column}” appears twice.")
NO_ID_COLUMN = N_(
    "The file needs a column with the Slack user id or the email (slack_id or email)."
)
NO_ROWS = N_("The file has a header but no people.")
# Problems with one row.
CELL_COUNT = N_("{found} cells where the header has {expected}")
NOT_AN_OBJECT = N_("not an object with the person's fields")
NO_ID = N_("neither a Slack user id nor an email")
BAD_SLACK_ID = N_("“{value}” is not a Slack user id (like U0123ABCD)")
BAD_EMAIL = N_("“{value}” is not an email address")
BAD_MANAGER = N_("the manager “{value}” is neither a Slack user id nor an email address")
BAD_DATE = N_("the hire date “{value}” is not a date like 2024-03-01")
BAD_LEVEL = N_("the level “{value}” is not a whole number between 0 and 1000")
TOO_LONG = N_("the {column} is longer than {limit} characters")
BAD_CHARACTERS = N_("the {column} contains invisible control characters")
DUPLICATE = N_("the same person as line {first} ({who})")
OWN_MANAGER = N_("the person is their own manager")
CYCLE = N_("the managers form a loop: {loop}")
EVERYONE_LEAVES = N_(
    "A full roster that matches nobody in Slack would take all {count} people off the roster. "
    "Check the file (its emails, its columns) or import it without “full”."
)


@dataclass(frozen=True)
class Problem:
    """What is wrong; `line` is the file's line (a JSON roster: the entry's number), None for
    the whole file. `message` is an English msgid with `{placeholders}` filled from `params`."""

    message: str
    line: int | None = None
    params: Mapping[str, Any] = field(default_factory=dict)

    def text(self, _: Translator | None = None) -> str:
        said = (_(self.message) if _ is not None else self.message).format(**self.params)
        if self.line is None:
            return said
        where = (_("Line {line}") if _ is not None else "Line {line}").format(line=self.line)
        return f"{where}: {said}"


@dataclass(frozen=True)
class RosterRow:
    line: int
    slack_id: str | None = None
    email: str | None = None  # lower-cased
    department: str | None = None
    manager: str | None = None  # a Slack user id or a (lower-cased) email, as the file says
    title: str | None = None
    office: str | None = None
    country: str | None = None
    hire_date: date | None = None
    level: int | None = None

    @property
    def who(self) -> str:
        """How the file names the person."""
        return self.slack_id or self.email or "?"


@dataclass
class ParsedRoster:
    """The rows read from a file and every problem found (`blocking` ones stop an import)."""

    kind: str = "csv"  # "csv" or "json"
    columns: list[str] = field(default_factory=list)
    rows: list[RosterRow] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    lines: int = 0  # the people the file lists (malformed ones included)

    @property
    def emails(self) -> set[str]:
        """Every email the rows use (people and managers), to resolve to Slack user ids."""
        found = {row.email for row in self.rows if row.email and not row.slack_id}
        found |= {row.manager for row in self.rows if row.manager and "@" in row.manager}
        return found


# ---------------------------------------------------------------- reading the file


def decode(data: bytes) -> tuple[str | None, Problem | None]:
    """The file's text (UTF-8, with or without a byte order mark), or why it cannot be read."""
    if len(data) > MAX_BYTES:
        return None, Problem(TOO_BIG, params={"size": f"{len(data) / 1024 / 1024:.1f}"})
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return None, Problem(UTF16)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        return None, Problem(NOT_UTF8, params={"line": line, "byte": f"{data[error.start]:02X}"})
    if not text.strip():
        return None, Problem(EMPTY)
    return text, None


def column_name(header: str) -> str | None:
    """The roster column a header names (aliases allowed), or None for an unknown one."""
    key = re.sub(r"[\s\-]+", "_", header.strip().lower())
    return _ALIASES.get(key)


def parse_roster(data: bytes) -> ParsedRoster:
    """Reads a roster: CSV (`,` or `;`, header line first) or JSON (a list of objects)."""
    text, problem = decode(data)
    if text is None:
        return ParsedRoster(problems=[problem] if problem else [])
    if text.lstrip()[:1] in ("[", "{"):
        return _parse_json(text)
    return _parse_csv(text)


def _columns(headers: Sequence[str], parsed: ParsedRoster, line: int | None) -> list[str | None]:
    """Each header's column; unknown and repeated columns are problems of the whole file."""
    names: list[str | None] = []
    seen: set[str] = set()
    known = ", ".join(COLUMNS)
    for header in headers:
        name = column_name(header)
        if name is None:
            if header.strip():
                parsed.problems.append(
                    Problem(UNKNOWN_COLUMN, line, {"column": header.strip()[:60], "known": known})
                )
        elif name in seen:
            parsed.problems.append(Problem(DUPLICATE_COLUMN, line, {"column": header.strip()}))
        else:
            seen.add(name)
        names.append(name)
    parsed.columns = [n for n in names if n]
    if seen.isdisjoint({"slack_id", "email"}):
        parsed.problems.append(Problem(NO_ID_COLUMN, line))
    return names


def _parse_csv(text: str) -> ParsedRoster:
    parsed = ParsedRoster(kind="csv")
    first = text.splitlines()[0] if text else ""
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        headers = next(reader)
    except StopIteration:
        parsed.problems.append(Problem(NO_HEADER))
        return parsed
    names = _columns(headers, parsed, 1)
    if parsed.problems:
        return parsed
    try:
        for cells in reader:
            line = reader.line_num  # where the row ends (a quoted cell may span lines)
            if not any(cell.strip() for cell in cells):
                continue
            parsed.lines += 1
            if len(cells) != len(names):
                parsed.problems.append(
                    Problem(CELL_COUNT, line, {"found": len(cells), "expected": len(names)})
                )
                continue
            values = {name: cell for name, cell in zip(names, cells, strict=True) if name}
            _add_row(parsed, line, values)
    except csv.Error as error:
        parsed.problems.append(
            Problem(BAD_CSV, params={"error": str(error), "line": reader.line_num})
        )
    _finish(parsed)
    return parsed


def _parse_json(text: str) -> ParsedRoster:
    parsed = ParsedRoster(kind="json")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        parsed.problems.append(Problem(BAD_JSON, params={"error": error.msg, "line": error.lineno}))
        return parsed
    if isinstance(data, dict) and isinstance(data.get("people"), list):
        data = data["people"]
    if not isinstance(data, list):
        parsed.problems.append(Problem(JSON_SHAPE))
        return parsed
    headers: dict[str, None] = {}
    for item in data:
        if isinstance(item, dict):
            headers.update(dict.fromkeys(str(k) for k in item))
    names = dict(zip(headers, _columns(list(headers), parsed, None), strict=True))
    if parsed.problems:
        return parsed
    for number, item in enumerate(data, start=1):
        parsed.lines += 1
        if not isinstance(item, dict):
            parsed.problems.append(Problem(NOT_AN_OBJECT, number))
            continue
        values = {
            names[str(k)]: "" if v is None else str(v) for k, v in item.items() if names.get(str(k))
        }
        _add_row(parsed, number, values)
    _finish(parsed)
    return parsed


def _clean(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def _add_row(parsed: ParsedRoster, line: int, values: Mapping[str, str]) -> None:
    """One person's row, or the first problem it has."""
    cells = {name: _clean(value) for name, value in values.items()}

    def fail(message: str, **params: Any) -> None:
        parsed.problems.append(Problem(message, line, params))

    slack_id, email = cells.get("slack_id"), cells.get("email")
    if slack_id is None and email is None:
        return fail(NO_ID)
    if slack_id is not None and not _SLACK_ID.match(slack_id):
        return fail(BAD_SLACK_ID, value=slack_id[:60])
    if email is not None:
        email = email.lower()
        if not _EMAIL.match(email) or len(email) > 254:
            return fail(BAD_EMAIL, value=email[:60])
    manager = cells.get("manager")
    if manager is not None:
        if "@" in manager:
            manager = manager.lower()
            if not _EMAIL.match(manager) or len(manager) > 254:
                return fail(BAD_MANAGER, value=manager[:60])
        elif not _SLACK_ID.match(manager):
            return fail(BAD_MANAGER, value=manager[:60])
    for column, limit in MAX_LENGTHS.items():
        text = cells.get(column)
        if text is not None and len(text) > limit:
            return fail(TOO_LONG, column=column, limit=limit)
        if text is not None and _CONTROL.search(text):
            return fail(BAD_CHARACTERS, column=column)
    hire_date: date | None = None
    if cells.get("hire_date") is not None:
        try:
            hire_date = date.fromisoformat(str(cells["hire_date"]))
        except ValueError:
            return fail(BAD_DATE, value=str(cells["hire_date"])[:60])
    level: int | None = None
    if cells.get("level") is not None:
        raw = str(cells["level"])
        number = int(raw) if re.fullmatch(r"\d{1,4}", raw) else -1
        if not 0 <= number <= MAX_LEVEL:
            return fail(BAD_LEVEL, value=raw[:60])
        level = number
    parsed.rows.append(
        RosterRow(
            line=line,
            slack_id=slack_id,
            email=email,
            department=cells.get("department"),
            manager=manager,
            title=cells.get("title"),
            office=cells.get("office"),
            country=cells.get("country"),
            hire_date=hire_date,
            level=level,
        )
    )
    return None


def _finish(parsed: ParsedRoster) -> None:
    """Problems between rows: the same person twice (by id or by email)."""
    if parsed.lines == 0 and not parsed.problems:
        parsed.problems.append(Problem(NO_ROWS))
    first_seen: dict[str, int] = {}
    for row in parsed.rows:
        for key in {row.slack_id, row.email} - {None}:
            assert key is not None
            if key in first_seen:
                parsed.problems.append(
                    Problem(DUPLICATE, row.line, {"first": first_seen[key], "who": key})
                )
            else:
                first_seen[key] = row.line


# ---------------------------------------------------------------- planning the import


@dataclass(frozen=True)
class EntryValues:
    """What a roster entry says about a person (compared to tell changed rows)."""

    email: str | None
    department: str | None
    manager_slack_id: str | None
    title: str | None
    office: str | None
    country: str | None
    hire_date: date | None
    level: int | None


@dataclass
class RosterPlan:
    """What importing a parsed roster would do."""

    rows: int = 0  # people the file lists
    matched: int = 0  # rows whose person is a Slack user
    created: dict[str, EntryValues] = field(default_factory=dict)
    changed: dict[str, EntryValues] = field(default_factory=dict)
    unchanged: int = 0
    leaving: list[str] = field(default_factory=list)  # a full roster: people not in it
    unknown_emails: list[tuple[int, str]] = field(default_factory=list)  # (line, email)
    problems: list[Problem] = field(default_factory=list)  # each stops the import

    @property
    def blocking(self) -> bool:
        return bool(self.problems)

    @property
    def no_change(self) -> bool:
        return not (self.created or self.changed or self.leaving)


def manager_loops(managers: Mapping[str, str | None]) -> list[list[str]]:
    """Every loop in `managers` (person -> manager), each from its smallest id, once."""
    loops: list[list[str]] = []
    done: set[str] = set()
    for start in sorted(managers):
        path: list[str] = []
        on_path: dict[str, int] = {}
        current: str | None = start
        while current is not None and current not in done and current not in on_path:
            on_path[current] = len(path)
            path.append(current)
            current = managers.get(current)
        if current is not None and current in on_path:
            loop = path[on_path[current] :]
            smallest = loop.index(min(loop))
            loops.append(loop[smallest:] + loop[:smallest])
        done.update(path)
    return loops


def plan_import(
    parsed: ParsedRoster,
    user_ids: Mapping[str, str | None],
    existing: Mapping[str, EntryValues],
    active: Iterable[str],
    *,
    full: bool,
) -> RosterPlan:
    """What importing `parsed` changes. `user_ids`: email -> Slack user id (None: no such
    person); `existing`: the stored entries by Slack user id; `active`: those not left."""
    plan = RosterPlan(rows=parsed.lines, problems=list(parsed.problems))
    wanted: dict[str, EntryValues] = {}
    line_of: dict[str, int] = {}
    label: dict[str, str] = {}
    reported: set[str] = set()

    def resolve(key: str | None, line: int) -> str | None:
        if key is None or "@" not in key:
            return key
        found = user_ids.get(key)
        if found is None and key not in reported:
            reported.add(key)
            plan.unknown_emails.append((line, key))
        return found

    for row in parsed.rows:
        user_id = row.slack_id or resolve(row.email, row.line)
        if user_id is None:
            continue
        if user_id in line_of:
            plan.problems.append(
                Problem(DUPLICATE, row.line, {"first": line_of[user_id], "who": row.who})
            )
            continue
        line_of[user_id], label[user_id] = row.line, row.who
        manager = resolve(row.manager, row.line)
        if manager == user_id:
            plan.problems.append(Problem(OWN_MANAGER, row.line))
            continue
        plan.matched += 1
        wanted[user_id] = EntryValues(
            email=row.email,
            department=row.department,
            manager_slack_id=manager,
            title=row.title,
            office=row.office,
            country=row.country,
            hire_date=row.hire_date,
            level=row.level,
        )
    for loop in manager_loops({u: v.manager_slack_id for u, v in wanted.items()}):
        names = " → ".join(label.get(u, u) for u in [*loop, loop[0]])
        plan.problems.append(Problem(CYCLE, line_of[loop[0]], {"loop": names}))
    active_ids = set(active)
    for user_id, values in wanted.items():
        if user_id not in existing:
            plan.created[user_id] = values
        elif existing[user_id] != values or user_id not in active_ids:
            plan.changed[user_id] = values
        else:
            plan.unchanged += 1
    if full:
        plan.leaving = sorted(active_ids - set(wanted))
        if plan.leaving and not wanted:  # the wrong file, surely: never empty the roster
            plan.problems.append(Problem(EVERYONE_LEAVES, params={"count": len(plan.leaving)}))
    plan.problems.sort(key=lambda p: p.line or 0)
    return plan
