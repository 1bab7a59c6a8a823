"""The whole product's data model (SQLModel tables).

Designed up front for every wave: programmes (cohorts over time), participants, pairs and their
history, match runs, goals, check-in cycles and responses, pulse surveys with anonymous answers,
shout-outs, milestones, and an outbox plus job-run ledger for exactly-once delivery.
Schema changes go through Alembic migrations in `storage/migrations`.
"""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Column,
    DateTime,
    Index,
    LargeBinary,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

from bot import clock


def utcnow() -> datetime:
    """Now from the app's clock (bot.clock): freezegun, the sandbox and the demo can move it."""
    return clock.utcnow()


class UTCDateTime(TypeDecorator[datetime]):
    """Always timezone-aware UTC on the way out (SQLite forgets the zone on the way in)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _ts(nullable: bool = True, **kwargs: Any) -> Any:
    """A timezone-aware timestamp column (SQLite stores it as text, PostgreSQL as timestamptz)."""
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=nullable), **kwargs)


def _created() -> Any:
    return Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


def _json(default: Any) -> Any:
    factory = list if isinstance(default, list) else dict
    return Field(default_factory=factory, sa_column=Column(JSON, nullable=False))


# Topic choices are queried in SQL (json_each on SQLite, jsonb_array_elements on PostgreSQL).
TOPIC_LIST = JSON().with_variant(JSONB(), "postgresql")


def _topics() -> Any:
    return Field(default_factory=list, sa_column=Column(TOPIC_LIST, nullable=False))


def _one_of(column: str, values: type[StrEnum], table: str) -> CheckConstraint:
    """CHECK that a status-like column holds one of the enum's values."""
    allowed = ", ".join(f"'{value}'" for value in values)
    return CheckConstraint(f"{column} IN ({allowed})", name=f"ck_{table}_{column}")


def _only_one(name: str, columns: list[str], where: str) -> Index:
    """A partial unique index: at most one row per `columns` where `where` holds."""
    return Index(
        name,
        *columns,
        unique=True,
        sqlite_where=text(where),
        postgresql_where=text(where),
    )


class Role(StrEnum):
    MENTOR = "mentor"
    MENTEE = "mentee"


class ProgramStatus(StrEnum):
    """A programme's life: its owners prepare it (draft), people join (enrolling), pairs meet
    (running), it ends (past its end date, surveys closed, last digest queued) and is put away
    (archived). Several programmes live at the same time."""

    DRAFT = "draft"
    ENROLLING = "enrolling"
    RUNNING = "running"
    ENDED = "ended"
    ARCHIVED = "archived"


# People may join (and see the programme) while it enrolls or runs.
LIVE_STATUSES = (ProgramStatus.ENROLLING, ProgramStatus.RUNNING)


class JoinPolicy(StrEnum):
    EVERYONE = "everyone"
    INVITED = "invited"  # only people on its invitation list (program_invite)


class ParticipantStatus(StrEnum):
    WAITING = "waiting"  # enrolled, in the matching pool
    PAIRED = "paired"  # has an active pair (a mentor may still have spare capacity)
    LEFT = "left"  # left the programme; personal data may be erased


class PairStatus(StrEnum):
    PROPOSED = "proposed"  # in a match run, awaiting admin review; nobody told
    ACTIVE = "active"  # approved and introduced
    ENDED = "ended"  # re-matched, left, or completed
    DISCARDED = "discarded"  # proposal removed by an admin or superseded by a re-run


class MatchRunStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"  # its reason no longer held when it was due: never sent


