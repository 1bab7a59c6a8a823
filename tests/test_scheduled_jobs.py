"""The scheduled jobs as an operator meets them, on SQLite and PostgreSQL: bad programme
settings never stop the app (each job falls back to its default, `jobs list` says which),
`jobs run` delivers what it queued, and runs missed or failed are caught up once."""

from __future__ import annotations

import json
import logging
import re
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlmodel import select

from bot import clock
from bot.services import Services, build_services
from bot.simulated_slack.web_api import FakeSlack
from scheduler import runner
from scheduler.jobs import JOBS
from storage.db import Database
from storage.models import JobRun, OutboxMessage, Pair, Participant, Program, ShoutOut
from tests.conftest import ADMIN, BOT_TOKEN, SIGNING_SECRET, make_settings
from tests.flows import eventually

BERLIN = "Europe/Berlin"
MEMBERS = ("UJOBSMR01", "UJOBSME01")
CHANNEL = "C0JOBSCOM"


@pytest.fixture
def manual_clock() -> Iterator[clock.ManualClock]:
    manual = clock.ManualClock(datetime(2027, 1, 4, 9, 0, tzinfo=UTC))  # Monday, 10:00 Berlin
    previous = clock.install(manual)
    try:
        yield manual
    finally:
        clock.install(previous)


def seed(database: Database, fake: FakeSlack, **program_fields: Any) -> int:
    """An active programme in Berlin with one active pair; its id."""
    fake.add_channel(CHANNEL, "community", [ADMIN], bot_is_member=True)
    with database.session() as session:
        program = Program(
            name="Jobs",
            timezone=BERLIN,
            community_channel=CHANNEL,
            created_at=datetime(2026, 11, 2, tzinfo=UTC),
            **program_fields,
        )
        session.add(program)
        session.flush()
        people = []
        for user, role in zip(MEMBERS, ("mentor", "mentee"), strict=True):
            fake.add_user(user, tz=BERLIN)
            person = Participant(
                program_id=program.id or 0,
                slack_user_id=user,
                role=role,
                status="paired",
                timezone=BERLIN,
            )
            session.add(person)
            session.flush()
            people.append(person.id or 0)
        session.add(
            Pair(
                program_id=program.id or 0,
                mentor_id=people[0],
                mentee_id=people[1],
                status="active",
            )
        )
        return program.id or 0


def store_settings(database: Database, settings_json: str) -> None:
    """Writes the settings as an admin editing the database would (1e400 is valid JSON)."""
    with database.engine.begin() as connection:
        connection.execute(text("UPDATE program SET settings = :value"), {"value": settings_json})


def services_for(
    database: Database, fake: FakeSlack, manual: clock.Clock | None = None
) -> Services:
    return build_services(make_settings(fake, database.url), db=database, clock=manual)


def checkins_to(fake: FakeSlack, user: str) -> list[Any]:
    """Check-in prompts posted to `user` (told apart from nudges by their outbox key)."""
    return [
        c
        for c in fake.calls("chat.postMessage")
        if c.ok
        and c.went_to(user)
        and str(c.params.get("metadata", {}).get("event_payload", {}).get("key")).startswith(
            "checkin:"
        )
    ]


def program_of(database: Database) -> Program:
    with database.session() as session:
        return session.exec(select(Program)).one()


def ledger(database: Database) -> dict[str, JobRun]:
    with database.session() as session:
        return {row.run_key: row for row in session.exec(select(JobRun)).all()}


