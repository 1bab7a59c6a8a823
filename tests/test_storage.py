"""Storage on SQLite and PostgreSQL: migrations match the models, constraints hold, UTC times."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlmodel import SQLModel, select

from storage import repositories as repo
from storage.db import Database, current_revision
from storage.models import Pair, PairStatus, Participant, Program, PulseAnswer


def _program(db: Database) -> int:
    with db.session() as session:
        program = repo.save(session, Program(name="P", goals=["g"], start_date=date(2027, 1, 1)))
        return program.id or 0


def test_migrations_are_at_head_and_match_the_models(database: Database) -> None:
    assert current_revision(database.engine) is not None
    with database.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, SQLModel.metadata)
    assert differences == []


def test_migrate_is_idempotent(database: Database) -> None:
    before = current_revision(database.engine)
    database.migrate()
    assert current_revision(database.engine) == before


def test_one_participant_per_person_and_programme(database: Database) -> None:
    program_id = _program(database)
    with database.session() as session:
        session.add(Participant(program_id=program_id, slack_user_id="U1", role="mentor"))
    with pytest.raises(IntegrityError), database.session() as session:
        session.add(Participant(program_id=program_id, slack_user_id="U1", role="mentee"))
    with database.session() as session:
        assert len(repo.participants(session, program_id)) == 1


def test_foreign_keys_are_enforced(database: Database) -> None:
    with pytest.raises(IntegrityError), database.session() as session:
        session.add(Participant(program_id=999, slack_user_id="U1", role="mentor"))


def test_times_come_back_as_utc(database: Database) -> None:
    program_id = _program(database)
    berlin = timezone(timedelta(hours=1))
    moment = datetime(2027, 3, 1, 10, 0, tzinfo=berlin)
    with database.session() as session:
        person = Participant(
            program_id=program_id, slack_user_id="U1", role="mentor", left_at=moment
        )
        session.add(person)
    with database.session() as session:
        stored = session.exec(select(Participant)).one()
    assert stored.left_at == moment and stored.left_at.tzinfo is not None
    assert stored.left_at.utcoffset() == timedelta(0)
    assert stored.enrolled_at.tzinfo is not None
    assert abs(stored.enrolled_at - datetime.now(UTC)) < timedelta(minutes=1)


def test_json_columns_round_trip(database: Database) -> None:
    program_id = _program(database)
    with database.session() as session:
        session.add(
            Participant(
                program_id=program_id,
                slack_user_id="U1",
                role="mentor",
                topics_offered=["ai_tools", "Công cụ AI"],
            )
        )
    with database.session() as session:
        assert session.exec(select(Participant)).one().topics_offered == ["ai_tools", "Công cụ AI"]


def test_pulse_answers_carry_no_person_and_no_time() -> None:
    columns = set(PulseAnswer.__table__.columns.keys())  # type: ignore[attr-defined]
    assert columns == {"id", "survey_id", "respondent_group", "answers"}


def test_earlier_pairs_span_programmes(database: Database) -> None:
    first = _program(database)
    with database.session() as session:
        mentor = repo.save(
            session, Participant(program_id=first, slack_user_id="UA", role="mentor")
        )
        mentee = repo.save(
            session, Participant(program_id=first, slack_user_id="UB", role="mentee")
        )
        repo.save(
            session,
            Pair(
                program_id=first, mentor_id=mentor.id, mentee_id=mentee.id, status=PairStatus.ENDED
            ),
        )
        repo.save(
            session,
            Pair(
                program_id=first,
                mentor_id=mentor.id,
                mentee_id=mentee.id,
                status=PairStatus.DISCARDED,
            ),
        )
    with database.session() as session:
        assert repo.earlier_pairs(session) == {frozenset({"UA", "UB"})}


def test_session_rolls_back_on_error(database: Database) -> None:
    with pytest.raises(RuntimeError), database.session() as session:
        session.add(Program(name="half-written"))
        session.flush()
        raise RuntimeError("boom")
    with database.session() as session:
        assert session.exec(select(Program)).all() == []


def test_healthy(database: Database) -> None:
    assert database.healthy() is True
    broken = Database("postgresql+psycopg://nobody@127.0.0.1:1/none")
    assert broken.healthy() is False


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'wal.db'}")
    database.migrate()
    with database.engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
