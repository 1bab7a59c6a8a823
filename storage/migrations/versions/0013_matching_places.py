"""where people work and which languages they meet in: participant.office, participant.languages

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06

- participant.office: the programme office the person works in, "remote", or NULL (not asked
  yet: matching then falls back to the city of their time zone).
- participant.languages: languages the person can meet in besides their Slack language
  (locale codes, e.g. ["en"]); existing rows get [].

The schema is frozen here (plain SQLAlchemy types, no live models).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("participant") as batch_op:
        batch_op.add_column(sa.Column("office", sa.String(length=100), nullable=True))
        batch_op.add_column(
            sa.Column("languages", sa.JSON(), nullable=False, server_default=sa.text("'[]'"))
        )


def downgrade() -> None:
    with op.batch_alter_table("participant") as batch_op:
        batch_op.drop_column("languages")
        batch_op.drop_column("office")
