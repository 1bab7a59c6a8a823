"""journey: per-person check-in requests, pauses, the programme's kill switch

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 14:40:00

The schema is frozen here (plain SQLAlchemy types, no live models).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("program", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("messages_held", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("participant", schema=None) as batch_op:
        batch_op.add_column(sa.Column("paused_until", sa.Date(), nullable=True))
    op.create_table(
        "checkin_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cycle_id", sa.Integer(), nullable=False),
        sa.Column("pair_id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("suggestion", sa.JSON(), nullable=False),
        sa.Column("asked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("met_on", sa.Date(), nullable=True),
        sa.Column("duration_minutes", sa.Integer(), nullable=True),
        sa.Column("topics_covered", sa.String(length=1000), nullable=True),
        sa.Column("learned", sa.String(length=2000), nullable=True),
        sa.Column("taught", sa.String(length=2000), nullable=True),
        sa.Column("rating", sa.Integer(), nullable=True),
        sa.Column("notes", sa.String(length=3000), nullable=True),
        sa.CheckConstraint(
            "status IN ('asked', 'met', 'not_yet', 'snoozed')", name="ck_checkin_request_status"
        ),
        sa.ForeignKeyConstraint(["cycle_id"], ["checkin_cycle.id"]),
        sa.ForeignKeyConstraint(["pair_id"], ["pair.id"]),
        sa.ForeignKeyConstraint(["participant_id"], ["participant.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("cycle_id", "pair_id", "participant_id"),
    )
    with op.batch_alter_table("checkin_request", schema=None) as batch_op:
        batch_op.create_index("ix_checkin_request_cycle_id", ["cycle_id"], unique=False)
        batch_op.create_index("ix_checkin_request_participant_id", ["participant_id"], unique=False)
        batch_op.create_index(
            "ix_checkin_request_pair_cycle", ["pair_id", "cycle_id"], unique=False
        )


def downgrade() -> None:
    op.drop_table("checkin_request")
    with op.batch_alter_table("participant", schema=None) as batch_op:
        batch_op.drop_column("paused_until")
    with op.batch_alter_table("program", schema=None) as batch_op:
        batch_op.drop_column("messages_held")
