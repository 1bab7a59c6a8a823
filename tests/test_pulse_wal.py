"""The attack of issue #19 on PostgreSQL's write-ahead log, through signed requests.

With the default `wal_level=replica` and the standard `pg_walinspect` extension, an attacker who
reads only each WAL record's type, length and block (no tuple decoding) could once tell, for
every answer transaction, which tally cells got `+1` (a longer UPDATE record than the cells that
got `+0`), and the transaction id named the person (the `xmin` of their participation row).

Here twelve people answer a round through Slack's signed requests, twice: the second time the
same people, in the same order, give each other's answers (permuted within their breakdown
group, free texts of very different lengths included). The WAL of each answering phase is read
with `pg_get_wal_records_info`, and:

* the explicit attack finds nothing: no answer transaction touches a tally cell or a text list,
  and within each relation every record of an answer transaction has the same length;
* the differential proof: both runs leave the same sequence of records (resource manager,
  record type, length, full-page-image length, relation, fork, block; transactions ranked), so
  nothing in the WAL depends on who answered what.

PostgreSQL only; the database file and SQLite's `-wal` are covered by
tests/test_pulse_anonymity.py.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlmodel import SQLModel

from scheduler.pulse import run_pulse
from storage.models import Participant, Program
from tests.conftest import RunningApp
from tests.test_pulse_e2e import SURVEY_AT, _answer, _click, _deliver, manual_clock

GROUPS = [("mentor", "Engineering")] * 6 + [("mentee", "Marketing")] * 6
BLOCK = re.compile(r"rel (\d+)/(\d+)/(\d+)(?: fork (\w+))? blk (\d+)")
ANSWER_RELATIONS = ("pulse_tally", "pulse_text")  # where the old answers wrote
# The app's tables, their indexes, TOAST tables and TOAST indexes, by file node.
APP_RELATIONS = """
    SELECT pg_relation_filenode(c.oid), c.relname FROM pg_class c
      JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'
    UNION ALL
    SELECT pg_relation_filenode(t.oid), t.relname FROM pg_class c
      JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_class t ON t.oid = c.reltoastrelid
     WHERE n.nspname = 'public'
    UNION ALL
    SELECT pg_relation_filenode(i.indexrelid), x.relname FROM pg_class c
      JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_index i ON i.indrelid = c.reltoastrelid
      JOIN pg_class x ON x.oid = i.indexrelid
     WHERE n.nspname = 'public'
"""


def _answers() -> list[dict[str, Any]]:
    out = []
    for i in range(len(GROUPS)):
        answer: dict[str, Any] = {"value": 1 + i % 5, "nps": (3 * i) % 11, "pairing": 5 - i % 5}
        if i % 3 == 1:
            answer["change"] = "Mehr Zeit für Austausch " * (1 + 20 * (i % 2))
        elif i % 3 == 2:
            answer["change"] = "ok"
        out.append(answer)
    return out


def _permuted(answers: list[Any]) -> list[Any]:
    """Each group's answers rotated by one: everyone gives someone else's answer."""
    out = list(answers)
    for start in (0, 6):
        block = answers[start : start + 6]
        out[start : start + 6] = block[1:] + block[:1]
    return out


def _reset(app: RunningApp) -> None:
    tables = ", ".join(f'"{t.name}"' for t in SQLModel.metadata.sorted_tables)
    with app.db.engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        for table in SQLModel.metadata.sorted_tables:
            # Autovacuum wakes when it likes; the comparison must not differ for that reason.
            connection.execute(text(f'ALTER TABLE "{table.name}" SET (autovacuum_enabled = off)'))
    app.fake.reset_calls()


def _seed(app: RunningApp) -> None:
    """A programme and twelve people, seeded; the round opens through the real job."""
    with app.db.session() as session:
        program = Program(
            name="WAL",
            anonymity_threshold=5,
            pulse_cadence="monthly",
            start_date=date(2027, 1, 1),
            created_at=SURVEY_AT - timedelta(days=60),
        )
        session.add(program)
        session.flush()
        for index, (role, department) in enumerate(GROUPS):
            user_id = f"UWAL{index:02d}"
            app.fake.add_user(user_id, tz="Europe/Berlin", tz_offset=3600, locale="en-US")
            session.add(
                Participant(
                    program_id=program.id or 0,
                    slack_user_id=user_id,
                    role=role,
                    department=department,
                    status="paired",
                    timezone="Europe/Berlin",
                    enrolled_at=SURVEY_AT - timedelta(days=60),
                )
            )
    assert run_pulse(app.services, SURVEY_AT).queued == len(GROUPS)
    _deliver(app)


def _scalar(app: RunningApp, sql: str) -> Any:
    with app.db.engine.begin() as connection:
        result = connection.execute(text(sql))
        return result.scalar() if result.returns_rows else None


def _answering_phase(app: RunningApp, answers: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """Everyone clicks and answers; returns the WAL records of our database in that window."""
    _scalar(app, "CHECKPOINT")  # every run starts with the same full-page images to write
    start = _scalar(app, "SELECT pg_current_wal_insert_lsn()::text")
    for index, answer in enumerate(answers):
        user_id = f"UWAL{index:02d}"
        view = _click(app, user_id, "pulse_open")
        assert view["callback_id"] == "pulse_answer"
        shown = _answer(app, user_id, view, answer)
        assert "anonymously" in shown
    end = _scalar(app, "SELECT pg_current_wal_flush_lsn()::text")
    with app.db.engine.connect() as connection:
        database_oid = connection.execute(
            text("SELECT oid FROM pg_database WHERE datname = current_database()")
        ).scalar()
        records = connection.execute(
            text(
                "SELECT xid::text::bigint, resource_manager, record_type, record_length, "
                "fpi_length, coalesce(block_ref, '') FROM pg_get_wal_records_info("
                "CAST(:start AS pg_lsn), CAST(:end AS pg_lsn))"
            ),
            {"start": start, "end": end},
        ).all()
        names = {
            str(filenode): str(name)
            for filenode, name in connection.execute(text(APP_RELATIONS)).all()
            if filenode is not None
        }
    checkpoints = [r for r in records if r[1] == "XLOG" and r[2].startswith("CHECKPOINT")]
    if checkpoints:
        return []  # a checkpoint in the window changes which pages get images: run it again
    out = []
    for xid, manager, kind, length, fpi, blocks in records:
        refs = [
            (names[rel], fork or "main", int(block))
            for _space, db, rel, fork, block in BLOCK.findall(blocks)
            if db == str(database_oid) and rel in names
        ]
        if refs or manager == "Transaction":
            out.append((xid, manager, kind, length, fpi, tuple(refs)))
    # Only the app's transactions: the catalogs' own upkeep (autovacuum of pg_class, ...) and
    # other databases on the server have nothing to do with the answers.
    ours = {xid for xid, _m, _k, _l, _f, refs in out if xid and refs}
    return [r for r in out if r[5] or r[0] in ours]


def _ranked(records: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Transaction ids replaced by their rank: the two runs' ids differ, their order does not."""
    rank: dict[int, int] = {}
    for xid, *_rest in records:
        if xid and xid not in rank:
            rank[xid] = len(rank)
    return [(rank.get(xid, -1), *rest) for xid, *rest in records]


