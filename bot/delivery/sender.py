"""Sending claimed outbox rows to Slack, exactly once.

`chat.postMessage` is not idempotent, so it is never retried blindly: sends use a copy of the
Web API client without retry handlers (`delivery_client`). Each message carries its key in Slack
message metadata; when a post's outcome is unknown (the answer was lost, a 5xx, a timeout, a
replica that died mid-send) the row is marked `uncertain`, and before the next attempt the
sender looks for the key in the conversation's recent history. A file (a certificate) is
uploaded in Slack's three steps; the file id Slack hands out in the first step is stored before
the file is shared, so an unknown outcome is settled by looking for that file in the DM.

Permanent errors are final (`failed`); rate limits and other passing trouble wait for
`not_before`. A permanent error about the person a message was for (a deactivated account)
means no message will reach them again: after recording it, the sender tells whoever built it
(`on_recipient_gone`, a rule of the app's, run in its own transaction). Just before sending,
the kind's staleness check runs: a message whose reason no longer holds is cancelled with that
reason, not sent and not counted as a failure.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.request import Request, urlopen

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlmodel import Session

from bot.clock import utcnow
from bot.delivery import outbox
from bot.delivery.kinds import Catalogue, MessageKind, OutgoingFile
from bot.slack_api import with_retries
from storage.db import Database
from storage.models import OutboxMessage, OutboxStatus

log = logging.getLogger(__name__)
METADATA_EVENT = "rm_outbox"
# How far back (before the uncertain attempt) and how deep the history is searched for a key.
RECONCILE_MARGIN = timedelta(minutes=10)
RECONCILE_PAGES = 5
UPLOAD_TIMEOUT_S = 30
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
# Permanent errors that are about the person a message was for, not about the message.
RECIPIENT_ERRORS = frozenset(
    {"account_inactive", "user_not_found", "user_disabled", "cannot_dm_bot"}
)

RecipientGone = Callable[[str, str], None]
"""(user id, Slack's error): no message can reach this person any more."""


def delivery_client(client: WebClient) -> WebClient:
    """The same Web API connection without retry handlers.

    The app's client retries connection errors and 5xx, which is right for reads but posts a
    message twice when Slack processed it and only the answer was lost. Sends go through this
    copy; a failure comes back to the outbox, which decides (and reconciles) itself.
    """
    return with_retries(client, "delivery", [])


# ------------------------------------------------------------------ outcomes of one attempt


@dataclass(frozen=True)
class Failure:
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


def classify(error: Exception, *, posting: bool) -> Failure:
    """What a failed call means; `posting` when it was a non-idempotent post or share."""
    if isinstance(error, SlackApiError):
        status = error.response.status_code
        code = str(error.response.get("error") or f"http_{status}")
        if status == 429:
            return Failure(code, rate_limited=True, retry_after=_retry_after(error) or 1.0)
        if status >= 500:  # Slack may have done the work before failing
            return Failure(code, uncertain=posting, retry_after=_retry_after(error))
        return Failure(code, permanent=code in PERMANENT_ERRORS)
    # Timeouts, resets, a connection dropped before the answer: the outcome is unknown.
    return Failure(type(error).__name__, uncertain=posting)


class SendFailed(Exception):
    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.error)
        self.failure = failure


def _call(action: Callable[[], Any], *, posting: bool = False) -> Any:
    try:
        return action()
    except Exception as error:  # noqa: BLE001 - every failure is classified, none is lost
        raise SendFailed(classify(error, posting=posting)) from error


# ------------------------------------------------------------------ talking to Slack


def _metadata(key: str) -> dict[str, Any]:
    return {"event_type": METADATA_EVENT, "event_payload": {"key": key}}


def _is_group(recipient: str) -> bool:
    return "," in recipient


def _is_person(recipient: str) -> bool:
    return recipient.startswith(("U", "W")) and not _is_group(recipient)


def refused_for_good(error: str | None, recipient: str) -> bool:
    """Whether Slack's `error` to `recipient` says no message will reach that person again
    (not a channel's trouble, nor a message's)."""
    return error in RECIPIENT_ERRORS and _is_person(recipient)


def _open(client: WebClient, users: str) -> str:
    """conversations.open is idempotent (same channel each time): safe to repeat."""
    response = _call(lambda: client.conversations_open(users=users))
    return str(response["channel"]["id"])


