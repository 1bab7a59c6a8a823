"""Exactly-once delivery of messages through the `outbox_message` table.

A message is enqueued under a unique dedupe key (a second enqueue is a no-op). Senders claim due
rows with one conditional UPDATE (`status='pending'` → `'sending'`, tagged with a claim token):
on SQLite writes are serialised, on PostgreSQL the row lock and re-check of the WHERE clause
mean two replicas never claim the same row. Only the claimer sends, then marks the row sent.

`chat.postMessage` is not idempotent, so it is never retried blindly. Each message carries its
key in Slack message metadata; when a post's outcome is unknown (the answer was lost, a 5xx, a
timeout, a replica that died mid-send) the row is marked `uncertain`, and before the next attempt
the sender looks for the key in the conversation's recent history. Permanent errors are final
(`failed`, listed by `storage.repositories.failed_messages`); rate limits and other passing
trouble wait for `not_before`.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot.slack_api import with_retries
from storage import repositories as repo
from storage.db import Database
from storage.models import OutboxMessage, OutboxStatus, Program, utcnow

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 5
BATCH = 50
STALE_CLAIM = timedelta(minutes=10)
MAX_BACKOFF = timedelta(hours=1)
METADATA_EVENT = "rm_outbox"
# How far back (before the uncertain attempt) and how deep the history is searched for a key.
RECONCILE_MARGIN = timedelta(minutes=10)
RECONCILE_PAGES = 5
# Slack errors that no retry can fix: the message is marked failed and reported to admins.
PERMANENT_ERRORS = frozenset(
    {
        "user_not_found",
        "account_inactive",
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "invalid_blocks",
        "msg_too_long",
        "no_text",
        "missing_scope",
        "cannot_dm_bot",
        "user_disabled",
        "too_many_users",
        "users_list_not_supplied",
    }
)

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


def _claim(
    db: Database, token: str, keys: Iterable[str] | None, now: datetime, batch: int = BATCH
) -> list[int]:
    def work(session: Session) -> list[int]:
        # The kill switch: a programme's held messages stay queued until an admin releases them.
        held = select(Program.id).where(col(Program.messages_held).is_(True))
        due = select(OutboxMessage.id).where(
            OutboxMessage.status == OutboxStatus.PENDING,
            OutboxMessage.not_before <= now,
            or_(
                col(OutboxMessage.program_id).is_(None),
                col(OutboxMessage.program_id).not_in(held.scalar_subquery()),
            ),
        )
        if keys is not None:
            due = due.where(col(OutboxMessage.dedupe_key).in_(list(keys)))
        due = due.order_by(col(OutboxMessage.id)).limit(batch)
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
                select(OutboxMessage.id)
                .where(
                    OutboxMessage.claimed_by == token,
                    OutboxMessage.status == OutboxStatus.SENDING,
                )
                .order_by(col(OutboxMessage.id))
            ).all()
        )

    return db.run(work)


# ------------------------------------------------------------------ the client used for sends


def delivery_client(client: WebClient) -> WebClient:
    """The same Web API connection without retry handlers.

    The app's client retries connection errors and 5xx, which is right for reads but posts a
    message twice when Slack processed it and only the answer was lost. Sends go through this
    copy; a failure comes back to the outbox, which decides (and reconciles) itself.
    """
    return with_retries(client, "delivery", [])


# ------------------------------------------------------------------ outcomes of one attempt


@dataclass(frozen=True)
class _Failure:
    error: str
    permanent: bool = False
    rate_limited: bool = False
    uncertain: bool = False  # the post may have reached Slack
    retry_after: float = 0.0


def _retry_after(error: SlackApiError) -> float:
    headers = error.response.headers or {}
    for name, value in headers.items():
        if name.lower() == "retry-after":
            try:
                return max(0.0, float(value if isinstance(value, str) else value[0]))
            except (TypeError, ValueError, IndexError):
                return 1.0
    return 0.0


def _classify(error: Exception, *, posting: bool) -> _Failure:
    """What a failed call means; `posting` when it was the non-idempotent chat.postMessage."""
    if isinstance(error, SlackApiError):
        status = error.response.status_code
        code = str(error.response.get("error") or f"http_{status}")
        if status == 429:
            return _Failure(code, rate_limited=True, retry_after=_retry_after(error) or 1.0)
        if status >= 500:  # Slack may have done the work before failing
            return _Failure(code, uncertain=posting, retry_after=_retry_after(error))
        return _Failure(code, permanent=code in PERMANENT_ERRORS)
    # Timeouts, resets, a connection dropped before the answer: the outcome is unknown.
    return _Failure(type(error).__name__, uncertain=posting)


class _SendFailed(Exception):
    def __init__(self, failure: _Failure) -> None:
        super().__init__(failure.error)
        self.failure = failure


# ------------------------------------------------------------------ sending and reconciling


def _metadata(key: str) -> dict[str, Any]:
    return {"event_type": METADATA_EVENT, "event_payload": {"key": key}}


def _is_group(recipient: str) -> bool:
    return "," in recipient


def _is_person(recipient: str) -> bool:
    return recipient.startswith(("U", "W")) and not _is_group(recipient)


def _call(action: Callable[[], Any], *, posting: bool = False) -> Any:
    try:
        return action()
    except Exception as error:  # noqa: BLE001 - every failure is classified, none is lost
        raise _SendFailed(_classify(error, posting=posting)) from error


def _open(client: WebClient, users: str) -> str:
    """conversations.open is idempotent (same channel each time): safe to repeat."""
    response = _call(lambda: client.conversations_open(users=users))
    return str(response["channel"]["id"])


def _post(client: WebClient, row: OutboxMessage) -> tuple[str, str]:
    message = {**row.payload["message"], "metadata": _metadata(row.dedupe_key)}
    # One person: post to the user id (Slack picks the DM; no Tier 3 conversations.open per
    # message). Several people (intros): the group DM has to be opened first.
    channel = _open(client, row.recipient) if _is_group(row.recipient) else row.recipient
    response = _call(
        lambda: client.chat_postMessage(channel=channel, **message),
        posting=True,
    )
    return str(response["channel"]), str(response["ts"])


def _find_posted(db: Database, client: WebClient, row: OutboxMessage) -> tuple[str, str] | None:
    """Looks for the row's key in the recent history of the conversation it was posted to."""
    if _is_group(row.recipient) or _is_person(row.recipient):
        with db.session() as session:
            known = repo.conversation_of(session, row.recipient)
        channel = known or _open(client, row.recipient)
    else:
        channel = row.recipient
    since = (row.attempted_at or row.created_at) - RECONCILE_MARGIN
    request: dict[str, Any] = {
        "channel": channel,
        "oldest": f"{since.timestamp():.6f}",
        "include_all_metadata": True,
        "limit": 200,
    }
    for _page in range(RECONCILE_PAGES):
        page = _call(lambda: client.conversations_history(**request))
        for message in page.get("messages") or []:
            metadata = message.get("metadata") or {}
            key = (metadata.get("event_payload") or {}).get("key")
            if metadata.get("event_type") == METADATA_EVENT and key == row.dedupe_key:
                return channel, str(message["ts"])
        cursor = (page.get("response_metadata") or {}).get("next_cursor")
        if not page.get("has_more") or not cursor:
            return None
        request["cursor"] = cursor
    return None


