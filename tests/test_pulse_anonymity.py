"""Anonymity that holds against the database: no link between a pulse answer and a person.

The proof is differential: the same twelve people answer in the same order, once with their
answers as drawn and once with the answers permuted among people of the same breakdown group.
If the whole database, system columns included (PostgreSQL xmin and ctid, SQLite rowids), every
timestamp and the physical row order, is identical in both runs, then nothing stored can tell
who gave which answer: any attacker is reduced to chance. The explicit attacks (xmin join,
rowid/ctid/insertion order, timestamps) are tried as well, on both backends.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlmodel import Session, SQLModel

from bot import clock
from bot.domain import pulse
from storage.db import Database
from storage.models import Participant, Program, PulseKind

START = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
PEOPLE = [("mentor", "Engineering")] * 6 + [("mentee", "Marketing")] * 6


def _answers(seed: int) -> list[tuple[dict[str, int], dict[str, str]]]:
    rng = random.Random(seed)
    out = []
    for i in range(len(PEOPLE)):
        chosen = {
            "value": rng.randint(1, 5),
            "nps": rng.randint(0, 10),
            "pairing": rng.randint(1, 5),
        }
        out.append((chosen, {"change": f"idea number {i}"} if i % 3 else {}))
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
                connection.execute(table.delete())
            pass  # no AUTOINCREMENT: rowids restart at 1 once a table is empty


def _world(db: Database, answers: list[Any]) -> tuple[int, list[int]]:
    """A programme, twelve people, a round, and their answers in a fixed order."""
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
            opened = pulse.open_round(session, program, PulseKind.PULSE, START, people)
            round_id, ids = opened.id or 0, [p.id or 0 for p in people]
        for index, (chosen, texts) in enumerate(answers):
            manual.advance(timedelta(minutes=7))

            def answer(
                session: Session, index: int = index, chosen: Any = chosen, texts: Any = texts
            ) -> str:
                person = session.get(Participant, ids[index])
                assert person is not None
                return pulse.record_answer(session, round_id, person, chosen, texts)

            assert db.run(answer) == pulse.RECORDED
        return round_id, ids
    finally:
        clock.install(previous)


def _has_rowid(db: Database, table: str) -> bool:
    with db.engine.connect() as connection:
        try:
            connection.execute(text(f'SELECT rowid FROM "{table}" LIMIT 1'))
        except Exception:  # noqa: BLE001 - WITHOUT ROWID tables have none
            return False
    return True


def dump(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table with its system columns, in physical order."""
    out: dict[str, list[tuple[Any, ...]]] = {}
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


def normalise(raw: dict[str, list[tuple[Any, ...]]]) -> dict[str, list[tuple[Any, ...]]]:
    """Transaction ids as ranks; the random participation keys and the shuffled text lists
    replaced by what they are: random (they are drawn independently of the answers)."""
    xmins = sorted({dict(row).get("_xmin") for rows in raw.values() for row in rows} - {None})
    rank = {x: i for i, x in enumerate(xmins)}
    out: dict[str, list[tuple[Any, ...]]] = {}
    for name, rows in raw.items():
        fixed = []
        for row in rows:
            values = dict(row)
            if "_xmin" in values:
                values["_xmin"] = rank[values["_xmin"]]
            if name == "pulse_participation":
                values["id"] = "random"
            if name == "pulse_text":
                texts = values["texts"]
                values["texts"] = sorted(texts if isinstance(texts, list) else eval_json(texts))
            fixed.append(tuple(sorted(values.items())))
        if name == "pulse_participation":
            fixed.sort(key=repr)  # stored by random key on SQLite: that order is random too
        out[name] = fixed
    return out


def eval_json(value: str) -> list[str]:
    import json

    return list(json.loads(value))