class RematchStatus(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"
    DECLINED = "declined"


class GoalStatus(StrEnum):
    OPEN = "open"
    DONE = "done"
    DROPPED = "dropped"


class CycleStatus(StrEnum):
    """Check-in cycles and pulse surveys."""

    OPEN = "open"
    CLOSED = "closed"


class JobRunStatus(StrEnum):
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class Program(SQLModel, table=True):
    __tablename__ = "program"
    __table_args__ = (
        _one_of("status", ProgramStatus, "program"),
        _one_of("join_policy", JoinPolicy, "program"),
    )

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=150)
    goals: list[str] = _json([])
    start_date: date | None = None
    end_date: date | None = None
    enrollment_open: bool = True
    checkin_cadence: str = Field(default="monthly", max_length=20)
    pulse_cadence: str = Field(default="quarterly", max_length=20)
    # [{"id": "ai_tools", "label": "AI tools"}, {"id": "t", "label": "...", "archived": true}]
    # An id never changes once assigned (renames keep it); removed topics stay, archived.
    topic_catalogue: list[dict[str, Any]] = _json([])
    mentor_capacity: int = 1
    anonymity_threshold: int = 5
    community_channel: str | None = Field(default=None, max_length=100)
    # The admins' kill switch: while set, the outbox sends none of the programme's messages.
    messages_held: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    # Extension point: matching weights, quiet hours, send hour, ... (documented in README).
    settings: dict[str, Any] = _json({})
    status: str = Field(default=ProgramStatus.RUNNING, max_length=20, index=True)
    join_policy: str = Field(
        default=JoinPolicy.EVERYONE, max_length=20, sa_column_kwargs={"server_default": "everyone"}
    )
    # The programme this cohort was started from ("new cohort from this programme").
    template_of: int | None = Field(default=None, foreign_key="program.id")
    # The IANA zone the programme's dates (start, end, cadences) are interpreted in.
    timezone: str = Field(default="UTC", max_length=64, sa_column_kwargs={"server_default": "UTC"})
    created_by: str | None = Field(default=None, max_length=32)
    created_at: datetime = _created()
    updated_at: datetime = _created()


