"""Anonymity that holds against the database: no link between a pulse answer and a person.

The proof is differential: the same twelve people answer in the same order, once with their
answers as drawn and once with the answers permuted among people of the same breakdown group.
After EVERY answer, the whole database, system columns included (PostgreSQL xmin and ctid,
SQLite rowids), every timestamp and the physical row order, is the same in both runs once the
values that are random by construction (ballot ciphertext and ids, markers, the key salt) are
replaced by their length; so is the closed round. Every state the database passes through is
also what its write-ahead log and backups can hold, so nothing stored can tell who gave which
answer: any attacker without the app's secret is reduced to chance. The explicit attacks (xmin
join, rowid/ctid/insertion order, timestamps, the text in the files) are tried as well, on both
backends; tests/test_pulse_wal.py reads PostgreSQL's WAL itself.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlmodel import SQLModel

from bot import clock
from bot.domain import pulse
from storage.db import Database
from storage.models import Participant, Program, PulseKind

START = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
PEOPLE = [("mentor", "Engineering")] * 6 + [("mentee", "Marketing")] * 6
SECRET = b"anonymity-test-secret-0123456789abcdef"
RANDOM_BY_CONSTRUCTION = {
    "pulse_ballot": ("id", "sealed"),
    "pulse_participation": ("marker",),
    "pulse_invitation": ("marker",),
    "pulse_round": ("key_salt",),
}
Dump = dict[str, list[tuple[Any, ...]]]


def _answers(seed: int) -> list[tuple[dict[str, int], dict[str, str]]]:
    rng = random.Random(seed)
    out = []
    for i in range(len(PEOPLE)):
        chosen = {
            "value": rng.randint(1, 5),
            "nps": rng.randint(0, 10),
            "pairing": rng.randint(1, 5),
        }
        # Texts of very different lengths, none at all for some: length must not show.
        texts = {"change": f"idea number {i} " * (1 + 40 * (i % 2))} if i % 3 else {}
        out.append((chosen, texts))
    return out


def _permuted_within_groups(answers: list[Any]) -> list[Any]:
    """Each group's answers rotated by one: everyone gets someone else's answer."""
    out = list(answers)
    for start in (0, 6):
        block = answers[start : start + 6]
        out[start : start + 6] = block[1:] + block[:1]
    return out


def _empty(db: Database) -> None:
    tables = list(reversed(SQLModel.metadata.sorted_tables))
    with db.engine.begin() as connection:
        if db.is_postgres:
            names = ", ".join(f'"{t.name}"' for t in tables)
            connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                connection.execute(table.delete())  # no AUTOINCREMENT: rowids restart at 1


def _world(
    db: Database, answers: list[Any], *, close: bool = False
) -> tuple[int, list[Dump], list[str]]:
    """A programme, twelve people, a round, their answers in a fixed order (a dump after each
    one), and the close if asked. Returns the round, the dumps and the answers' outcomes."""
    manual = clock.ManualClock(START)
    previous = clock.install(manual)
    try:
        with db.session() as session:
            program = Program(name="P", anonymity_threshold=5)
            session.add(program)
            session.flush()
            people = [
                Participant(
                    program_id=program.id or 0,
                    slack_user_id=f"U{i:03d}",
                    role=role,
                    department=department,
                    status="paired",
                    enrolled_at=START - timedelta(days=60),
                )
                for i, (role, department) in enumerate(PEOPLE)
            ]
            session.add_all(people)
            session.flush()
            opened = pulse.open_round(
                session, program, PulseKind.PULSE, START, people, secret=SECRET
            )
            round_id = opened.id or 0
        dumps, outcomes = [], []
        for index, (chosen, texts) in enumerate(answers):
            manual.advance(timedelta(minutes=7))
            outcomes.append(
                db.run(
                    lambda session, i=index, c=chosen, t=texts: pulse.record_answer(
                        session, SECRET, round_id, f"U{i:03d}", pulse.SURVEY_KINDS, c, t
                    )
                )
            )
            dumps.append(normalise(dump(db)))
        if close:
            manual.advance(timedelta(days=7))
            assert db.run(lambda s: pulse.close_now(s, round_id, manual.now(), secret=SECRET))
            dumps.append(normalise(dump(db)))
        return round_id, dumps, outcomes
    finally:
        clock.install(previous)


def _has_rowid(db: Database, table: str) -> bool:
    with db.engine.connect() as connection:
        try:
            connection.execute(text(f'SELECT rowid FROM "{table}" LIMIT 1'))
        except Exception:  # noqa: BLE001 - WITHOUT ROWID tables have none
            return False
    return True


