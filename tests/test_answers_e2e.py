"""Every request is answered in time and truthfully, whatever happens behind it (issue 9):
slow Slack, a locked or slow database, a database that is down, lost views.open answers.

"In time" is shown by what the answer was and what had happened when it came, never by a
clock: the test holds Slack or the database until it has the ack (timing is bench/'s)."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlmodel import select

from bot.simulated_slack import signed_requests as sr
from storage.models import Participant, Program
from tests.conftest import ADMIN, RunningApp
from tests.flows import (
    UNAVAILABLE,
    Person,
    database_down,
    enrollment_values,
    eventually,
    modal_updates,
    open_modal,
    program_values,
    response_url_text,
    setup_program,
)

MENTOR = Person("UMENTOR001", "mentor", offered=["ai_tools", "social_media"])
MENTEE = Person("UMENTEE001", "mentee", wanted=["ai_tools"])


def _participants(app: RunningApp) -> list[str]:
    with app.db.session() as session:
        return [p.slack_user_id for p in session.exec(select(Participant)).all()]


@contextmanager
def _write_lock(app: RunningApp) -> Iterator[None]:
    """Another connection holds the database (SQLite) or the programme row (PostgreSQL)."""
    url = app.db.url
    if url.startswith("sqlite"):
        connection = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
        connection.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            connection.execute("COMMIT")
            connection.close()
        return
    engine = create_engine(url)
    with engine.connect() as connection:
        transaction = connection.begin()
        connection.execute(text("SELECT id FROM program FOR UPDATE"))
        try:
            yield
        finally:
            transaction.commit()
    engine.dispose()


def test_slow_slack_profile_lookup_is_acknowledged_before_it_answers(
    running_app: RunningApp,
) -> None:
    """9.5: users.info does not answer until the test lets it: the submission is acknowledged
    meanwhile with a "still saving" modal (the deadline path), then the modal shows the
    outcome and the enrollment is stored."""
    app = running_app
    setup_program(app)
    MENTOR.add_to(app)
    view = open_modal(app, MENTOR.user_id, "join")
    app.services.people.forget(MENTOR.user_id)
    with app.fake.holding("users.info"):
        response = app.slack.view_submission(MENTOR.user_id, view, enrollment_values(MENTOR))
        assert response.status == 200
        answer = response.json()
        assert answer["response_action"] == "update"
        assert "Still saving" in json.dumps(answer["view"])
        eventually(lambda: app.fake.held("users.info"))  # the work still waits for Slack
        assert _participants(app) == [] and modal_updates(app, view["id"]) == []
    done = eventually(lambda: modal_updates(app, view["id"]))
    assert "You're in" in json.dumps(done[-1])
    assert _participants(app) == [MENTOR.user_id]
    eventually(lambda: len(app.fake.dm_texts(MENTOR.user_id)) == 2)


def test_locked_database_submission_is_acknowledged_then_told(running_app: RunningApp) -> None:
    """9.5: another connection holds the write lock (SQLite) or the programme row
    (PostgreSQL) until the ack has come: it is a "still saving" modal (the deadline path);
    once saved, the modal says so."""
    setup_program(running_app)
    view = open_modal(running_app, ADMIN, "program")
    with _write_lock(running_app):
        # Answered while the lock is still held (an ack waiting for the work would never
        # come: the harness gives up), and nothing could be stored yet.
        response = running_app.slack.view_submission(
            ADMIN, view, program_values(name="Renamed while locked")
        )
        answer = response.json()
        assert answer["response_action"] == "update"
        assert "Still saving" in json.dumps(answer["view"])
        with running_app.db.session() as session:
            assert session.exec(select(Program)).one().name == "Digital Leaders 2027"
    done = eventually(lambda: modal_updates(running_app, view["id"]), timeout=40)
    assert "settings are saved" in json.dumps(done[-1])
    with running_app.db.session() as session:
        assert session.exec(select(Program)).one().name == "Renamed while locked"


# The database is down --------------------------------------------------------------------


@pytest.mark.parametrize("command", ["join", "profile", "leave", "rematch", "program", "match"])
def test_commands_say_temporarily_unavailable(running_app: RunningApp, command: str) -> None:
    """9.6: every command answers "temporarily unavailable" through its response_url."""
    setup_program(running_app)
    user = ADMIN if command in ("program", "match") else MENTOR.user_id
    MENTOR.add_to(running_app)
    with database_down(running_app):
        response = running_app.slack.command(user, command)
        assert UNAVAILABLE in response_url_text(running_app, response)


def test_submission_and_click_say_temporarily_unavailable(running_app: RunningApp) -> None:
    """9.6: the enrollment submit shows it inline (the typed form stays); a Home button,
    which has no other way back, gets a DM; nothing is stored, nothing crashes."""
    setup_program(running_app)
    MENTOR.add_to(running_app)
    view = open_modal(running_app, MENTOR.user_id, "join")
    with database_down(running_app):
        response = running_app.slack.view_submission(
            MENTOR.user_id, view, enrollment_values(MENTOR)
        )
        assert response.status == 200
        answer = response.json()
        assert answer["response_action"] == "errors"
        assert UNAVAILABLE in next(iter(answer["errors"].values()))
        click = running_app.slack.block_action(
            MENTOR.user_id, "home_leave", view={"id": "VHOME", "type": "home"}
        )
        assert click.status == 200
        eventually(lambda: any(UNAVAILABLE in t for t in running_app.fake.dm_texts(MENTOR.user_id)))
    with running_app.db.session() as session:
        assert session.exec(select(Participant)).all() == []


def test_killed_connection_is_retried(running_app: RunningApp) -> None:
    """9.6: the backend serving a submission is terminated mid-transaction; the transaction
    is retried on a new connection and the person is told it was saved."""
    if running_app.db.url.startswith("sqlite"):
        pytest.skip("pg_terminate_backend is PostgreSQL's")
    setup_program(running_app)
    view = open_modal(running_app, ADMIN, "program")
    result: dict[str, Any] = {}
    admin = create_engine(running_app.db.url, isolation_level="AUTOCOMMIT")
    with _write_lock(running_app):

        def submit() -> None:
            result["response"] = running_app.slack.view_submission(
                ADMIN, view, program_values(name="Saved after a kill")
            )

        thread = threading.Thread(target=submit)
        thread.start()

        def kill_waiting_backend() -> bool:
            with admin.connect() as connection:
                killed = connection.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND wait_event_type = 'Lock' "
                        "AND pid <> pg_backend_pid()"
                    )
                ).all()
            return bool(killed)

        eventually(kill_waiting_backend)
        thread.join(timeout=30)
    admin.dispose()
    assert result["response"].status == 200
    done = eventually(lambda: modal_updates(running_app, view["id"]))
    assert "settings are saved" in json.dumps(done[-1])
    with running_app.db.session() as session:
        assert session.exec(select(Program)).one().name == "Saved after a kill"


def test_deadlock_is_retried(database_url: str) -> None:
    """PostgreSQL aborts one of two deadlocked transactions (SQLSTATE 40P01): Database.run
    runs it again, and both changes land once."""
    from collections import Counter

    from storage.db import Database

    if database_url.startswith("sqlite"):
        pytest.skip("deadlock detection is PostgreSQL's")
    database = Database(database_url)
    with database.engine.begin() as connection:
        connection.execute(text("CREATE TABLE deadlock_probe (id int PRIMARY KEY, n int)"))
        connection.execute(text("INSERT INTO deadlock_probe VALUES (1, 0), (2, 0)"))
    barrier = threading.Barrier(2)
    attempts: Counter[int] = Counter()

    def transfer(first: int, second: int) -> None:
        def work(session: Any) -> None:
            attempts[first] += 1
            bump = text("UPDATE deadlock_probe SET n = n + 1 WHERE id = :id")
            session.execute(bump, {"id": first})
            if attempts[first] == 1:
                barrier.wait(timeout=10)  # both hold their first row: now each wants the other
            session.execute(bump, {"id": second})

        database.run(work)

    try:
        threads = [threading.Thread(target=transfer, args=pair) for pair in ((1, 2), (2, 1))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=20)
        with database.engine.connect() as connection:
            rows = connection.execute(text("SELECT id, n FROM deadlock_probe ORDER BY id")).all()
        assert [tuple(row) for row in rows] == [(1, 2), (2, 2)]
        assert sum(attempts.values()) == 3  # exactly one transaction ran twice
    finally:
        with database.engine.begin() as connection:
            connection.execute(text("DROP TABLE deadlock_probe"))
        database.dispose()


def test_late_validation_error_is_told_in_the_modal(running_app: RunningApp) -> None:
    """9.5: the answer is an inline error, but it came after the "still saving" ack (users.info
    held until then): the modal then says nothing was changed and why; nothing is stored."""
    app = running_app
    setup_program(app)
    MENTOR.add_to(app)
    view = open_modal(app, MENTOR.user_id, "join")
    app.services.people.forget(MENTOR.user_id)
    values = enrollment_values(MENTOR, department=sr.plain("Sales\x00"))
    with app.fake.holding("users.info"):
        response = app.slack.view_submission(MENTOR.user_id, view, values)
        answer = response.json()
        assert answer["response_action"] == "update"
        assert "Still saving" in json.dumps(answer["view"])
    told = eventually(lambda: modal_updates(app, view["id"]))
    text_shown = json.dumps(told[-1], ensure_ascii=False)
    assert "Nothing was changed" in text_shown and "invisible or broken characters" in text_shown
    assert _participants(app) == []
