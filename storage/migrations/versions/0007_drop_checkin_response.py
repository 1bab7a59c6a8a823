"""drop checkin_response: the journey's check-in requests are the one record of meetings

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30

The report, milestones, the digest, the export and `mydata` now read `checkin_request`, which
the journey writes (one row per person, pair and cycle). `checkin_response` was never written
by the app.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_table("checkin_response")


def downgrade() -> None:
    op.create_table(
        "checkin_response",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cycle_id", sa.Integer(), nullable=False),
        sa.Column("pair_id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("met", sa.Boolean(), nullable=True),
        sa.Column("sessions", sa.Integer(), nullable=False),
        sa.Column("topics_covered", sa.JSON(), nullable=False),
        sa.Column("notes", sa.String(length=3000), nullable=True),
        sa.Column("rating", sa.Integer(), nullable=True),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["cycle_id"], ["checkin_cycle.id"]),
        sa.ForeignKeyConstraint(["pair_id"], ["pair.id"]),
        sa.ForeignKeyConstraint(["participant_id"], ["participant.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("cycle_id", "participant_id"),
    )
    op.create_index("ix_checkin_response_cycle_id", "checkin_response", ["cycle_id"])
    op.create_index("ix_checkin_response_pair_id", "checkin_response", ["pair_id"])
