"""The outbox table: messages owed, queued in the transaction that owes them, claimed to send.

A message is enqueued under a unique dedupe key (a second enqueue is a no-op). Senders claim due
rows with one conditional UPDATE (`status='pending'` → `'sending'`, tagged with a claim token):
on SQLite writes are serialised, on PostgreSQL the row lock and re-check of the WHERE clause
mean two replicas never claim the same row. Only the claimer sends (bot/delivery/sender.py),
then marks the row sent, failed, or cancelled when its reason no longer holds.

Everything here is storage: no Slack.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, insert, or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot.clock import utcnow
from storage.models import OutboxMessage, OutboxStatus, Program

BATCH = 50
STALE_CLAIM = timedelta(minutes=10)
MAX_ATTEMPTS = 5
MAX_BACKOFF = timedelta(hours=1)


def enqueue(
    session: Session,
    *,
    key: str,
    kind: str,
    recipient: str,
    message: dict[str, Any],
    not_before: datetime,
    program_id: int | None = None,
    subject: str | None = None,
    extra: dict[str, Any] | None = None,
) -> OutboxMessage | None:
    """Queue a message; returns None when the same key was queued before (nothing is added).

    `subject` names what the message is about ("pair:12", "round:3"), so that ending that
    thing can cancel what is still pending for it (`cancel_pending`).
    """
    row = OutboxMessage(
        dedupe_key=key,
        kind=kind,
        recipient=recipient,
        payload={"message": message, **(extra or {})},
        program_id=program_id,
        subject=subject,
        not_before=not_before,
    )
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        return None
    return row


def enqueue_many(session: Session, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Queues many messages in one batched INSERT (a campaign's thousands of invitations);
    each row holds `enqueue`'s fields (key, kind, recipient, payload, not_before, program_id,
    subject). Returns the rows added, leaving out those whose key was queued before. A
    concurrent transaction queuing one of the same keys makes this one fail on the unique key,
    and its retry then finds that key queued."""
    keys = [row["key"] for row in rows]
    known: set[str] = set()
    for start in range(0, len(keys), 500):
        known.update(
            session.exec(
                select(OutboxMessage.dedupe_key).where(
                    col(OutboxMessage.dedupe_key).in_(keys[start : start + 500])
                )
            ).all()
        )
    added: dict[str, dict[str, Any]] = {}
    for row in rows:
        if row["key"] not in known and row["key"] not in added:
            added[row["key"]] = row
    if added:
        now = utcnow()
        session.execute(
            insert(OutboxMessage),
            [
                {
                    "dedupe_key": row["key"],
                    "kind": row["kind"],
                    "recipient": row["recipient"],
                    "payload": row["payload"],
                    "program_id": row.get("program_id"),
                    "subject": row.get("subject"),
                    "not_before": row["not_before"],
                    "status": OutboxStatus.PENDING.value,
                    "attempts": 0,
                    "uncertain": False,
                    "created_at": now,
                }
                for row in added.values()
            ],
        )
    return list(added.values())


def not_held() -> ColumnElement[bool]:
    """Rows of no programme, or of a programme whose messages are not held (the kill switch:
    a held programme's messages stay queued until an admin releases them)."""
    held = select(Program.id).where(col(Program.messages_held).is_(True))
    return or_(
        col(OutboxMessage.program_id).is_(None),
        col(OutboxMessage.program_id).not_in(held.scalar_subquery()),
    )


def due(now: datetime) -> ColumnElement[bool]:
    """Pending, due and not held: the one definition of what may be sent now."""
    return (
        (OutboxMessage.status == OutboxStatus.PENDING)
        & (col(OutboxMessage.not_before) <= now)
        & not_held()
    )


