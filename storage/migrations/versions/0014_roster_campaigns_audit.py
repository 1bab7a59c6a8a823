"""the roster, invitation campaigns and the audit log

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06

- roster_entry: what HR says about each Slack user (department, manager, title, office,
  country, hire date, level), from a roster file or Slack's profile fields.
- roster_import: each applied import, with the file's digest (re-importing it is a no-op).
- campaign / campaign_invite: invitations to a programme sent to a segment of the roster.
- audit_event: who did what and when (admin actions, retention runs); never pulse answers.

The schema is frozen here (plain SQLAlchemy types, no live models).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def _timestamp(name: str, nullable: bool = True) -> sa.Column:
    # Frozen copy of storage.models.UTCDateTime's storage type.
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "roster_import",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("full", sa.Boolean(), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("created", sa.Integer(), nullable=False),
        sa.Column("changed", sa.Integer(), nullable=False),
        sa.Column("left", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=32), nullable=True),
        _timestamp("created_at", nullable=False),
    )
    op.create_index("ix_roster_import_digest", "roster_import", ["digest"])
    op.create_table(
        "roster_entry",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("slack_user_id", sa.String(length=32), nullable=False, unique=True),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("department", sa.String(length=100), nullable=True),
        sa.Column("manager_slack_id", sa.String(length=32), nullable=True),
        sa.Column("title", sa.String(length=200), nullable=True),
        sa.Column("office", sa.String(length=100), nullable=True),
        sa.Column("country", sa.String(length=100), nullable=True),
        sa.Column("hire_date", sa.Date(), nullable=True),
        sa.Column("level", sa.Integer(), nullable=True),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("import_id", sa.Integer(), sa.ForeignKey("roster_import.id"), nullable=True),
        _timestamp("updated_at", nullable=False),
        _timestamp("left_at"),
        sa.Column("left_reason", sa.String(length=40), nullable=True),
        sa.CheckConstraint("source IN ('file', 'slack')", name="ck_roster_entry_source"),
    )
    op.create_index("ix_roster_entry_email", "roster_entry", ["email"])
    op.create_index("ix_roster_entry_manager_slack_id", "roster_entry", ["manager_slack_id"])
    op.create_table(
        "campaign",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("program_id", sa.Integer(), sa.ForeignKey("program.id"), nullable=False),
        sa.Column("role", sa.String(length=10), nullable=False),
        sa.Column("segment", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("reminder_after_days", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=32), nullable=True),
        _timestamp("created_at", nullable=False),
        sa.CheckConstraint("status IN ('sending', 'done', 'cancelled')", name="ck_campaign_status"),
        sa.CheckConstraint("role IN ('mentor', 'mentee')", name="ck_campaign_role"),
    )
    op.create_index("ix_campaign_program_id", "campaign", ["program_id"])
    op.create_table(
        "campaign_invite",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("campaign_id", sa.Integer(), sa.ForeignKey("campaign.id"), nullable=False),
        sa.Column("slack_user_id", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        _timestamp("invited_at", nullable=False),
        _timestamp("reminded_at"),
        _timestamp("answered_at"),
        sa.UniqueConstraint("campaign_id", "slack_user_id", name="uq_campaign_invite_person"),
        sa.CheckConstraint(
            "status IN ('invited', 'joined', 'declined')", name="ck_campaign_invite_status"
        ),
    )
    op.create_index("ix_campaign_invite_campaign_id", "campaign_invite", ["campaign_id"])
    op.create_index("ix_campaign_invite_slack_user_id", "campaign_invite", ["slack_user_id"])
    op.create_table(
        "audit_event",
        sa.Column("id", sa.Integer(), primary_key=True),
        _timestamp("at", nullable=False),
        sa.Column("actor_slack_id", sa.String(length=32), nullable=True),
        sa.Column("program_id", sa.Integer(), sa.ForeignKey("program.id"), nullable=True),
        sa.Column("action", sa.String(length=60), nullable=False),
        sa.Column("target", sa.String(length=200), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
    )
    op.create_index("ix_audit_event_at", "audit_event", ["at"])
    op.create_index("ix_audit_event_action", "audit_event", ["action"])
    op.create_index("ix_audit_event_program_id", "audit_event", ["program_id"])


def downgrade() -> None:
    op.drop_table("audit_event")
    op.drop_table("campaign_invite")
    op.drop_table("campaign")
    op.drop_table("roster_entry")
    op.drop_table("roster_import")