class ProgramOwner(SQLModel, table=True):
    """Someone who runs one programme (its settings, matching, report, recognition); the
    workspace's super-admins (ADMIN_USER_IDS, Slack admins) own every programme."""

    __tablename__ = "program_owner"
    __table_args__ = (UniqueConstraint("program_id", "slack_user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    program_id: int = Field(foreign_key="program.id", index=True)
    slack_user_id: str = Field(max_length=32, index=True)
    added_by: str | None = Field(default=None, max_length=32)
    added_at: datetime = _created()


class ProgramInvite(SQLModel, table=True):
    """Who may join a programme open to invited people only (alumni, a chosen group)."""

    __tablename__ = "program_invite"
    __table_args__ = (UniqueConstraint("program_id", "slack_user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    program_id: int = Field(foreign_key="program.id", index=True)
    slack_user_id: str = Field(max_length=32, index=True)
    invited_by: str | None = Field(default=None, max_length=32)
    invited_at: datetime = _created()


class Participant(SQLModel, table=True):
    __tablename__ = "participant"
    __table_args__ = (
        UniqueConstraint("program_id", "slack_user_id"),
        _one_of("role", Role, "participant"),
        _one_of("status", ParticipantStatus, "participant"),
    )

    id: int | None = Field(default=None, primary_key=True)
    program_id: int = Field(foreign_key="program.id", index=True)
    slack_user_id: str = Field(max_length=32, index=True)
    role: str = Field(max_length=10)
    status: str = Field(default=ParticipantStatus.WAITING, max_length=20, index=True)
    display_name: str | None = Field(default=None, max_length=200)
    department: str | None = Field(default=None, max_length=100)
    seniority: str | None = Field(default=None, max_length=30)
    topics_offered: list[str] = _topics()
    topics_wanted: list[str] = _topics()
    development_areas: list[str] = _topics()
    personal_goals: str | None = Field(default=None, max_length=3000)
    meeting_frequency: str | None = Field(default=None, max_length=20)
    meeting_format: str | None = Field(default=None, max_length=20)
    success_definition: str | None = Field(default=None, max_length=3000)
    available_days: list[str] = _json([])
    time_of_day: str | None = Field(default=None, max_length=20)
    manager_slack_id: str | None = Field(default=None, max_length=32)
    avoid_slack_ids: list[str] = _json([])
    shoutout_consent: bool = False
    timezone: str | None = Field(default=None, max_length=64)
    utc_offset_minutes: int = 0
    locale: str = Field(default="en", max_length=10)
    training_read_at: datetime | None = _ts()
    enrolled_at: datetime = _created()
    updated_at: datetime = _created()
    left_at: datetime | None = _ts()
    # Why they left when it was not their own choice ("unreachable": Slack refuses every
    # message to them, e.g. a deactivated account); None when they left themselves.
    left_reason: str | None = Field(default=None, max_length=40)
    erased_at: datetime | None = _ts()
    # No check-ins or nudges before this day (holiday, busy season).
    paused_until: date | None = None
    # Where they work: one of the programme's offices, "remote", or None (not asked yet).
    office: str | None = Field(default=None, max_length=100)
    # Languages they can meet in besides their Slack language (locale codes, e.g. "en").
    languages: list[str] = _json([])


class MatchRun(SQLModel, table=True):
    """One matching proposal an admin reviews; its pairs are PROPOSED until approved."""

    __tablename__ = "match_run"
    __table_args__ = (
        _one_of("status", MatchRunStatus, "match_run"),
        _only_one("uq_match_run_one_open", ["program_id"], "status = 'open'"),
    )

    id: int | None = Field(default=None, primary_key=True)
    program_id: int = Field(foreign_key="program.id", index=True)
    status: str = Field(default=MatchRunStatus.OPEN, max_length=20)
    created_by: str | None = Field(default=None, max_length=32)
    # [{"participant_id": 1, "role": "mentee", "reason": {"code": ..., "params": {...}}}]
    waiting_list: list[dict[str, Any]] = _json([])
    total_score: int = 0
    created_at: datetime = _created()
    closed_at: datetime | None = _ts()


class Pair(SQLModel, table=True):
    __tablename__ = "pair"
    __table_args__ = (
        Index("ix_pair_program_status", "program_id", "status"),
        _one_of("status", PairStatus, "pair"),
    )

    id: int | None = Field(default=None, primary_key=True)
    program_id: int = Field(foreign_key="program.id")
    match_run_id: int | None = Field(default=None, foreign_key="match_run.id", index=True)
    mentor_id: int = Field(foreign_key="participant.id", index=True)
    mentee_id: int = Field(foreign_key="participant.id", index=True)
    status: str = Field(default=PairStatus.PROPOSED, max_length=20)
    score: int = 0
    reasons: list[dict[str, Any]] = _json([])
    conversation_id: str | None = Field(default=None, max_length=32)
    created_at: datetime = _created()
    approved_at: datetime | None = _ts()
    approved_by: str | None = Field(default=None, max_length=32)
    introduced_at: datetime | None = _ts()
    ended_at: datetime | None = _ts()
    end_reason: str | None = Field(default=None, max_length=40)
    last_met_at: datetime | None = _ts()


class PairEvent(SQLModel, table=True):
    """The pair's history: proposed, approved, introduced, rematch requested, ended, ..."""

    __tablename__ = "pair_event"

    id: int | None = Field(default=None, primary_key=True)
    pair_id: int = Field(foreign_key="pair.id", index=True)
    kind: str = Field(max_length=40)
    actor_slack_id: str | None = Field(default=None, max_length=32)
    detail: dict[str, Any] = _json({})
    created_at: datetime = _created()


class RematchRequest(SQLModel, table=True):
    """A private request to be re-matched; only admins see who asked."""

    __tablename__ = "rematch_request"
    __table_args__ = (_one_of("status", RematchStatus, "rematch_request"),)

    id: int | None = Field(default=None, primary_key=True)
    pair_id: int = Field(foreign_key="pair.id", index=True)
    requested_by: int = Field(foreign_key="participant.id")
    reason: str | None = Field(default=None, max_length=1000)
    status: str = Field(default=RematchStatus.OPEN, max_length=20)
    created_at: datetime = _created()
    resolved_at: datetime | None = _ts()
    resolved_by: str | None = Field(default=None, max_length=32)


class Goal(SQLModel, table=True):
    __tablename__ = "goal"
    __table_args__ = (_one_of("status", GoalStatus, "goal"),)

    id: int | None = Field(default=None, primary_key=True)
    pair_id: int = Field(foreign_key="pair.id", index=True)
    title: str = Field(max_length=300)
    measure: str | None = Field(default=None, max_length=500)
    target_date: date | None = None
    progress: int = 0  # percent
    status: str = Field(default=GoalStatus.OPEN, max_length=20)
    created_by: str | None = Field(default=None, max_length=32)
    created_at: datetime = _created()
    updated_at: datetime = _created()


class CheckInCycle(SQLModel, table=True):
    __tablename__ = "checkin_cycle"
    __table_args__ = (
        UniqueConstraint("program_id", "period"),
        _one_of("status", CycleStatus, "checkin_cycle"),
    )

    id: int | None = Field(default=None, primary_key=True)
    program_id: int = Field(foreign_key="program.id", index=True)
    period: str = Field(max_length=20)  # e.g. "2026-12"
    opens_at: datetime = _created()
    closes_at: datetime | None = _ts()
    status: str = Field(default=CycleStatus.OPEN, max_length=20)


class CheckInRequestStatus(StrEnum):
    ASKED = "asked"
    MET = "met"
    NOT_YET = "not_yet"
    SNOOZED = "snoozed"


class CheckInRequest(SQLModel, table=True):
    """One person's check-in for one pair in one cycle (a mentor of two mentees has two).

    The prompt carries this row's id, so an answer belongs to the prompt's cycle whatever day
    it arrives; answering again updates the row. Nudges and escalation read these rows.
    """

    __tablename__ = "checkin_request"
    __table_args__ = (
        UniqueConstraint("cycle_id", "pair_id", "participant_id"),
        Index("ix_checkin_request_pair_cycle", "pair_id", "cycle_id"),
        _one_of("status", CheckInRequestStatus, "checkin_request"),
    )

    id: int | None = Field(default=None, primary_key=True)
    cycle_id: int = Field(foreign_key="checkin_cycle.id", index=True)
    pair_id: int = Field(foreign_key="pair.id")
    participant_id: int = Field(foreign_key="participant.id", index=True)
    status: str = Field(default=CheckInRequestStatus.ASKED, max_length=20)
    # {"topic": "ai_tools" | goal title, "format": "hands_on"}: what this cycle suggested.
    suggestion: dict[str, Any] = _json({})
    asked_at: datetime = _created()
    answered_at: datetime | None = _ts()
    met_on: date | None = None
    duration_minutes: int | None = None
    topics_covered: str | None = Field(default=None, max_length=1000)
    learned: str | None = Field(default=None, max_length=2000)
    taught: str | None = Field(default=None, max_length=2000)
    rating: int | None = None
    notes: str | None = Field(default=None, max_length=3000)  # private to the pair


class PulseKind(StrEnum):
    PULSE = "pulse"  # the regular pulse survey
    FINAL = "final"  # the end-of-programme survey (replaces the last pulse)
    MATCH_CHECK = "match_check"  # "Is your match working?" answers of one month


def _random_key() -> str:
    return secrets.token_hex(16)


class PulseRound(SQLModel, table=True):
    """One survey round.

    Anonymity (see bot/domain/pulse.py): while the round is open its answers are sealed ballots
    that only the app's secret opens; nothing here or in the tables below records who gave
    which answer, when, or in which order. `answered` is set when the round closes (while it is
    open it is the number of participation markers). `key_salt` makes the round's key with the
    app's secret; it is deleted at close, with the ballots and markers.
    """

    __tablename__ = "pulse_round"
    __table_args__ = (
        UniqueConstraint("program_id", "kind", "period"),
        _one_of("status", CycleStatus, "pulse_round"),
        _one_of("kind", PulseKind, "pulse_round"),
    )

    id: int | None = Field(default=None, primary_key=True)
    program_id: int = Field(foreign_key="program.id", index=True)
    kind: str = Field(default=PulseKind.PULSE, max_length=20)
    period: str = Field(max_length=20)  # the opening day, "2027-02-12" (a month for checks)
    opens_at: datetime = _created()
    closes_at: datetime | None = _ts()  # the answer window's end
    closed_at: datetime | None = _ts()  # when results became visible
    status: str = Field(default=CycleStatus.OPEN, max_length=20)
    invited: int = 0
    answered: int = 0
    reminded_at: datetime | None = _ts()
    key_salt: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))


class PulseParticipation(SQLModel, table=True):
    """Who has answered a round (refuses a second answer): a marker, the keyed hash of the
    Slack user id (and pair, for match checks) under the round's key, so it survives erasure
    and re-joining without naming anyone. No time, no order: on SQLite the table has no rowid,
    so rows are stored by marker. Deleted when the round closes."""

    __tablename__ = "pulse_participation"
    __table_args__ = ({"sqlite_with_rowid": False},)

    round_id: int = Field(foreign_key="pulse_round.id", primary_key=True)
    marker: str = Field(primary_key=True, max_length=64)


class PulseInvitation(SQLModel, table=True):
    """Who may answer a round: markers like the participation's, keyed apart from them so the
    two lists cannot be joined. Deleted when the round closes."""

    __tablename__ = "pulse_invitation"
    __table_args__ = ({"sqlite_with_rowid": False},)

    round_id: int = Field(foreign_key="pulse_round.id", primary_key=True)
    marker: str = Field(primary_key=True, max_length=64)


class PulseBallot(SQLModel, table=True):
    """One sealed answer (bot/domain/ballots.py): AES-GCM under the round's key, every ballot
    of a kind the same length, stored by a random key. Opened, counted into the tallies and
    deleted when the round closes."""

    __tablename__ = "pulse_ballot"
    __table_args__ = ({"sqlite_with_rowid": False},)

    round_id: int = Field(foreign_key="pulse_round.id", primary_key=True)
    id: str = Field(default_factory=_random_key, primary_key=True, max_length=32)
    sealed: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class PulseTally(SQLModel, table=True):
    """Aggregate answer counts: n people in `dimension` gave `value` to `question`.

    Every cell of a round is created (at 0) when it opens and written once more, with the count
    of all its ballots, when it closes: no answer ever touches a cell.
    """

    __tablename__ = "pulse_tally"
    __table_args__ = ({"sqlite_with_rowid": False},)

    round_id: int = Field(foreign_key="pulse_round.id", primary_key=True)
    dimension: str = Field(primary_key=True, max_length=120)  # all | role:x | dept:x
    question: str = Field(primary_key=True, max_length=20)
    value: int = Field(primary_key=True)
    n: int = 0


class PulseText(SQLModel, table=True):
    """Free-text answers of a round: one shuffled list per question, written when the round
    closes (from its ballots) and shown only when it closed with enough respondents."""

    __tablename__ = "pulse_text"
    __table_args__ = ({"sqlite_with_rowid": False},)

    round_id: int = Field(foreign_key="pulse_round.id", primary_key=True)
    question: str = Field(primary_key=True, max_length=20)
    texts: list[str] = _json([])
    released: bool = False


class ShoutOutKind(StrEnum):
    ADMIN = "admin"  # an admin's shout-out, posted at once
    THANKS = "thanks"  # a participant's thanks to their partner, posted after approval


class ShoutOutStatus(StrEnum):
    PROPOSED = "proposed"  # thanks waiting for an admin
    POSTING = "posting"  # an admin approved; the channel post is under way
    POSTED = "posted"  # in the channel (and the consenting people were mentioned)
    PRIVATE = "private"  # nobody consented to public recognition: thanked by DM only
    REJECTED = "rejected"


class ShoutOut(SQLModel, table=True):
    __tablename__ = "shout_out"

    id: int | None = Field(default=None, primary_key=True)
    program_id: int = Field(foreign_key="program.id", index=True)
    author_slack_id: str = Field(max_length=32)
    recipient_slack_ids: list[str] = _json([])
    message: str = Field(max_length=3000)
    channel: str | None = Field(default=None, max_length=32)
    message_ts: str | None = Field(default=None, max_length=32)
    created_at: datetime = _created()
    kind: str = Field(
        default=ShoutOutKind.ADMIN, max_length=20, sa_column_kwargs={"server_default": "admin"}
    )
    status: str = Field(
        default=ShoutOutStatus.POSTED, max_length=20, sa_column_kwargs={"server_default": "posted"}
    )
    decided_by: str | None = Field(default=None, max_length=32)
    decided_at: datetime | None = _ts()


class Milestone(SQLModel, table=True):
    __tablename__ = "milestone"
    __table_args__ = (UniqueConstraint("pair_id", "kind"),)

    id: int | None = Field(default=None, primary_key=True)
    pair_id: int = Field(foreign_key="pair.id", index=True)
    kind: str = Field(max_length=40)  # first_meeting, three_sessions, completed, ...
    achieved_at: datetime = _created()
    celebrated_at: datetime | None = _ts()


class CertificateStatus(StrEnum):
    PENDING = "pending"  # owed: its outbox message shares the PDF in the person's DM
    UPLOADED = "uploaded"


class Certificate(SQLModel, table=True):
    """A certificate of participation owed to one person for one completed pair."""

    __tablename__ = "certificate"
    __table_args__ = (
        UniqueConstraint("participant_id", "pair_id"),
        _one_of("status", CertificateStatus, "certificate"),
    )

    id: int | None = Field(default=None, primary_key=True)
    program_id: int = Field(foreign_key="program.id", index=True)
    participant_id: int = Field(foreign_key="participant.id", index=True)
    pair_id: int = Field(foreign_key="pair.id")
    # What the certificate says, frozen at completion: name, role, programme, dates, figures.
    detail: dict[str, Any] = _json({})
    status: str = Field(default=CertificateStatus.PENDING, max_length=20)
    file_id: str | None = Field(default=None, max_length=32)
    created_at: datetime = _created()
    uploaded_at: datetime | None = _ts()


class StoryStatus(StrEnum):
    AWAITING_PARTNER = "awaiting_partner"
    AWAITING_ADMIN = "awaiting_admin"
    APPROVED = "approved"  # ready for the next digest
    PUBLISHED = "published"
    DECLINED = "declined"  # the partner said no
    REJECTED = "rejected"  # an admin said no


class SuccessStory(SQLModel, table=True):
    """A pair's success story: shared only after the partner agrees and an admin approves."""

    __tablename__ = "success_story"
    __table_args__ = (_one_of("status", StoryStatus, "success_story"),)

    id: int | None = Field(default=None, primary_key=True)
    program_id: int = Field(foreign_key="program.id", index=True)
    pair_id: int = Field(foreign_key="pair.id", index=True)
    author_id: int = Field(foreign_key="participant.id")
    text: str = Field(max_length=1500)
    status: str = Field(default=StoryStatus.AWAITING_PARTNER, max_length=20)
    partner_agreed_at: datetime | None = _ts()
    decided_by: str | None = Field(default=None, max_length=32)
    decided_at: datetime | None = _ts()
    published_period: str | None = Field(default=None, max_length=20)
    created_at: datetime = _created()


class OutboxMessage(SQLModel, table=True):
    """A message to send exactly once: the dedupe key is unique, a claim is a row update."""

    __tablename__ = "outbox_message"
    __table_args__ = (
        Index("ix_outbox_due", "status", "not_before"),
        _one_of("status", OutboxStatus, "outbox_message"),
    )

    id: int | None = Field(default=None, primary_key=True)
    dedupe_key: str = Field(max_length=200, unique=True)
    kind: str = Field(max_length=40)
    program_id: int | None = Field(default=None, foreign_key="program.id")
    recipient: str = Field(max_length=200)  # user id, several ids joined by "," (group DM), channel
    # What the message is about ("pair:12", "round:3"): ending it cancels what is pending.
    subject: str | None = Field(default=None, max_length=60, index=True)
    payload: dict[str, Any] = _json({})
    status: str = Field(default=OutboxStatus.PENDING, max_length=20)
    attempts: int = 0
    not_before: datetime = _created()
    claimed_by: str | None = Field(default=None, max_length=100)
    claimed_at: datetime | None = _ts()
    sent_at: datetime | None = _ts()
    channel_id: str | None = Field(default=None, max_length=32)
    message_ts: str | None = Field(default=None, max_length=32)
    last_error: str | None = Field(default=None, max_length=500)
    created_at: datetime = _created()
    # The last post may have reached Slack although we never heard back (lost answer, 5xx,
    # a replica that died mid-send): look for the message before posting again.
    uncertain: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    attempted_at: datetime | None = _ts()  # when that uncertain post was attempted
    failed_at: datetime | None = _ts()
    cancelled_because: str | None = Field(default=None, max_length=200)
    # When the admins' daily delivery report told of this failure (None: not yet).
    reported_at: datetime | None = _ts()


class JobRun(SQLModel, table=True):
    """Ledger of scheduled job runs: the unique run key makes a run happen once across replicas."""

    __tablename__ = "job_run"
    __table_args__ = (_one_of("status", JobRunStatus, "job_run"),)

    id: int | None = Field(default=None, primary_key=True)
    run_key: str = Field(max_length=200, unique=True)  # e.g. "checkins:program=1:2026-12"
    job_name: str = Field(max_length=60)
    owner: str | None = Field(default=None, max_length=100)
    status: str = Field(default=JobRunStatus.RUNNING, max_length=20)
    started_at: datetime = _created()
    finished_at: datetime | None = _ts()
    detail: dict[str, Any] = _json({})
    # A running run holds a lease; once it expires (the replica died) or the run failed,
    # another replica may take the key over. A "done" run is never run again.
    lease_until: datetime | None = _ts()
    attempts: int = Field(default=1, sa_column_kwargs={"server_default": "1"})


class ProcessedEvent(SQLModel, table=True):
    """Event ids already handled, shared by every worker and replica (Slack re-delivers)."""

    __tablename__ = "processed_event"

    id: int | None = Field(default=None, primary_key=True)
    event_id: str = Field(max_length=100, unique=True)
    seen_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False, index=True)
    )