def claim(
    session: Session, token: str, keys: Iterable[str] | None, now: datetime, batch: int = BATCH
) -> list[int]:
    """Claims up to `batch` due rows (or due rows among `keys`) for `token`; their ids."""
    query = select(OutboxMessage.id).where(due(now))
    if keys is not None:
        query = query.where(col(OutboxMessage.dedupe_key).in_(list(keys)))
    query = query.order_by(col(OutboxMessage.id)).limit(batch)
    session.execute(
        update(OutboxMessage)
        .where(
            col(OutboxMessage.id).in_(query.scalar_subquery()),
            OutboxMessage.status == OutboxStatus.PENDING,
        )
        .values(status=OutboxStatus.SENDING, claimed_by=token, claimed_at=now)
        .execution_options(synchronize_session=False)
    )
    return list(
        session.exec(
            select(OutboxMessage.id)
            .where(
                OutboxMessage.claimed_by == token,
                OutboxMessage.status == OutboxStatus.SENDING,
            )
            .order_by(col(OutboxMessage.id))
        ).all()
    )


def count_due(session: Session, keys: list[str], now: datetime) -> int:
    rows = session.exec(
        select(OutboxMessage.id).where(col(OutboxMessage.dedupe_key).in_(keys), due(now))
    ).all()
    return len(rows)


def unclaim(session: Session, token: str, message_ids: list[int]) -> None:
    """Gives claimed rows back untried (no attempt counted): the next run sends them."""
    if not message_ids:
        return
    session.execute(
        update(OutboxMessage)
        .where(
            col(OutboxMessage.id).in_(message_ids),
            OutboxMessage.claimed_by == token,
            OutboxMessage.status == OutboxStatus.SENDING,
        )
        .values(status=OutboxStatus.PENDING, claimed_by=None)
        .execution_options(synchronize_session=False)
    )


def release_stale_claims(session: Session, now: datetime) -> None:
    """A replica that died mid-send leaves 'sending' rows. They go back to the queue as
    uncertain: the next sender first looks for them in Slack and sends only if absent."""
    session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.status == OutboxStatus.SENDING,
            col(OutboxMessage.claimed_at) < now - STALE_CLAIM,
        )
        .values(
            status=OutboxStatus.PENDING,
            claimed_by=None,
            uncertain=True,
            attempted_at=OutboxMessage.claimed_at,
        )
        .execution_options(synchronize_session=False)
    )


def own_row(session: Session, message_id: int, token: str) -> OutboxMessage | None:
    """The row, if this sender's claim still holds (a stale claim may have moved on).

    Ownership is checked by a guarded no-op UPDATE first: it takes the row's write lock (the
    database's on SQLite) before anything is read, so the changes that follow cannot land on
    a row that was deleted meanwhile (an erasure) and replaced under the same id.
    """
    owned = session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id == message_id,
            OutboxMessage.claimed_by == token,
            OutboxMessage.status == OutboxStatus.SENDING,
        )
        .values(claimed_by=token)
        .execution_options(synchronize_session=False)
    )
    if owned.rowcount != 1:  # type: ignore[attr-defined]
        return None
    return session.exec(
        select(OutboxMessage)
        .where(OutboxMessage.id == message_id)
        .execution_options(populate_existing=True)
    ).one()


def mark_sent(row: OutboxMessage, channel_id: str, ts: str, now: datetime) -> None:
    row.status = OutboxStatus.SENT
    row.sent_at = now
    row.channel_id = channel_id
    row.message_ts = ts or None
    row.attempts += 1
    row.uncertain = False
    row.cancelled_because = None  # cancelled while uncertain, then found in Slack: it was sent


def mark_cancelled(row: OutboxMessage, reason: str, now: datetime) -> None:
    """Not sent because its reason no longer holds: neither a failure nor a retry."""
    row.status = OutboxStatus.CANCELLED
    row.cancelled_because = reason[:200]
    row.failed_at = None
    row.claimed_by = None
    row.sent_at = None
    row.not_before = now


def backoff(attempts: int) -> timedelta:
    return min(timedelta(minutes=2**attempts), MAX_BACKOFF)


