"""Migrations on SQLite and PostgreSQL: from empty to head, data carried over, models agree."""

from __future__ import annotations

import ast
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url
from sqlmodel import SQLModel, select

from storage import repositories as repo
from storage.db import MIGRATIONS_DIR, Database, alembic_config, current_revision, upgrade
from storage.models import MatchRun, OutboxMessage, Pair, Participant, Program
from tests.conftest import BACKENDS, postgres_url

VERSIONS = MIGRATIONS_DIR / "versions"


@pytest.fixture(params=BACKENDS)
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A database with no tables at all."""
    if request.param == "sqlite":
        database = Database(f"sqlite:///{tmp_path / 'empty.db'}")
        yield database
        database.dispose()
        return
    base = postgres_url()
    if base is None:
        pytest.skip("PostgreSQL not configured: set TEST_DATABASE_URL to run these tests")
    name = f"rm_migrate_{uuid.uuid4().hex[:10]}"
    admin = create_engine(make_url(base), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    database = Database(make_url(base).set(database=name).render_as_string(hide_password=False))
    yield database
    database.dispose()
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _head(database: Database) -> str:
    head = ScriptDirectory.from_config(alembic_config(database.engine)).get_current_head()
    assert head is not None
    return head


def _differences(database: Database) -> list[object]:
    with database.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, SQLModel.metadata))


def test_upgrade_from_empty_to_head_matches_the_models(empty_database: Database) -> None:
    assert current_revision(empty_database.engine) is None
    empty_database.migrate()
    assert current_revision(empty_database.engine) == _head(empty_database)
    tables = set(inspect(empty_database.engine).get_table_names())
    assert {t.name for t in SQLModel.metadata.sorted_tables} <= tables
    assert _differences(empty_database) == []


def test_downgrade_to_the_first_revision_and_back(empty_database: Database) -> None:
    empty_database.migrate()
    command.downgrade(alembic_config(empty_database.engine), "0001")
    assert current_revision(empty_database.engine) == "0001"
    columns = {c["name"] for c in inspect(empty_database.engine).get_columns("program")}
    assert "timezone" not in columns
    empty_database.migrate()
    assert _differences(empty_database) == []


def test_0002_keeps_data_and_resolves_duplicates(empty_database: Database) -> None:
    upgrade(empty_database.engine, "0001")
    now = "2026-11-01 10:00:00"
    program = (
        "INSERT INTO program (id, name, goals, enrollment_open, checkin_cadence, pulse_cadence, "
        "topic_catalogue, mentor_capacity, anonymity_threshold, settings, status, created_at, "
        "updated_at) VALUES (:id, :name, '[]', true, 'monthly', 'quarterly', :catalogue, 1, 5, "
        "'{}', 'active', :now, :now)"
    )
    person = (
        "INSERT INTO participant (id, program_id, slack_user_id, role, status, topics_offered, "
        "topics_wanted, development_areas, available_days, avoid_slack_ids, shoutout_consent, "
        "utc_offset_minutes, locale, enrolled_at, updated_at) VALUES (:id, 2, :user, :role, "
        "'waiting', :offered, :wanted, '[]', '[]', '[]', false, 0, 'en', :now, :now)"
    )
    run = (
        "INSERT INTO match_run (id, program_id, status, waiting_list, total_score, created_at) "
        "VALUES (:id, 2, 'open', '[]', 0, :now)"
    )
    pair = (
        "INSERT INTO pair (program_id, match_run_id, mentor_id, mentee_id, status, score, "
        "reasons, created_at) VALUES (2, :run, 1, 2, 'proposed', 3, '[]', :now)"
    )
    catalogue = '[{"id": "ai_tools", "label": "AI tools"}]'
    with empty_database.engine.begin() as connection:
        for id_, name in ((1, "Old"), (2, "Current")):
            connection.execute(
                text(program), {"id": id_, "name": name, "catalogue": catalogue, "now": now}
            )
        for values in (
            {"id": 1, "user": "UM", "role": "mentor", "offered": '["ai_tools"]', "wanted": "[]"},
            {"id": 2, "user": "UE", "role": "mentee", "offered": "[]", "wanted": '["ai_tools"]'},
        ):
            connection.execute(text(person), values | {"now": now})
        for id_ in (1, 2):
            connection.execute(text(run), {"id": id_, "now": now})
            connection.execute(text(pair), {"run": id_, "now": now})

    empty_database.migrate()

    with empty_database.session() as session:
        programs = {p.id: p for p in session.exec(select(Program)).all()}
        assert {i: (p.status, p.timezone) for i, p in programs.items()} == {
            1: ("archived", "UTC"),
            2: ("running", "UTC"),  # "active" until 0012, where programmes became several
        }
        runs = {r.id: r.status for r in session.exec(select(MatchRun)).all()}
        assert runs == {1: "closed", 2: "open"}
        pairs = {p.match_run_id: p.status for p in session.exec(select(Pair)).all()}
        assert pairs == {1: "discarded", 2: "proposed"}
        people = session.exec(select(Participant).order_by(Participant.id)).all()
        assert [p.topics_offered for p in people] == [["ai_tools"], []]
        counts = repo.topic_demand_supply(session, 2)
        assert counts == {"ai_tools": repo.TopicCounts(offered=1, wanted=1, demand=1)}


def test_revisions_do_not_import_the_live_code() -> None:
    """A revision must replay the same way forever: no imports from the app's packages."""
    revisions = sorted(VERSIONS.glob("*.py"))
    assert len(revisions) >= 2
    for path in revisions:
        tree = ast.parse(path.read_text())
        imported = {
            alias.name.split(".")[0]
            for node in ast.walk(tree)
            if isinstance(node, ast.Import)
            for alias in node.names
        } | {
            (node.module or "").split(".")[0]
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom)
        }
        assert not imported & {"storage", "bot", "handlers", "scheduler", "sqlmodel"}, path.name


