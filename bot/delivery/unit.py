"""One unit of work: a database transaction and the messages it owes, delivered after commit.

Handlers, jobs and CLI commands all change data the same way:

    result = services.delivery.run_and_deliver(work)       # work(session, owed) -> result

`work` runs in one transaction; every message it owes is queued in that transaction with
`owed.queue(key, recipient=..., message=...)`. If the transaction fails, neither the change
nor the message exists; once it has committed, the messages are delivered (those already
due), and whatever fails is retried by the scheduler's outbox run. A dry run does the same work
in a transaction that is rolled back, and says what it would have sent.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

from slack_sdk import WebClient
from sqlmodel import Session

from bot.clock import utcnow
from bot.delivery import outbox
from bot.delivery.kinds import Catalogue, MessageKey
from bot.delivery.sender import Pacer, Sender
from storage.db import Database

T = TypeVar("T")
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Planned:
    """A message queued (or, in a dry run, that would be): for reports and `jobs run`."""

    key: str
    kind: str
    recipient: str
    not_before: datetime
    text: str


class Owed:
    """The messages one transaction owes (fresh for each attempt of the transaction)."""

    def __init__(self, session: Session, at: datetime) -> None:
        self.session = session
        self.at = at
        self.planned: list[Planned] = []
        # Messages not queued: queued before under the same key, or left out by the work.
        self.skipped = 0
        # What the work wants said about it (a job's report).
        self.notes: list[str] = []

    @property
    def keys(self) -> list[str]:
        return [planned.key for planned in self.planned]

    def queue(
        self,
        key: MessageKey,
        *,
        recipient: str,
        message: dict[str, Any],
        program_id: int | None = None,
        timezone: str | None = None,
        subject: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> bool:
        """Queues `message` under `key`; False when that key was queued before.

        `recipient`: a user id, several joined by "," (a group DM), or a channel id.
        `timezone`: the recipient's, for kinds with a quiet-hours rule (which decides when the
        message may arrive); `subject`: what the message is about ("pair:12"), so that ending
        it cancels what is still pending.
        """
        kind = key.kind
        when = self.at
        if kind.quiet_hours is not None:
            # From now at the earliest: work acting at a past moment (a caught-up run) must
            # not wake anyone tonight because that moment was inside their working hours.
            start = max(self.at, utcnow())
            when = kind.quiet_hours(self.session, start, timezone, program_id)
        row = outbox.enqueue(
            self.session,
            key=key.value,
            kind=kind.name,
            recipient=recipient,
            message=message,
            not_before=when,
            program_id=program_id,
            subject=subject,
            extra=extra,
        )
        if row is None:  # queued by an earlier change or run: sent (or sending) once already
            self.skipped += 1
            return False
        text = str(message.get("text") or "")
        self.planned.append(Planned(key.value, kind.name, recipient, when, text))
        return True

    def queue_many(self, items: list[Outgoing]) -> int:
        """Queues many messages at once (one batched INSERT, no savepoint per message), each
        under its kind's quiet-hours rule as `queue` does; how many were new."""
        start = max(self.at, utcnow())
        rows = []
        for item in items:
            kind = item.key.kind
            when = self.at
            if kind.quiet_hours is not None:
                when = kind.quiet_hours(self.session, start, item.timezone, item.program_id)
            rows.append(
                {
                    "key": item.key.value,
                    "kind": kind.name,
                    "recipient": item.recipient,
                    "payload": {"message": item.message, **(item.extra or {})},
                    "program_id": item.program_id,
                    "subject": item.subject,
                    "not_before": when,
                }
            )
        added = outbox.enqueue_many(self.session, rows)
        self.skipped += len(rows) - len(added)
        for row in added:
            text = str(row["payload"]["message"].get("text") or "")
            self.planned.append(
                Planned(row["key"], row["kind"], row["recipient"], row["not_before"], text)
            )
        return len(added)