def dump(db: Database) -> Dump:
    """Every row of every table with its system columns, in physical order."""
    out: Dump = {}
    with db.engine.connect() as connection:
        for table in SQLModel.metadata.sorted_tables:
            name = table.name
            if db.is_postgres:
                system = "xmin::text::bigint AS _xmin, ctid::text AS _ctid"
                query = f'SELECT {system}, * FROM "{name}" ORDER BY ctid'
            elif _has_rowid(db, name):
                query = f'SELECT rowid AS _rowid, * FROM "{name}" ORDER BY rowid'
            else:
                query = f'SELECT * FROM "{name}"'  # stored (and scanned) in primary-key order
            result = connection.execute(text(query))
            keys = list(result.keys())
            rows = [dict(zip(keys, row, strict=True)) for row in result.all()]
            out[name] = [tuple(sorted(row.items())) for row in rows]
    return out


def normalise(raw: Dump) -> Dump:
    """Transaction ids as ranks; values that are random by construction (drawn independently
    of the answers) replaced by their length; text lists, shuffled at close, sorted."""
    xmins = sorted({dict(row).get("_xmin") for rows in raw.values() for row in rows} - {None})
    rank = {x: i for i, x in enumerate(xmins)}
    out: Dump = {}
    for name, rows in raw.items():
        fixed = []
        for row in rows:
            values = dict(row)
            if "_xmin" in values:
                values["_xmin"] = rank[values["_xmin"]]
            for column in RANDOM_BY_CONSTRUCTION.get(name, ()):
                if values[column] is not None:
                    values[column] = f"random, {len(values[column])} long"
            if name == "pulse_text":
                texts = values["texts"]
                values["texts"] = sorted(texts if isinstance(texts, list) else json.loads(texts))
            fixed.append(tuple(sorted(values.items())))
        if name in RANDOM_BY_CONSTRUCTION and name != "pulse_round":
            fixed.sort(key=repr)  # stored by a random key on SQLite: that order is random too
        out[name] = fixed
    return out


def test_permuted_answers_leave_an_identical_database(database: Database) -> None:
    answers = _answers(seed=7)
    if database.is_postgres:
        # Where PostgreSQL puts a new row version depends on the UPDATE's plan, which follows
        # the table statistics (autovacuum refreshes them whenever it likes). Fix them for both
        # runs: the comparison must not differ for a reason that has nothing to do with answers.
        with database.engine.begin() as connection:
            for table in SQLModel.metadata.sorted_tables:
                connection.execute(
                    text(f'ALTER TABLE "{table.name}" SET (autovacuum_enabled = false)')
                )
        _world(database, _answers(seed=99))
        with database.engine.begin() as connection:
            connection.execute(text("ANALYZE"))
    _empty(database)
    round_id, first, outcomes = _world(database, answers, close=True)
    _empty(database)
    _round, second, _outcomes = _world(database, _permuted_within_groups(answers), close=True)
    assert outcomes == [pulse.RECORDED] * len(PEOPLE)
    # The permutation really changed who answered what (else the test could not fail) ...
    assert _permuted_within_groups(answers) != answers
    # ... and yet, after every answer and after the close, not one value of the database,
    # system columns included, differs.
    assert len(first) == len(second) == len(PEOPLE) + 1
    for step, (one, other) in enumerate(zip(first, second, strict=True)):
        for table in one:
            assert one[table] == other[table], (step, table)
    # While open: twelve ballots of one length, every cell still 0; closed: the counts.
    open_state, closed_state = first[-2], first[-1]
    assert {dict(row)["sealed"] for row in open_state["pulse_ballot"]} == {
        dict(open_state["pulse_ballot"][0])["sealed"]
    }
    assert len(open_state["pulse_ballot"]) == len(PEOPLE)
    assert {dict(row)["n"] for row in open_state["pulse_tally"]} == {0}
    everyone = [dict(r) for r in closed_state["pulse_tally"] if dict(r)["dimension"] == "all"]
    assert sum(r["n"] for r in everyone if r["question"] == "value") == len(PEOPLE)
    assert closed_state["pulse_ballot"] == closed_state["pulse_participation"] == []
    (closed_round,) = [dict(r) for r in closed_state["pulse_round"]]
    assert (closed_round["answered"], closed_round["key_salt"]) == (len(PEOPLE), None)
    del round_id


