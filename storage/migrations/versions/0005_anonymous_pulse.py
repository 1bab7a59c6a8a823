"""anonymous pulse: rounds, random-keyed participation, aggregate tallies, held-back text

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 15:00:00

Replaces pulse_survey / pulse_participation / pulse_answer, which could be re-linked (shared
xmin on PostgreSQL, mirrored rowids on SQLite). They never held data in a release, so they are
dropped. The schema is frozen here (plain SQLAlchemy types, no live models).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_table("pulse_answer")
    op.drop_table("pulse_participation")
    op.drop_table("pulse_survey")
    op.create_table(
        "pulse_round",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("program_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("period", sa.String(length=20), nullable=False),
        sa.Column("opens_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closes_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("invited", sa.Integer(), nullable=False),
        sa.Column("answered", sa.Integer(), nullable=False),
        sa.Column("reminded_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('open', 'closed')", name="ck_pulse_round_status"),
        sa.CheckConstraint("kind IN ('pulse', 'final', 'match_check')", name="ck_pulse_round_kind"),
        sa.ForeignKeyConstraint(["program_id"], ["program.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("program_id", "kind", "period"),
    )
    with op.batch_alter_table("pulse_round", schema=None) as batch_op:
        batch_op.create_index("ix_pulse_round_program_id", ["program_id"], unique=False)
    op.create_table(
        "pulse_participation",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["participant_id"], ["participant.id"]),
        sa.ForeignKeyConstraint(["round_id"], ["pulse_round.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("round_id", "participant_id"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "pulse_tally",
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("dimension", sa.String(length=120), nullable=False),
        sa.Column("question", sa.String(length=20), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["round_id"], ["pulse_round.id"]),
        sa.PrimaryKeyConstraint("round_id", "dimension", "question", "value"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "pulse_text",
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("question", sa.String(length=20), nullable=False),
        sa.Column("texts", sa.JSON(), nullable=False),
        sa.Column("released", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["round_id"], ["pulse_round.id"]),
        sa.PrimaryKeyConstraint("round_id", "question"),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    op.drop_table("pulse_text")
    op.drop_table("pulse_tally")
    op.drop_table("pulse_participation")
    with op.batch_alter_table("pulse_round", schema=None) as batch_op:
        batch_op.drop_index("ix_pulse_round_program_id")
    op.drop_table("pulse_round")
    op.create_table(
        "pulse_survey",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("program_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=20), nullable=False),
        sa.Column("questions", sa.JSON(), nullable=False),
        sa.Column("opens_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closes_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.CheckConstraint("status IN ('open', 'closed')", name="ck_pulse_survey_status"),
        sa.ForeignKeyConstraint(["program_id"], ["program.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("program_id", "period"),
    )
    with op.batch_alter_table("pulse_survey", schema=None) as batch_op:
        batch_op.create_index("ix_pulse_survey_program_id", ["program_id"], unique=False)
    op.create_table(
        "pulse_answer",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("survey_id", sa.Integer(), nullable=False),
        sa.Column("respondent_group", sa.String(length=20), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["survey_id"], ["pulse_survey.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("pulse_answer", schema=None) as batch_op:
        batch_op.create_index("ix_pulse_answer_survey_id", ["survey_id"], unique=False)
    op.create_table(
        "pulse_participation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("survey_id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("answered_on", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(["participant_id"], ["participant.id"]),
        sa.ForeignKeyConstraint(["survey_id"], ["pulse_survey.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("survey_id", "participant_id"),
    )
    with op.batch_alter_table("pulse_participation", schema=None) as batch_op:
        batch_op.create_index("ix_pulse_participation_survey_id", ["survey_id"], unique=False)
