"""Where a benchmark keeps its data: a temporary SQLite file, or a throwaway PostgreSQL database.

A benchmark seeds thousands of rows; run against the database a URL names, a second run would
meet the first one's programme. With `--database-url postgresql+psycopg://…` a fresh database is
created on that server for the run and dropped afterwards; the named database is left untouched.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url


@contextmanager
def bench_database(database_url: str | None, folder: Path) -> Iterator[str]:
    """Yields the URL the benchmark uses: a SQLite file in `folder` when no URL is given."""
    if database_url is None:
        yield f"sqlite:///{folder / 'bench.db'}"
        return
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        yield database_url
        return
    name = f"bench_{os.getpid()}"
    # pre-ping: the server may have restarted meanwhile (bench_soak restarts its own)
    server = create_engine(url, isolation_level="AUTOCOMMIT", pool_pre_ping=True)
    try:
        with server.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with server.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        server.dispose()
