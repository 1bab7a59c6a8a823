"""Alembic environment: the engine comes from storage.db (never from an ini file).

Revisions never import the live models (each freezes its schema); `target_metadata` is here only
so `alembic revision --autogenerate` can diff the models against the database.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import text
from sqlmodel import SQLModel

import storage.models  # noqa: F401 - registers the tables on SQLModel.metadata (autogenerate)

config = context.config
target_metadata = SQLModel.metadata


def run_migrations() -> None:
    engine = config.attributes["engine"]
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # Batch mode rebuilds tables (drop + rename); with foreign keys on, dropping a
            # referenced table fails. The pragma only takes effect outside a transaction.
            connection.execute(text("PRAGMA foreign_keys=OFF"))
            connection.commit()
        try:
            with connection.begin():
                context.configure(
                    connection=connection,
                    target_metadata=target_metadata,
                    render_as_batch=sqlite,  # SQLite ALTERs need batch mode
                    compare_type=True,
                )
                with context.begin_transaction():
                    context.run_migrations()
                if sqlite:
                    problems = connection.execute(text("PRAGMA foreign_key_check")).all()
                    if problems:
                        raise RuntimeError(f"migration broke {len(problems)} foreign keys")
        finally:
            if sqlite:
                connection.execute(text("PRAGMA foreign_keys=ON"))
                connection.commit()


run_migrations()
