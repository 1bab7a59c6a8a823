"""Event de-duplication shared through the database, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from wsgiref.simple_server import make_server

from freezegun import freeze_time

from bot.app import create_app
from bot.delivery import inbound
from bot.services import Services, build_services
from bot.simulated_slack.signed_requests import SlackRequests
from bot.simulated_slack.web_api import FakeSlack
from bot.web import SlackWsgiApp
from scheduler.runner import build_scheduler
from storage.db import Database
from storage.models import utcnow
from tests.conftest import (
    SIGNING_SECRET,
    _QuietHandler,
    _ThreadingWSGIServer,
    make_settings,
)


def test_first_delivery_is_true_once_across_concurrent_processes(database: Database) -> None:
    replicas = [Database(database.url) for _ in range(6)]
    barrier = threading.Barrier(len(replicas))
    answers: list[bool] = []

    def receive(db: Database) -> None:
        barrier.wait()
        answers.append(inbound.first_delivery(db, "Ev0SAME"))

    threads = [threading.Thread(target=receive, args=(db,)) for db in replicas]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    for db in replicas:
        db.dispose()
    assert sorted(answers) == [False] * 5 + [True]
    assert inbound.first_delivery(database, "Ev0OTHER") is True


def test_the_hourly_job_forgets_old_event_ids(database: Database, fake_slack: FakeSlack) -> None:
    services = build_services(make_settings(fake_slack, database.url), db=database)
    job = build_scheduler(services).get_job("prune_processed_events")
    assert job is not None
    with freeze_time(utcnow()) as frozen:
        assert inbound.first_delivery(database, "Ev0OLD")
        frozen.tick(timedelta(hours=23))
        assert inbound.first_delivery(database, "Ev0RECENT")
        frozen.tick(timedelta(hours=2))
        assert job.func(*job.args) == 1
        assert inbound.first_delivery(database, "Ev0OLD") is True  # forgotten
        assert inbound.first_delivery(database, "Ev0RECENT") is False  # still remembered


@contextmanager
def _replica(fake: FakeSlack, database_url: str) -> Iterator[tuple[SlackRequests, Services]]:
    """One app process of its own (own services, engine, listener pool) on its own port."""
    settings = make_settings(fake, database_url)
    services = build_services(settings, db=Database(database_url))
    app, services = create_app(settings, services)
    server = make_server(
        "127.0.0.1",
        0,
        SlackWsgiApp(app, services.db, SIGNING_SECRET),
        server_class=_ThreadingWSGIServer,
        handler_class=_QuietHandler,
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}/slack/events"
    try:
        yield SlackRequests(url, SIGNING_SECRET, fake=fake), services
    finally:
        server.shutdown()
        server.server_close()
        assert services.listener_executor is not None
        services.listener_executor.shutdown(wait=True)
        services.db.dispose()


def test_two_app_processes_handle_the_same_event_once(
    database: Database, fake_slack: FakeSlack
) -> None:
    fake_slack.add_user("UHOME01", real_name="Hoa Home")
    event = {"type": "app_home_opened", "user": "UHOME01", "channel": "DUHOME01", "tab": "home"}
    with (
        _replica(fake_slack, database.url) as (first, _),
        _replica(fake_slack, database.url) as (second, _),
    ):
        barrier = threading.Barrier(2)
        statuses: list[int] = []

        def deliver(slack: SlackRequests, retry: int | None) -> None:
            barrier.wait()
            statuses.append(slack.event(event, event_id="Ev0DUPLICATE1", retry_num=retry).status)

        threads = [
            threading.Thread(target=deliver, args=(first, None)),
            threading.Thread(target=deliver, args=(second, 1)),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert statuses == [200, 200]
        fake_slack.wait_for("views.publish", lambda c: c.ok)
        # A later retry to the first process is also recognised.
        assert first.event(event, event_id="Ev0DUPLICATE1", retry_num=2).status == 200
    # Both processes have stopped and drained their listeners: count what was done.
    publishes = fake_slack.calls("views.publish")
    assert len(publishes) == 1 and publishes[0].params["user_id"] == "UHOME01"
    assert fake_slack.home_of("UHOME01") is not None