def test_0010_keeps_a_round_open_at_the_upgrade_answerable(empty_database: Database) -> None:
    """A round open at the upgrade keeps its tallies and texts, who had answered stays
    answered, the outbox's invitations say who may still answer, and the close adds the new
    sealed ballots to the old counts."""
    from datetime import UTC, datetime, timedelta

    from bot import clock
    from bot.domain import pulse
    from storage.models import PulseRound, PulseTally

    secret = b"migration-test-secret-0123456789abcdef"
    opened_at = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
    upgrade(empty_database.engine, "0009")
    # Rows as that revision's schema has them (raw SQL: today's models have later columns).
    earlier = (
        "INSERT INTO program (id, name, goals, enrollment_open, checkin_cadence, pulse_cadence, "
        "topic_catalogue, mentor_capacity, anonymity_threshold, settings, status, created_at, "
        "updated_at) VALUES (1, 'Before 0010', '[]', true, 'monthly', 'quarterly', '[]', 1, 3, "
        "'{}', 'active', :at, :at)",
        *(
            "INSERT INTO participant (program_id, slack_user_id, role, status, topics_offered, "
            "topics_wanted, development_areas, available_days, avoid_slack_ids, "
            "shoutout_consent, utc_offset_minutes, locale, enrolled_at, updated_at) VALUES "
            f"(1, '{user}', 'mentee', 'waiting', '[]', '[]', '[]', '[]', '[]', false, 0, 'en', "
            ":at, :at)"
            for user in ("UOLD1", "UOLD2", "UOLD3", "UOLD4")
        ),
        *(  # UOLD4 joined after the round opened
            "INSERT INTO outbox_message (dedupe_key, kind, recipient, payload, status, attempts, "
            f"not_before, created_at, uncertain) VALUES ('pulse:1:{n}', 'pulse', 'UOLD{n}', "
            "'{}', 'sent', 1, :at, :at, false)"
            for n in (1, 2, 3)
        ),
    )
    with empty_database.engine.begin() as connection:
        for statement in earlier:
            connection.execute(text(statement), {"at": opened_at})
    rows = (
        "INSERT INTO pulse_round (id, program_id, kind, period, opens_at, closes_at, status, "
        "invited, answered) VALUES (1, 1, 'pulse', '2027-03-01', :at, :closes, 'open', 3, 1)",
        "INSERT INTO pulse_round (id, program_id, kind, period, opens_at, closes_at, status, "
        "invited, answered) VALUES (2, 1, 'pulse', '2027-01-01', :at, :at, 'closed', 3, 0)",
        "INSERT INTO pulse_participation (id, round_id, participant_id) VALUES ('a', 1, 1)",
        "INSERT INTO pulse_participation (id, round_id, participant_id) VALUES ('b', 2, 2)",
        "INSERT INTO pulse_text (round_id, question, texts, released) "
        "VALUES (1, 'change', '[\"from before\"]', false)",
    )
    with empty_database.engine.begin() as connection:
        for statement in rows:
            connection.execute(
                text(statement), {"at": opened_at, "closes": opened_at + timedelta(days=7)}
            )
        for question, values in (
            ("value", range(1, 6)),
            ("nps", range(11)),
            ("pairing", range(1, 6)),
        ):
            for value in values:
                connection.execute(
                    text(
                        "INSERT INTO pulse_tally (round_id, dimension, question, value, n) "
                        "VALUES (1, 'all', :q, :v, :n)"
                    ),
                    {"q": question, "v": value, "n": 1 if value == 5 else 0},
                )

    empty_database.migrate()

    previous = clock.install(clock.ManualClock(opened_at + timedelta(days=1)))
    try:
        kinds = pulse.SURVEY_KINDS

        def outcome(user: str) -> str | None:
            return empty_database.run(lambda s: pulse.may_answer(s, secret, 1, user, kinds))

        assert outcome("UOLD1") == pulse.ALREADY  # answered before the upgrade
        assert outcome("UOLD4") == pulse.NOT_INVITED  # no invitation in the outbox
        assert outcome("UOLD2") is None
        recorded = empty_database.run(
            lambda s: pulse.record_answer(
                s,
                secret,
                1,
                "UOLD2",
                kinds,
                {"value": 2, "nps": 2, "pairing": 2},
                {"change": "new"},
            )
        )
        assert recorded == pulse.RECORDED
        closing = opened_at + timedelta(days=8)
        assert empty_database.run(lambda s: pulse.close_now(s, 1, closing, secret=secret))
    finally:
        clock.install(previous)
    with empty_database.session() as session:
        closed = session.get(PulseRound, 1)
        assert closed is not None and (closed.answered, closed.key_salt) == (2, None)
        cells = session.exec(
            select(PulseTally).where(PulseTally.round_id == 1, PulseTally.question == "value")
        ).all()
        assert {c.value: c.n for c in cells} == {1: 0, 2: 1, 3: 0, 4: 0, 5: 1}
        assert sorted(repo.pulse_texts(session, 1)[0].texts) == ["from before", "new"]
        assert session.get(PulseRound, 2).answered == 0  # closed rounds keep their results