def _post(client: WebClient, row: OutboxMessage) -> tuple[str, str]:
    message = {**row.payload["message"], "metadata": _metadata(row.dedupe_key)}
    # One person: post to the user id (Slack picks the DM; no Tier 3 conversations.open per
    # message). Several people (intros): the group DM has to be opened first.
    channel = _open(client, row.recipient) if _is_group(row.recipient) else row.recipient
    response = _call(lambda: client.chat_postMessage(channel=channel, **message), posting=True)
    return str(response["channel"]), str(response["ts"])


def _upload_bytes(url: str, content: bytes) -> None:
    """Step two of Slack's upload: the bytes to the URL step one handed out (not the Web API)."""
    request = Request(url, data=content, method="POST")
    request.add_header("Content-Type", "application/octet-stream")
    with urlopen(request, timeout=UPLOAD_TIMEOUT_S) as answer:  # noqa: S310 - Slack's URL
        answer.read()


def _conversation(db: Database, client: WebClient, row: OutboxMessage) -> str:
    if _is_group(row.recipient) or _is_person(row.recipient):
        with db.session() as session:
            known = outbox.conversation_of(session, row.recipient)
        return known or _open(client, row.recipient)
    return row.recipient


def _history(
    client: WebClient, channel: str, since: datetime, found: Callable[[dict[str, Any]], bool]
) -> str | None:
    """The ts of the first recent message in `channel` for which `found` holds."""
    request: dict[str, Any] = {
        "channel": channel,
        "oldest": f"{since.timestamp():.6f}",
        "include_all_metadata": True,
        "limit": 200,
    }
    for _page in range(RECONCILE_PAGES):
        page = _call(lambda: client.conversations_history(**request))
        for message in page.get("messages") or []:
            if found(message):
                return str(message["ts"])
        cursor = (page.get("response_metadata") or {}).get("next_cursor")
        if not page.get("has_more") or not cursor:
            return None
        request["cursor"] = cursor
    return None


def _find_posted(db: Database, client: WebClient, row: OutboxMessage) -> tuple[str, str] | None:
    """Looks for the row's message (its key, or its file) in the recent history of the
    conversation it went to."""
    file_id = row.payload.get("file_id")
    if row.payload.get("is_file") and not file_id:
        return None  # the upload never got as far as a file: nothing can have been shared
    channel = _conversation(db, client, row)
    since = (row.attempted_at or row.created_at) - RECONCILE_MARGIN

    def ours(message: dict[str, Any]) -> bool:
        if file_id:
            return any(f.get("id") == file_id for f in message.get("files") or [])
        metadata = message.get("metadata") or {}
        key = (metadata.get("event_payload") or {}).get("key")
        return metadata.get("event_type") == METADATA_EVENT and key == row.dedupe_key

    ts = _history(client, channel, since, ours)
    return (channel, ts) if ts else None


# ------------------------------------------------------------------ the sender


class Pacer:
    """Spaces sends to at most `per_second` (shared by a process's sending threads), so a
    fan-out runs at Slack's workspace limit instead of into it."""

    def __init__(self, per_second: float) -> None:
        self.interval = 1.0 / per_second if per_second > 0 else 0.0
        self._next = time.monotonic()
        self._lock = threading.Lock()

    def __call__(self) -> None:
        if not self.interval:
            return
        with self._lock:
            now = time.monotonic()
            wait = self._next - now
            self._next = max(now, self._next) + self.interval
        if wait > 0:
            time.sleep(wait)


