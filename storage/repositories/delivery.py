"""Delivery: the outbox's failed messages for reports, and the ledger of Slack event ids
already processed. (Queuing, claiming and cancelling messages is bot/delivery/outbox.py's.)"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, update
from sqlmodel import Session, col, select

from storage.models import OutboxMessage, OutboxStatus, ProcessedEvent
from storage.repositories.common import insert_once


def failed_messages(session: Session, program_id: int | None) -> Sequence[OutboxMessage]:
    """Messages the outbox gave up on (newest first), for the admins' report and Home.

    `last_error` says why (e.g. `account_inactive`, `channel_not_found`); `uncertain` means the
    last attempt may have reached the person after all. `program_id=None`: every programme.
    """
    query = select(OutboxMessage).where(OutboxMessage.status == OutboxStatus.FAILED)
    if program_id is not None:
        query = query.where(OutboxMessage.program_id == program_id)
    return session.exec(query.order_by(col(OutboxMessage.failed_at).desc())).all()


def unreported_failures(session: Session) -> Sequence[OutboxMessage]:
    """Messages the outbox gave up on that no delivery report has told of yet, oldest first
    (every programme's: the admins are the workspace's)."""
    return session.exec(
        select(OutboxMessage)
        .where(
            OutboxMessage.status == OutboxStatus.FAILED,
            col(OutboxMessage.reported_at).is_(None),
        )
        .order_by(col(OutboxMessage.id))
    ).all()


def mark_reported(session: Session, message_ids: Sequence[int], at: datetime) -> None:
    """Records that a delivery report told of these failures."""
    if message_ids:
        session.execute(
            update(OutboxMessage)
            .where(col(OutboxMessage.id).in_(list(message_ids)))
            .values(reported_at=at)
            .execution_options(synchronize_session=False)
        )


def record_event(session: Session, event_id: str, seen_at: datetime) -> bool:
    """Remembers `event_id`; False when it was remembered before (by any worker or replica)."""
    return (
        insert_once(session, ProcessedEvent, ["event_id"], event_id=event_id, seen_at=seen_at)
        is not None
    )


def prune_events(session: Session, before: datetime) -> int:
    """Forgets event ids seen before `before` (Slack stops re-delivering within minutes)."""
    result = session.execute(delete(ProcessedEvent).where(col(ProcessedEvent.seen_at) < before))
    return int(result.rowcount)  # type: ignore[attr-defined]