@dataclass(frozen=True)
class Outgoing:
    """One message for `Owed.queue_many` (the arguments of `Owed.queue`)."""

    key: MessageKey
    recipient: str
    message: dict[str, Any]
    program_id: int | None = None
    timezone: str | None = None
    subject: str | None = None
    extra: dict[str, Any] | None = None


OwingWork = Callable[[Session, Owed], T]

RecipientGoneRule = Callable[[Session, Owed, str, str], None]
"""(session, owed, user id, Slack's error): what the app does once Slack has refused a message
to a person for good (the account is deactivated): a unit of work of its own."""


@dataclass
class Done(Generic[T]):
    """What a unit of work returned, and the messages it queued."""

    result: T
    planned: list[Planned] = field(default_factory=list)
    skipped: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def keys(self) -> list[str]:
        return [planned.key for planned in self.planned]


class Delivery:
    """The delivery layer as handlers, jobs and commands use it (built by bot.services)."""

    def __init__(
        self,
        db: Database,
        client: WebClient,
        kinds: Catalogue,
        on_recipient_gone: RecipientGoneRule | None = None,
    ) -> None:
        self.db = db
        self.kinds = kinds
        self.on_recipient_gone = on_recipient_gone
        self.sender = Sender(db, client, kinds, self._recipient_gone)

    def _recipient_gone(self, user_id: str, error: str) -> None:
        """The sender's report of a person Slack refuses for good: the app's rule runs as a
        unit of work, and what it owes (a partner's notice) is delivered at once."""
        rule = self.on_recipient_gone
        if rule is not None:
            self.run_and_deliver(lambda session, owed: rule(session, owed, user_id, error))

    def run(
        self, work: OwingWork[T], *, at: datetime | None = None, dry_run: bool = False
    ) -> Done[T]:
        """Runs `work` in one transaction with what it owes (rolled back in a dry run);
        a retried transaction queues again from scratch."""
        when = at or utcnow()

        def attempt(session: Session) -> Done[T]:
            owed = Owed(session, when)
            result = work(session, owed)
            return Done(result, owed.planned, owed.skipped, owed.notes)

        if not dry_run:
            return self.db.run(attempt)
        with Session(self.db.engine, expire_on_commit=False) as session:
            try:
                return attempt(session)
            finally:
                session.rollback()

    def deliver(self, keys: list[str]) -> int:
        """Sends what was just queued and is due; a failure is left to the scheduler."""
        if not keys:
            return 0
        try:
            return self.sender.flush(keys=keys)
        except Exception:  # noqa: BLE001 - the rows are stored; the scheduler delivers them later
            log.exception("immediate outbox delivery failed")
            return 0

    def run_and_deliver(self, work: OwingWork[T], *, at: datetime | None = None) -> T:
        """`run`, then delivers what it queued."""
        done = self.run(work, at=at)
        self.deliver(done.keys)
        return done.result

    def deliver_now(
        self, keys: list[str], *, budget_seconds: float = 600.0, pacer: Pacer | None = None
    ) -> int:
        """Delivers the due messages among `keys`, waiting out rate limits within the budget
        (a job's fan-out); messages not yet due stay queued for the scheduler."""
        return self.sender.deliver_now(keys, budget_seconds=budget_seconds, pacer=pacer)

    def to_real_time(self, keys: list[str], *, simulated_now: datetime, real_now: datetime) -> int:
        """Hands what `keys` left pending after a simulated-time delivery back to real time
        (see `outbox.to_real_time`); how many rows moved."""
        moved = 0
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            moved += self.db.run(
                lambda session, c=chunk: outbox.to_real_time(session, c, simulated_now, real_now)
            )
        return moved

    def flush(self, *, owner: str, budget_seconds: float, pacer: Pacer | None = None) -> int:
        """The scheduler's periodic run: everything due, within the budget."""
        return self.sender.flush(owner=owner, budget_seconds=budget_seconds, pacer=pacer)

    def cancel_pending(self, session: Session, reason: str, **about: Any) -> int:
        """Cancels pending messages (see `outbox.cancel_pending`) in the caller's transaction."""
        return outbox.cancel_pending(session, reason, **about)