class Sender:
    """Claims due outbox rows and sends them; one per process or call, many may run at once."""

    def __init__(
        self,
        db: Database,
        client: WebClient,
        kinds: Catalogue,
        on_recipient_gone: RecipientGone | None = None,
    ) -> None:
        self.db = db
        self.client = delivery_client(client)
        self.kinds = kinds
        self.on_recipient_gone = on_recipient_gone

    def flush(
        self,
        *,
        keys: Iterable[str] | None = None,
        owner: str = "app",
        budget_seconds: float = 0.0,
        pacer: Callable[[], None] | None = None,
        batch: int = outbox.BATCH,
    ) -> int:
        """Delivers due messages (or only `keys`); returns how many this call delivered.

        `pacer`, when given, is called before each post (it blocks to keep sends under a
        rate). `batch` rows are claimed at a time: a small batch leaves fewer rows to reconcile
        (one history lookup each, Tier 3) when a sender dies mid-batch.

        One batch at least; with a budget, further batches until it is spent or nothing is
        due (the scheduler's run), so a large backlog drains without one call holding a thread
        forever. A message found in Slack by reconciliation counts as delivered. When Slack
        answers 429, the rest of the batch waits out `Retry-After` (within the budget) or goes
        back to the queue untouched, instead of meeting the same limit message by message.
        """
        wanted = list(keys) if keys is not None else None
        if wanted is None:
            self.db.run(lambda session: outbox.release_stale_claims(session, utcnow()))
        deadline = time.monotonic() + budget_seconds
        sent = 0
        while True:
            token = f"{owner}:{uuid.uuid4().hex[:12]}"
            now = utcnow()
            claimed = self.db.run(lambda s, t=token, n=now: outbox.claim(s, t, wanted, n, batch))
            for index, message_id in enumerate(claimed):
                delivered, pause = self._deliver(message_id, token, pacer)
                sent += delivered
                if pause > 0:
                    if time.monotonic() + pause >= deadline:
                        rest = claimed[index + 1 :]
                        self.db.run(lambda s, t=token, r=rest: outbox.unclaim(s, t, r))
                        return sent
                    time.sleep(pause)
            if len(claimed) < batch or time.monotonic() >= deadline:
                return sent

    def deliver_now(
        self,
        keys: list[str],
        *,
        budget_seconds: float = 600.0,
        pacer: Callable[[], None] | None = None,
    ) -> int:
        """Delivers the due messages among `keys` (rate limits waited out within the budget);
        messages whose `not_before` lies ahead stay queued for the scheduler."""
        deadline = time.monotonic() + budget_seconds
        sent = 0
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            while time.monotonic() < deadline:
                sent_now = self.flush(
                    keys=chunk,
                    budget_seconds=max(0.0, deadline - time.monotonic()),
                    pacer=pacer,
                )
                sent += sent_now
                with self.db.session() as session:
                    left = outbox.count_due(session, chunk, utcnow())
                if not left:
                    break
                if sent_now == 0:
                    time.sleep(0.2)
        return sent

    # -------------------------------------------------------------- one row

    def _kind(self, row: OutboxMessage) -> MessageKind | None:
        return self.kinds.get(row.kind)

    def _deliver(
        self, message_id: int, token: str, pacer: Callable[[], None] | None
    ) -> tuple[bool, float]:
        """Sends one claimed row: (delivered, seconds Slack asked the posting to pause)."""
        row = self.db.run(lambda session: self._prepare(session, message_id, token))
        if row is None:  # erased with its person, not ours, or cancelled as stale
            return False, 0.0
        checked = False  # whether an earlier uncertain attempt is now known not to have posted
        if row.uncertain:
            try:
                found = _find_posted(self.db, self.client, row)
            except SendFailed as failed:
                # A lookup's limit (Tier 3) says nothing about posting: this row waits for its
                # not_before, the sender goes on with the next one at the posting pace.
                self._failed(message_id, token, failed.failure, False, None)
                return False, 0.0
            if found is not None:
                log.info("outbox message found in Slack", extra={"outbox_id": message_id})
                return self._mark_sent(message_id, token, *found), 0.0
            checked = True
            # Not in Slack: now it may be cancelled, if its reason went meanwhile.
            row = self.db.run(lambda session: self._still_owed(session, message_id, token))
            if row is None:
                return False, 0.0
        file = self._file_of(row, token)
        if file is None:
            return False, 0.0
        if pacer is not None:  # the pace is for posts; a lookup takes no slot
            pacer()
        attempt_at = utcnow()
        try:
            if isinstance(file, OutgoingFile):
                channel_id, ts = self._share_file(row, token, file)
            else:
                channel_id, ts = _post(self.client, row)
        except SendFailed as failed:
            failure = failed.failure
            self._failed(message_id, token, failure, checked, attempt_at)
            return False, failure.retry_after if failure.rate_limited else 0.0
        return self._mark_sent(message_id, token, channel_id, ts), 0.0

    def _prepare(self, session: Session, message_id: int, token: str) -> OutboxMessage | None:
        """The claimed row, or None when it is not ours or no longer holds (then it is
        cancelled here, with the reason)."""
        row = outbox.own_row(session, message_id, token)
        if row is None:
            return None
        if row.uncertain:
            # Its last post may have reached Slack: looked for first (`_deliver`), so a
            # message the person has is marked sent, never cancelled.
            return row
        return self._still_owed(session, message_id, token, row)

    def _still_owed(
        self, session: Session, message_id: int, token: str, row: OutboxMessage | None = None
    ) -> OutboxMessage | None:
        """The claimed row, or None after cancelling it: cancelled while uncertain
        (`outbox.cancel_pending` left the reason), or its kind says it no longer holds."""
        row = row or outbox.own_row(session, message_id, token)
        if row is None:
            return None
        kind = self._kind(row)
        reason = row.cancelled_because
        if reason is None and kind is not None and kind.stale_because is not None:
            reason = kind.stale_because(session, row)
        if reason is not None:
            self._cancel(session, row, reason)
            return None
        return row

    def _cancel(self, session: Session, row: OutboxMessage, reason: str) -> None:
        log.info("outbox message cancelled", extra={"outbox_id": row.id, "kind": row.kind})
        outbox.mark_cancelled(row, reason, utcnow())
        session.add(row)

    def _file_of(self, row: OutboxMessage, token: str) -> OutgoingFile | None | bool:
        """The file a file kind sends, made outside any write transaction (a PDF takes a
        moment); False when the row is no file; None after cancelling it (nothing to send)."""
        kind = self._kind(row)
        if kind is None or kind.make_file is None:
            return False
        with self.db.session() as session:
            file = kind.make_file(session, row)
        if file is None:

            def cancel(session: Session) -> None:
                owned = outbox.own_row(session, row.id or 0, token)
                if owned is not None:
                    self._cancel(session, owned, "nothing to send any more")

            self.db.run(cancel)
        return file

    def _share_file(self, row: OutboxMessage, token: str, file: OutgoingFile) -> tuple[str, str]:
        """Slack's three upload steps; the file id is stored before the file is shared."""
        channel = _conversation(self.db, self.client, row)
        step = _call(
            lambda: self.client.files_getUploadURLExternal(
                filename=file.filename, length=len(file.content)
            )
        )
        file_id, url = str(step["file_id"]), str(step["upload_url"])
        _call(lambda: _upload_bytes(url, file.content))

        def remember(session: Session) -> bool:
            owned = outbox.own_row(session, row.id or 0, token)
            if owned is None:
                return False
            owned.payload = {**owned.payload, "is_file": True, "file_id": file_id}
            session.add(owned)
            return True

        if not self.db.run(remember):
            raise SendFailed(Failure("claim_lost", permanent=False))
        row.payload = {**row.payload, "is_file": True, "file_id": file_id}
        text = str(row.payload["message"].get("text") or "")
        _call(
            lambda: self.client.files_completeUploadExternal(
                files=[{"id": file_id, "title": file.title}],
                channel_id=channel,
                initial_comment=text or None,
            ),
            posting=True,
        )
        return channel, ""  # a shared file has no message ts of its own here

    def _mark_sent(self, message_id: int, token: str, channel_id: str, ts: str) -> bool:
        with self.db.session() as session:
            row = outbox.own_row(session, message_id, token)
            if row is None:
                log.warning(
                    "outbox claim lost before marking sent", extra={"outbox_id": message_id}
                )
                return False
            outbox.mark_sent(row, channel_id, ts, utcnow())
            session.add(row)
            kind = self._kind(row)
            if kind is not None and kind.on_sent is not None:
                kind.on_sent(session, row)
        return True

    def _failed(
        self,
        message_id: int,
        token: str,
        failure: Failure,
        checked: bool,
        attempted_at: datetime | None,
    ) -> None:
        """Records the failure; when it says the person is gone, tells `on_recipient_gone`
        (after the failure is stored: if that rule fails, the failure still stands)."""
        gone = self._record_failure(message_id, token, failure, checked, attempted_at)
        if gone is None or self.on_recipient_gone is None:
            return
        try:
            self.on_recipient_gone(gone, failure.error)
        except Exception:  # noqa: BLE001 - the next refusal of this person runs it again
            log.exception("recipient gone: rule failed", extra={"outbox_id": message_id})

    def _record_failure(
        self,
        message_id: int,
        token: str,
        failure: Failure,
        checked: bool,
        attempted_at: datetime | None,
    ) -> str | None:
        """Stores the failure; returns the recipient when it was refused for good as a
        person no message can reach any more."""
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
        with self.db.session() as session:
            row = outbox.own_row(session, message_id, token)
            if row is None:
                return None
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
                if failure.permanent or row.attempts >= outbox.MAX_ATTEMPTS:
                    row.status = OutboxStatus.FAILED
                    row.failed_at = now
                else:
                    row.status = OutboxStatus.PENDING
                    wait = max(outbox.backoff(row.attempts), timedelta(seconds=failure.retry_after))
                    row.not_before = now + wait
            session.add(row)
            gone = failure.permanent and refused_for_good(failure.error, row.recipient)
            return row.recipient if gone else None