# The roster, recruiting and the audit log -------------------------------------------------


class RosterSource(StrEnum):
    FILE = "file"  # an HR file imported by CLI, modal or DM
    SLACK = "slack"  # Slack's profile fields, mapped by an admin


class RosterEntry(SQLModel, table=True):
    """What HR says about one Slack user. Matching's reporting-line exclusion reads
    `manager_slack_id` from here first; nothing here is shown to others unless the person shared
    it at enrollment."""

    __tablename__ = "roster_entry"
    __table_args__ = (_one_of("source", RosterSource, "roster_entry"),)

    id: int | None = Field(default=None, primary_key=True)
    slack_user_id: str = Field(max_length=32, unique=True)
    email: str | None = Field(default=None, max_length=254, index=True)
    department: str | None = Field(default=None, max_length=100)
    manager_slack_id: str | None = Field(default=None, max_length=32, index=True)
    title: str | None = Field(default=None, max_length=200)
    office: str | None = Field(default=None, max_length=100)
    country: str | None = Field(default=None, max_length=100)
    hire_date: date | None = None
    level: int | None = None
    source: str = Field(default=RosterSource.FILE, max_length=10)
    import_id: int | None = Field(default=None, foreign_key="roster_import.id")
    updated_at: datetime = _created()
    # Missing from a full import, deactivated in Slack, or not a person who may take part.
    left_at: datetime | None = _ts()
    left_reason: str | None = Field(default=None, max_length=40)


