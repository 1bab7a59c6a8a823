"""Shared fixtures: databases (SQLite and PostgreSQL), the fake Slack, and the running app.

PostgreSQL tests run when TEST_DATABASE_URL is set (CI always sets it); otherwise they are
skipped with that reason. Each test session gets its own PostgreSQL database, migrated once;
tables are emptied between tests.
"""

from __future__ import annotations

import os
import shutil
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlmodel import SQLModel

from bot.app import create_app
from bot.services import Services, build_services
from bot.settings import Settings, parse_settings
from bot.simulated_slack.signed_requests import SlackRequests
from bot.simulated_slack.web_api import FakeSlack
from bot.web import SlackWsgiApp
from storage.db import Database, make_engine

SIGNING_SECRET = "test-signing-secret-0123456789"
PULSE_SECRET = "test-pulse-secret-0123456789-abcdefghijkl"
BOT_TOKEN = "xoxb-test"
ADMIN = "UADMIN01"
BACKENDS = ["sqlite", "postgres"]


def postgres_url() -> str | None:
    url = os.environ.get("TEST_DATABASE_URL", "").strip()
    if not url:
        return None
    if url.startswith(("postgres://", "postgresql://")):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file; each test gets a copy (migrating per test is slow)."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    database = Database(f"sqlite:///{path}")
    database.migrate()
    database.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str | None]:
    base = postgres_url()
    if base is None:
        yield None
        return
    name = f"rm_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(make_url(base), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(base).set(database=name).render_as_string(hide_password=False)
    database = Database(url)
    database.migrate()
    database.dispose()
    yield url
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _empty_postgres(url: str) -> None:
    engine = make_engine(url)
    tables = ", ".join(f'"{t.name}"' for t in SQLModel.metadata.sorted_tables)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=BACKENDS)
def database_url(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    sqlite_template: Path,
    postgres_database: str | None,
) -> str:
    if request.param == "sqlite":
        path = tmp_path / "app.db"
        shutil.copy(sqlite_template, path)
        return f"sqlite:///{path}"
    if postgres_database is None:
        pytest.skip("PostgreSQL not configured: set TEST_DATABASE_URL to run these tests")
    _empty_postgres(postgres_database)
    return postgres_database


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    db = Database(database_url)
    yield db
    db.dispose()


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    with FakeSlack(bot_token=BOT_TOKEN) as fake:
        fake.add_user(ADMIN, real_name="Ada Admin", locale="en-US")
        yield fake


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


@dataclass
class RunningApp:
    url: str
    settings: Settings
    services: Services
    fake: FakeSlack
    slack: SlackRequests

    @property
    def db(self) -> Database:
        return self.services.db


def make_settings(fake: FakeSlack, database_url: str, **overrides: str) -> Settings:
    env = {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": fake.api_url,
        "DATABASE_URL": database_url,
        "ADMIN_USER_IDS": ADMIN,
        "DEFAULT_LOCALE": "en",
        "PULSE_SECRET": PULSE_SECRET,
    }
    env.update(overrides)
    return parse_settings(env)


@pytest.fixture
def running_app(fake_slack: FakeSlack, database: Database) -> Iterator[RunningApp]:
    """The real WSGI app (signature checks, Bolt, listeners) on a local threaded server."""
    settings = make_settings(fake_slack, database.url)
    services = build_services(settings, db=database)
    app, services = create_app(settings, services)
    wsgi = SlackWsgiApp(app, services.db, settings.slack_signing_secret)
    server = make_server(
        "127.0.0.1", 0, wsgi, server_class=_ThreadingWSGIServer, handler_class=_QuietHandler
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}/slack/events"
    try:
        yield RunningApp(
            url=url,
            settings=settings,
            services=services,
            fake=fake_slack,
            slack=SlackRequests(url, SIGNING_SECRET, fake=fake_slack),
        )
    finally:
        server.shutdown()
        server.server_close()
        # Let listeners still working after their ack finish before the database goes.
        assert services.listener_executor is not None
        services.listener_executor.shutdown(wait=True)


@pytest.fixture(autouse=True)
def no_listener_crashes(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """A listener that raises after its ack is invisible to Slack: fail the test instead."""
    yield
    crashes = [r for r in caplog.records if r.getMessage() == "listener failed"]
    assert not crashes, [r.exc_text or r.exc_info for r in crashes]
