"""Engine, sessions and migrations for SQLite (the embedded default) and PostgreSQL."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config
from sqlalchemy import event, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.pool import NullPool
from sqlmodel import Session, create_engine

log = logging.getLogger(__name__)
MIGRATIONS_DIR = Path(__file__).parent / "migrations"
T = TypeVar("T")


def make_engine(database_url: str) -> Engine:
    # Bound parameters are people's data: never in an exception message or a log line.
    if database_url.startswith("sqlite"):
        engine = create_engine(
            database_url,
            hide_parameters=True,
            connect_args={"check_same_thread": False, "timeout": 30},
            poolclass=NullPool if ":memory:" not in database_url else None,
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        @event.listens_for(engine, "savepoint")
        def _begin_before_savepoint(connection: Any, _name: str | None) -> None:
            # pysqlite opens a transaction only before DML: a SAVEPOINT first would open one of
            # its own, and its RELEASE would commit it, outside the session's transaction.
            dbapi_connection = connection.connection.dbapi_connection
            if not dbapi_connection.in_transaction:
                dbapi_connection.execute("BEGIN")

        return engine
    return create_engine(
        database_url, hide_parameters=True, pool_pre_ping=True, pool_size=10, max_overflow=20
    )


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply migrations up to `revision` (idempotent; safe to call at every start)."""
    command.upgrade(alembic_config(engine), revision)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        try:
            return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
        except DBAPIError:
            return None


# PostgreSQL's "try the transaction again" answers: serialization failure and deadlock.
RETRY_SQLSTATES = frozenset({"40001", "40P01"})


def is_retryable(error: DBAPIError) -> bool:
    """A dropped or refused connection, a locked SQLite file, or a transaction PostgreSQL
    rolled back for a concurrent one: running the whole transaction again is safe."""
    if isinstance(error, OperationalError) or error.connection_invalidated:
        return True
    return str(getattr(error.orig, "sqlstate", "") or "") in RETRY_SQLSTATES


class Database:
    """The app's single door to storage: sessions, transactions and health."""

    def __init__(self, url: str, engine: Engine | None = None) -> None:
        self.url = url
        self.engine = engine or make_engine(url)

    @property
    def is_postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    def migrate(self) -> None:
        upgrade(self.engine)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work: commits on success, rolls back on any error."""
        with Session(self.engine, expire_on_commit=False) as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    def run(self, work: Callable[[Session], T], *, attempts: int = 3, delay: float = 0.2) -> T:
        """Run `work` in a transaction, retrying when the database is briefly unavailable."""
        for attempt in range(1, attempts + 1):
            try:
                with self.session() as session:
                    return work(session)
            except DBAPIError as error:
                if attempt == attempts or not is_retryable(error):
                    raise
                log.warning(
                    "database unavailable, retrying",
                    extra={"attempt": attempt, "error": type(error.orig).__name__},
                )
                time.sleep(delay * attempt)
        raise AssertionError("unreachable")

    def healthy(self) -> bool:
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
            return True
        except Exception:  # noqa: BLE001 - health is a yes/no answer
            log.exception("database health check failed")
            return False

    def dispose(self) -> None:
        self.engine.dispose()
