"""Exactly-once delivery of messages through the `outbox_message` table.

A message is enqueued under a unique dedupe key (a second enqueue is a no-op). Senders claim due
rows with one conditional UPDATE (`status='pending'` → `'sending'`, tagged with a claim token):
on SQLite writes are serialised, on PostgreSQL the row lock and re-check of the WHERE clause
mean two replicas never claim the same row. Only the claimer sends, then marks the row sent.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from storage.db import Database
from storage.models import OutboxMessage, OutboxStatus, utcnow

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 5
BATCH = 50
STALE_CLAIM = timedelta(minutes=10)

# kind -> hook run in the same transaction that marks a message sent (e.g. remember a channel).
# The caller passes them (bot.services builds them): nothing is registered at import time.
SentHook = Callable[[Session, OutboxMessage], None]
SentHooks = Mapping[str, SentHook]


def enqueue(
    session: Session,
    *,
    key: str,
    kind: str,
    recipient: str,
    message: dict[str, Any],
    program_id: int | None = None,
    not_before: datetime | None = None,
    extra: dict[str, Any] | None = None,
) -> OutboxMessage | None:
    """Queue a message; returns None when the same key was queued before (nothing is added)."""
    row = OutboxMessage(
        dedupe_key=key,
        kind=kind,
        recipient=recipient,
        payload={"message": message, **(extra or {})},
        program_id=program_id,
        not_before=not_before or utcnow(),
    )
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        return None
    return row


def _claim(db: Database, token: str, keys: Iterable[str] | None, now: datetime) -> list[int]:
    def work(session: Session) -> list[int]:
        due = select(OutboxMessage.id).where(
            OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.not_before <= now
        )
        if keys is not None:
            due = due.where(col(OutboxMessage.dedupe_key).in_(list(keys)))
        due = due.order_by(col(OutboxMessage.id)).limit(BATCH)
        session.execute(
            update(OutboxMessage)
            .where(
                col(OutboxMessage.id).in_(due.scalar_subquery()),
                OutboxMessage.status == OutboxStatus.PENDING,
            )
            .values(status=OutboxStatus.SENDING, claimed_by=token, claimed_at=now)
            .execution_options(synchronize_session=False)
        )
        return list(
            session.exec(
                select(OutboxMessage.id).where(
                    OutboxMessage.claimed_by == token,
                    OutboxMessage.status == OutboxStatus.SENDING,
                )
            ).all()
        )

    return db.run(work)


def _send(client: WebClient, row: OutboxMessage) -> tuple[str, str]:
    message = dict(row.payload["message"])
    channel = row.recipient
    if channel.startswith(("U", "W")):  # one or more people: open the (group) DM first
        channel = client.conversations_open(users=row.recipient)["channel"]["id"]
    response = client.chat_postMessage(channel=channel, **message)
    return str(response["channel"]), str(response["ts"])


def _release_stale_claims(db: Database, now: datetime) -> None:
    """A replica that died mid-send leaves 'sending' rows: give them back after a while."""

    def work(session: Session) -> None:
        session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.status == OutboxStatus.SENDING,
                col(OutboxMessage.claimed_at) < now - STALE_CLAIM,
            )
            .values(status=OutboxStatus.PENDING, claimed_by=None)
            .execution_options(synchronize_session=False)
        )

    db.run(work)


def flush(
    db: Database,
    client: WebClient,
    *,
    keys: Iterable[str] | None = None,
    owner: str = "app",
    budget_seconds: float = 0.0,
    hooks: SentHooks | None = None,
) -> int:
    """Sends due messages (or only `keys`); returns how many this call sent.

    One batch at least; with a budget, further batches until it is spent or nothing is due
    (the scheduler's run), so a large backlog drains without one call holding a thread forever.
    """
    wanted = list(keys) if keys is not None else None
    if wanted is None:
        _release_stale_claims(db, utcnow())
    deadline = time.monotonic() + budget_seconds
    sent = 0
    while True:
        token = f"{owner}:{uuid.uuid4().hex[:12]}"
        claimed = _claim(db, token, wanted, utcnow())
        sent += sum(_deliver(db, client, message_id, hooks or {}) for message_id in claimed)
        if len(claimed) < BATCH or time.monotonic() >= deadline:
            return sent


def _deliver(db: Database, client: WebClient, message_id: int, hooks: SentHooks) -> bool:
    with db.session() as session:
        row = session.get(OutboxMessage, message_id)
    if row is None:  # erased with the person it was for
        return False
    try:
        channel_id, ts = _send(client, row)
    except SlackApiError as error:
        _record_failure(db, message_id, str(error.response.get("error")))
        return False
    except Exception as error:  # noqa: BLE001 - network trouble: retry later
        _record_failure(db, message_id, type(error).__name__)
        return False
    with db.session() as session:
        row = session.get(OutboxMessage, message_id)
        if row is None:
            return False
        row.status = OutboxStatus.SENT
        row.sent_at = utcnow()
        row.channel_id = channel_id
        row.message_ts = ts
        row.attempts += 1
        session.add(row)
        hook = hooks.get(row.kind)
        if hook is not None:
            hook(session, row)
    return True


def _record_failure(db: Database, message_id: int, error: str) -> None:
    log.warning("outbox send failed", extra={"outbox_id": message_id, "error": error})
    with db.session() as session:
        row = session.get(OutboxMessage, message_id)
        if row is None:
            return
        row.attempts += 1
        row.last_error = error[:500]
        row.claimed_by = None
        if row.attempts >= MAX_ATTEMPTS:
            row.status = OutboxStatus.FAILED
        else:
            row.status = OutboxStatus.PENDING
            row.not_before = utcnow() + timedelta(minutes=2**row.attempts)
        session.add(row)