def cancel_pending(
    session: Session,
    reason: str,
    *,
    subject: str | None = None,
    recipient: str | None = None,
    program_id: int | None = None,
    kinds: Iterable[str] | None = None,
) -> int:
    """Cancels what is still pending about `subject`, to `recipient` and/or of `program_id`
    (at least one must be given); a row being sent right now is checked again as it leaves."""
    if subject is None and recipient is None and program_id is None:
        raise ValueError("cancel_pending needs a subject, a recipient or a programme")
    query = update(OutboxMessage).where(OutboxMessage.status == OutboxStatus.PENDING)
    if subject is not None:
        query = query.where(OutboxMessage.subject == subject)
    if recipient is not None:
        query = query.where(OutboxMessage.recipient == recipient)
    if program_id is not None:
        query = query.where(OutboxMessage.program_id == program_id)
    if kinds is not None:
        query = query.where(col(OutboxMessage.kind).in_(list(kinds)))
    result = session.execute(
        query.where(col(OutboxMessage.uncertain).is_(False))
        .values(status=OutboxStatus.CANCELLED, cancelled_because=reason[:200])
        .execution_options(synchronize_session=False)
    )
    # A row whose last post may have reached Slack (uncertain) is not cancelled blind: it
    # keeps the reason and the sender looks for it first. Found, it was sent; absent, it is
    # cancelled with this reason.
    deferred = session.execute(
        query.where(col(OutboxMessage.uncertain).is_(True))
        .values(cancelled_because=reason[:200])
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0) + int(deferred.rowcount or 0)  # type: ignore[attr-defined]


def is_queued(session: Session, key: str) -> bool:
    """Whether a message was ever queued under `key` (whatever became of it)."""
    return (
        session.exec(select(OutboxMessage.id).where(OutboxMessage.dedupe_key == key)).first()
        is not None
    )


def to_real_time(
    session: Session, keys: list[str], simulated_now: datetime, real_now: datetime
) -> int:
    """After a delivery under a simulated clock (`jobs run --at`), the pending rows among
    `keys` that were due in simulated time, or wait for a retry (Slack's Retry-After, a
    backoff), get the same wait from real now: the scheduler keeps real time and would hold
    them until the simulated date. Rows waiting for working hours keep their simulated time.
    Returns how many moved."""
    moved = 0
    rows = session.exec(
        select(OutboxMessage).where(
            col(OutboxMessage.dedupe_key).in_(keys),
            OutboxMessage.status == OutboxStatus.PENDING,
        )
    ).all()
    for row in rows:
        if row.not_before > simulated_now and row.last_error is None:
            continue
        real = real_now + max(row.not_before - simulated_now, timedelta(0))
        if real < row.not_before:
            row.not_before = real
            session.add(row)
            moved += 1
    return moved


def conversation_of(session: Session, recipient: str) -> str | None:
    """The conversation an earlier message to `recipient` was posted in, if any."""
    return session.exec(
        select(OutboxMessage.channel_id)
        .where(OutboxMessage.recipient == recipient, col(OutboxMessage.channel_id).is_not(None))
        .order_by(col(OutboxMessage.id).desc())
        .limit(1)
    ).first()


def messages_with_keys(session: Session, keys: Iterable[str]) -> list[OutboxMessage]:
    """The messages queued under `keys`, whatever became of them, oldest first."""
    wanted = list(keys)
    found: list[OutboxMessage] = []
    for start in range(0, len(wanted), 500):  # a bound parameter each: stay within SQLite's cap
        chunk = wanted[start : start + 500]
        found.extend(
            session.exec(
                select(OutboxMessage).where(col(OutboxMessage.dedupe_key).in_(chunk))
            ).all()
        )
    return sorted(found, key=lambda row: row.id or 0)


def pending_messages(session: Session, limit: int = 500) -> list[OutboxMessage]:
    """Messages still waiting to be sent, the first due first."""
    return list(
        session.exec(
            select(OutboxMessage)
            .where(OutboxMessage.status == OutboxStatus.PENDING)
            .order_by(col(OutboxMessage.not_before), col(OutboxMessage.id))
            .limit(limit)
        ).all()
    )