def test_each_link_an_attacker_can_try_gives_nothing(database: Database) -> None:
    answers = _answers(seed=11)
    round_id, _dumps, _outcomes = _world(database, answers)
    with database.engine.connect() as connection:
        cells = connection.execute(
            text("SELECT n FROM pulse_tally WHERE round_id = :r"), {"r": round_id}
        ).all()
        texts = connection.execute(text("SELECT texts FROM pulse_text")).all()
        sealed = connection.execute(text("SELECT sealed FROM pulse_ballot")).all()
        # While the round is open no answer touched a cell or a text list: nothing to read.
        assert {n for (n,) in cells} == {0}
        assert [json.loads(t) if isinstance(t, str) else t for (t,) in texts] == [[]]
        assert len(sealed) == len(PEOPLE) and len({len(bytes(s)) for (s,) in sealed}) == 1
        if database.is_postgres:
            # xmin join: the cells still carry the round's creation, never an answer's
            # transaction; a ballot shares its transaction with its marker only, and a marker
            # names nobody without the key.
            cell_xmins = connection.execute(
                text("SELECT DISTINCT xmin::text FROM pulse_tally WHERE round_id = :r"),
                {"r": round_id},
            ).all()
            marker_xmins = connection.execute(
                text("SELECT DISTINCT xmin::text FROM pulse_participation")
            ).all()
            assert len(cell_xmins) == 1 and not set(cell_xmins) & set(marker_xmins)
        else:
            for table in ("pulse_participation", "pulse_ballot", "pulse_invitation"):
                assert not _has_rowid(database, table), table
        markers = {m for (m,) in connection.execute(text("SELECT marker FROM pulse_participation"))}
        invited = {m for (m,) in connection.execute(text("SELECT marker FROM pulse_invitation"))}
        # Answered and invited markers are keyed apart: the lists cannot be joined.
        assert len(markers) == len(invited) == len(PEOPLE) and not markers & invited
        assert not any(f"U{i:03d}" in m for m in markers for i in range(len(PEOPLE)))
        # Timestamps and insertion order: an answer adds its marker and its ballot, which have
        # no time, and nothing to the outbox, the job ledger or the processed events.
        counts = {
            table.name: connection.execute(text(f'SELECT count(*) FROM "{table.name}"')).scalar()
            for table in SQLModel.metadata.sorted_tables
        }
    assert counts["pulse_participation"] == counts["pulse_ballot"] == len(PEOPLE)
    assert (
        counts["outbox_message"] == 0 and counts["job_run"] == 0 and counts["processed_event"] == 0
    )
    columns = {
        name: set(SQLModel.metadata.tables[name].columns.keys())
        for name in ("pulse_participation", "pulse_invitation", "pulse_ballot")
    }
    assert columns == {
        "pulse_participation": {"round_id", "marker"},
        "pulse_invitation": {"round_id", "marker"},
        "pulse_ballot": {"round_id", "id", "sealed"},
    }


def test_no_answer_is_readable_in_the_sqlite_files(database: Database, tmp_path: Path) -> None:
    """The database file and its `-wal` while the round is open: the free texts (and so the
    ballots' plaintext) appear nowhere; after the close they are results, shown in groups."""
    if database.is_postgres:
        pytest.skip("PostgreSQL's files and their history (the WAL): tests/test_pulse_wal.py")
    answers = _answers(seed=5)
    round_id, _dumps, _outcomes = _world(database, answers)
    path = Path(database.url.removeprefix("sqlite:///"))

    def files() -> bytes:
        wal = Path(f"{path}-wal")
        return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")

    written = [f"idea number {i}".encode() for i, (_c, t) in enumerate(answers) if t]
    assert written and not any(text_ in files() for text_ in written)
    with database.session() as session:
        assert pulse.close_now(session, round_id, START + timedelta(days=8), secret=SECRET)
    # The same search finds them once they are results: it would have seen them before.
    assert all(text_ in files() for text_ in written)
    with database.session() as session:
        stored_texts = [t for row in pulse.repo.pulse_texts(session, round_id) for t in row.texts]
    assert sorted(stored_texts) == sorted(t["change"] for _c, t in answers if t)


def test_text_order_is_independent_of_answer_order(database: Database) -> None:
    """The close stores the texts in a random order, not in the order they were answered."""
    answers = [({"value": 3, "nps": 7, "pairing": 3}, {"change": f"text {i}"}) for i in range(12)]
    round_id, _dumps, _outcomes = _world(database, answers, close=True)
    with database.session() as session:
        (row,) = pulse.repo.pulse_texts(session, round_id)
    assert sorted(row.texts) == sorted(t["change"] for _c, t in answers)
    assert list(row.texts) != [t["change"] for _c, t in answers]  # 1 in 12! by chance
