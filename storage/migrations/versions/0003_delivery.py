"""delivery: uncertain outbox sends, job-run leases, shared event de-duplication

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 14:00:00

The schema is frozen here (plain SQLAlchemy types, no live models), so the revision stays
reproducible whatever later models look like.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("uncertain", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("attempted_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("failed_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("job_run", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("attempts", sa.Integer(), nullable=False, server_default=sa.text("1"))
        )
    op.create_table(
        "processed_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(length=100), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("event_id"),
    )
    with op.batch_alter_table("processed_event", schema=None) as batch_op:
        batch_op.create_index("ix_processed_event_seen_at", ["seen_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("processed_event", schema=None) as batch_op:
        batch_op.drop_index("ix_processed_event_seen_at")
    op.drop_table("processed_event")
    with op.batch_alter_table("job_run", schema=None) as batch_op:
        batch_op.drop_column("attempts")
        batch_op.drop_column("lease_until")
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.drop_column("failed_at")
        batch_op.drop_column("attempted_at")
        batch_op.drop_column("uncertain")
