"""The audit log: who did what and when. Written in the same transaction as the action."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from storage.models import AuditEvent


def record_audit(
    session: Session,
    *,
    actor: str | None,
    action: str,
    program_id: int | None = None,
    target: str | None = None,
    detail: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> AuditEvent:
    """Adds one entry; `actor` None means a scheduled job. `detail` holds ids and counts only."""
    event = AuditEvent(
        actor_slack_id=actor,
        action=action,
        program_id=program_id,
        target=target,
        detail=detail or {},
    )
    if at is not None:
        event.at = at
    session.add(event)
    return event


def audit_events(
    session: Session,
    *,
    program_ids: Sequence[int] | None = None,
    since: datetime | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> Sequence[AuditEvent]:
    """Newest first; `program_ids` None means every programme and workspace-wide entries."""
    query = select(AuditEvent)
    if program_ids is not None:
        query = query.where(col(AuditEvent.program_id).in_(list(program_ids)))
    if since is not None:
        query = query.where(col(AuditEvent.at) >= since)
    query = query.order_by(col(AuditEvent.at).desc(), col(AuditEvent.id).desc())
    if offset:
        query = query.offset(offset)
    if limit is not None:
        query = query.limit(limit)
    return session.exec(query).all()
