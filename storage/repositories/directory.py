"""The directory as Slack shows it: workspace settings (which profile fields hold what), roster
entries read from Slack's profiles, and the people still taking part somewhere."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from storage.models import (
    Participant,
    ParticipantStatus,
    RosterEntry,
    RosterSource,
    WorkspaceSetting,
    utcnow,
)
from storage.repositories.roster import roster_entry

# Which custom profile fields hold the department, manager and office; whether to read the title.
SLACK_FIELDS_SETTING = "roster.slack_fields"
ACTIVE_STATUSES = (ParticipantStatus.WAITING, ParticipantStatus.PAIRED)


def workspace_setting(session: Session, key: str) -> dict[str, Any]:
    row = session.get(WorkspaceSetting, key)
    return dict(row.value) if row is not None else {}


def set_workspace_setting(
    session: Session, key: str, value: dict[str, Any], *, by: str | None
) -> bool:
    """Stores the setting; returns whether it changed."""
    row = session.get(WorkspaceSetting, key)
    if row is not None and row.value == value:
        return False
    if row is None:
        row = WorkspaceSetting(key=key)
    row.value = dict(value)  # a new dict, so the JSON column is written
    row.updated_by = by
    row.updated_at = utcnow()
    session.add(row)
    session.flush()
    return True


def active_user_ids(session: Session) -> list[str]:
    """Everyone waiting or paired in any programme (whatever its stage), each once."""
    rows = session.exec(
        select(Participant.slack_user_id)
        .where(col(Participant.status).in_(list(ACTIVE_STATUSES)))
        .distinct()
        .order_by(Participant.slack_user_id)
    ).all()
    return list(rows)


def roster_user_ids(session: Session) -> list[str]:
    """Everyone the roster lists who has not left."""
    rows = session.exec(
        select(RosterEntry.slack_user_id)
        .where(col(RosterEntry.left_at).is_(None))
        .order_by(RosterEntry.slack_user_id)
    ).all()
    return list(rows)


def roster_entries_of(session: Session, user_ids: Sequence[str]) -> dict[str, RosterEntry]:
    """These people's entries (left ones too), by Slack user id."""
    if not user_ids:
        return {}
    rows = session.exec(
        select(RosterEntry).where(col(RosterEntry.slack_user_id).in_(list(user_ids)))
    ).all()
    return {row.slack_user_id: row for row in rows}


def upsert_slack_roster_entry(
    session: Session, user_id: str, values: dict[str, str | None], at: datetime
) -> str:
    """Writes what Slack's profile says into the person's roster entry with source "slack".

    An entry from a roster file wins: it is left alone ("kept"). Returns "created",
    "changed", "unchanged" or "kept"."""
    entry = roster_entry(session, user_id)
    if entry is not None and entry.source == RosterSource.FILE:
        return "kept"
    if entry is None:
        entry = RosterEntry(slack_user_id=user_id, source=RosterSource.SLACK, updated_at=at)
        for name, value in values.items():
            setattr(entry, name, value)
        session.add(entry)
        session.flush()
        return "created"
    changed = {k: v for k, v in values.items() if getattr(entry, k) != v}
    if not changed and entry.left_at is None:
        return "unchanged"
    for name, value in changed.items():
        setattr(entry, name, value)
    entry.left_at = None
    entry.left_reason = None
    entry.updated_at = at
    session.add(entry)
    return "changed"


def mark_roster_left(session: Session, user_id: str, reason: str, at: datetime) -> bool:
    """Notes on the person's roster entry (if any) that they left, and why; False when there
    is no entry or it says so already."""
    entry = roster_entry(session, user_id)
    if entry is None or entry.left_at is not None:
        return False
    entry.left_at = at
    entry.left_reason = reason[:40]
    session.add(entry)
    return True
