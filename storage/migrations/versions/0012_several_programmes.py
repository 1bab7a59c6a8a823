"""several programmes at once: a lifecycle, owners, who may join, cohorts from templates

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06

Programmes are no longer one at a time: the unique "one active programme" index goes, and the
status becomes draft → enrolling → running → ended → archived (today's `active` programme is
`running`). Each programme has owners (`program_owner`; its creator becomes its first owner,
and the workspace's super-admins own every programme anyway), a join policy (everyone, or the
people on `program_invite`), and the programme a new cohort was started from.

The schema is frozen here (plain SQLAlchemy types, no live models).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

BEFORE = "'active', 'ended', 'archived'"
AFTER = "'draft', 'enrolling', 'running', 'ended', 'archived'"
ONE_ACTIVE = "status = 'active'"


def upgrade() -> None:
    op.drop_index("uq_program_one_active", table_name="program")
    with op.batch_alter_table("program") as batch_op:
        batch_op.drop_constraint("ck_program_status", type_="check")
    op.execute("UPDATE program SET status = 'running' WHERE status = 'active'")
    with op.batch_alter_table("program") as batch_op:
        batch_op.create_check_constraint("ck_program_status", f"status IN ({AFTER})")
        batch_op.add_column(
            sa.Column(
                "join_policy", sa.String(length=20), nullable=False, server_default="everyone"
            )
        )
        batch_op.create_check_constraint(
            "ck_program_join_policy", "join_policy IN ('everyone', 'invited')"
        )
        batch_op.add_column(sa.Column("template_of", sa.Integer(), nullable=True))
        batch_op.create_foreign_key("fk_program_template_of", "program", ["template_of"], ["id"])
    for table, who in (("program_owner", "added_by"), ("program_invite", "invited_by")):
        when = "added_at" if table == "program_owner" else "invited_at"
        op.create_table(
            table,
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("program_id", sa.Integer(), nullable=False),
            sa.Column("slack_user_id", sa.String(length=32), nullable=False),
            sa.Column(who, sa.String(length=32), nullable=True),
            sa.Column(when, sa.DateTime(timezone=True), nullable=False),
            sa.ForeignKeyConstraint(["program_id"], ["program.id"]),
            sa.PrimaryKeyConstraint("id"),
            sa.UniqueConstraint("program_id", "slack_user_id"),
        )
        with op.batch_alter_table(table) as batch_op:
            batch_op.create_index(f"ix_{table}_program_id", ["program_id"], unique=False)
            batch_op.create_index(f"ix_{table}_slack_user_id", ["slack_user_id"], unique=False)
    # Whoever created a programme runs it (the super-admins, who created it, keep every right).
    op.execute(
        "INSERT INTO program_owner (program_id, slack_user_id, added_by, added_at) "
        "SELECT id, created_by, created_by, created_at FROM program "
        "WHERE created_by IS NOT NULL"
    )


def downgrade() -> None:
    op.drop_table("program_invite")
    op.drop_table("program_owner")
    with op.batch_alter_table("program") as batch_op:
        batch_op.drop_constraint("fk_program_template_of", type_="foreignkey")
        batch_op.drop_column("template_of")
        batch_op.drop_constraint("ck_program_join_policy", type_="check")
        batch_op.drop_column("join_policy")
        batch_op.drop_constraint("ck_program_status", type_="check")
    # One programme stays active (the newest live one); the others are archived.
    op.execute(
        "UPDATE program SET status = 'archived' WHERE status IN ('draft', 'enrolling', "
        "'running') AND id < (SELECT max(id) FROM program WHERE status IN ('draft', "
        "'enrolling', 'running'))"
    )
    op.execute(
        "UPDATE program SET status = 'active' WHERE status IN ('draft', 'enrolling', 'running')"
    )
    with op.batch_alter_table("program") as batch_op:
        batch_op.create_check_constraint("ck_program_status", f"status IN ({BEFORE})")
    op.create_index(
        "uq_program_one_active",
        "program",
        ["status"],
        unique=True,
        sqlite_where=sa.text(ONE_ACTIVE),
        postgresql_where=sa.text(ONE_ACTIVE),
    )
