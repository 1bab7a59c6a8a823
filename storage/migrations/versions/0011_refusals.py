"""refusals: people Slack no longer reaches leave with a reason; failures reported once

Revision ID: 0011
Revises: 0010
Create Date: 2027-01-10

`participant.left_reason` says why someone left when it was not their choice ("unreachable":
Slack refuses every message to them). `outbox_message.reported_at` marks a failure the admins'
daily delivery report has told of, so each is reported once and none falls between two runs.
Failures from before this revision were reported by the old weekday report (or are older than
its look-back): they count as reported.

The schema is frozen here (plain SQLAlchemy types, no live models).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("participant") as batch_op:
        batch_op.add_column(sa.Column("left_reason", sa.String(length=40), nullable=True))
    with op.batch_alter_table("outbox_message") as batch_op:
        batch_op.add_column(sa.Column("reported_at", sa.DateTime(timezone=True), nullable=True))
    op.execute(
        "UPDATE outbox_message SET reported_at = COALESCE(failed_at, created_at) "
        "WHERE status = 'failed'"
    )


def downgrade() -> None:
    with op.batch_alter_table("outbox_message") as batch_op:
        batch_op.drop_column("reported_at")
    with op.batch_alter_table("participant") as batch_op:
        batch_op.drop_column("left_reason")