@pytest.fixture
def cli(
    database: Database, fake_slack: FakeSlack, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> Iterator[Any]:
    """`reverse-mentoring …` with the environment pointing at the simulated Slack."""
    from bot.cli import main

    for name, value in {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": fake_slack.api_url,
        "DATABASE_URL": database.url,
        "ADMIN_USER_IDS": ADMIN,
    }.items():
        monkeypatch.setenv(name, value)
    empty = tmp_path / "empty.env"
    empty.write_text("")
    previous = clock.current()
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        yield lambda *argv: main(["--env-file", str(empty), *argv])
    finally:
        clock.install(previous)
        # main() logs to this test's captured stderr: later tests must not write to it.
        root.handlers[:] = handlers
        root.setLevel(level)


# Programme settings -------------------------------------------------------------------------


BAD_SCHEDULES = [
    ({"digest": "0 10 1-7 * monday"}, {"digest"}),
    ({"nudge": "61 8 * * *"}, {"nudge"}),
    ({"pulse": "not a crontab"}, {"pulse"}),
    (["0 8 * * mon-fri"], set(JOBS)),
]


@pytest.mark.parametrize(("schedules", "refused"), BAD_SCHEDULES)
def test_a_bad_stored_schedule_falls_back_to_the_default_and_jobs_list_says_which(
    database: Database,
    fake_slack: FakeSlack,
    cli: Any,
    capsys: pytest.CaptureFixture[str],
    schedules: Any,
    refused: set[str],
) -> None:
    seed(database, fake_slack)
    store_settings(database, json.dumps({"schedules": schedules}))
    # What `serve` and the sandbox do at start: register every job with its trigger.
    scheduler = runner.build_scheduler(services_for(database, fake_slack))
    for name in refused:
        trigger = scheduler.get_job(runner.job_id(name, program_of(database).id or 0)).trigger
        default = runner.job_trigger(JOBS[name].default_schedule, program_of(database))
        assert str(trigger) == str(default), name

    assert cli("jobs", "list") == 0
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out
    assert '"level": "ERROR"' not in captured.err
    # Each row: the programme (its id and name), then the job's name between column gaps.
    rows = {
        name: next(line for line in captured.out.splitlines() if f"  {name}  " in line)
        for name in JOBS
    }
    for name in JOBS:
        marked = "default*" in rows[name]
        assert marked == (name in refused), rows[name]
        assert JOBS[name].default_schedule in rows[name]
    for name in refused:
        assert re.search(rf"^\* \d+ .* {name}: its schedule is refused \(", captured.out, re.M)


def test_jobs_list_columns_line_up(
    database: Database, fake_slack: FakeSlack, cli: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    seed(database, fake_slack)
    store_settings(database, json.dumps({"schedules": {"nudge": "30 9 * * tue"}}))
    assert cli("jobs", "list") == 0
    lines = capsys.readouterr().out.splitlines()
    table = lines[: len(JOBS) + 1]
    header = ["programme", "job", "schedule", "set", "by", "next", "run", "what"]
    assert table[0].split() == header
    starts = [match.end() for match in re.finditer(r" {2,}", table[0])]
    assert len(starts) == 5
    for line in table[1:]:
        assert [match.end() for match in re.finditer(r" {2,}", line)][:5] == starts, line
    assert re.search(r"^1 Jobs +nudge +30 9 \* \* tue +programme ", "\n".join(table), re.M)
    assert re.search(r"^1 Jobs +checkin +0 8 \* \* mon-fri +default ", "\n".join(table), re.M)


@pytest.mark.parametrize("cap", ["1e400", '"x"', "-1", "[5]"])
def test_a_bad_daily_cap_never_stops_a_checkin_run(
    database: Database,
    fake_slack: FakeSlack,
    cli: Any,
    capsys: pytest.CaptureFixture[str],
    cap: str,
) -> None:
    seed(database, fake_slack)
    store_settings(database, '{"daily_cap": ' + cap + ', "working_hours": {"0": 9}}')
    assert cli("jobs", "run", "checkin", "--at", "2027-01-04T09:30+01:00") == 0
    out = capsys.readouterr().out
    assert "2 queued, 0 skipped, 2 delivered now" in out
    assert all(len(checkins_to(fake_slack, user)) == 1 for user in MEMBERS)
    assert cli("jobs", "list") == 0
    listing = capsys.readouterr().out
    assert "daily_cap refused (" in listing and "working_hours refused (" in listing


# jobs run ------------------------------------------------------------------------------------


def test_jobs_run_at_waits_out_a_rate_limit_and_delivers_everything(
    database: Database, fake_slack: FakeSlack, cli: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    seed(database, fake_slack)
    fake_slack.fail_next("chat.postMessage", status=429, retry_after=1)
    # A simulated moment years ahead: nothing may be left waiting for it.
    assert cli("jobs", "run", "checkin", "--at", "2031-03-03T09:30+01:00") == 0
    assert "2 queued, 0 skipped, 2 delivered now" in capsys.readouterr().out
    assert [c.status for c in fake_slack.calls("chat.postMessage")].count(429) == 1
    assert all(len(checkins_to(fake_slack, user)) == 1 for user in MEMBERS)
    with database.session() as session:
        rows = session.exec(select(OutboxMessage)).all()
    assert {row.status for row in rows} == {"sent"}


def test_what_jobs_run_at_cannot_deliver_in_time_waits_in_real_time(
    database: Database, fake_slack: FakeSlack, cli: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    seed(database, fake_slack)
    fake_slack.fail_next("chat.postMessage", status=429, retry_after=30)
    before = clock.SystemClock().now()
    assert cli("jobs", "run", "checkin", "--at", "2031-03-03T09:30+01:00", "--wait", "5") == 0
    after = clock.SystemClock().now()
    assert "1 delivered now, 1 left for the scheduler" in capsys.readouterr().out
    with database.session() as session:
        pending = session.exec(select(OutboxMessage).where(OutboxMessage.status == "pending")).one()
    # Slack's 30 seconds from now, not from the simulated 2031.
    assert before < pending.not_before <= after + timedelta(seconds=30)


# Catch-up ------------------------------------------------------------------------------------


def test_a_checkin_missed_while_the_process_was_down_runs_when_it_starts(
    database: Database, fake_slack: FakeSlack, manual_clock: clock.ManualClock
) -> None:
    seed(database, fake_slack)
    # 08:00 in Berlin passed an hour ago, with no process running.
    services = services_for(database, fake_slack, manual_clock)
    scheduler = runner.build_scheduler(services)
    scheduler.start()
    try:
        eventually(lambda: all(checkins_to(fake_slack, user) for user in MEMBERS), timeout=30)
        key = runner.run_key("checkin", program_of(database), manual_clock.now())
        assert eventually(lambda: ledger(database)[key].status == "done", timeout=30)
    finally:
        scheduler.shutdown(wait=True)
    assert all(len(checkins_to(fake_slack, user)) == 1 for user in MEMBERS)


def test_a_run_caught_up_at_night_waits_for_working_hours(
    database: Database, fake_slack: FakeSlack, manual_clock: clock.ManualClock
) -> None:
    seed(database, fake_slack)
    manual_clock.set(datetime(2027, 1, 4, 21, 0, tzinfo=UTC))  # 22:00 in Berlin
    assert "checkin" in runner.catch_up(services_for(database, fake_slack, manual_clock))
    assert not any(checkins_to(fake_slack, user) for user in MEMBERS)
    with database.session() as session:
        rows = session.exec(select(OutboxMessage).where(OutboxMessage.kind == "checkin")).all()
    assert len(rows) == 2
    assert {row.not_before for row in rows} == {datetime(2027, 1, 5, 8, 0, tzinfo=UTC)}


def test_a_failed_digest_run_is_retried_with_backoff_and_posts_once(
    database: Database, fake_slack: FakeSlack, manual_clock: clock.ManualClock
) -> None:
    program_id = seed(database, fake_slack)
    with database.session() as session:  # January has something to report: a shout-out
        session.add(
            ShoutOut(
                program_id=program_id,
                author_slack_id=ADMIN,
                recipient_slack_ids=[MEMBERS[0]],
                message="Thanks for the AI workshop",
                status="posted",
                created_at=datetime(2027, 1, 20, 12, 0, tzinfo=UTC),
            )
        )
    manual_clock.set(datetime(2027, 2, 10, 12, 0, tzinfo=UTC))  # the month's digest fired Feb 1
    program = program_of(database)
    fire = datetime(2027, 2, 1, 9, 0, tzinfo=UTC)  # 10:00 in Berlin, the first Monday
    key = runner.run_key("digest", program, fire)
    with database.session() as session:  # the run at the fire failed a minute ago
        session.add(
            JobRun(
                run_key=key,
                job_name="digest",
                status="failed",
                finished_at=manual_clock.now() - timedelta(minutes=1),
            )
        )
    services = services_for(database, fake_slack, manual_clock)
    assert "digest" not in runner.catch_up(services)  # too soon after the failure
    assert not fake_slack.messages(CHANNEL)
    manual_clock.advance(runner.RETRY_AFTER)
    assert "digest" in runner.catch_up(services)
    assert len(fake_slack.messages(CHANNEL)) == 1
    with database.session() as session:
        digest = session.exec(select(OutboxMessage).where(OutboxMessage.kind == "digest")).one()
    assert "2027-01" in digest.dedupe_key  # January's, as the run at the fire would have been
    entry = ledger(database)[key]
    assert entry.status == "done" and entry.attempts == 2
    manual_clock.advance(timedelta(hours=1))
    assert "digest" not in runner.catch_up(services)
    assert len(fake_slack.messages(CHANNEL)) == 1


def test_a_run_whose_replica_died_is_caught_up_once_its_lease_ran_out(
    database: Database, fake_slack: FakeSlack, manual_clock: clock.ManualClock
) -> None:
    seed(database, fake_slack)
    key = runner.run_key("checkin", program_of(database), manual_clock.now())
    with database.session() as session:
        session.add(
            JobRun(
                run_key=key,
                job_name="checkin",
                owner="dead-host:1:abc",
                lease_until=manual_clock.now() + timedelta(minutes=5),
            )
        )
    services = services_for(database, fake_slack, manual_clock)
    assert "checkin" not in runner.catch_up(services)  # it may still be running
    manual_clock.advance(timedelta(minutes=6))
    assert "checkin" in runner.catch_up(services)
    assert all(len(checkins_to(fake_slack, user)) == 1 for user in MEMBERS)


def test_replicas_catching_up_together_run_each_job_once(
    database: Database, fake_slack: FakeSlack, manual_clock: clock.ManualClock
) -> None:
    seed(database, fake_slack)
    settings = make_settings(fake_slack, database.url)
    barrier = threading.Barrier(3)
    ran: list[str] = []
    errors: list[BaseException] = []

    def replica() -> None:
        db = Database(database.url)
        try:
            services = build_services(settings, db=db, clock=manual_clock)
            barrier.wait()
            ran.extend(runner.catch_up(services))
        except BaseException as error:  # noqa: BLE001 - reported by the test
            errors.append(error)
        finally:
            db.dispose()

    threads = [threading.Thread(target=replica) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    counts = Counter(ran)
    assert counts["checkin"] == 1 and set(counts.values()) == {1}
    assert all(len(checkins_to(fake_slack, user)) == 1 for user in MEMBERS)


def test_a_fire_older_than_the_look_back_is_not_run(
    database: Database, fake_slack: FakeSlack, manual_clock: clock.ManualClock
) -> None:
    seed(database, fake_slack, settings={"schedules": {"checkin": "0 8 4 1 *"}})  # 4 January
    manual_clock.set(datetime(2028, 1, 3, 12, 0, tzinfo=UTC))  # the last fire: a year ago
    services = services_for(database, fake_slack, manual_clock)
    assert "checkin" not in runner.catch_up(services)
    assert not any(key.startswith("checkin:") for key in ledger(database))
    assert not any(checkins_to(fake_slack, user) for user in MEMBERS)
    manual_clock.set(datetime(2028, 1, 20, 12, 0, tzinfo=UTC))  # this year's: 16 days ago
    assert "checkin" in runner.catch_up(services)
    assert all(len(checkins_to(fake_slack, user)) == 1 for user in MEMBERS)


def test_fires_before_the_programme_was_created_are_not_caught_up(
    database: Database, fake_slack: FakeSlack, manual_clock: clock.ManualClock
) -> None:
    seed(database, fake_slack)
    with database.session() as session:  # created at 09:30 in Berlin, after the 08:00 check-in
        program = session.exec(select(Program)).one()
        program.created_at = datetime(2027, 1, 4, 8, 30, tzinfo=UTC)
        session.add(program)
    manual_clock.set(datetime(2027, 1, 4, 8, 45, tzinfo=UTC))  # before 10:00, the digest's
    # first fire this month: the latest, on 7 December, precedes the programme too.
    assert runner.catch_up(services_for(database, fake_slack, manual_clock)) == []
    assert not any(checkins_to(fake_slack, user) for user in MEMBERS)
    assert not fake_slack.messages(CHANNEL)


def test_the_latest_fire_is_found_across_months_and_dst() -> None:
    program = Program(name="P", timezone=BERLIN)
    digest = runner.job_trigger("0 10 1-7 * mon", program)
    assert runner.last_fire(digest, datetime(2027, 3, 20, tzinfo=UTC)) == datetime(
        2027, 3, 1, 9, 0, tzinfo=UTC
    )
    checkin = runner.job_trigger("0 8 * * mon-fri", program)
    # Monday after the spring change: Friday's fire was at 08:00 CET, i.e. 07:00 UTC.
    assert runner.last_fire(checkin, datetime(2027, 3, 29, 5, 0, tzinfo=UTC)) == datetime(
        2027, 3, 26, 7, 0, tzinfo=UTC
    )
    yearly = runner.job_trigger("0 8 4 1 *", program)
    assert runner.last_fire(yearly, datetime(2028, 1, 3, tzinfo=UTC)) is None
