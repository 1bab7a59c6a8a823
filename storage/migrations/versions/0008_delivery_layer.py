"""delivery layer: cancelled messages with their reason, what a message is about, certificates
through the outbox

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06

A queued message whose reason no longer holds when it is due is `cancelled` (with
`cancelled_because`), not sent; `subject` ("pair:12", "round:3") lets ending a pair or closing a
round cancel what is pending for it. Certificates are shared by their outbox message, so their
own claim and retry columns go; a certificate still owed has its message queued again.

The schema is frozen here (plain SQLAlchemy types, no live models).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

OUTBOX_BEFORE = "'pending', 'sending', 'sent', 'failed'"
OUTBOX_AFTER = "'pending', 'sending', 'sent', 'failed', 'cancelled'"
CERTIFICATE_BEFORE = "'pending', 'uploading', 'uploaded', 'failed'"
CERTIFICATE_AFTER = "'pending', 'uploaded'"


def upgrade() -> None:
    with op.batch_alter_table("outbox_message") as batch_op:
        batch_op.add_column(sa.Column("subject", sa.String(length=60), nullable=True))
        batch_op.add_column(sa.Column("cancelled_because", sa.String(length=200), nullable=True))
        batch_op.drop_constraint("ck_outbox_message_status", type_="check")
        batch_op.create_check_constraint("ck_outbox_message_status", f"status IN ({OUTBOX_AFTER})")
        batch_op.create_index("ix_outbox_message_subject", ["subject"], unique=False)

    # A certificate not yet uploaded by the old job: its outbox message now carries the file,
    # so it is queued again (the person has not received the PDF).
    op.execute("UPDATE certificate SET status = 'pending' WHERE status IN ('uploading', 'failed')")
    op.execute(
        "UPDATE outbox_message SET status = 'pending', sent_at = NULL, failed_at = NULL, "
        "attempts = 0, uncertain = false, claimed_by = NULL, channel_id = NULL, "
        "message_ts = NULL WHERE kind = 'certificate' AND dedupe_key IN "
        "(SELECT 'certificate:' || CAST(id AS VARCHAR(20)) FROM certificate "
        "WHERE status = 'pending')"
    )
    with op.batch_alter_table("certificate") as batch_op:
        batch_op.drop_constraint("ck_certificate_status", type_="check")
        batch_op.create_check_constraint(
            "ck_certificate_status", f"status IN ({CERTIFICATE_AFTER})"
        )
        batch_op.drop_column("attempts")
        batch_op.drop_column("last_error")
        batch_op.drop_column("claimed_at")


def downgrade() -> None:
    with op.batch_alter_table("certificate") as batch_op:
        batch_op.add_column(sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("last_error", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
        batch_op.drop_constraint("ck_certificate_status", type_="check")
        batch_op.create_check_constraint(
            "ck_certificate_status", f"status IN ({CERTIFICATE_BEFORE})"
        )
    op.execute("UPDATE outbox_message SET status = 'failed' WHERE status = 'cancelled'")
    with op.batch_alter_table("outbox_message") as batch_op:
        batch_op.drop_index("ix_outbox_message_subject")
        batch_op.drop_constraint("ck_outbox_message_status", type_="check")
        batch_op.create_check_constraint("ck_outbox_message_status", f"status IN ({OUTBOX_BEFORE})")
        batch_op.drop_column("cancelled_because")
        batch_op.drop_column("subject")
