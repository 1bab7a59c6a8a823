"""sealed pulse ballots: answers as AES-GCM ballots opened at close, keyed markers for who was
invited and who answered, a key salt per round

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-08

Answers no longer update the tallies while a round is open (the WAL linked each update to its
author): each is a sealed `pulse_ballot`, counted into the tallies when the round closes.
`pulse_participation` and the new `pulse_invitation` hold markers (keyed hashes of Slack user
ids under the round's key) instead of participant ids.

The migration cannot make keyed markers (the key needs `PULSE_SECRET`, which lives outside the
database), so rounds that are open at the upgrade carry plain `legacy:<participant id>` markers
until they close: their tallies and texts so far stay, and are added to at close; who had
answered stays answered; who may still answer comes from the invitations in the outbox (surveys)
or, for a month's match checks, the members of pairs active now. Closed rounds keep their
results and lose their participation rows, which nothing reads any more.

The schema is frozen here (plain SQLAlchemy types, no live models).
"""

from __future__ import annotations

import os

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def _marker_table(name: str) -> None:
    op.create_table(
        name,
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("marker", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["round_id"], ["pulse_round.id"]),
        sa.PrimaryKeyConstraint("round_id", "marker"),
        sqlite_with_rowid=False,
    )


def upgrade() -> None:
    connection = op.get_bind()
    with op.batch_alter_table("pulse_round") as batch_op:
        batch_op.add_column(sa.Column("key_salt", sa.LargeBinary(), nullable=True))
    open_rounds = {
        int(round_id): str(kind)
        for round_id, kind in connection.execute(
            sa.text("SELECT id, kind FROM pulse_round WHERE status = 'open'")
        )
    }
    answered = [
        (int(round_id), int(participant_id))
        for round_id, participant_id in connection.execute(
            sa.text("SELECT round_id, participant_id FROM pulse_participation")
        )
        if int(round_id) in open_rounds
    ]
    op.drop_table("pulse_participation")
    _marker_table("pulse_participation")
    _marker_table("pulse_invitation")
    op.create_table(
        "pulse_ballot",
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["round_id"], ["pulse_round.id"]),
        sa.PrimaryKeyConstraint("round_id", "id"),
        sqlite_with_rowid=False,
    )

    participation = sa.table(
        "pulse_participation", sa.column("round_id", sa.Integer), sa.column("marker", sa.String)
    )
    invitation = sa.table(
        "pulse_invitation", sa.column("round_id", sa.Integer), sa.column("marker", sa.String)
    )
    if answered:
        op.bulk_insert(
            participation,
            [{"round_id": r, "marker": f"legacy:{p}"} for r, p in sorted(set(answered))],
        )
    invited: set[tuple[int, str]] = set()
    keys = connection.execute(
        sa.text("SELECT dedupe_key FROM outbox_message WHERE kind IN ('pulse', 'pulse_reminder')")
    )
    for (key,) in keys:
        _kind, round_text, participant_text = (str(key).split(":") + ["", ""])[:3]
        if round_text.isdigit() and participant_text.isdigit():
            round_id = int(round_text)
            if open_rounds.get(round_id) in ("pulse", "final"):
                invited.add((round_id, f"legacy:{int(participant_text)}"))
    pairs = connection.execute(
        sa.text("SELECT id, mentor_id, mentee_id FROM pair WHERE status = 'active'")
    ).all()
    for round_id, kind in open_rounds.items():
        if kind == "match_check":
            for pair_id, mentor_id, mentee_id in pairs:
                invited.add((round_id, f"legacy:{int(mentor_id)}:{int(pair_id)}"))
                invited.add((round_id, f"legacy:{int(mentee_id)}:{int(pair_id)}"))
    if invited:
        op.bulk_insert(invitation, [{"round_id": r, "marker": m} for r, m in sorted(invited)])
    for round_id in sorted(open_rounds):
        connection.execute(
            sa.text("UPDATE pulse_round SET key_salt = :salt WHERE id = :id"),
            {"salt": os.urandom(32), "id": round_id},
        )


def downgrade() -> None:
    """Unopened ballots and keyed markers cannot go back: ballots of rounds still open are lost,
    and only the legacy markers return as participation rows."""
    connection = op.get_bind()
    legacy = [
        (int(round_id), marker.split(":")[1])
        for round_id, marker in connection.execute(
            sa.text("SELECT round_id, marker FROM pulse_participation")
        )
        if str(marker).startswith("legacy:")
    ]
    op.drop_table("pulse_ballot")
    op.drop_table("pulse_invitation")
    op.drop_table("pulse_participation")
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
    rows = sorted({(r, int(p)) for r, p in legacy if p.isdigit()})
    if rows:
        op.bulk_insert(
            sa.table(
                "pulse_participation",
                sa.column("id", sa.String),
                sa.column("round_id", sa.Integer),
                sa.column("participant_id", sa.Integer),
            ),
            [{"id": os.urandom(16).hex(), "round_id": r, "participant_id": p} for r, p in rows],
        )
    with op.batch_alter_table("pulse_round") as batch_op:
        batch_op.drop_column("key_salt")