def _release_stale_claims(db: Database, now: datetime) -> None:
    """A replica that died mid-send leaves 'sending' rows. They go back to the queue as
    uncertain: the next sender first looks for them in Slack and posts only if absent."""

    def work(session: Session) -> None:
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

    db.run(work)


def flush(
    db: Database,
    client: WebClient,
    *,
    keys: Iterable[str] | None = None,
    owner: str = "app",
    budget_seconds: float = 0.0,
    hooks: SentHooks | None = None,
    pacer: Callable[[], None] | None = None,
    batch: int = BATCH,
) -> int:
    """Delivers due messages (or only `keys`); returns how many this call delivered.

    `pacer`, when given, is called before each post (it blocks to keep sends under a rate).
    `batch` rows are claimed at a time: a small batch leaves fewer rows to reconcile (one
    history lookup each, Tier 3) when a sender dies mid-batch.

    One batch at least; with a budget, further batches until it is spent or nothing is due
    (the scheduler's run), so a large backlog drains without one call holding a thread forever.
    A message found in Slack by reconciliation counts as delivered (it is marked sent).
    When Slack answers 429, the rest of the batch waits out `Retry-After` (within the budget)
    or goes back to the queue untouched, instead of meeting the same limit message by message.
    """
    wanted = list(keys) if keys is not None else None
    if wanted is None:
        _release_stale_claims(db, utcnow())
    sender = delivery_client(client)
    deadline = time.monotonic() + budget_seconds
    sent = 0
    while True:
        token = f"{owner}:{uuid.uuid4().hex[:12]}"
        claimed = _claim(db, token, wanted, utcnow(), batch)
        for index, message_id in enumerate(claimed):
            delivered, pause = _deliver(db, sender, message_id, token, hooks or {}, pacer)
            sent += delivered
            if pause > 0:
                if time.monotonic() + pause >= deadline:
                    _unclaim(db, token, claimed[index + 1 :])
                    return sent
                time.sleep(pause)
        if len(claimed) < batch or time.monotonic() >= deadline:
            return sent


