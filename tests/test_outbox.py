"""Exactly-once delivery: the outbox and the job-run ledger, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

from freezegun import freeze_time
from sqlmodel import select

from bot.services import build_services
from bot.slack_api import make_web_client
from scheduler import outbox
from scheduler.runner import build_scheduler, run_once
from storage.db import Database
from storage.models import JobRun, OutboxMessage, utcnow
from tests.conftest import BOT_TOKEN, make_settings
from tests.harness.fake_slack import FakeSlack


def _queue(db: Database, count: int, prefix: str = "m") -> None:
    with db.session() as session:
        for index in range(count):
            outbox.enqueue(
                session,
                key=f"{prefix}:{index}",
                kind="test",
                recipient=f"U{index:05d}",
                message={"text": f"hello {index}"},
            )


def test_enqueue_twice_keeps_one(database: Database) -> None:
    with database.session() as session:
        first = outbox.enqueue(session, key="k", kind="t", recipient="U1", message={"text": "a"})
        second = outbox.enqueue(session, key="k", kind="t", recipient="U1", message={"text": "b"})
    assert first is not None and second is None
    with database.session() as session:
        assert len(session.exec(select(OutboxMessage)).all()) == 1


def test_concurrent_replicas_send_each_message_exactly_once(
    database: Database, fake_slack: FakeSlack
) -> None:
    _queue(database, 120)
    replicas = [Database(database.url) for _ in range(4)]
    client = make_web_client(BOT_TOKEN, fake_slack.api_url)
    barrier = threading.Barrier(len(replicas))
    sent: list[int] = []

    def replica(db: Database, name: str) -> None:
        barrier.wait()
        total = 0
        while (count := outbox.flush(db, client, owner=name)) > 0:
            total += count
        sent.append(total)

    threads = [
        threading.Thread(target=replica, args=(db, f"r{i}")) for i, db in enumerate(replicas)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for db in replicas:
        db.dispose()
    posts = [c for c in fake_slack.calls("chat.postMessage") if c.ok]
    texts = Counter(c.params["text"] for c in posts)
    assert len(posts) == 120 and max(texts.values()) == 1
    assert sum(sent) == 120
    with database.session() as session:
        rows = session.exec(select(OutboxMessage)).all()
    assert {row.status for row in rows} == {"sent"}
    assert all(row.message_ts for row in rows)


def test_failed_send_is_retried_later_with_backoff(
    database: Database, fake_slack: FakeSlack
) -> None:
    client = make_web_client(BOT_TOKEN, fake_slack.api_url)
    _queue(database, 1)
    fake_slack.fail_next("chat.postMessage", status=200, error="channel_not_found")
    with freeze_time(utcnow()) as frozen:
        assert outbox.flush(database, client) == 0
        with database.session() as session:
            row = session.exec(select(OutboxMessage)).one()
        assert row.status == "pending" and row.attempts == 1
        assert row.last_error == "channel_not_found"
        assert outbox.flush(database, client) == 0  # not due yet
        frozen.tick(timedelta(minutes=3))
        assert outbox.flush(database, client) == 1
    with database.session() as session:
        assert session.exec(select(OutboxMessage)).one().status == "sent"


def test_gives_up_after_max_attempts(database: Database, fake_slack: FakeSlack) -> None:
    client = make_web_client(BOT_TOKEN, fake_slack.api_url)
    _queue(database, 1)
    fake_slack.fail_next(
        "chat.postMessage", status=200, error="is_archived", times=outbox.MAX_ATTEMPTS
    )
    with freeze_time(utcnow()) as frozen:
        for _attempt in range(outbox.MAX_ATTEMPTS):
            outbox.flush(database, client)
            frozen.tick(timedelta(hours=2))
    with database.session() as session:
        row = session.exec(select(OutboxMessage)).one()
    assert row.status == "failed" and row.attempts == outbox.MAX_ATTEMPTS


def test_group_recipients_get_a_group_dm(database: Database, fake_slack: FakeSlack) -> None:
    client = make_web_client(BOT_TOKEN, fake_slack.api_url)
    with database.session() as session:
        outbox.enqueue(
            session, key="g", kind="t", recipient="UAAAA1,UBBBB2", message={"text": "hi both"}
        )
    assert outbox.flush(database, client, keys=["g"]) == 1
    post = fake_slack.wait_for("chat.postMessage")
    assert sorted(fake_slack.conversation_members(post.params["channel"])) == ["UAAAA1", "UBBBB2"]


def test_run_once_across_replicas(database: Database, fake_slack: FakeSlack) -> None:
    settings = make_settings(fake_slack, database.url)
    runs: list[str] = []
    barrier = threading.Barrier(3)

    def replica(name: str) -> None:
        services = build_services(settings, db=Database(database.url))
        barrier.wait()
        run_once(services, "checkins:program=1:2027-01", "checkins", lambda: runs.append(name))
        services.db.dispose()

    threads = [threading.Thread(target=replica, args=(f"r{i}",)) for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(runs) == 1
    with database.session() as session:
        ledger = session.exec(select(JobRun)).one()
    assert ledger.status == "done" and ledger.finished_at is not None


def test_scheduler_has_the_outbox_job(database: Database, fake_slack: FakeSlack) -> None:
    services = build_services(make_settings(fake_slack, database.url), db=database)
    scheduler = build_scheduler(services)
    assert [job.id for job in scheduler.get_jobs()] == ["deliver_outbox"]


def test_a_scheduled_run_drains_a_backlog_larger_than_one_batch(
    database: Database, fake_slack: FakeSlack
) -> None:
    from scheduler.runner import deliver_outbox

    _queue(database, outbox.BATCH * 3 + 7)
    services = build_services(make_settings(fake_slack, database.url), db=database)
    client = make_web_client(BOT_TOKEN, fake_slack.api_url)
    assert outbox.flush(database, client) == outbox.BATCH  # an immediate flush: one batch
    assert deliver_outbox(services) == outbox.BATCH * 2 + 7  # the scheduler: the rest
    assert len([c for c in fake_slack.calls("chat.postMessage") if c.ok]) == outbox.BATCH * 3 + 7
