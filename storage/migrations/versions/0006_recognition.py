"""recognition: shout-out kinds and approval, certificates, success stories

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 14:30:00

The schema is frozen here (plain SQLAlchemy types, no live models).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

CERTIFICATE_STATUSES = "'pending', 'uploading', 'uploaded', 'failed'"
STORY_STATUSES = (
    "'awaiting_partner', 'awaiting_admin', 'approved', 'published', 'declined', 'rejected'"
)


def upgrade() -> None:
    with op.batch_alter_table("shout_out", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("kind", sa.String(length=20), nullable=False, server_default="admin")
        )
        batch_op.add_column(
            sa.Column("status", sa.String(length=20), nullable=False, server_default="posted")
        )
        batch_op.add_column(sa.Column("decided_by", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "certificate",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("program_id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("pair_id", sa.Integer(), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("file_id", sa.String(length=32), nullable=True),
        sa.Column("last_error", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(f"status IN ({CERTIFICATE_STATUSES})", name="ck_certificate_status"),
        sa.ForeignKeyConstraint(["pair_id"], ["pair.id"]),
        sa.ForeignKeyConstraint(["participant_id"], ["participant.id"]),
        sa.ForeignKeyConstraint(["program_id"], ["program.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("participant_id", "pair_id"),
    )
    with op.batch_alter_table("certificate", schema=None) as batch_op:
        batch_op.create_index("ix_certificate_program_id", ["program_id"], unique=False)
        batch_op.create_index("ix_certificate_participant_id", ["participant_id"], unique=False)
    op.create_table(
        "success_story",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("program_id", sa.Integer(), nullable=False),
        sa.Column("pair_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.String(length=1500), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("partner_agreed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.String(length=32), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("published_period", sa.String(length=20), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(f"status IN ({STORY_STATUSES})", name="ck_success_story_status"),
        sa.ForeignKeyConstraint(["author_id"], ["participant.id"]),
        sa.ForeignKeyConstraint(["pair_id"], ["pair.id"]),
        sa.ForeignKeyConstraint(["program_id"], ["program.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("success_story", schema=None) as batch_op:
        batch_op.create_index("ix_success_story_program_id", ["program_id"], unique=False)
        batch_op.create_index("ix_success_story_pair_id", ["pair_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("success_story", schema=None) as batch_op:
        batch_op.drop_index("ix_success_story_pair_id")
        batch_op.drop_index("ix_success_story_program_id")
    op.drop_table("success_story")
    with op.batch_alter_table("certificate", schema=None) as batch_op:
        batch_op.drop_index("ix_certificate_participant_id")
        batch_op.drop_index("ix_certificate_program_id")
    op.drop_table("certificate")
    with op.batch_alter_table("shout_out", schema=None) as batch_op:
        batch_op.drop_column("decided_at")
        batch_op.drop_column("decided_by")
        batch_op.drop_column("status")
        batch_op.drop_column("kind")
