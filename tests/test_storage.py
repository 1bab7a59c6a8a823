"""Storage on SQLite and PostgreSQL: migrations match the models, constraints hold, UTC times."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from storage import repositories as repo
from storage.db import Database, current_revision
from storage.models import (
    CheckInCycle,
    Goal,
    JobRun,
    MatchRun,
    OutboxMessage,
    Pair,
    PairStatus,
    Participant,
    Program,
    ProgramStatus,
    PulseParticipation,
    PulseRound,
    PulseTally,
    RematchRequest,
)


def _program(db: Database) -> int:
    with db.session() as session:
        program = repo.save(session, Program(name="P", goals=["g"], start_date=date(2027, 1, 1)))
        return program.id or 0


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
    """Answers exist only as sealed ballots and aggregate cells; participation is a keyed
    marker, with no person and no time."""
    tally = set(PulseTally.__table__.columns.keys())  # type: ignore[attr-defined]
    assert tally == {"round_id", "dimension", "question", "value", "n"}
    participation = set(PulseParticipation.__table__.columns.keys())  # type: ignore[attr-defined]
    assert participation == {"round_id", "marker"}


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


def test_topic_demand_supply_counts_in_sql_what_python_counts(database: Database) -> None:
    rng = random.Random(8)
    topics = ["ai_tools", "data", "cong_cu_ai", "growth_strategic_thinking", "x" * 50]
    program_id = _program(database)
    with database.session() as session:
        other = repo.save(session, Program(name="Old", status=ProgramStatus.ARCHIVED)).id or 0
        for n in range(60):
            session.add(
                Participant(
                    program_id=program_id if n % 6 else other,
                    slack_user_id=f"U{n}",
                    role=rng.choice(["mentor", "mentee"]),
                    status=rng.choice(["waiting", "paired", "left"]),
                    topics_offered=rng.sample(topics, rng.randint(0, 3)),
                    topics_wanted=rng.sample(topics, rng.randint(0, 3)),
                    development_areas=rng.sample(topics, rng.randint(0, 2)),
                )
            )
    with database.session() as session:
        people = repo.participants(session, program_id, ["waiting", "paired"])
        counted = repo.topic_demand_supply(session, program_id)
    offered: Counter[str] = Counter()
    wanted: Counter[str] = Counter()
    development: Counter[str] = Counter()
    demand: Counter[str] = Counter()
    for person in people:
        if person.role == "mentor":
            offered.update(set(person.topics_offered))
        else:
            wanted.update(set(person.topics_wanted))
            development.update(set(person.development_areas))
            demand.update(set(person.topics_wanted) | set(person.development_areas))
    expected = {
        topic: repo.TopicCounts(offered[topic], wanted[topic], development[topic], demand[topic])
        for topic in set(offered) | set(wanted) | set(development)
    }
    assert counted == expected
    assert any(
        c.wanted and c.development and c.demand < c.wanted + c.development for c in counted.values()
    )


def test_one_open_match_run_per_programme(database: Database) -> None:
    program_id = _program(database)
    with database.session() as session:
        other = repo.save(session, Program(name="Old", status=ProgramStatus.ARCHIVED)).id
        session.add(MatchRun(program_id=program_id, status="closed"))
        session.add(MatchRun(program_id=program_id, status="closed"))
        session.add(MatchRun(program_id=program_id))
        session.add(MatchRun(program_id=other))
    with pytest.raises(IntegrityError), database.session() as session:
        session.add(MatchRun(program_id=program_id))
    with database.session() as session:
        assert len(session.exec(select(MatchRun)).all()) == 4


def test_several_programmes_run_at_once_with_their_owners(database: Database) -> None:
    _program(database)
    with database.session() as session:
        session.add(Program(name="Old", status=ProgramStatus.ARCHIVED))
        session.add(Program(name="DACH 2027", status=ProgramStatus.RUNNING))
        session.add(Program(name="Draft", status=ProgramStatus.DRAFT))
    with database.session() as session:
        live = repo.live_programs(session)
        assert [p.name for p in live] == ["P", "DACH 2027"]  # neither archived nor draft
        repo.add_owners(session, live[1].id or 0, ["UOWNER1", "UOWNER1", "UOWNER2"], "UADMIN")
    with database.session() as session:
        assert repo.owners(session, live[1].id or 0) == ["UOWNER1", "UOWNER2"]
        assert repo.owned_program_ids(session, "UOWNER2") == {live[1].id}
    with pytest.raises(IntegrityError), database.session() as session:
        session.add(Program(name="Bad", status="active"))  # not a status any more


CONSTRAINED = [
    ("program", "status"),
    ("participant", "role"),
    ("participant", "status"),
    ("pair", "status"),
    ("match_run", "status"),
    ("outbox_message", "status"),
    ("rematch_request", "status"),
    ("goal", "status"),
    ("checkin_cycle", "status"),
    ("pulse_round", "status"),
    ("pulse_round", "kind"),
    ("job_run", "status"),
]


@pytest.mark.parametrize(("table", "column"), CONSTRAINED)
def test_roles_and_statuses_are_constrained(database: Database, table: str, column: str) -> None:
    program_id = _program(database)
    with database.session() as session:
        mentor = repo.save(
            session, Participant(program_id=program_id, slack_user_id="UA", role="mentor")
        )
        mentee = repo.save(
            session, Participant(program_id=program_id, slack_user_id="UB", role="mentee")
        )
        pair = repo.save(
            session, Pair(program_id=program_id, mentor_id=mentor.id, mentee_id=mentee.id)
        )
        session.add(MatchRun(program_id=program_id))
        session.add(OutboxMessage(dedupe_key="k", kind="dm", recipient="UA"))
        session.add(RematchRequest(pair_id=pair.id, requested_by=mentee.id))
        session.add(Goal(pair_id=pair.id, title="Learn"))
        session.add(CheckInCycle(program_id=program_id, period="2027-01"))
        session.add(PulseRound(program_id=program_id, period="2027-01-05"))
        session.add(JobRun(run_key="r", job_name="j"))
    with database.session() as session:  # every row as created is valid
        assert session.execute(text(f"SELECT count(*) FROM {table}")).scalar() >= 1
    with pytest.raises(IntegrityError), database.session() as session:
        session.execute(text(f"UPDATE {table} SET {column} = 'bogus'"))