def test_permuted_answers_leave_an_identical_database(database: Database) -> None:
    answers = _answers(seed=7)
    if database.is_postgres:
        # Where PostgreSQL puts a new row version depends on the UPDATE's plan, which follows
        # the table statistics (autovacuum refreshes them whenever it likes). Fix them for both
        # runs: the comparison must not differ for a reason that has nothing to do with answers.
        with database.engine.begin() as connection:
            for table in ("pulse_round", "pulse_tally", "pulse_text", "pulse_participation"):
                connection.execute(text(f"ALTER TABLE {table} SET (autovacuum_enabled = false)"))
        _world(database, _answers(seed=99))
        with database.engine.begin() as connection:
            connection.execute(text("ANALYZE"))
    _empty(database)
    _world(database, answers)
    first = normalise(dump(database))
    _empty(database)
    _world(database, _permuted_within_groups(answers))
    second = normalise(dump(database))
    assert first["pulse_tally"], "the round has tallies"
    assert sum(1 for _ in first["pulse_participation"]) == len(PEOPLE)
    # The permutation really changed who answered what (else the test could not fail) ...
    assert _permuted_within_groups(answers) != answers
    # ... and yet not one byte of the database, system columns included, differs.
    for table in first:
        assert first[table] == second[table], table


def test_each_link_an_attacker_can_try_gives_nothing(database: Database) -> None:
    answers = _answers(seed=11)
    round_id, ids = _world(database, answers)
    with database.engine.connect() as connection:
        cells = connection.execute(
            text("SELECT dimension, question, value, n FROM pulse_tally WHERE round_id = :r"),
            {"r": round_id},
        ).all()
        # Only aggregates: the tallies add up to the answers, per question.
        total = sum(n for d, q, _v, n in cells if d == "all" and q == "value")
        assert total == len(PEOPLE)
        if database.is_postgres:
            cell_xmins = {
                row[0]
                for row in connection.execute(
                    text("SELECT xmin::text FROM pulse_tally WHERE round_id = :r"), {"r": round_id}
                ).all()
            }
            # xmin join: every cell carries the same transaction, so joining participation to
            # cells by xmin maps one person (the last) to ALL cells: no value singled out.
            assert len(cell_xmins) == 1
            text_xmins = {
                r[0] for r in connection.execute(text("SELECT xmin::text FROM pulse_text")).all()
            }
            assert text_xmins == cell_xmins
            # xmin adjacency / ctid order: participation is ordered by answer time, but no other
            # row was written per answer, so there is nothing to align that order with.
        else:
            for table in ("pulse_participation", "pulse_tally", "pulse_text"):
                assert not _has_rowid(database, table), table
        # Timestamps and insertion order: an answer adds one row to the whole database (its
        # participation, which has no time) and nothing to the outbox, the job ledger or events.
        counts = {
            table.name: connection.execute(text(f'SELECT count(*) FROM "{table.name}"')).scalar()
            for table in SQLModel.metadata.sorted_tables
        }
    assert counts["pulse_participation"] == len(PEOPLE)
    assert (
        counts["outbox_message"] == 0 and counts["job_run"] == 0 and counts["processed_event"] == 0
    )
    participation_columns = set(SQLModel.metadata.tables["pulse_participation"].columns.keys())
    assert participation_columns == {"id", "round_id", "participant_id"}
    for name in ("pulse_tally", "pulse_text"):
        columns = SQLModel.metadata.tables[name].columns
        assert not any("participant" in c.name or "_at" in c.name for c in columns), name
    # Text: the held-back list is a uniformly shuffled multiset; its order is not answer order.
    with database.session() as session:
        stored = [t for row in pulse.repo.pulse_texts(session, round_id) for t in row.texts]
    assert sorted(stored) == sorted(t["change"] for _c, t in answers if t)
    _ = ids


def test_text_order_is_independent_of_answer_order() -> None:
    """Inserting each text at a uniformly random place yields a uniformly random order."""
    firsts = []
    for _ in range(600):
        texts: list[int] = []
        for value in range(4):
            texts.insert(pulse._insert_at(len(texts) + 1), value)
        firsts.append(texts.index(0))
    share = sum(1 for p in firsts if p == 0) / len(firsts)
    assert 0.15 < share < 0.35  # a quarter, not "the first answer comes first"
