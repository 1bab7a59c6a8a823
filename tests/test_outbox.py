"""Exactly-once delivery: the outbox and the job-run ledger, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

import pytest
from freezegun import freeze_time
from slack_sdk import WebClient
from sqlmodel import Session, col, select

from bot.delivery import outbox, sender
from bot.domain.notices import KINDS
from bot.services import Services, build_services
from bot.simulated_slack.web_api import Call, FakeSlack
from bot.slack_api import make_web_client
from scheduler.runner import run_once
from storage import repositories as repo
from storage.db import Database
from storage.models import JobRun, OutboxMessage, Program, utcnow
from tests.conftest import BOT_TOKEN, make_settings


def flush(db: Database, client: WebClient, **options: object) -> int:
    """One sender's run over the outbox (the scheduler's, or an immediate delivery)."""
    return sender.Sender(db, client, KINDS).flush(**options)  # type: ignore[arg-type]


def enqueue(session: Session, **message: object) -> OutboxMessage | None:
    return outbox.enqueue(session, not_before=utcnow(), **message)  # type: ignore[arg-type]


def claim(db: Database, token: str, batch: int = outbox.BATCH) -> list[int]:
    return db.run(lambda session: outbox.claim(session, token, None, utcnow(), batch))


def _queue(db: Database, count: int, prefix: str = "m") -> None:
    with db.session() as session:
        for index in range(count):
            enqueue(
                session,
                key=f"{prefix}:{index}",
                kind="test",
                recipient=f"U{index:05d}",
                message={"text": f"hello {index}"},
            )


def test_enqueue_twice_keeps_one(database: Database) -> None:
    with database.session() as session:
        first = enqueue(session, key="k", kind="t", recipient="U1", message={"text": "a"})
        second = enqueue(session, key="k", kind="t", recipient="U1", message={"text": "b"})
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
        while (count := flush(db, client, owner=name)) > 0:
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


def _rows(db: Database) -> list[OutboxMessage]:
    with db.session() as session:
        return list(session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id))).all())


def _posts(fake: FakeSlack) -> list[Call]:
    return [c for c in fake.calls("chat.postMessage") if c.ok]


@pytest.mark.parametrize(
    "error", ["channel_not_found", "user_not_found", "account_inactive", "not_in_channel"]
)
def test_a_permanent_error_is_final_and_reported(
    database: Database, fake_slack: FakeSlack, error: str
) -> None:
    client = make_web_client(BOT_TOKEN, fake_slack.api_url)
    with database.session() as session:
        program = repo.save(session, Program(name="P"))
        enqueue(
            session,
            key="welcome",
            kind="training",
            recipient="UGONE01",
            message={"text": "welcome"},
            program_id=program.id,
        )
    fake_slack.fail_next("chat.postMessage", status=200, error=error)
    with freeze_time(utcnow()) as frozen:
        assert flush(database, client) == 0
        for _day in range(3):
            frozen.tick(timedelta(days=1))
            assert flush(database, client) == 0
    assert len(fake_slack.calls("chat.postMessage")) == 1  # tried once, never again
    (row,) = _rows(database)
    assert row.status == "failed" and row.attempts == 1 and row.failed_at is not None
    assert row.last_error == error and not row.uncertain
    with database.session() as session:
        reported = repo.failed_messages(session, program.id)
        assert [m.dedupe_key for m in reported] == ["welcome"]
        assert repo.failed_messages(session, (program.id or 0) + 1) == []


def test_a_rate_limit_waits_for_retry_after(database: Database, fake_slack: FakeSlack) -> None:
    client = make_web_client(BOT_TOKEN, fake_slack.api_url)
    _queue(database, 1)
    fake_slack.fail_next("chat.postMessage", status=429, retry_after=30)
    with freeze_time(utcnow()) as frozen:
        start = utcnow()
        assert flush(database, client) == 0
        (row,) = _rows(database)
        assert row.status == "pending" and row.attempts == 0
        assert row.not_before == start + timedelta(seconds=30)
        frozen.tick(timedelta(seconds=29))
        assert flush(database, client) == 0
        assert len(fake_slack.calls("chat.postMessage")) == 1  # not asked again too early
        frozen.tick(timedelta(seconds=2))
        assert flush(database, client) == 1
    assert len(_posts(fake_slack)) == 1


def test_after_a_429_the_rest_of_the_batch_is_not_thrown_at_the_limit(
    database: Database, fake_slack: FakeSlack
) -> None:
    client = make_web_client(BOT_TOKEN, fake_slack.api_url)
    _queue(database, 3)
    fake_slack.fail_next("chat.postMessage", status=429, retry_after=30)
    assert flush(database, client) == 0  # an immediate flush does not wait 30 s
    assert len(fake_slack.calls("chat.postMessage")) == 1
    rows = _rows(database)
    assert [row.status for row in rows] == ["pending"] * 3
    assert [row.attempts for row in rows] == [0, 0, 0]
    assert flush(database, client) == 2  # the two untouched ones are due at once
    assert fake_slack.dm_texts("U00000") == []


def test_a_scheduled_run_waits_out_retry_after_and_carries_on(
    database: Database, fake_slack: FakeSlack
) -> None:
    client = make_web_client(BOT_TOKEN, fake_slack.api_url)
    _queue(database, 3)
    fake_slack.fail_next("chat.postMessage", status=429, retry_after=1)
    assert flush(database, client, budget_seconds=10) == 2
    limited, first_after, _second = fake_slack.calls("chat.postMessage")
    assert limited.status == 429 and first_after.at - limited.at >= 1.0


def test_a_server_error_backs_off_honouring_retry_after_then_checks_before_posting(
    database: Database, fake_slack: FakeSlack
) -> None:
    client = make_web_client(BOT_TOKEN, fake_slack.api_url)
    _queue(database, 1)
    fake_slack.fail_next("chat.postMessage", status=503, retry_after=600)
    with freeze_time(utcnow()) as frozen:
        start = utcnow()
        assert flush(database, client) == 0
        (row,) = _rows(database)
        assert row.status == "pending" and row.uncertain and row.attempts == 1
        assert row.not_before == start + timedelta(seconds=600)  # longer than the backoff
        frozen.tick(timedelta(seconds=601))
        assert flush(database, client) == 1
    history = fake_slack.calls("conversations.history")
    assert len(history) == 1 and history[0].params["include_all_metadata"] in (True, "true", "1")
    assert len(_posts(fake_slack)) == 1  # not found in Slack, so posted once
    (row,) = _rows(database)
    assert row.status == "sent" and not row.uncertain


def test_a_lost_answer_is_found_in_slack_not_posted_again(
    database: Database, fake_slack: FakeSlack
) -> None:
    client = make_web_client(BOT_TOKEN, fake_slack.api_url)  # the app's client, with retries
    _queue(database, 1)
    fake_slack.lose_answer_next("chat.postMessage")
    with freeze_time(utcnow()) as frozen:
        assert flush(database, client) == 0
        assert len(fake_slack.calls("chat.postMessage")) == 1  # no automatic re-post
        (row,) = _rows(database)
        assert row.status == "pending" and row.uncertain
        frozen.tick(timedelta(minutes=3))
        assert flush(database, client) == 1
    (post,) = fake_slack.calls("chat.postMessage")
    assert post.params["metadata"] == {"event_type": "rm_outbox", "event_payload": {"key": "m:0"}}
    assert fake_slack.dm_texts("U00000") == ["hello 0"]
    (row,) = _rows(database)
    assert row.status == "sent" and row.message_ts == post.response["ts"]  # type: ignore[index]
    assert row.channel_id == FakeSlack.dm_channel("U00000")


def test_dms_post_to_the_user_id_and_only_intros_open_a_conversation(
    database: Database, fake_slack: FakeSlack
) -> None:
    client = make_web_client(BOT_TOKEN, fake_slack.api_url)
    _queue(database, 3)
    assert flush(database, client) == 3
    assert fake_slack.calls("conversations.open") == []
    assert [p.params["channel"] for p in _posts(fake_slack)] == ["U00000", "U00001", "U00002"]
    assert [row.channel_id for row in _rows(database)] == ["DU00000", "DU00001", "DU00002"]


def test_gives_up_after_max_attempts(database: Database, fake_slack: FakeSlack) -> None:
    client = make_web_client(BOT_TOKEN, fake_slack.api_url)
    _queue(database, 1)
    fake_slack.fail_next(
        "chat.postMessage", status=200, error="internal_error", times=outbox.MAX_ATTEMPTS
    )
    with freeze_time(utcnow()) as frozen:
        for _attempt in range(outbox.MAX_ATTEMPTS + 2):
            flush(database, client)
            frozen.tick(timedelta(hours=2))
    (row,) = _rows(database)
    assert row.status == "failed" and row.attempts == outbox.MAX_ATTEMPTS
    assert len(fake_slack.calls("chat.postMessage")) == outbox.MAX_ATTEMPTS


def _die_mid_send(db: Database, client: WebClient, *, posted: bool) -> None:
    """A replica claims the message (and maybe posts it), then dies before recording it."""
    (message_id,) = claim(db, "dead-replica:1")
    if posted:
        with db.session() as session:
            row = session.get(OutboxMessage, message_id)
        assert row is not None
        sender._post(sender.delivery_client(client), row)


@pytest.mark.parametrize("posted", [True, False])
def test_a_stale_claim_is_checked_in_slack_before_it_is_sent_again(
    database: Database, fake_slack: FakeSlack, posted: bool
) -> None:
    client = make_web_client(BOT_TOKEN, fake_slack.api_url)
    _queue(database, 1)
    with freeze_time(utcnow()) as frozen:
        _die_mid_send(database, client, posted=posted)
        frozen.tick(timedelta(minutes=9))
        assert flush(database, client, owner="alive") == 0  # may still be sending
        assert len(fake_slack.calls("chat.postMessage")) == int(posted)
        frozen.tick(timedelta(minutes=2))
        assert flush(database, client, owner="alive") == 1
    assert len(fake_slack.calls("conversations.history")) == 1
    assert fake_slack.dm_texts("U00000") == ["hello 0"]  # exactly once either way
    (row,) = _rows(database)
    assert row.status == "sent" and row.claimed_by is not None and row.message_ts


def test_a_rate_limited_lookup_neither_pauses_the_posting_nor_takes_a_paced_slot(
    database: Database, fake_slack: FakeSlack
) -> None:
    client = make_web_client(BOT_TOKEN, fake_slack.api_url)
    _queue(database, 3)
    paced: list[int] = []
    with freeze_time(utcnow()) as frozen:
        claim(database, "dead-replica:1", 1)  # m:0, then it died
        frozen.tick(timedelta(minutes=11))
        fake_slack.fail_next("conversations.history", status=429, retry_after=30)
        start = utcnow()
        sent = flush(database, client, budget_seconds=60, pacer=lambda: paced.append(1), batch=3)
        assert sent == 2  # the two fresh messages went out without waiting 30 s
        assert len(paced) == 2  # the lookup took no posting slot
        first, *_fresh = _rows(database)
        assert first.status == "pending" and first.uncertain and first.attempts == 0
        assert first.not_before == start + timedelta(seconds=30)
        frozen.tick(timedelta(seconds=31))
        assert flush(database, client, owner="later") == 1
    assert [p.params["channel"] for p in _posts(fake_slack)] == ["U00001", "U00002", "U00000"]
    assert len(fake_slack.calls("conversations.history")) == 2


def test_sends_do_not_use_the_apps_retrying_client(fake_slack: FakeSlack) -> None:
    client = make_web_client(BOT_TOKEN, fake_slack.api_url)
    sending = sender.delivery_client(client)
    assert sending is not client and sending.retry_handlers == []
    assert sender.delivery_client(client) is sending
    assert (sending.token, sending.base_url) == (client.token, client.base_url)


def test_two_senders_deliver_once_despite_rate_limits_and_a_lost_answer(
    database: Database, fake_slack: FakeSlack
) -> None:
    count = 150
    _queue(database, count)
    fake_slack.random_rate_limits(0.05, retry_after=1, seed=7, methods=["chat.postMessage"])
    fake_slack.lose_answer_next("chat.postMessage")
    senders = [Database(database.url) for _ in range(2)]
    client = make_web_client(BOT_TOKEN, fake_slack.api_url)
    with freeze_time(utcnow()) as frozen:
        for _round in range(10):
            barrier = threading.Barrier(len(senders))

            def send(db: Database, name: str, barrier: threading.Barrier) -> None:
                barrier.wait()
                while flush(db, client, owner=name) > 0:
                    pass

            threads = [
                threading.Thread(target=send, args=(db, f"s{i}", barrier))
                for i, db in enumerate(senders)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=60)
            if all(row.status == "sent" for row in _rows(database)):
                break
            frozen.tick(timedelta(minutes=3))
    for db in senders:
        db.dispose()
    rate_limited = [c for c in fake_slack.calls("chat.postMessage") if c.status == 429]
    assert rate_limited, "the fake answered no 429: the test exercised nothing"
    assert fake_slack.calls("conversations.history"), "the lost answer was never looked for"
    texts = Counter(p.params["text"] for p in _posts(fake_slack))
    assert len(texts) == count and set(texts.values()) == {1}
    rows = _rows(database)
    assert {row.status for row in rows} == {"sent"}
    posted_ts = {p.response["ts"] for p in _posts(fake_slack)}  # type: ignore[index]
    assert {row.message_ts for row in rows} == posted_ts


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


def test_a_scheduled_run_drains_a_backlog_larger_than_one_batch(
    database: Database, fake_slack: FakeSlack
) -> None:
    from scheduler.runner import deliver_outbox

    _queue(database, outbox.BATCH * 3 + 7)
    services = build_services(make_settings(fake_slack, database.url), db=database)
    client = make_web_client(BOT_TOKEN, fake_slack.api_url)
    assert flush(database, client) == outbox.BATCH  # an immediate flush: one batch
    assert deliver_outbox(services) == outbox.BATCH * 2 + 7  # the scheduler: the rest
    assert len([c for c in fake_slack.calls("chat.postMessage") if c.ok]) == outbox.BATCH * 3 + 7


def _services(database: Database, fake_slack: FakeSlack) -> Services:
    return build_services(make_settings(fake_slack, database.url), db=database)


def _ledger(database: Database) -> JobRun:
    with database.session() as session:
        return session.exec(select(JobRun)).one()


def test_a_failed_run_does_not_burn_its_key(database: Database, fake_slack: FakeSlack) -> None:
    services = _services(database, fake_slack)
    runs: list[str] = []

    def broken() -> None:
        runs.append("broken")
        raise RuntimeError("database hiccup")

    with pytest.raises(RuntimeError):
        run_once(services, "checkin:program=1:2027-01", "checkin", broken)
    assert _ledger(database).status == "failed"
    assert run_once(services, "checkin:program=1:2027-01", "checkin", lambda: runs.append("ok"))
    ledger = _ledger(database)
    assert runs == ["broken", "ok"] and ledger.status == "done" and ledger.attempts == 2
    # Finished: never again, whatever the lease says.
    with freeze_time(utcnow() + timedelta(days=2)):
        assert not run_once(services, "checkin:program=1:2027-01", "checkin", runs.clear)
    assert runs == ["broken", "ok"]


def test_a_crashed_run_is_taken_over_once_its_lease_expires(
    database: Database, fake_slack: FakeSlack
) -> None:
    services = _services(database, fake_slack)
    with freeze_time(utcnow()) as frozen:
        with database.session() as session:  # a replica claimed the run and then died
            session.add(
                JobRun(
                    run_key="nudge:2027-01-04",
                    job_name="nudge",
                    owner="dead-host:1:abc",
                    lease_until=utcnow() + timedelta(minutes=15),
                )
            )
        runs: list[str] = []
        assert not run_once(services, "nudge:2027-01-04", "nudge", lambda: runs.append("early"))
        frozen.tick(timedelta(minutes=16))
        barrier = threading.Barrier(3)

        def replica(name: str) -> None:
            db = Database(database.url)
            try:
                barrier.wait()
                run_once(
                    build_services(services.settings, db=db),
                    "nudge:2027-01-04",
                    "nudge",
                    lambda: runs.append(name),
                )
            finally:
                db.dispose()

        threads = [threading.Thread(target=replica, args=(f"r{i}",)) for i in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
    assert len(runs) == 1 and runs[0].startswith("r")
    ledger = _ledger(database)
    assert ledger.status == "done" and ledger.attempts == 2 and ledger.lease_until is None
    assert ledger.owner is not None and not ledger.owner.startswith("dead-host")


@pytest.mark.parametrize(
    ("error", "recipient", "gone"),
    [
        ("account_inactive", "UGONE01", True),
        ("user_not_found", "UGONE01", True),
        ("user_disabled", "WGONE01", True),
        ("cannot_dm_bot", "UGONE01", True),
        ("account_inactive", "UGONE01,UHERE01", False),  # a group DM: nobody in particular
        ("not_in_channel", "C0KUDOS", False),  # the channel's trouble, not a person's
        ("channel_not_found", "UGONE01", False),
        ("msg_too_long", "UGONE01", False),  # the message's trouble
    ],
)
def test_only_a_person_refused_for_good_is_reported_gone(
    database: Database, fake_slack: FakeSlack, error: str, recipient: str, gone: bool
) -> None:
    client = make_web_client(BOT_TOKEN, fake_slack.api_url)
    reported: list[tuple[str, str]] = []

    def on_gone(user_id: str, code: str) -> None:
        reported.append((user_id, code))

    with database.session() as session:
        enqueue(session, key="m", kind="training", recipient=recipient, message={"text": "hi"})
    fake_slack.fail_next("chat.postMessage", status=200, error=error)
    fake_slack.fail_next("conversations.open", status=200, error=error)
    assert sender.Sender(database, client, KINDS, on_gone).flush() == 0
    (row,) = _rows(database)
    assert row.status == "failed" and row.last_error == error
    assert reported == ([(recipient, error)] if gone else [])


def test_a_failing_gone_rule_leaves_the_failure_recorded(
    database: Database, fake_slack: FakeSlack
) -> None:
    client = make_web_client(BOT_TOKEN, fake_slack.api_url)

    def broken(user_id: str, code: str) -> None:
        raise RuntimeError("the rule failed")

    _queue(database, 2)
    fake_slack.refuse_messages_to("U00000")
    assert sender.Sender(database, client, KINDS, broken).flush() == 1  # the next one still goes
    assert [(r.status, r.last_error) for r in _rows(database)] == [
        ("failed", "account_inactive"),
        ("sent", None),
    ]


def test_erasure_scrubs_the_persons_messages_and_keeps_their_keys(database: Database) -> None:
    with database.session() as session:
        sent = enqueue(
            session,
            key="digest:1:2027-02",
            kind="digest",
            recipient="C0KUDOS",
            message={"text": "Well done <@UERASE1> and <@UKEEP01>"},
        )
        assert sent is not None
        outbox.mark_sent(sent, "C0KUDOS", "1.000100", utcnow())
        owed = enqueue(
            session,
            key="nudge:UERASE1:2027-W02",
            kind="nudge",
            recipient="UERASE1",
            message={"text": "Did you meet?"},
        )
        claimed = enqueue(
            session,
            key="checkin:UERASE1:3:2027-01",
            kind="checkin",
            recipient="UERASE1,UKEEP01",
            message={"text": "Hello both"},
        )
        assert owed is not None and claimed is not None
        claimed.status, claimed.claimed_by = "sending", "replica:1"
        enqueue(
            session,
            key="nudge:UERASE12:2027-W02",
            kind="nudge",
            recipient="UERASE12",
            message={"text": "Someone else, whose id starts with theirs"},
        )
        enqueue(
            session,
            key="nudge:UKEEP01:2027-W02",
            kind="nudge",
            recipient="UKEEP01",
            message={"text": "Unrelated"},
        )
    with database.session() as session:
        repo.forget_user(session, "UERASE1")
    rows = {row.id: row for row in _rows(database)}
    digest, nudge, checkin, other, unrelated = rows.values()
    assert digest.dedupe_key == "digest:1:2027-02" and digest.status == "sent"
    assert (digest.recipient, digest.payload, digest.channel_id, digest.message_ts) == (
        "erased",
        {},
        None,
        None,
    )
    assert nudge.dedupe_key == f"nudge:erased-{nudge.id}:2027-W02"
    assert (nudge.status, nudge.cancelled_because) == ("cancelled", "erased")
    assert checkin.dedupe_key == f"checkin:erased-{checkin.id}:3:2027-01"
    assert (checkin.status, checkin.claimed_by) == ("cancelled", None)  # its sender lost it
    assert (other.recipient, other.status) == ("UERASE12", "pending")
    assert (unrelated.recipient, unrelated.status) == ("UKEEP01", "pending")
    everything = "\n".join(str(row.model_dump()) for row in (digest, nudge, checkin))
    assert "UERASE1" not in everything


@pytest.mark.parametrize("posted", [True, False])
@pytest.mark.parametrize("how", ["its kind says stale", "cancel_pending"])
def test_a_message_that_may_have_been_posted_is_looked_for_before_it_is_cancelled(
    database: Database, fake_slack: FakeSlack, posted: bool, how: str
) -> None:
    """Its post's answer was lost (or Slack failed before posting), then its reason went (the
    pair ended): found in Slack it is marked sent, not "cancelled" while the person has it;
    absent, it is cancelled with the reason. (bench_soak found nudges cancelled yet posted.)"""
    from bot.delivery.kinds import MessageKind

    reason: list[str] = []
    stale = MessageKind("test", ("n",), stale_because=lambda _s, _r: next(iter(reason), None))
    kinds = {**KINDS, "test": stale}
    client = make_web_client(BOT_TOKEN, fake_slack.api_url)
    _queue(database, 1)
    if posted:
        fake_slack.lose_answer_next("chat.postMessage")
    else:
        fake_slack.fail_next("chat.postMessage", status=500, times=10)
    with freeze_time(utcnow()) as frozen:
        assert sender.Sender(database, client, kinds).flush() == 0  # type: ignore[arg-type]
        (row,) = _rows(database)
        assert row.status == "pending" and row.uncertain
        if how == "cancel_pending":
            with database.session() as session:
                outbox.cancel_pending(session, "the pair has ended", recipient="U00000")
        else:
            reason.append("the pair has ended")
        frozen.tick(timedelta(minutes=3))
        sender.Sender(database, client, kinds).flush()  # type: ignore[arg-type]
    (row,) = _rows(database)
    assert len(_posts(fake_slack)) == int(posted)  # never posted again
    if posted:
        assert (row.status, row.cancelled_because) == ("sent", None)
    else:
        assert (row.status, row.cancelled_because) == ("cancelled", "the pair has ended")