def _unclaim(db: Database, token: str, message_ids: list[int]) -> None:
    """Gives claimed rows back untried (no attempt counted): the next run sends them."""
    if not message_ids:
        return

    def work(session: Session) -> None:
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

    db.run(work)


def _deliver(
    db: Database,
    client: WebClient,
    message_id: int,
    token: str,
    hooks: SentHooks,
    pacer: Callable[[], None] | None = None,
) -> tuple[bool, float]:
    """Sends one claimed row: (delivered, seconds Slack asked the posting to pause)."""
    with db.session() as session:
        row = session.get(OutboxMessage, message_id)
    if row is None or row.claimed_by != token:  # erased with its person, or not ours
        return False, 0.0
    checked = False  # whether an earlier uncertain attempt is now known not to have posted
    if row.uncertain:
        try:
            found = _find_posted(db, client, row)
        except _SendFailed as failed:
            # A lookup's limit (Tier 3) says nothing about posting: this row waits for its
            # not_before, the sender goes on with the next one at the posting pace.
            _record_failure(db, message_id, token, failed.failure, False, None)
            return False, 0.0
        if found is not None:
            log.info("outbox message found in Slack", extra={"outbox_id": message_id})
            return _mark_sent(db, message_id, token, *found, hooks=hooks), 0.0
        checked = True
    if pacer is not None:  # the pace is for posts; a lookup takes no slot
        pacer()
    attempt_at: datetime | None = None
    try:
        attempt_at = utcnow()
        channel_id, ts = _post(client, row)
    except _SendFailed as failed:
        failure = failed.failure
        _record_failure(db, message_id, token, failure, checked, attempt_at)
        return False, failure.retry_after if failure.rate_limited else 0.0
    return _mark_sent(db, message_id, token, channel_id, ts, hooks=hooks), 0.0


def _own_row(session: Session, message_id: int, token: str) -> OutboxMessage | None:
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


def _mark_sent(
    db: Database,
    message_id: int,
    token: str,
    channel_id: str,
    ts: str,
    *,
    hooks: SentHooks,
) -> bool:
    with db.session() as session:
        row = _own_row(session, message_id, token)
        if row is None:
            log.warning("outbox claim lost before marking sent", extra={"outbox_id": message_id})
            return False
        row.status = OutboxStatus.SENT
        row.sent_at = utcnow()
        row.channel_id = channel_id
        row.message_ts = ts
        row.attempts += 1
        row.uncertain = False
        session.add(row)
        hook = hooks.get(row.kind)
        if hook is not None:
            hook(session, row)
    return True


def _backoff(attempts: int) -> timedelta:
    return min(timedelta(minutes=2**attempts), MAX_BACKOFF)


def _record_failure(
    db: Database,
    message_id: int,
    token: str,
    failure: _Failure,
    checked: bool,
    attempted_at: datetime | None,
) -> None:
    log.warning(
        "outbox send failed",
        extra={
            "outbox_id": message_id,
            "error": failure.error,
            "permanent": failure.permanent,
            "uncertain": failure.uncertain,
        },
    )
    now = utcnow()
    with db.session() as session:
        row = _own_row(session, message_id, token)
        if row is None:
            return
        row.last_error = failure.error[:500]
        row.claimed_by = None
        if failure.uncertain:
            row.uncertain = True
            row.attempted_at = attempted_at
        elif checked:
            row.uncertain = False
        if failure.rate_limited:  # Slack did nothing and said when to come back
            row.status = OutboxStatus.PENDING
            row.not_before = now + timedelta(seconds=failure.retry_after)
        else:
            row.attempts += 1
            if failure.permanent or row.attempts >= MAX_ATTEMPTS:
                row.status = OutboxStatus.FAILED
                row.failed_at = now
            else:
                row.status = OutboxStatus.PENDING
                wait = max(_backoff(row.attempts), timedelta(seconds=failure.retry_after))
                row.not_before = now + wait
        session.add(row)