class WorkspaceSetting(SQLModel, table=True):
    """A setting of the whole workspace rather than of one programme, e.g. which custom Slack
    profile fields hold the department, manager and office (`roster.slack_fields`)."""

    __tablename__ = "workspace_setting"

    key: str = Field(primary_key=True, max_length=60)
    value: dict[str, Any] = _json({})
    updated_by: str | None = Field(default=None, max_length=32)
    updated_at: datetime = _created()


class RosterImport(SQLModel, table=True):
    """One applied roster import: the file's digest makes re-importing the same file a no-op."""

    __tablename__ = "roster_import"

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=200)  # "cli: roster.csv", "slack: roster.csv", "slack profile"
    digest: str = Field(max_length=64, index=True)  # sha256 of the file's bytes
    full: bool = False  # a full roster: people missing from it leave
    rows: int = 0
    created: int = 0
    changed: int = 0
    left: int = 0
    created_by: str | None = Field(default=None, max_length=32)
    created_at: datetime = _created()


class CampaignStatus(StrEnum):
    SENDING = "sending"  # invitations queued; reminders still to come
    DONE = "done"  # reminders sent (or none due)
    CANCELLED = "cancelled"


class Campaign(SQLModel, table=True):
    """An invitation campaign: a segment of the roster invited to one programme in one role."""

    __tablename__ = "campaign"
    __table_args__ = (
        _one_of("status", CampaignStatus, "campaign"),
        _one_of("role", Role, "campaign"),
    )

    id: int | None = Field(default=None, primary_key=True)
    program_id: int = Field(foreign_key="program.id", index=True)
    role: str = Field(max_length=10)
    # The filters chosen: department, title_contains, level_at_least, hired_after, country, office.
    segment: dict[str, Any] = _json({})
    status: str = Field(default=CampaignStatus.SENDING, max_length=20)
    reminder_after_days: int = 7
    created_by: str | None = Field(default=None, max_length=32)
    created_at: datetime = _created()


