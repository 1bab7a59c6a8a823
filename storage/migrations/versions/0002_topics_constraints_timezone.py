"""stable topics in SQL, one active programme and one open run, constrained statuses, timezone

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30 14:00:00

- program.timezone: the IANA zone the programme's dates are interpreted in (existing: UTC).
- participant topic lists become JSONB on PostgreSQL so reports count them in SQL (SQLite
  keeps JSON and uses json_each). Topic ids already stored (slugs) stay valid as they are.
- At most one active programme and one open match run per programme (partial unique
  indexes). Older duplicates, invisible to the app (it reads the newest), are archived or
  closed first, their proposals discarded.
- CHECK constraints on roles and statuses. The allowed values are frozen here on purpose.

SQLite cannot add a CHECK constraint to a table: batch mode rebuilds those tables (env.py
switches foreign keys off for the rebuild).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# table -> column -> allowed values (as of this revision)
CHECKS: dict[str, dict[str, tuple[str, ...]]] = {
    "program": {"status": ("active", "archived")},
    "participant": {"role": ("mentor", "mentee"), "status": ("waiting", "paired", "left")},
    "pair": {"status": ("proposed", "active", "ended", "discarded")},
    "match_run": {"status": ("open", "closed")},
    "outbox_message": {"status": ("pending", "sending", "sent", "failed")},
    "rematch_request": {"status": ("open", "resolved", "declined")},
    "goal": {"status": ("open", "done", "dropped")},
    "checkin_cycle": {"status": ("open", "closed")},
    "pulse_survey": {"status": ("open", "closed")},
    "job_run": {"status": ("running", "done", "failed")},
}
TOPIC_COLUMNS = ("topics_offered", "topics_wanted", "development_areas")
ONE_ACTIVE_PROGRAM = "status = 'active'"
ONE_OPEN_RUN = "status = 'open'"


def _condition(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


def upgrade() -> None:
    is_postgres = op.get_bind().dialect.name == "postgresql"

    with op.batch_alter_table("program") as batch_op:
        batch_op.add_column(
            sa.Column("timezone", sa.String(length=64), server_default="UTC", nullable=False)
        )

    if is_postgres:
        for column in TOPIC_COLUMNS:
            op.alter_column(
                "participant",
                column,
                type_=postgresql.JSONB(),
                existing_type=sa.JSON(),
                existing_nullable=False,
                postgresql_using=f"{column}::jsonb",
            )

    # Duplicates the new unique indexes forbid: keep the newest, as the app always did.
    op.execute(
        "UPDATE program SET status = 'archived' WHERE status = 'active' "
        "AND id < (SELECT max(id) FROM program WHERE status = 'active')"
    )
    stale_runs = (
        "SELECT id FROM match_run AS r WHERE r.status = 'open' AND r.id < "
        "(SELECT max(id) FROM match_run AS n WHERE n.status = 'open' "
        "AND n.program_id = r.program_id)"
    )
    op.execute(
        f"UPDATE pair SET status = 'discarded' WHERE status = 'proposed' "
        f"AND match_run_id IN ({stale_runs})"
    )
    op.execute(
        f"UPDATE match_run SET status = 'closed', closed_at = CURRENT_TIMESTAMP "
        f"WHERE id IN ({stale_runs})"
    )

    for table, columns in CHECKS.items():
        with op.batch_alter_table(table) as batch_op:
            for column, values in columns.items():
                batch_op.create_check_constraint(f"ck_{table}_{column}", _condition(column, values))

    op.create_index(
        "uq_program_one_active",
        "program",
        ["status"],
        unique=True,
        sqlite_where=sa.text(ONE_ACTIVE_PROGRAM),
        postgresql_where=sa.text(ONE_ACTIVE_PROGRAM),
    )
    op.create_index(
        "uq_match_run_one_open",
        "match_run",
        ["program_id"],
        unique=True,
        sqlite_where=sa.text(ONE_OPEN_RUN),
        postgresql_where=sa.text(ONE_OPEN_RUN),
    )


def downgrade() -> None:
    is_postgres = op.get_bind().dialect.name == "postgresql"
    op.drop_index("uq_match_run_one_open", table_name="match_run")
    op.drop_index("uq_program_one_active", table_name="program")
    for table, columns in CHECKS.items():
        with op.batch_alter_table(table) as batch_op:
            for column in columns:
                batch_op.drop_constraint(f"ck_{table}_{column}", type_="check")
    if is_postgres:
        for column in TOPIC_COLUMNS:
            op.alter_column(
                "participant",
                column,
                type_=sa.JSON(),
                existing_type=postgresql.JSONB(),
                existing_nullable=False,
                postgresql_using=f"{column}::json",
            )
    with op.batch_alter_table("program") as batch_op:
        batch_op.drop_column("timezone")