def _run(app: RunningApp, answers: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    for _attempt in range(3):
        _reset(app)
        _seed(app)
        records = _answering_phase(app, answers)
        if records:
            return records
    pytest.fail("a checkpoint fell into every answering window")


def _ballot_part(relation: str) -> str:
    """The ballot's TOAST relations are named after its table's oid, which differs by run."""
    if relation.startswith("pg_toast_"):
        return "toast index" if relation.endswith("_index") else "toast"
    return relation


def _answer_transactions(records: list[tuple[Any, ...]]) -> dict[int, list[tuple[Any, ...]]]:
    """The records of each transaction that stored someone's participation."""
    by_xid: dict[int, list[tuple[Any, ...]]] = {}
    for record in records:
        by_xid.setdefault(record[0], []).append(record)
    return {
        xid: rows
        for xid, rows in by_xid.items()
        if xid and any(ref[0] == "pulse_participation" for row in rows for ref in row[5])
    }


def test_the_wal_links_no_answer_to_its_author(running_app: RunningApp) -> None:
    app = running_app
    if not app.db.is_postgres:
        pytest.skip("pg_walinspect reads PostgreSQL's WAL; SQLite: tests/test_pulse_anonymity.py")
    _scalar(app, "CREATE EXTENSION IF NOT EXISTS pg_walinspect")
    answers = _answers()
    assert _permuted(answers) != answers  # the second run really changes who answered what
    with manual_clock(SURVEY_AT + timedelta(hours=1)):
        first = _run(app, answers)
        second = _run(app, _permuted(answers))

    # The attack: each answer transaction is found by its participation row (the person)...
    answered = _answer_transactions(first)
    assert len(answered) == len(GROUPS)
    for rows in answered.values():
        touched = {ref[0] for row in rows for ref in row[5]}
        # ... and it writes no tally cell and no text list: no location that depends on the
        # answer (the old design rewrote every cell, and `+1` cells logged longer records) ...
        assert not touched & set(ANSWER_RELATIONS), touched
    # ... and the one thing it writes that could carry the answer, the sealed ballot (its row
    # and the TOAST chunks that hold it: heap records carry the bytes, index records only keys),
    # is written with the same record lengths by everyone.
    ballot_writes = {
        tuple(
            sorted(
                (_ballot_part(refs[0][0]), kind.replace("+INIT", ""), length)
                for _xid, manager, kind, length, fpi, refs in rows
                if manager == "Heap"
                and fpi == 0
                and refs
                and refs[0][0].startswith(("pulse_ballot", "pg_toast_"))
            )
        )
        for rows in answered.values()
    }
    assert len(ballot_writes) == 1, [sorted(set(w)) for w in ballot_writes]
    assert any(part == "toast" for part, _kind, _length in next(iter(ballot_writes)))

    # The proof: the same people answering each other's answers leave the same WAL.
    assert _ranked(first) == _ranked(second)