def test_0011_counts_earlier_failures_as_reported(empty_database: Database) -> None:
    upgrade(empty_database.engine, "0010")
    row = (
        "INSERT INTO outbox_message (dedupe_key, kind, recipient, payload, status, attempts, "
        "not_before, created_at, uncertain, failed_at) VALUES (:key, 'training', 'U1', '{}', "
        ":status, 1, :now, :now, false, :failed)"
    )
    now = "2027-01-08 14:00:00"
    with empty_database.engine.begin() as connection:
        connection.execute(text(row), {"key": "old", "status": "failed", "now": now, "failed": now})
        connection.execute(
            text(row), {"key": "owed", "status": "pending", "now": now, "failed": None}
        )
    empty_database.migrate()
    with empty_database.session() as session:
        rows = {m.dedupe_key: m for m in session.exec(select(OutboxMessage)).all()}
    assert rows["old"].reported_at == rows["old"].failed_at  # told by the old weekday report
    assert rows["owed"].reported_at is None


def test_0012_makes_the_one_programme_one_of_many_without_loss(empty_database: Database) -> None:
    """Today's active programme keeps running with its creator as owner; its people, pairs and
    outbox stay; a second programme can then run beside it; and the way back keeps one."""
    from storage.models import ProgramOwner

    upgrade(empty_database.engine, "0011")
    at = "2027-01-04 08:00:00"
    statements = (
        "INSERT INTO program (id, name, goals, enrollment_open, checkin_cadence, pulse_cadence, "
        "topic_catalogue, mentor_capacity, anonymity_threshold, settings, status, created_by, "
        "created_at, updated_at) VALUES (1, 'Pilot 2026', '[]', false, 'monthly', 'quarterly', "
        "'[]', 1, 5, '{}', 'archived', 'UADMIN1', :at, :at)",
        "INSERT INTO program (id, name, goals, enrollment_open, checkin_cadence, pulse_cadence, "
        "topic_catalogue, mentor_capacity, anonymity_threshold, settings, status, created_by, "
        "timezone, created_at, updated_at) VALUES (2, 'Reverse mentoring 2027', "
        "'[\"Every pair meets monthly\"]', true, 'monthly', 'quarterly', '[]', 2, 5, "
        "'{\"offices\": [\"Berlin\"]}', 'active', 'UADMIN2', 'Europe/Berlin', :at, :at)",
        *(
            "INSERT INTO participant (id, program_id, slack_user_id, role, status, "
            "topics_offered, topics_wanted, development_areas, available_days, avoid_slack_ids, "
            "shoutout_consent, utc_offset_minutes, locale, enrolled_at, updated_at) VALUES "
            f"({n}, 2, 'UPERSON{n}', '{role}', 'paired', '[]', '[]', '[]', '[]', '[]', false, "
            "60, 'de', :at, :at)"
            for n, role in ((1, "mentor"), (2, "mentee"))
        ),
        "INSERT INTO pair (id, program_id, mentor_id, mentee_id, status, score, reasons, "
        "created_at) VALUES (1, 2, 1, 2, 'active', 3, '[]', :at)",
        "INSERT INTO outbox_message (dedupe_key, kind, recipient, payload, status, attempts, "
        "not_before, created_at, uncertain, program_id) VALUES ('intro:1', 'intro', 'UPERSON1', "
        "'{}', 'pending', 0, :at, :at, false, 2)",
    )
    with empty_database.engine.begin() as connection:
        for statement in statements:
            connection.execute(text(statement), {"at": at})

    empty_database.migrate()

    with empty_database.session() as session:
        programs = {p.id: p for p in session.exec(select(Program)).all()}
        assert {i: p.status for i, p in programs.items()} == {1: "archived", 2: "running"}
        current = programs[2]
        assert (current.name, current.timezone, current.goals) == (
            "Reverse mentoring 2027",
            "Europe/Berlin",
            ["Every pair meets monthly"],
        )
        assert current.settings["offices"] == ["Berlin"] and current.join_policy == "everyone"
        owners = {(o.program_id, o.slack_user_id) for o in session.exec(select(ProgramOwner))}
        assert owners == {(1, "UADMIN1"), (2, "UADMIN2")}
        assert [p.slack_user_id for p in session.exec(select(Participant))] == [
            "UPERSON1",
            "UPERSON2",
        ]
        assert [(p.program_id, p.status) for p in session.exec(select(Pair))] == [(2, "active")]
        (queued,) = session.exec(select(OutboxMessage)).all()
        assert (queued.status, queued.program_id) == ("pending", 2)
        assert [p.id for p in repo.live_programs(session)] == [2]
    # Several programmes run at once now.
    with empty_database.engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO program (id, name, goals, enrollment_open, checkin_cadence, "
                "pulse_cadence, topic_catalogue, mentor_capacity, anonymity_threshold, settings, "
                "status, join_policy, created_at, updated_at) VALUES (3, 'Việt Nam 2027', '[]', "
                "true, 'monthly', 'quarterly', '[]', 1, 5, '{}', 'running', 'invited', :at, :at)"
            ),
            {"at": at},
        )
    with empty_database.session() as session:
        assert [p.id for p in repo.running_programs(session)] == [2, 3]
    # Back to one active programme (the newest live one); the other is archived.
    command.downgrade(alembic_config(empty_database.engine), "0011")
    with empty_database.engine.connect() as connection:
        statuses = dict(connection.execute(text("SELECT id, status FROM program")).all())
    assert statuses == {1: "archived", 2: "archived", 3: "active"}
