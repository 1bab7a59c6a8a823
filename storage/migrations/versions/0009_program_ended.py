"""programme lifecycle: `ended` once it is over, its surveys closed and its last digest queued

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06

The schema is frozen here (plain SQLAlchemy types, no live models).
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

BEFORE = "'active', 'archived'"
AFTER = "'active', 'ended', 'archived'"


def upgrade() -> None:
    with op.batch_alter_table("program") as batch_op:
        batch_op.drop_constraint("ck_program_status", type_="check")
        batch_op.create_check_constraint("ck_program_status", f"status IN ({AFTER})")


def downgrade() -> None:
    op.execute("UPDATE program SET status = 'archived' WHERE status = 'ended'")
    with op.batch_alter_table("program") as batch_op:
        batch_op.drop_constraint("ck_program_status", type_="check")
        batch_op.create_check_constraint("ck_program_status", f"status IN ({BEFORE})")
