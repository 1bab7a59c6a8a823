"""Reading a roster file and planning its import (bot.domain.roster): pure, no Slack, no
database."""

from __future__ import annotations

from datetime import date

import pytest

from bot.domain.roster import (
    MAX_BYTES,
    EntryValues,
    column_name,
    manager_loops,
    parse_roster,
    plan_import,
)
from bot.i18n import translator


def _texts(problems: list) -> list[str]:
    return [p.text() for p in problems]


@pytest.mark.parametrize(
    ("header", "column"),
    [
        ("Slack User ID", "slack_id"),
        ("user-id", "slack_id"),
        ("E-Mail", "email"),
        ("Manager Email", "manager"),
        ("reports_to", "manager"),
        ("City", "office"),
        ("Start Date", "hire_date"),
        ("Grade", "level"),
        ("salary", None),
    ],
)
def test_column_names_and_their_aliases(header: str, column: str | None) -> None:
    assert column_name(header) == column


def test_csv_with_semicolons_a_bom_quoted_cells_and_blank_lines() -> None:
    data = (
        "\ufeffSlack ID;E-Mail;Title;Office\r\n"
        'U0AAA1;a@x.com;"Head; of ""Things""";Köln\r\n'
        "\r\n"
        ";b@x.com;;\r\n"
    ).encode()
    parsed = parse_roster(data)
    assert parsed.problems == [] and parsed.lines == 2
    first, second = parsed.rows
    assert (first.slack_id, first.title, first.office) == ("U0AAA1", 'Head; of "Things"', "Köln")
    assert (second.line, second.slack_id, second.email, second.title) == (4, None, "b@x.com", None)


def test_json_rosters_list_or_people_and_values_of_any_type() -> None:
    as_list = parse_roster(b'[{"email": "A@X.com", "level": 3, "hire_date": "2020-02-29"}]')
    wrapped = parse_roster(b'{"people": [{"email": "a@x.com", "level": "3"}]}')
    assert as_list.rows[0].email == "a@x.com" and as_list.rows[0].level == 3
    assert as_list.rows[0].hire_date == date(2020, 2, 29)
    assert wrapped.rows[0].level == 3
    assert _texts(parse_roster(b'{"email": "a@x.com"}').problems) == [
        'A JSON roster is a list of objects, one per person (or {"people": [...]}).'
    ]
    assert "The JSON is not valid" in _texts(parse_roster(b"[{,]").problems)[0]
    assert _texts(parse_roster(b'[{"email": "a@x.com", "salary": 1}]').problems)[0].startswith(
        "Unknown column “salary”"
    )


def test_whole_file_problems() -> None:
    assert _texts(parse_roster(b"").problems) == ["The file is empty."]
    assert _texts(parse_roster(b"department\nSales\n").problems) == [
        "Line 1: The file needs a column with the Slack user id or the email (slack_id or email)."
    ]
    assert _texts(parse_roster(b"email,Email\n").problems) == [
        "Line 1: The column “Email” appears twice."
    ]
    assert _texts(parse_roster(b"email\n").problems) == ["The file has a header but no people."]
    big = parse_roster(b"email\n" + b"x" * MAX_BYTES)
    assert _texts(big.problems) == [
        "The file is 20.0 MB; a roster may be at most 20 MB. "
        "Leave out columns the app does not use, or split it."
    ]


def test_row_problems_name_their_line_and_the_rest_is_read() -> None:
    data = (
        "slack_id,email,department,level\n"
        "u123,,Sales,1\n"
        ",not-an-email,Sales,1\n"
        ",,Sales,1\n"
        f",c@x.com,{'D' * 101},1\n"
        ",d@x.com,Sa\x07les,1\n"
        ",e@x.com,=cmd|' /C calc'!A0,-1\n"
        ",f@x.com,+Sales,2\n"
    ).encode()
    parsed = parse_roster(data)
    assert _texts(parsed.problems) == [
        "Line 2: “u123” is not a Slack user id (like U0123ABCD)",
        "Line 3: “not-an-email” is not an email address",
        "Line 4: neither a Slack user id nor an email",
        "Line 5: the department is longer than 100 characters",
        "Line 6: the department contains invisible control characters",
        "Line 7: the level “-1” is not a whole number between 0 and 1000",
    ]
    assert [r.department for r in parsed.rows] == ["+Sales"]


def test_problems_read_in_the_persons_language() -> None:
    parsed = parse_roster(b"email,hire_date\na@x.com,morgen\n")
    (problem,) = parsed.problems
    assert problem.text(translator("de")) == (
        "Zeile 2: das Eintrittsdatum „morgen“ ist kein Datum wie 2024-03-01"
    )


def test_manager_loops_are_found_once_each() -> None:
    managers = {"a": "b", "b": "c", "c": "a", "d": "a", "e": "e", "f": None, "g": "h", "h": "g"}
    assert manager_loops(managers) == [["a", "b", "c"], ["e"], ["g", "h"]]
    assert manager_loops({"a": "b", "b": None, "c": "b"}) == []


def _values(**changes: object) -> EntryValues:
    base: dict[str, object] = dict.fromkeys(EntryValues.__dataclass_fields__)
    base.update(changes)
    return EntryValues(**base)  # type: ignore[arg-type]


def test_plan_created_changed_unchanged_unknown_and_leaving() -> None:
    parsed = parse_roster(
        b"email,department,manager\na@x.com,Eng,\nb@x.com,Ops,a@x.com\nz@x.com,Eng,\n"
    )
    ids = {"a@x.com": "UA1", "b@x.com": "UB1", "z@x.com": None}
    existing = {
        "UA1": _values(email="a@x.com", department="Eng"),
        "UB1": _values(email="b@x.com", department="Eng", manager_slack_id="UA1"),
        "UC1": _values(email="c@x.com"),
    }
    plan = plan_import(parsed, ids, existing, ["UA1", "UB1", "UC1"], full=True)
    assert (plan.rows, plan.matched, plan.unchanged) == (3, 2, 1)
    assert list(plan.changed) == ["UB1"] and plan.changed["UB1"].department == "Ops"
    assert plan.created == {} and plan.leaving == ["UC1"]
    assert plan.unknown_emails == [(4, "z@x.com")]
    assert not plan.blocking
    partial = plan_import(parsed, ids, existing, ["UA1", "UB1", "UC1"], full=False)
    assert partial.leaving == []


def test_an_email_and_an_id_for_the_same_person_are_a_duplicate() -> None:
    parsed = parse_roster(b"slack_id,email\nUA1,\n,a@x.com\n")
    plan = plan_import(parsed, {"a@x.com": "UA1"}, {}, [], full=False)
    assert _texts(plan.problems) == ["Line 3: the same person as line 2 (a@x.com)"]


def test_a_full_roster_matching_nobody_never_empties_the_roster() -> None:
    parsed = parse_roster(b"email\nx@other.com\n")
    plan = plan_import(parsed, {"x@other.com": None}, {"UA1": _values()}, ["UA1"], full=True)
    assert plan.blocking
    assert "would take all 1 people off the roster" in _texts(plan.problems)[0]