class InviteStatus(StrEnum):
    INVITED = "invited"
    JOINED = "joined"
    DECLINED = "declined"  # "not for me": later campaigns leave the person out


class CampaignInvite(SQLModel, table=True):
    """One person invited by one campaign: joined, matched and met are read from the programme."""

    __tablename__ = "campaign_invite"
    __table_args__ = (
        UniqueConstraint("campaign_id", "slack_user_id", name="uq_campaign_invite_person"),
        _one_of("status", InviteStatus, "campaign_invite"),
    )

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id", index=True)
    slack_user_id: str = Field(max_length=32, index=True)
    status: str = Field(default=InviteStatus.INVITED, max_length=20)
    invited_at: datetime = _created()
    reminded_at: datetime | None = _ts()
    answered_at: datetime | None = _ts()


class AuditEvent(SQLModel, table=True):
    """Who did what and when: admin actions and the jobs that act on people's data. Never pulse
    answers; `detail` holds ids and counts, not what people wrote."""

    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_event_at", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _created()
    actor_slack_id: str | None = Field(default=None, max_length=32)  # None: a scheduled job
    program_id: int | None = Field(default=None, foreign_key="program.id", index=True)
    action: str = Field(max_length=60, index=True)  # e.g. "program.settings", "roster.import"
    target: str | None = Field(default=None, max_length=200)  # e.g. "pair:12", "user:U123"
    detail: dict[str, Any] = _json({})
